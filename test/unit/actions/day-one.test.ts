/**
 * Issue 9's command defects, the parts that need no root: the cross-server
 * check of build/start/status, `set`'s argument checks, the ping warning,
 * and the build progress printer off and on a terminal.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildClashes, startClashes, statusClashes } from '../../../src/actions/clashes.js';
import { LifecycleError } from '../../../src/actions/errors.js';
import { pingGroupProblem, pingWarning } from '../../../src/actions/host-checks.js';
import { parseSetArgs } from '../../../src/actions/set.js';
import { buildProgressPrinter } from '../../../src/cli/build-progress.js';
import { formatIssue } from '../../../src/config/issues.js';
import { parseServerConfig } from '../../../src/config/parse.js';
import type { ServerConfig } from '../../../src/config/types.js';

function cfg(name: string, text: string): ServerConfig {
  const r = parseServerConfig(text, { file: `/etc/vservers/${name}.conf`, name });
  assert.deepEqual(r.errors, []);
  return r.config!;
}

describe('cross-server checks (one module for build, start and status)', () => {
  const a1 = cfg('a1', 'IPROOT=127.0.0.90\n');
  const a5 = cfg('a5', '# x\nIPROOT=127.0.0.90\n');
  const all = [a1, a5];
  it('build refuses another server\'s address, naming both servers and files', () => {
    const r = buildClashes(a5, [a1], false);
    assert.equal(r.errors.length, 1);
    assert.match(formatIssue(r.errors[0]!), /^\/etc\/vservers\/a5\.conf:2: IPROOT="127\.0\.0\.90": also the address of server 'a1' \(\/etc\/vservers\/a1\.conf:1\).*--allow-clash/);
  });
  it('build with --allow-clash warns instead', () => {
    const r = buildClashes(a5, [a1], true);
    assert.deepEqual(r.errors, []);
    assert.equal(r.warnings.length, 1);
  });
  it('start: a clash with a stopped server is a warning, with a running one a refusal', () => {
    assert.deepEqual(startClashes(a1, all, []).errors, []);
    assert.equal(startClashes(a1, all, []).warnings.length, 1);
    const r = startClashes(a5, all, [{ xid: 50000, name: 'a1', ip: '127.0.0.90' }]);
    assert.equal(r.errors.length, 1);
    assert.match(formatIssue(r.errors[0]!), /a5\.conf:2: .*server 'a1' \(\/etc\/vservers\/a1\.conf:1\); 'a1' is running \(context 50000\)/);
  });
  it('start: an address or context held by a running context of another name refuses', () => {
    const s = cfg('s', 'IPROOT=127.0.0.91\nS_CONTEXT=4242\n');
    const r = startClashes(s, [s], [{ xid: 4242, name: '', ip: null }, { xid: 60000, name: 'elsewhere', ip: '127.0.0.91' }]);
    assert.equal(r.errors.length, 2);
    assert.match(formatIssue(r.errors[0]!), /S_CONTEXT="4242": context 4242 is in use by running context 4242/);
    assert.match(formatIssue(r.errors[1]!), /IPROOT="127\.0\.0\.91": .*context 60000 \('elsewhere'/);
  });
  it('status shows the clash under both servers', () => {
    assert.match(formatIssue(statusClashes(a1, all)[0]!), /a1\.conf:1: warning: .*server 'a5' \(\/etc\/vservers\/a5\.conf:2\)/);
    assert.match(formatIssue(statusClashes(a5, all)[0]!), /a5\.conf:2: warning: .*server 'a1' \(\/etc\/vservers\/a1\.conf:1\)/);
  });
});

describe('vserver NAME set: arguments', () => {
  const usage = (args: string[], re: RegExp) => assert.throws(() => parseSetArgs(args, '/etc/vservers/w.conf'),
    (e: unknown) => e instanceof LifecycleError && e.exitCode === 2 && re.test(e.message));
  it('valid values pass the configuration\'s parsers', () => {
    assert.deepEqual(parseSetArgs(['MEMORY_MAX=64M', 'PIDS_MAX=50', 'CPU_MAX=50%', 'CPU_WEIGHT=200'], 'f'),
      [['MEMORY_MAX', '64M'], ['PIDS_MAX', '50'], ['CPU_MAX', '50%'], ['CPU_WEIGHT', '200']]);
  });
  it('an invalid value is a usage error naming key and value', () => usage(['PIDS_MAX=abc'], /^PIDS_MAX="abc": a number of processes/));
  it('another key is refused', () => usage(['S_NICE=5'], /S_NICE: not a key set can change/));
  it('no = is refused', () => usage(['MEMORY_MAX'], /not KEY=VALUE/));
  it('a key twice is refused', () => usage(['PIDS_MAX=1', 'PIDS_MAX=2'], /given twice/));
});

describe('ping_group_range', () => {
  it('a range without gid 0 is one line with the sysctl that fixes it', () => {
    const w = pingGroupProblem('1\t0\n')!;
    assert.match(w, /net\.ipv4\.ping_group_range \(1 0\) excludes root \(gid 0\).*sysctl -w net\.ipv4\.ping_group_range='0 2147483647'/);
    assert.doesNotMatch(w, /\n/);
  });
  it('a range with gid 0 says nothing', () => {
    assert.equal(pingGroupProblem('0 2147483647'), null);
    assert.equal(pingWarning(false), null);
  });
});

describe('build progress', () => {
  const events = [
    { step: 'copy', detail: 'copying /usr from the host' },
    { step: 'copy', detail: 'copying', bytes: 300 * 1024 * 1024, files: 1200, elapsedMs: 500 },
    { step: 'copy', detail: 'copying', bytes: 600 * 1024 * 1024, files: 2400, elapsedMs: 1000 },
    { step: 'copy', detail: 'copied', bytes: 900 * 1024 * 1024, files: 3600, elapsedMs: 1500, final: true },
  ];
  it('off a terminal: no bare lines; figures (bytes, files, elapsed) on a few', () => {
    let out = '';
    let t = 0;
    const p = buildProgressPrinter({ write: (s: string) => (out += s), isTTY: false }, () => (t += 1000));
    for (const e of events) p(e);
    const lines = out.trimEnd().split('\n');
    assert.deepEqual(lines, [
      'copy: copying /usr from the host',
      'copy: copying 300MiB, 1200 files, 0.5 s',
      'copy: copied 900MiB, 3600 files, 1.5 s',
    ]);
  });
  it('on a terminal: one line updated in place', () => {
    let out = '';
    const p = buildProgressPrinter({ write: (s: string) => (out += s), isTTY: true });
    for (const e of events) p(e);
    assert.equal(out.split('\n').length, 3);
    assert.match(out, /\rcopy: copying 600MiB, 2400 files, 1\.0 s\x1b\[K\rcopy: copied 900MiB/);
  });
});
