/**
 * A context whose monitor and processes are gone (its chcontext monitor
 * killed with SIGKILL together with every process) is not running: the
 * next scan, listing or gc releases it through libvctx's one release path
 * - cgroups, the eBPF lock record, the guard socket - and nothing shows it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  cgroupDir,
  chcontext,
  compileC,
  findByCmdline,
  guardSocket,
  isRoot,
  killAll,
  leftovers,
  ok,
  procsOf,
  projectRoot,
  removeCompiled,
  run,
  runCli,
  running,
  show,
  startContext,
  stopAll,
  stopContext,
  tool,
  waitFor,
  type Ctx,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';
const IP = `127.0.${200 + Math.floor(Math.random() * 50)}.${2 + Math.floor(Math.random() * 250)}`;

let lockKeysBin = '';
/** the cgroup ids the pinned ipv4root lock maps record */
function lockKeys(): Set<bigint> {
  const r = run(lockKeysBin, []);
  assert.equal(r.status, 0, show(r));
  return new Set(r.stdout.split('\n').filter(Boolean).map((l) => BigInt(l)));
}

const populated = (dir: string): boolean => /^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'));

interface Orphan {
  xid: number;
  dir: string;
  cgroupId: bigint;
}

/** a context, then SIGKILL of its monitor and of every process: an empty cgroup is left */
async function makeOrphan(args: string[], cmd: string): Promise<Orphan> {
  const ctx: Ctx = await startContext(args, ['sleep', cmd]);
  const dir = cgroupDir(ctx.xid)!;
  const orphan = { xid: ctx.xid, dir, cgroupId: BigInt(statSync(dir, { bigint: true }).ino) };
  process.kill(ctx.monitor, 'SIGKILL');
  assert.ok(await waitFor(() => !running(ctx.monitor), 3000), 'the monitor survived SIGKILL');
  killAll(ctx.xid);
  assert.ok(await waitFor(() => !populated(dir), 3000), 'the processes survived SIGKILL');
  // what the killed tools left: the empty cgroup and its guard socket
  assert.ok(leftovers(ctx.xid).includes(dir), `no leftover cgroup: ${leftovers(ctx.xid)}`);
  return orphan;
}

function assertReleased(o: Orphan, why: string): void {
  assert.deepEqual(leftovers(o.xid), [], `${why}: context ${o.xid} left something behind`);
  assert.equal(lockKeys().has(o.cgroupId), false, `${why}: the lock record of context ${o.xid} is left in the map`);
}

/** run a snippet of TypeScript against the bridge in a fresh node (tsx) */
function bridge(code: string) {
  return run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: projectRoot, timeout: 30_000 });
}

describe('contexts left by a killed monitor', { skip }, () => {
  before(() => {
    lockKeysBin = compileC('lock-keys');
  });
  after(async () => {
    await stopAll();
    if (lockKeysBin) removeCompiled(lockKeysBin);
  });

  test('vserver-stat does not list it, and the scan released it (cgroup, eBPF lock record, guard socket)', async () => {
    const o = await makeOrphan(['--ip', IP], '3501');
    assert.ok(lockKeys().has(o.cgroupId), 'control: the locked context has a lock record');
    const json = JSON.parse(ok(runCli('vserver-stat', ['--json']))) as { contexts: Array<{ xid: number }> };
    assert.deepEqual(json.contexts.filter((c) => c.xid === o.xid), [], 'vserver-stat --json lists it');
    assertReleased(o, 'vserver-stat --json');
  });

  test('the plain vserver-stat table does not show it either', async () => {
    const o = await makeOrphan([], '3502');
    const table = ok(runCli('vserver-stat', []));
    assert.doesNotMatch(table, new RegExp(`^${o.xid} `, 'm'), table);
    assertReleased(o, 'vserver-stat');
  });

  test('the bridge\'s listContexts() (libvctx vctx_list) does not list it and releases it', async () => {
    const o = await makeOrphan(['--ip', IP], '3503');
    const ts = join(projectRoot, 'src', 'kernel-bridge', 'context.ts');
    const r = bridge(`import { listContexts } from ${JSON.stringify(ts)}; console.log(JSON.stringify(listContexts().map((c) => c.xid)));`);
    assert.equal(r.status, 0, show(r));
    assert.equal((JSON.parse(r.stdout) as number[]).includes(o.xid), false, r.stdout);
    assertReleased(o, 'listContexts');
  });

  test('chcontext --ctx N of such a context makes a new one with that number', async () => {
    const o = await makeOrphan(['--ctx', '4178'], '3504');
    const r = chcontext(['--silent', '--ctx', '4178', '--', 'cat', '/dev/vctx/xid']);
    assert.equal(r.status, 0, show(r));
    assert.equal(r.stdout, '4178\n');
    assertReleased(o, 'chcontext --ctx');
  });

  test('a nested context whose monitor (inside its parent) was killed goes; the parent stays', async () => {
    const outer = await startContext([], ['sleep', '3505']);
    try {
      const r = chcontext(['--ctx', String(outer.xid), '--', tool('chcontext'), '--daemon', '--', 'sleep', '3506']);
      assert.equal(r.status, 0, show(r));
      const inner = Number(r.stdout.split(' ')[0]);
      const dir = cgroupDir(inner)!;
      assert.ok(dir, show(r));
      const innerProcs = await waitFor(() => (procsOf(inner).length >= 2 ? procsOf(inner) : null));
      assert.ok(innerProcs);
      // its monitor: the chcontext --daemon among the parent's own processes
      const monitor = findByCmdline(procsOf(outer.xid).filter((p) => !innerProcs.includes(p)), 'sleep 3506')[0]!;
      assert.ok(monitor, 'the nested monitor');
      // control: while it runs, it is listed
      const before = JSON.parse(ok(runCli('vserver-stat', ['--json']))) as { contexts: Array<{ xid: number }> };
      assert.ok(before.contexts.some((c) => c.xid === inner), 'the nested context is listed while it runs');
      process.kill(monitor, 'SIGKILL');
      assert.ok(await waitFor(() => !running(monitor), 3000));
      killAll(inner);
      assert.ok(await waitFor(() => !populated(dir), 3000));
      assert.ok(leftovers(inner).includes(dir), 'control: the nested cgroup is left behind');
      const json = JSON.parse(ok(runCli('vserver-stat', ['--json']))) as { contexts: Array<{ xid: number }> };
      assert.deepEqual(json.contexts.filter((c) => c.xid === inner), [], 'vserver-stat lists the nested leftover');
      assert.ok(json.contexts.some((c) => c.xid === outer.xid), 'the parent is gone from vserver-stat');
      assert.deepEqual(leftovers(inner), []);
      assert.ok(procsOf(outer.xid).length >= 2, 'the parent lost processes');
    } finally {
      await stopContext(outer);
    }
  });

  test('a context whose monitor lives is never released by a scan, even when its command ended', async () => {
    // the monitor of a context with a live monitor releases it itself; a scan running meanwhile must not race it
    const ctx = await startContext(['--ip', IP], ['sleep', '3507']);
    try {
      for (let i = 0; i < 3; i++) {
        const json = JSON.parse(ok(runCli('vserver-stat', ['--json']))) as { contexts: Array<{ xid: number }> };
        assert.ok(json.contexts.some((c) => c.xid === ctx.xid), 'a running context is not listed');
      }
      assert.ok(cgroupDir(ctx.xid));
      assert.ok(running(ctx.monitor));
      assert.ok(existsSync(guardSocket(ctx.xid)));
    } finally {
      await stopContext(ctx);
    }
  });
});
