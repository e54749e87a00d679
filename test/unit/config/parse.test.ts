import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { formatIssue } from '../../../src/config/issues.js';
import { parseServerConfig } from '../../../src/config/parse.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/config');
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');
const parse = (text: string, file = '/etc/vservers/t.conf') => parseServerConfig(text, { file, name: 't' });

describe('parseServerConfig: fixtures', () => {
  it('reads a 2002-style configuration (seed 4.3)', () => {
    const r = parse(fixture('seed-2002.conf'));
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    const c = r.config!;
    assert.equal(c.ip, '192.168.1.10');
    assert.equal(c.ipDev, 'eth0');
    assert.equal(c.ipPrefix, 24);
    assert.equal(c.ipBroadcast, '192.168.1.255');
    assert.equal(c.onBoot, true);
    assert.deepEqual(c.caps.added, ['IPC_LOCK']);
    assert.equal(c.context, null);
    assert.equal(c.domainname, null);
    assert.equal(c.hostname, 'v1.example.com');
    assert.equal(c.nice, null);
    assert.deepEqual(c.flags, ['lock', 'nproc']);
    assert.deepEqual(c.init, { style: 'sysv', runlevel: 3 });
    // nproc: ULIMIT -u became the server's limit and left the per-user rlimits
    assert.equal(c.pidsMax, 1000);
    assert.equal(c.pidsMaxFrom, 'ULIMIT');
    assert.deepEqual(c.rlimits, []);
    assert.equal(c.lines.ULIMIT, 17);
  });

  it('reads a configuration with the modern limit keys', () => {
    const r = parse(fixture('modern.conf'));
    assert.deepEqual(r.errors, []);
    const c = r.config!;
    assert.equal(c.ip, '10.0.0.5');
    assert.equal(c.context, 1234);
    assert.deepEqual(c.flags, ['sched', 'private', 'fakeinit']);
    assert.deepEqual(c.init, { style: 'init' });
    assert.deepEqual(c.caps.added, ['SYS_RESOURCE']);
    assert.deepEqual(c.caps.dropped, ['AUDIT_WRITE']);
    assert.ok(!c.caps.bounding.includes('AUDIT_WRITE'));
    assert.equal(c.memoryMax, 512 * 1024 * 1024);
    assert.equal(c.pidsMax, 300);
    assert.equal(c.pidsMaxFrom, 'PIDS_MAX');
    // without the nproc flag, -u stays a per-user limit
    assert.deepEqual(c.rlimits.map((l) => [l.resource, l.soft, l.hard]), [['RLIMIT_NOFILE', 4096, 4096], ['RLIMIT_NPROC', 200, 200]]);
    assert.equal(c.cpuWeight, 200);
    assert.equal(c.cpuMax, 150);
    assert.equal(c.priority, 10);
  });

  it('reports every error of a bad file at once, each with file:line, key and value', () => {
    const file = '/etc/vservers/many.conf';
    const r = parse(fixture('many-errors.conf'), file);
    assert.equal(r.config, null);
    const lines = r.errors.map((e) => formatIssue(e));
    const expected: Array<[number, string | null, RegExp]> = [
      [2, 'IPROOT', /host names are not resolved/],
      [3, 'S_CONTEXT', /0 is the host/],
      [4, 'S_NICE', /-20 .* 19/],
      [5, 'S_CAPS', /CAP_NET_RAW is refused/],
      [5, 'S_CAPS', /CAP_SYS_ADMIN is refused/],
      [5, 'S_CAPS', /did you mean CAP_NET_RAW/],
      [6, null, /not an assignment/],
      [7, 'S_FLAGS', /did you mean private/],
      [8, 'ULIMIT', /unknown option -z/],
      [9, 'MEMORY_MAX', /K, M, G or T/],
      [10, 'CPU_WEIGHT', /1 to 10000/],
      [11, 'CPU_MAX', /percentage/],
      [12, 'S_HOSTNAME', /host name/],
      [13, 'ONBOOT', /'yes' or 'no'/],
    ];
    assert.equal(r.errors.length, expected.length, lines.join('\n'));
    expected.forEach(([line, key, re], i) => {
      const e = r.errors[i]!;
      assert.equal(e.file, file);
      assert.equal(e.line, line, lines[i]);
      assert.equal(e.key, key, lines[i]);
      assert.match(e.message, re, lines[i]);
      assert.ok(lines[i]!.startsWith(`${file}:${line}: `), lines[i]);
    });
    assert.equal(lines[1], `${file}:3: S_CONTEXT="0": 0 is the host (root server); a static context number from 2 to 49151, or empty for a dynamic one`);
    // the unknown key is a warning, still reported with the errors
    assert.equal(r.warnings.length, 1);
    assert.ok(formatIssue(r.warnings[0]!).startsWith(`${file}:14: warning: HOSTNAME_TYPO="1": unknown key HOSTNAME_TYPO ignored`));
  });
});

describe('parseServerConfig: values a shell would run are data', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vctx-config-hostile-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('$(…), backticks and ; run nothing and fail validation as the characters they are', () => {
    const text = fixture('hostile.conf').replaceAll('@DIR@', dir);
    const r = parse(text);
    assert.deepEqual(readdirSync(dir), [], 'a command in the configuration ran');
    for (const f of ['dollar-paren', 'backtick', 'semicolon', 'init']) assert.ok(!existsSync(join(dir, f)));
    assert.deepEqual(r.errors.map((e) => [e.line, e.key, e.value]), [
      [2, 'S_DOMAINNAME', `$(touch ${dir}/dollar-paren)`],
      [3, 'S_HOSTNAME', `\`touch ${dir}/backtick\``],
      [4, 'IPROOT', `127.0.0.9;touch ${dir}/semicolon`],
    ]);
  });

  it('keeps a command as the S_INIT argv, unrun', () => {
    const r = parse(`S_INIT="/bin/sh -c touch ${dir}/x;\`reboot\`"\n`);
    assert.deepEqual(r.config!.init, { style: 'command', argv: ['/bin/sh', '-c', `touch`, `${dir}/x;\`reboot\``] });
    assert.ok(!existsSync(join(dir, 'x')));
  });
});

describe('parseServerConfig: rules between keys', () => {
  it('nproc + ULIMIT -u -> pidsMax, removed from the per-user rlimits', () => {
    const c = parse('S_FLAGS="nproc"\nULIMIT="-H -n 4096 -u 200"\n').config!;
    assert.equal(c.pidsMax, 200);
    assert.equal(c.pidsMaxFrom, 'ULIMIT');
    assert.deepEqual(c.rlimits.map((l) => l.resource), ['RLIMIT_NOFILE']);
  });
  it('nproc + ULIMIT -u + PIDS_MAX: PIDS_MAX wins', () => {
    const c = parse('S_FLAGS="nproc"\nULIMIT="-H -u 200"\nPIDS_MAX=50\n').config!;
    assert.equal(c.pidsMax, 50);
    assert.equal(c.pidsMaxFrom, 'PIDS_MAX');
    assert.deepEqual(c.rlimits, []);
  });
  it('ULIMIT -u without nproc stays per user, no pidsMax', () => {
    const c = parse('ULIMIT="-H -u 200"\n').config!;
    assert.equal(c.pidsMax, null);
    assert.equal(c.pidsMaxFrom, null);
    assert.deepEqual(c.rlimits.map((l) => [l.resource, l.hard]), [['RLIMIT_NPROC', 200]]);
  });
  it('nproc with -u unlimited: no limit', () => {
    assert.equal(parse('S_FLAGS=nproc\nULIMIT="-u unlimited"\n').config!.pidsMax, null);
  });
  it('nproc with nothing to apply is a warning', () => {
    const r = parse('S_FLAGS="lock nproc"\n');
    assert.equal(r.errors.length, 0);
    assert.match(r.warnings[0]!.message, /nproc flag has no limit/);
    assert.equal(r.warnings[0]!.key, 'S_FLAGS');
  });
  it('S_INIT=init implies fakeinit; fakeinit alone means init', () => {
    assert.deepEqual(parse('S_INIT=init\n').config!.flags, ['fakeinit']);
    assert.deepEqual(parse('S_FLAGS=fakeinit\n').config!.init, { style: 'init' });
    assert.deepEqual(parse('').config!.init, { style: 'sysv', runlevel: 3 });
  });
  it('fakeinit with S_INIT=sysv contradicts', () => {
    const r = parse('S_FLAGS=fakeinit\nS_INIT=sysv\n');
    assert.equal(r.errors[0]!.line, 2);
    assert.match(r.errors[0]!.message, /contradicts/);
  });
  it('IPROOTDEV needs IPROOT; mask and broadcast without a device are ignored with a warning', () => {
    assert.match(parse('IPROOTDEV=eth0\n').errors[0]!.message, /needs IPROOT/);
    const r = parse('IPROOT=127.0.0.2\nIPROOTMASK=24\n');
    assert.equal(r.errors.length, 0);
    assert.match(r.warnings[0]!.message, /ignored without IPROOTDEV/);
  });
  it('ULIMIT -m is a warning pointing at MEMORY_MAX', () => {
    assert.match(parse('ULIMIT="-m 1000"\n').warnings[0]!.message, /MEMORY_MAX/);
  });
  it('an empty file is a valid server with the defaults', () => {
    const r = parse('');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings, []);
    const c = r.config!;
    assert.equal(c.ip, null);
    assert.equal(c.onBoot, false);
    assert.deepEqual(c.flags, []);
    assert.equal(c.priority, 0);
    assert.equal(c.caps.hex, '0x00000000204405fb');
  });
});

describe('formatIssue', () => {
  it('escapes terminal control characters of hostile values', () => {
    const r = parse('S_HOSTNAME="\x1b[2J\x9b31m"\n');
    const line = formatIssue(r.errors[0]!);
    assert.ok(line.startsWith('/etc/vservers/t.conf:1: S_HOSTNAME="\\u001b[2J\\u009b31m": '), line);
    assert.doesNotMatch(line, /[\x00-\x1f\x7f-\x9f]/);
  });
});

describe('parseServerConfig: warnings', () => {
  it('an unknown key is a warning naming it, with a suggestion when close', () => {
    const r = parse('S_HOSNAME=web\nFOO=1\n');
    assert.deepEqual(r.errors, []);
    assert.deepEqual(r.warnings.map((w) => [w.line, w.key]), [[1, 'S_HOSNAME'], [2, 'FOO']]);
    assert.match(r.warnings[0]!.message, /unknown key S_HOSNAME ignored \(did you mean S_HOSTNAME\?\)/);
    assert.doesNotMatch(r.warnings[1]!.message, /did you mean/);
    assert.equal(r.config!.hostname, null);
  });
  it('a key set twice: the last wins, with a warning', () => {
    const r = parse('S_NICE=1\nS_NICE=5\n');
    assert.equal(r.config!.nice, 5);
    assert.match(r.warnings[0]!.message, /line 1/);
    assert.equal(r.warnings[0]!.line, 2);
  });
  it('a bad value replaced later is not an error (as a shell would read it)', () => {
    assert.equal(parse('S_NICE=99\nS_NICE=5\n').errors.length, 0);
  });
});
