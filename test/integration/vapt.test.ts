/**
 * vapt (apt-get in each named server, util-vserver's vapt-get) and
 * `vserver-all exec` against two real Debian servers (the debootstrap
 * template, from its cache) and the real kernel.  Root only; everything
 * lives in a temporary confdir/rootdir/rundir.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { type Command } from '../helpers/commands.js';
import { pathsUnder, runCommand, show, type Res } from '../helpers/run.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 120);
const A = `apta${run}`;
const B = `aptb${run}`;
let T = '';
let env: NodeJS.ProcessEnv = {};

const cli = (cmd: Command, args: string[]) => runCommand(cmd, args, { env });
const paths = () => pathsUnder(T);
/** the result lines ("NAME: ...") of a run, in order */
const results = (r: Res) => r.stdout.split('\n').filter((l) => l.startsWith(`${A}: `) || l.startsWith(`${B}: `));

describe('vapt and vserver-all exec: one command in each server, a result line each', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-vapt-'));
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
    delete env.NODE_TEST_CONTEXT;
    await build(A, { template: 'debootstrap', ip: `127.0.0.${octet}` }, paths());
    await build(B, { template: 'debootstrap', ip: `127.0.0.${octet + 1}` }, paths());
    for (const n of [A, B]) {
      const r = await cli('vserver', [n, 'start']);
      assert.equal(r.code, 0, show(r));
    }
  }, { timeout: 900_000 });

  after(async () => {
    for (const n of [A, B]) await stop(n, paths(), { timeoutSec: 2 }).catch(() => {});
    for (const n of [A, B]) await removeTree(join(T, 'vs', n)).catch(() => {});
    if (T) await rm(T, { recursive: true, force: true });
  });

  test('vapt A B -- --version: apt-get ran in each (its version line under each header), two ok lines, exit 0', { timeout: 120_000 }, async () => {
    const r = await cli('vapt', [A, B, '--', '--version']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(results(r), [`${A}: ok`, `${B}: ok`], show(r));
    const parts = r.stdout.split(/^--- /m).slice(1);
    assert.equal(parts.length, 2, show(r));
    assert.match(parts[0]!, new RegExp(`^${A} \\(context \\d+\\): apt-get --version\\n`));
    assert.match(parts[1]!, new RegExp(`^${B} \\(context \\d+\\): apt-get --version\\n`));
    for (const p of parts) assert.match(p, /^apt \d+\.\d+/m, 'apt-get --version printed its version');
  });

  test('a failing apt-get is named with its exit status; the other servers still run; exit 1', { timeout: 120_000 }, async () => {
    const r = await cli('vapt', [A, B, '--', 'no-such-apt-command']);
    assert.equal(r.code, 1, show(r));
    assert.deepEqual(results(r), [`${A}: FAILED: apt-get exited with status 100`, `${B}: FAILED: apt-get exited with status 100`], show(r));
    assert.match(r.stderr, new RegExp(`^vapt: 2 of 2 servers failed: ${A}, ${B}\\n`, 'm'), show(r));
  });

  test('vserver-all exec -- CMD runs in every running server: each prints its own host name', { timeout: 120_000 }, async () => {
    const r = await cli('vserver-all', ['exec', '--', 'cat', '/etc/hostname']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(results(r), [`${A}: ok`, `${B}: ok`], show(r));
    const parts = r.stdout.split(/^--- /m).slice(1);
    assert.match(parts[0]!, new RegExp(`^${A} \\(context \\d+\\): cat /etc/hostname\\n${A}\\n`), show(r));
    assert.match(parts[1]!, new RegExp(`^${B} \\(context \\d+\\): cat /etc/hostname\\n${B}\\n`), show(r));
  });

  test('with B stopped: vapt A B names B as not running and exits 1; --all skips B and exits 0', { timeout: 120_000 }, async () => {
    const s = await cli('vserver', [B, 'stop']);
    assert.equal(s.code, 0, show(s));
    const r = await cli('vapt', [A, B, '--', '--version']);
    assert.equal(r.code, 1, show(r));
    assert.deepEqual(results(r), [`${A}: ok`, `${B}: FAILED: server '${B}' is not running`], show(r));
    assert.match(r.stderr, new RegExp(`^vapt: 1 of 2 servers failed: ${B}\\n`, 'm'));
    const all = await cli('vapt', ['--all', '--', '--version']);
    assert.equal(all.code, 0, show(all));
    assert.deepEqual(results(all), [`${A}: ok`, `${B}: skipped: not running`], show(all));
    const ex = await cli('vserver-all', ['exec', '--', 'false']);
    assert.equal(ex.code, 1, show(ex));
    assert.deepEqual(results(ex), [`${A}: FAILED: false exited with status 1`, `${B}: skipped: not running`], show(ex));
  });

  test('an unknown server is a failure named in one line; usage errors exit 2', async () => {
    const r = await cli('vapt', [A, 'nosuch', '--', '--version']);
    assert.equal(r.code, 1, show(r));
    assert.equal(results(r)[0], `${A}: ok`);
    assert.match(r.stdout, /^nosuch: FAILED: unknown server 'nosuch'/m, show(r));
    for (const [args, msg] of [
      [[A, 'update'], "vapt: no '--' before apt-get's arguments (vapt SERVER... -- APT-ARGS...); try 'vapt --help'\n"],
      [['--all', A, '--', 'update'], "vapt: --all and server names exclude each other ('" + A + "'); try 'vapt --help'\n"],
      [['--', 'update'], "vapt: no server given (SERVER... or --all); try 'vapt --help'\n"],
    ] as const) {
      const u = await cli('vapt', [...args]);
      assert.equal(u.code, 2, show(u));
      assert.equal(u.stderr, msg);
    }
  });
});
