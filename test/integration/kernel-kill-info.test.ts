/**
 * Killing contexts and single processes through libvctx (the bridge's
 * killContext/killPid, vkill), and what the host and a context learn
 * about contexts: vserver-info, /dev/vctx/xid, the snapshot's contexts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { makeBusyboxRoot, removeRoot } from '../helpers/busybox-root.js';
import {
  chcontext,
  findByCmdline,
  inCtx,
  installInRoot,
  isRoot,
  ok,
  procsOf,
  projectRoot,
  run,
  runCli,
  runTool,
  running,
  show,
  startContext,
  startTimeOf,
  stopAll,
  stopContext,
  waitFor,
  waitGone,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';

/** run a snippet of TypeScript against the bridge in a fresh node (tsx) */
function bridge(code: string) {
  return run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: projectRoot, timeout: 30_000 });
}
const killTs = join(projectRoot, 'src', 'kernel-bridge', 'kill.ts');
const snapTs = join(projectRoot, 'src', 'kernel-bridge', 'snapshot.ts');

describe('kill', { skip }, () => {
  after(stopAll);

  test('killContext(xid, SIGKILL) leaves no process, and the context is released', async () => {
    const ctx = await startContext([], ['sh', '-c', 'sleep 3301 & sleep 3302 & exec sleep 3303'], 4);
    const pids = procsOf(ctx.xid);
    assert.ok(pids.length >= 4, `${pids}`);
    const r = bridge(`import { killContext } from ${JSON.stringify(killTs)}; console.log(killContext(${ctx.xid}, 'SIGKILL'));`);
    assert.equal(r.status, 0, show(r));
    assert.ok(Number(r.stdout.trim()) >= 4, r.stdout);
    assert.ok(await waitFor(() => pids.every((p) => !running(p)), 3000), 'processes survived');
    await stopContext(ctx);
  });

  test('vkill --xid N kills every process of the context', async () => {
    const ctx = await startContext([], ['sh', '-c', 'sleep 3304 & exec sleep 3305'], 3);
    const pids = procsOf(ctx.xid);
    ok(runCli('vkill', ['--xid', String(ctx.xid), '-s', 'KILL']));
    assert.ok(await waitFor(() => pids.every((p) => !running(p)), 3000));
    await waitGone(ctx.xid);
    await stopContext(ctx);
  });

  test('killPid: a wrong start time is ESRCH and the process survives; the right one kills', async () => {
    const ctx = await startContext([], ['sh', '-c', 'sleep 3306 & exec sleep 3307'], 3);
    try {
      // wait for the shell's exec: until then its own command line also says "sleep 3306"
      const exact = (cmd: string) => procsOf(ctx.xid).filter((p) => cmdlineOf(p) === cmd);
      assert.ok(await waitFor(() => exact('sleep 3307').length === 1, 3000), 'the shell exec\'d sleep 3307');
      const pid = await waitFor(() => exact('sleep 3306')[0] ?? 0);
      const start = startTimeOf(pid);
      assert.ok(pid && start);
      const wrong = bridge(
        `import { killPid } from ${JSON.stringify(killTs)};
         try { killPid(${pid}, ${start + 1}, 'SIGKILL'); console.log('killed'); } catch (e) { console.log(e.code); }`,
      );
      assert.equal(wrong.stdout.trim(), 'ESRCH', show(wrong));
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(running(pid), 'a process with another start time was killed');
      const right = bridge(`import { killPid } from ${JSON.stringify(killTs)}; killPid(${pid}, ${start}, 'SIGKILL'); console.log('killed');`);
      assert.equal(right.stdout.trim(), 'killed', show(right));
      assert.ok(await waitFor(() => !running(pid), 3000));
      // only that one: the context's command runs on
      assert.equal(exact('sleep 3307').length, 1);
    } finally {
      await stopContext(ctx);
    }
  });
});

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

describe('info', { skip }, () => {
  let root = '';
  before(async () => {
    root = await makeBusyboxRoot();
  });
  after(async () => {
    await stopAll();
    if (root) await removeRoot(root);
  });

  test('vserver-info PID xid from the host; 0 for a host process', async () => {
    const ctx = await startContext([], ['sleep', '3308']);
    try {
      const pid = await waitFor(() => findByCmdline(procsOf(ctx.xid), 'sleep 3308')[0] ?? 0);
      assert.equal(ok(runTool('vserver-info', [String(pid), 'xid'])), `${ctx.xid}\n`);
      assert.equal(ok(runTool('vserver-info', [String(ctx.pid1), 'xid'])), `${ctx.xid}\n`);
      assert.equal(ok(runTool('vserver-info', [String(process.pid), 'xid'])), '0\n');
      assert.equal(ok(runTool('vserver-info', ['xid'])), '0\n');
      // inside a bare context, without arguments: its own XID
      assert.equal(ok(inCtx(ctx.xid, `${join(projectRoot, 'kernel', 'out', 'vserver-info')} xid`)), `${ctx.xid}\n`);
    } finally {
      await stopContext(ctx);
    }
  });

  test('inside a server, vserver-info xid reads the read-only /dev/vctx/xid', async () => {
    const info = installInRoot(root, 'vserver-info');
    const ctx = await startContext(['--secure', '--root', root], ['sleep', '3309']);
    try {
      assert.equal(ok(inCtx(ctx.xid, `${info} xid; ${info} - xid; cat /dev/vctx/xid`)), `${ctx.xid}\n${ctx.xid}\n${ctx.xid}\n`);
      const w = inCtx(ctx.xid, 'echo 0 > /dev/vctx/xid; echo rc=$?; cat /dev/vctx/xid');
      assert.match(w.stdout, /^rc=1$/m, show(w));
      assert.match(w.stderr, /Read-only file system/, show(w));
      assert.match(w.stdout, new RegExp(`^${ctx.xid}$`, 'm'));
    } finally {
      await stopContext(ctx);
    }
  });

  test('even root with every capability cannot rewrite /dev/vctx/xid in a bare context', () => {
    const r = chcontext(['--silent', '--', 'sh', '-c', 'echo 0 > /dev/vctx/xid; echo rc=$?; cat /dev/vctx/xid']);
    assert.match(r.stdout, /^rc=[1-9]/m, show(r));
    assert.doesNotMatch(r.stdout, /^0$/m, show(r));
    // and the host's own /dev/vctx/xid still says 0
    assert.equal(readFileSync('/dev/vctx/xid', 'utf8').trim(), '0');
  });

  test('the snapshot lists the context with its IP, capability mask, flags and namespaces', async () => {
    const ctx = await startContext(
      ['--secure', '--root', root, '--ip', '127.0.0.61', '--loopback', '127.128.0.61', '--flag', 'lock', '--name', `kt-${process.pid}`],
      ['sleep', '3310'],
    );
    try {
      const r = bridge(
        `import { NativeSnapshotSource } from ${JSON.stringify(snapTs)};
         const s = new NativeSnapshotSource().snapshot();
         console.log(JSON.stringify({ c: s.contexts.find((c) => c.xid === ${ctx.xid}), p: s.processes.filter((p) => p.xid === ${ctx.xid}).map((p) => p.pid) }));`,
      );
      assert.equal(r.status, 0, show(r));
      const { c, p } = JSON.parse(r.stdout) as { c: Record<string, unknown> & { namespaces: Record<string, number> }; p: number[] };
      assert.ok(c, `context ${ctx.xid} not in the snapshot`);
      assert.equal(c.name, `kt-${process.pid}`);
      assert.equal(c.ip, '127.0.0.61');
      assert.equal(c.loopback, '127.128.0.61');
      assert.equal(BigInt(c.capBounding as string), 0x204405fbn);
      assert.deepEqual(c.flags, ['lock']);
      assert.equal(c.pid1, ctx.pid1);
      assert.equal(c.root, root);
      assert.equal(c.parentXid, 0);
      for (const ns of ['pid', 'mnt', 'ipc', 'uts', 'cgroup']) {
        const inode = Number(/\[(\d+)\]/.exec(readlinkSync(`/proc/${ctx.pid1}/ns/${ns}`))![1]);
        assert.equal(c.namespaces[ns], inode, `namespace ${ns}`);
      }
      assert.deepEqual(p.sort(), procsOf(ctx.xid).sort());
    } finally {
      await stopContext(ctx);
    }
  });
});
