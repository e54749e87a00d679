/**
 * Containment of a --secure context with a server root: read-only
 * /proc/sys and /sys, the OCI masked paths, a private /dev with its own
 * devpts, a read-only cgroupfs showing only the context's subtree, no user
 * namespaces, Landlock scoping of abstract unix sockets, no inherited
 * descriptors; and nested contexts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { removeRoot } from '../helpers/busybox-root.js';
import {
  cgroupRel,
  chcontext,
  inCtx,
  isRoot,
  makeProbeRoot,
  nspid,
  ok,
  procsOf,
  removeCompiled,
  run,
  show,
  startContext,
  stopAll,
  stopContext,
  tool,
  waitFor,
  waitGone,
  type Ctx,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';

describe('containment of a --secure server context', { skip }, () => {
  let root = '';
  let probe = '';
  let ctx: Ctx;

  before(async () => {
    ({ root, probe } = await makeProbeRoot());
    ctx = await startContext(['--secure', '--root', root], ['sleep', '300']);
  });
  after(async () => {
    if (ctx) await stopContext(ctx).catch(() => {});
    await stopAll();
    if (root) await removeRoot(root);
    if (probe) removeCompiled(probe);
  });

  test('/proc/sys is read-only: writing a sysctl (its own value) fails with EROFS', () => {
    // control: the host may write it
    const v = readFileSync('/proc/sys/vm/swappiness', 'utf8').trim();
    const r = inCtx(ctx.xid, `echo ${v} > /proc/sys/vm/swappiness; echo rc=$?`);
    assert.match(r.stdout, /rc=[1-9]/, show(r));
    assert.match(r.stderr, /Read-only file system/, show(r));
    const s = inCtx(ctx.xid, 'sysctl -w kernel.hostname=evil; echo rc=$?');
    assert.match(s.stdout, /rc=[1-9]/, show(s));
    assert.notEqual(readFileSync('/proc/sys/kernel/hostname', 'utf8').trim(), 'evil');
  });

  test('the OCI masked paths are masked', () => {
    // files: empty (bound /dev/null) where the kernel has them
    for (const f of ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/sysrq-trigger']) {
      const r = inCtx(ctx.xid, `wc -c < ${f}`);
      if (existsSync(f)) assert.equal(ok(r).trim(), '0', `${f}: ${show(r)}`);
      else assert.notEqual(r.status, 0, `${f} appeared inside: ${show(r)}`);
    }
    // directories: empty, or (/sys by allowlist, issue 12) not there at all
    for (const d of ['/sys/firmware', '/proc/acpi', '/proc/scsi', '/sys/kernel/debug', '/sys/kernel/security']) {
      if (!existsSync(d)) continue;
      assert.equal(ok(inCtx(ctx.xid, `[ ! -e ${d} ] || ls -A ${d}`)), '', d);
    }
    // ... and a masked file cannot be written through
    const w = inCtx(ctx.xid, 'echo x > /proc/sysrq-trigger; echo rc=$?');
    assert.doesNotMatch(w.stdout, /rc=0/);
  });

  test('/sys is read-only', () => {
    const r = inCtx(ctx.xid, 'touch /sys/vctx-test; echo rc=$?; echo 1 > /sys/kernel/mm/transparent_hugepage/enabled; echo rc=$?');
    assert.match(r.stdout, /^rc=1$/m, show(r));
    assert.doesNotMatch(r.stdout, /rc=0/, show(r));
    assert.match(r.stderr, /Read-only file system/);
  });

  test('a private /dev with only the harmless devices', () => {
    const list = ok(inCtx(ctx.xid, 'ls -A /dev')).trim().split('\n').filter((d) => d !== 'mqueue');
    assert.deepEqual(list.sort(), ['fd', 'full', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'vctx', 'zero'].sort());
    // character devices with the right numbers
    const nodes = ok(inCtx(ctx.xid, 'for d in null zero full random urandom tty; do stat -c "%n %F %t:%T" /dev/$d; done'));
    assert.equal(nodes, [
      '/dev/null character special file 1:3', '/dev/zero character special file 1:5', '/dev/full character special file 1:7',
      '/dev/random character special file 1:8', '/dev/urandom character special file 1:9', '/dev/tty character special file 5:0',
    ].join('\n') + '\n');
    // no way to make another device node
    const mk = inCtx(ctx.xid, 'mknod /dev/sda b 8 0; echo rc=$?');
    assert.match(mk.stdout, /rc=1/, show(mk));
  });

  test('its own devpts instance: ptys made inside are not the host ones', () => {
    const inside = ok(inCtx(ctx.xid, 'stat -c %d /dev/pts; ls -A /dev/pts')).trim().split('\n');
    assert.notEqual(Number(inside[0]), statSync('/dev/pts').dev, 'the host devpts is mounted inside');
    assert.deepEqual(inside.slice(1), ['ptmx'], 'host ptys visible inside');
    // a pty opened inside (by the guard, for --pty) lives in that instance
    const r = run('sh', ['-c', `${tool('chcontext')} --ctx ${ctx.xid} --pty -- sh -c 'tty; stat -c %d /dev/pts/*' </dev/null`]);
    const lines = r.stdout.replace(/\r/g, '').trim().split('\n');
    assert.match(lines[0]!, /^\/dev\/pts\/\d+$/, show(r));
    assert.ok(lines.slice(1).every((l) => l === inside[0]), show(r));
  });

  test('cgroupfs is read-only and shows only the context subtree', () => {
    const ls = ok(inCtx(ctx.xid, 'ls -A /sys/fs/cgroup')).split('\n');
    assert.ok(ls.includes('cgroup.procs'), ls.join(' '));
    assert.ok(!ls.includes('vctx') && !ls.includes('system.slice') && !ls.includes('unified'), ls.join(' '));
    const procs = ok(inCtx(ctx.xid, 'cat /sys/fs/cgroup/cgroup.procs')).trim().split('\n').map(Number);
    assert.ok(procs.every((p) => p < 50), `host PIDs in the context cgroup: ${procs}`);
    assert.ok(procs.includes(1));
    const mk = inCtx(ctx.xid, 'mkdir /sys/fs/cgroup/escape; echo rc=$?; echo $$ > /sys/fs/cgroup/cgroup.procs; echo rc=$?');
    assert.doesNotMatch(mk.stdout, /rc=0/, show(mk));
    assert.match(mk.stderr, /Read-only file system/, show(mk));
  });

  test('user namespaces are refused', () => {
    const r = inCtx(ctx.xid, 'unshare -U true; echo rc=$?; unshare -U -r id -u; echo rc=$?');
    assert.doesNotMatch(r.stdout, /rc=0/, show(r));
    assert.match(r.stderr, /Operation not permitted/, show(r));
  });

  test('an abstract unix socket of the host is not reachable (Landlock scoping)', async () => {
    const name = `vctx-test-${process.pid}`;
    const server = spawn('python3', ['-c', `import socket,time\ns=socket.socket(socket.AF_UNIX)\ns.bind('\\0${name}')\ns.listen(8)\nprint('up',flush=True)\ntime.sleep(30)`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise((r) => server.stdout!.once('data', r));
      // control: from the host it connects
      assert.equal(ok(run(probe, ['abstract', name])).trim(), 'connected');
      // inside: same network namespace, so only Landlock stands in the way
      assert.equal(readlinkSync(`/proc/${ctx.pid1}/ns/net`), readlinkSync('/proc/self/ns/net'));
      assert.equal(ok(inCtx(ctx.xid, `vctx-probe abstract ${name}`)).trim(), 'error EPERM');
    } finally {
      server.kill('SIGKILL');
    }
  });

  test('no descriptor of the caller leaks in: only 0, 1, 2', () => {
    // a new context, with fd 7 open in the calling shell
    const r = run('sh', ['-c', `exec 7</etc/hostname 8>/dev/null; ${tool('chcontext')} --silent --secure --root ${root} -- /bin/vctx-probe fds`]);
    assert.equal(ok(r).trim(), 'fds 0 1 2');
    // entering: the same
    const e = run('sh', ['-c', `exec 7</etc/hostname; ${tool('chcontext')} --ctx ${ctx.xid} -- /bin/vctx-probe fds`]);
    assert.equal(ok(e).trim(), 'fds 0 1 2');
    // and the context's PID 1 and command hold nothing but the guard socket and stdio
    const fds = run('ls', [`/proc/${ctx.pid1}/fd`]).stdout.trim().split('\n').map(Number);
    assert.ok(fds.length <= 8, `PID 1 holds ${fds.length} descriptors`);
  });
});

describe('nested contexts (the seed second example)', { skip }, () => {
  after(stopAll);

  test('a context inside a context is isolated again and its cgroup is a child of its parent', async () => {
    const outer = await startContext([], ['sleep', '3101']);
    try {
      const r = chcontext(['--ctx', String(outer.xid), '--', tool('chcontext'), '--daemon', '--', 'sleep', '3102']);
      assert.equal(r.status, 0, show(r));
      const inner = Number(r.stdout.split(' ')[0]);
      assert.equal(cgroupRel(inner), `vctx/${outer.xid}/${inner}`);
      const host = await waitFor(() => procsOf(inner).find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('3102')) ?? 0);
      // the inner sleep lives in a third PID namespace
      assert.equal(nspid(host).length, 3);
      // isolated again: inside the inner context, the outer sleep is not visible
      const ps = ok(chcontext(['--ctx', String(inner), '--', 'ps', 'ax', '-o', 'args=']));
      assert.match(ps, /sleep 3102/);
      assert.doesNotMatch(ps, /sleep 3101/);
    } finally {
      await stopContext(outer);
    }
  });

  test('a nested chcontext never harms its parent context', async () => {
    const outer = await startContext([], ['sleep', '3103']);
    try {
      const r = chcontext(['--ctx', String(outer.xid), '--', tool('chcontext'), '--', 'true']);
      // whatever the outcome, the parent context still runs and nothing leaked at the top
      assert.ok(procsOf(outer.xid).length >= 2, show(r));
      if (r.status !== 0) assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    } finally {
      await stopContext(outer);
      await waitGone(outer.xid);
    }
  });
});
