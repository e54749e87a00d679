/**
 * Context flags (lock, private, fakeinit) and limits (pids, memory, cpu,
 * rlimits, nice), checked where the kernel keeps them: the cgroup files on
 * the host (v1 controllers on a hybrid host, cgroup2 otherwise) and what a
 * process inside sees.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBusyboxRoot, removeRoot } from '../helpers/busybox-root.js';
import {
  chcontext,
  controllerDir,
  findByCmdline,
  hostState,
  inCtx,
  isRoot,
  newLeftovers,
  ok,
  ppidOf,
  procsOf,
  run,
  runCli,
  running,
  show,
  startContext,
  stopAll,
  stopContext,
  tool,
  type Ctx,
  v1Mount,
  waitFor,
  waitGone,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';

function readCtl(ctl: 'pids' | 'memory' | 'cpu', xid: number, v1: string, v2: string): string {
  const dir = controllerDir(ctl, xid);
  assert.ok(dir, `no ${ctl} cgroup for context ${xid}`);
  const file = join(dir, v1Mount(ctl) ? v1 : v2);
  assert.ok(existsSync(file), `${file} missing`);
  return readFileSync(file, 'utf8').trim();
}

describe('cgroup limits', { skip }, () => {
  let root = '';
  before(async () => {
    root = await makeBusyboxRoot();
  });
  after(async () => {
    await stopAll();
    if (root) await removeRoot(root);
  });

  test('--pids 20: a context-wide process cap enforced by the pids controller', async () => {
    const ctx = await startContext(['--secure', '--root', root, '--pids', '20'], ['sleep', '300']);
    try {
      assert.equal(readCtl('pids', ctx.xid, 'pids.max', 'pids.max'), '20');
      // 30 background sleeps as root inside: the cap stops some of them
      const r = inCtx(ctx.xid, '(for i in $(seq 30); do sleep 30 >/dev/null 2>&1 & done) 2>/dev/null; set -- /proc/[0-9]*; echo $#');
      const seen = Number(r.stdout.trim().split('\n').pop());
      assert.ok(seen <= 20 && seen >= 10, `processes inside: ${show(r)}`);
      assert.ok(procsOf(ctx.xid).length <= 20, `${procsOf(ctx.xid).length} processes in the cgroup`);
      const events = readCtl('pids', ctx.xid, 'pids.events', 'pids.events');
      assert.match(events, /max [1-9]/, events);
    } finally {
      await stopContext(ctx);
    }
  });

  test('--memory sets the memory limit (memory.limit_in_bytes on v1, memory.max on v2)', async () => {
    const ctx = await startContext(['--secure', '--root', root, '--memory', String(64 * 1024 * 1024)], ['sleep', '300']);
    try {
      assert.equal(readCtl('memory', ctx.xid, 'memory.limit_in_bytes', 'memory.max'), String(64 * 1024 * 1024));
    } finally {
      await stopContext(ctx);
    }
  });

  test('--cpu-weight and --cpu-max set cpu.shares/cfs_quota (v1) or cpu.weight/cpu.max (v2)', async () => {
    const ctx = await startContext(['--secure', '--root', root, '--cpu-weight', '50', '--cpu-max', '150'], ['sleep', '300']);
    try {
      if (v1Mount('cpu')) {
        assert.equal(readCtl('cpu', ctx.xid, 'cpu.shares', ''), '512');
        assert.equal(readCtl('cpu', ctx.xid, 'cpu.cfs_quota_us', ''), '150000');
        assert.equal(readCtl('cpu', ctx.xid, 'cpu.cfs_period_us', ''), '100000');
      } else {
        assert.equal(readCtl('cpu', ctx.xid, '', 'cpu.weight'), '50');
        assert.equal(readCtl('cpu', ctx.xid, '', 'cpu.max'), '150000 100000');
      }
    } finally {
      await stopContext(ctx);
    }
  });

  test('--rlimit nofile=256:512 is visible in /proc/self/limits inside', () => {
    const out = ok(chcontext(['--silent', '--secure', '--root', root, '--rlimit', 'nofile=256:512', '--', 'cat', '/proc/self/limits']));
    assert.match(out, /^Max open files\s+256\s+512\s+files/m, out);
  });

  // The host this runs on has no CAP_SYS_RESOURCE in its bounding set: limits.c only ever
  // lowers RLIMIT_NICE (to 20-nice), so the floor holds without it.
  test('--nice 5: nice is at least 5 inside and cannot be lowered', () => {
    const r = chcontext(['--silent', '--secure', '--root', root, '--nice', '5', '--',
      'sh', '-c', 'cut -d" " -f19 /proc/self/stat; nice -n -1 true; echo n=$?; renice 4 -p $$; echo r=$?']);
    assert.equal(r.status, 0, show(r));
    const [nice] = r.stdout.split('\n');
    assert.ok(Number(nice) >= 5, r.stdout);
    assert.match(r.stdout, /n=[1-9]/);
    assert.match(r.stdout, /r=[1-9]/);
  });
});

describe('context flags', { skip }, () => {
  after(stopAll);

  test('lock: no new namespaces inside, even for root with every capability', () => {
    // control: without lock, root in a bare context may unshare
    ok(chcontext(['--silent', '--', 'unshare', '-m', 'true']));
    const r = chcontext(['--silent', '--flag', 'lock', '--', 'sh', '-c',
      'unshare -m true; echo m=$?; unshare -n true; echo n=$?; unshare -U true; echo u=$?; unshare -p -f true; echo p=$?; nsenter -t 1 -m true; echo s=$?']);
    assert.equal(r.status, 0, show(r));
    for (const k of ['m', 'n', 'u', 'p', 's']) assert.match(r.stdout, new RegExp(`^${k}=[1-9]`, 'm'), show(r));
    assert.match(r.stderr, /Operation not permitted/);
  });

  test('without lock, a user namespace is still refused under --secure', async () => {
    const root = await makeBusyboxRoot();
    try {
      const r = chcontext(['--silent', '--secure', '--root', root, '--', 'sh', '-c', 'unshare -U true; echo u=$?']);
      assert.match(r.stdout, /^u=[1-9]/m, show(r));
      assert.match(r.stderr, /Operation not permitted/, show(r));
    } finally {
      await removeRoot(root);
    }
  });

  test('private: nobody enters it, single processes cannot be signalled, the whole context can be', async () => {
    const ctx = await startContext(['--flag', 'private'], ['sleep', '3201']);
    try {
      const sleeper = findByCmdline(procsOf(ctx.xid), 'sleep 3201')[0]!;
      const before = hostState();
      const e = chcontext(['--ctx', String(ctx.xid), '--', 'true']);
      assert.equal(e.status, 1, show(e));
      assert.equal(e.stderr, `chcontext: context ${ctx.xid} is private: nobody may enter it\n`);
      assert.deepEqual(await newLeftovers(before), []);
      const k = runCli('vkill', ['-s', 'KILL', String(sleeper)]);
      assert.equal(k.status, 1, show(k));
      assert.match(k.stderr, /private/);
      assert.equal(k.stderr.trim().split('\n').length, 1);
      const kx = runCli('vkill', ['--xid', String(ctx.xid), '1']);
      assert.equal(kx.status, 1, show(kx));
      assert.ok(running(sleeper), 'a single signal reached a process of a private context');
      // stop still works: the whole context
      ok(runCli('vkill', ['--xid', String(ctx.xid), '-s', 'KILL']));
      assert.ok(await waitFor(() => !running(sleeper), 3000));
      await waitGone(ctx.xid);
    } finally {
      await stopContext(ctx);
    }
  });

  test('fakeinit: CMD is PID 1 with vctx-guard beside it; orphans go to it', () => {
    const out = ok(chcontext(['--silent', '--flag', 'fakeinit', '--', 'sh', '-c',
      'echo self=$$; (sleep 0.5 &); sleep 0.1; ps -o pid=,ppid=,comm= ax']));
    assert.match(out, /^self=1$/m);
    const rows = out.split('\n').slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows.find((r) => r[2] === 'vctx-guard')?.slice(1), ['1', 'vctx-guard'], out);
    const orphan = rows.find((r) => r[2] === 'sleep' && r[1] === '1');
    assert.ok(orphan, `no orphan sleep under PID 1: ${out}`);
  });

  test('fakeinit: the context can still be entered (through vctx-guard)', async () => {
    const ctx = await startContext(['--flag', 'fakeinit'], ['sleep', '3202'], 2);
    try {
      assert.equal(readFileSync(`/proc/${ctx.pid1}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(), 'sleep 3202');
      assert.equal(ok(inCtx(ctx.xid, 'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $PPID; cat /proc/$PPID/comm')),
        'sleep 3202 \n2\nvctx-guard\n');
    } finally {
      await stopContext(ctx);
    }
  });
});

describe('the nproc flag: the RLIMIT_NPROC becomes the context\'s process limit (pids.max)', { skip }, () => {
  after(stopAll);

  /** chcontext --daemon run under `prlimit PRLIMIT` (the RLIMIT_NPROC chcontext itself has) */
  async function startUnder(prlimit: string[], args: string[], cmd: string[]): Promise<Ctx> {
    const r = run('prlimit', [...prlimit, tool('chcontext'), '--daemon', ...args, '--', ...cmd]);
    assert.equal(r.status, 0, show(r));
    const m = /^(\d+) (\d+)$/m.exec(r.stdout);
    assert.ok(m, show(r));
    const ctx: Ctx = { xid: Number(m[1]), pid1: Number(m[2]), monitor: 0 };
    ctx.monitor = ppidOf(ctx.pid1);
    await waitFor(() => procsOf(ctx.xid).length >= 2);
    return ctx;
  }
  const maxProcesses = (pid: number): string =>
    /^Max processes\s+(\S+)\s+(\S+)/m.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))!.slice(1, 3).join(' ');

  test('--flag nproc alone: the hard RLIMIT_NPROC chcontext runs with', async () => {
    const ctx = await startUnder(['--nproc=30:37'], ['--flag', 'nproc'], ['sleep', '3401']);
    try {
      assert.equal(readCtl('pids', ctx.xid, 'pids.max', 'pids.max'), '37');
    } finally {
      await stopContext(ctx);
    }
  });

  test('--flag nproc with --rlimit nproc=S:H: H is the context\'s limit, not a per-user one', async () => {
    const ctx = await startUnder(['--nproc=500:600'], ['--flag', 'nproc', '--rlimit', 'nproc=20:25'], ['sleep', '3402']);
    try {
      assert.equal(readCtl('pids', ctx.xid, 'pids.max', 'pids.max'), '25');
      // the processes inside keep the per-user limit they had
      assert.equal(maxProcesses(ctx.pid1), '500 600');
    } finally {
      await stopContext(ctx);
    }
  });

  test('--pids N wins over nproc', async () => {
    const ctx = await startUnder(['--nproc=37:37'], ['--flag', 'nproc', '--pids', '40'], ['sleep', '3403']);
    try {
      assert.equal(readCtl('pids', ctx.xid, 'pids.max', 'pids.max'), '40');
    } finally {
      await stopContext(ctx);
    }
  });

  test('the limit holds: a fork beyond it fails inside, even for root', () => {
    const script = ['sh', '-c', 'sleep 0.2 & sleep 0.2 & sleep 0.2 & wait; echo done'];
    // control: 6 processes are enough for the reaper, sh and three sleeps
    const c = run('prlimit', ['--nproc=6:6', tool('chcontext'), '--silent', '--flag', 'nproc', '--', ...script]);
    assert.equal(c.status, 0, show(c));
    assert.equal(c.stdout, 'done\n');
    // 4 processes: the reaper, sh, two sleeps; the third sleep cannot be forked
    const r = run('prlimit', ['--nproc=4:4', tool('chcontext'), '--silent', '--flag', 'nproc', '--', ...script]);
    assert.notEqual(r.status, 0, show(r));
    assert.match(r.stderr, /Cannot fork/, show(r));
  });

  test('chcontext --help says what nproc does', () => {
    const help = ok(chcontext(['--help']));
    assert.match(help, /nproc/);
    assert.match(help.replace(/\s+/g, ' '), /pids\.max/);
  });
});

describe('the lock flag: no new namespace or context inside', { skip }, () => {
  test('a nested chcontext says the context is locked, in one line', () => {
    const r = chcontext(['--silent', '--flag', 'lock', '--', tool('chcontext'), '--silent', '--', 'true']);
    assert.equal(r.status, 1, show(r));
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, show(r));
    assert.match(r.stderr, /^chcontext: context \d+ is locked \(flag lock\)/, show(r));
  });

  test('unshare (util-linux) and nsenter get EPERM; the context knows its flags from /dev/vctx/flags', () => {
    const r = chcontext(['--silent', '--flag', 'lock', '--flag', 'nproc', '--', 'sh', '-c',
      'cat /dev/vctx/flags; unshare -m true; echo u=$?; nsenter -t 1 -m true; echo s=$?']);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /^lock nproc$/m, show(r));
    assert.match(r.stdout, /^u=[1-9]/m, show(r));
    assert.match(r.stdout, /^s=[1-9]/m, show(r));
    assert.match(r.stderr, /unshare.*Operation not permitted/, show(r));
    assert.match(r.stderr, /nsenter.*Operation not permitted/, show(r));
  });

  test('control: without lock, a nested chcontext works', () => {
    const r = chcontext(['--silent', '--', tool('chcontext'), '--silent', '--', 'true']);
    assert.equal(r.status, 0, show(r));
  });
});
