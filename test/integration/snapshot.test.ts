/**
 * The native host snapshot against the real kernel (root): contexts made
 * with kernel/out/chcontext, processes spawned here, all of them killed by
 * PID or by context when a test ends, even when it fails.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { killContext, killPid } from '../../src/kernel-bridge/kill.js';
import { requireAddon } from '../../src/kernel-bridge/addon.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import type { ProcessInfo, Snapshot } from '../../src/kernel-bridge/types.js';
import { chcontext, startDaemonContext } from '../helpers/daemon-context.js';
import { statFields } from '../helpers/kernel.js';

const contexts: number[] = [];
const children: ChildProcess[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tmp = mkdtempSync(join(tmpdir(), 'vctx-snapshot-test-'));

/** a new context running `cmd` (chcontext --daemon); returns its XID */
const startContext = (args: string[]) => startDaemonContext(args, contexts);

/** what a context sees with its own ps: PIDs and comms, the ps itself left out */
function psInside(xid: number): { pid: number; comm: string }[] {
  const r = spawnSync(chcontext, ['--ctx', String(xid), 'ps', '-e', '-o', 'pid=,comm='], {
    encoding: 'utf8', timeout: 20_000,
  });
  assert.equal(r.status, 0, `ps inside context ${xid}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l.trim()).map((l) => {
    const m = /^\s*(\d+)\s+(.*)$/.exec(l)!;
    return { pid: Number(m[1]), comm: m[2]! };
  }).filter((p) => p.comm !== 'ps');
}

function cgroupGone(xid: number): boolean {
  const snap = new NativeSnapshotSource().snapshot();
  return !snap.contexts.some((c) => c.xid === xid);
}

after(async () => {
  for (const c of children) if (c.pid && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const xid of contexts) {
    try { killContext(xid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (let i = 0; i < 50 && !contexts.every(cgroupGone); i++) await sleep(100);
  rmSync(tmp, { recursive: true, force: true });
});

function byPid(s: Snapshot, pid: number): ProcessInfo | undefined {
  return s.processes.find((p) => p.pid === pid);
}

describe('native snapshot', { skip: !existsSync(chcontext) && `${chcontext} is not built (make -C kernel)` }, () => {
  const source = new NativeSnapshotSource();

  test('matches the shape of Snapshot and sees this process', () => {
    const s = source.snapshot();
    assert.equal(source.live, true);
    assert.ok(s.clockTicks > 0 && s.pageSize >= 4096 && s.bootTime > 1e9 && s.uptime > 0);
    const me = byPid(s, process.pid)!;
    assert.ok(me, 'this test process is in the snapshot');
    assert.equal(me.xid, 0);
    assert.equal(me.innerPid, null);
    assert.equal(me.ppid, process.ppid);
    assert.equal(me.comm, 'node');
    assert.match(me.cmdline, /node/);
    assert.ok(me.threads >= 1 && me.rss > 0 && me.vsz > me.rss);
    // start time as /proc says it (field 22)
    const stat = readFileSync(`/proc/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    assert.equal(me.startTime, Number(fields[19]));
    // sorted by pid, no duplicates
    for (let i = 1; i < s.processes.length; i++) assert.ok(s.processes[i - 1]!.pid < s.processes[i]!.pid);
    const kthread = byPid(s, 2);
    assert.equal(kthread?.cmdline, '');
  });

  test('counts per context match what each context sees with its own ps', async () => {
    const a = startContext(['sh', '-c', 'sleep 1000 & sleep 1000 & exec sleep 1000']);
    const b = startContext(['sleep', '1000']);
    await sleep(300);
    const s = source.snapshot();
    for (const xid of [a, b]) {
      const ctx = s.contexts.find((c) => c.xid === xid);
      assert.ok(ctx, `context ${xid} is in the snapshot`);
      const seen = psInside(xid);
      const mine = s.processes.filter((p) => p.xid === xid);
      assert.equal(ctx.nprocs, seen.length, `context ${xid}: snapshot ${ctx.nprocs}, its ps ${JSON.stringify(seen)}`);
      assert.equal(mine.length, seen.length);
      // the PIDs inside are the ones its ps shows
      assert.deepEqual(mine.map((p) => p.innerPid).sort((x, y) => x! - y!), seen.map((p) => p.pid).sort((x, y) => x - y));
      assert.equal(ctx.parentXid, 0);
      assert.match(ctx.cgroup, new RegExp(`/vctx/${xid}$`));
      assert.ok(ctx.pid1 > 0 && byPid(s, ctx.pid1)?.innerPid === 1, 'pid1 is the process with inner PID 1');
      assert.ok(ctx.namespaces.pid! > 0 && ctx.namespaces.mnt! > 0);
      assert.ok(['cgroup2', 'cgroup1', 'sum'].includes(ctx.cpuSource));
      assert.ok(['cgroup2', 'cgroup1', 'sum'].includes(ctx.memorySource));
      assert.ok(ctx.memoryBytes > 0);
      assert.match(ctx.capBounding, /^0x[0-9a-f]+$/);
    }
    assert.equal(s.contexts.find((c) => c.xid === a)!.nprocs, 4, 'init + three sleeps');
  });

  test('a process started inside appears in the next snapshot with its XID and inner PID', async () => {
    const xid = startContext(['sleep', '1000']);
    const child = spawn(chcontext, ['--ctx', String(xid), 'sh', '-c', 'echo $$; exec sleep 999'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const inner = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('\n')) resolve(Number(buf.trim()));
      });
      child.on('exit', (code) => reject(new Error(`chcontext --ctx exited (${code})`)));
    });
    await sleep(200);   // the exec of sleep
    const s = source.snapshot();
    const p = s.processes.find((q) => q.xid === xid && q.innerPid === inner);
    assert.ok(p, `inner PID ${inner} of context ${xid} is in the snapshot`);
    assert.equal(p.comm, 'sleep');
    assert.equal(p.cmdline, 'sleep 999');
    assert.notEqual(p.pid, inner);
    killContext(xid, 'SIGKILL');
  });

  test('5,000 processes appearing and vanishing never make a snapshot fail', async () => {
    const xid = startContext(['sleep', '1000']);
    // each forker makes 2,500 children that live 0..1.5 s, at most ~600 at a time,
    // and stops by itself; one on the host, one inside the context
    const forker = 'use POSIX (); $SIG{CHLD} = "IGNORE"; my $live = 0;' +
      'for my $i (1..2500) { my $p = fork; die "fork: $!" unless defined $p;' +
      ' if (!$p) { select(undef, undef, undef, rand(1.5)); POSIX::_exit(0) }' +
      ' select(undef, undef, undef, 0.002) if $i % 5 == 0 }' +
      ' select(undef, undef, undef, 1.6);';
    const host = spawn('perl', ['-e', forker], { stdio: 'inherit' });
    const inside = spawn(chcontext, ['--ctx', String(xid), 'perl', '-e', forker], { stdio: 'inherit' });
    children.push(host, inside);
    const done = Promise.all([host, inside].map((c) => new Promise((r) => c.on('exit', r))));
    let finished = false;
    void done.then(() => { finished = true; });
    let snaps = 0, maxProcs = 0, maxInside = 0;
    const t0 = Date.now();
    while (!finished && Date.now() - t0 < 60_000) {
      const s = source.snapshot();   // must never throw
      snaps++;
      maxProcs = Math.max(maxProcs, s.processes.length);
      maxInside = Math.max(maxInside, s.contexts.find((c) => c.xid === xid)?.nprocs ?? 0);
      for (const p of s.processes) assert.ok(p.pid > 0 && p.state.length === 1);
      await sleep(1);
    }
    await done;
    assert.ok(snaps >= 5, `only ${snaps} snapshots during the churn`);
    assert.ok(maxInside > 10, `the context held at most ${maxInside} processes`);
    console.log(`# ${snaps} snapshots during the churn, up to ${maxProcs} processes, ${maxInside} in context ${xid}`);
    killContext(xid, 'SIGKILL');
  });

  test('process names with escape sequences come back escaped', async () => {
    // comm and argv from bytes: ESC sequences, BEL, newline, invalid UTF-8, valid UTF-8
    const name = join(tmp, '\x1b[2J\x07x');
    symlinkSync('/bin/sleep', name);
    const bySymlink = spawn(name, ['998'], { argv0: '\x1b]0;pwned\x07', stdio: 'ignore' });
    const byPrctl = spawn('perl', ['-e', '$0 = "\\x1b[31m\\xff\\n\\xc3\\xa9"; sleep 998'], { stdio: 'ignore' });
    children.push(bySymlink, byPrctl);
    await sleep(300);
    const s = source.snapshot();
    const a = byPid(s, bySymlink.pid!)!;
    assert.equal(a.comm, '\\x1b[2J\\x07x');
    assert.equal(a.cmdline, '\\x1b]0;pwned\\x07 998');
    const b = byPid(s, byPrctl.pid!)!;
    assert.equal(b.comm, '\\x1b[31m\\xff\\né');
    assert.equal(b.cmdline, '\\x1b[31m\\xff\\né');
    for (const p of s.processes) {
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(p.comm + p.cmdline, /[\x00-\x1f\x7f\u0080-\u009f]/, `pid ${p.pid}`);
    }
    bySymlink.kill('SIGKILL');
    byPrctl.kill('SIGKILL');
  });

  test('nested context directories and non-numeric ones (bind-PID) are attributed to the nearest context', async (t) => {
    // cgroups made here by hand, with the xattrs the lead's context code writes
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n');
    const v2 = mounts.map((l) => l.split(' - ')).find((p) => p[1]?.startsWith('cgroup2 '))?.[0]?.split(' ')[4];
    if (!v2) return t.skip('no cgroup2 mount');
    if (spawnSync('python3', ['-c', 'import os; os.setxattr']).status !== 0) return t.skip('python3 (for setxattr) is missing');
    const top = join(v2, 'vctx', '65001');
    const dirs = [top, join(top, '65002'), join(top, 'bind-123'), join(v2, 'vctx', 'bind-test')];
    if (dirs.some((d) => existsSync(d))) return t.skip(`${top} is in use`);
    const procs = dirs.map(() => spawn('sleep', ['996'], { stdio: 'ignore' }));
    children.push(...procs);
    try {
      mkdirSync(join(v2, 'vctx'), { recursive: true });
      for (const d of dirs) mkdirSync(d);
      const set = (dir: string, name: string, value: string) => {
        const r = spawnSync('python3', ['-c', 'import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())', dir, name, value]);
        assert.equal(r.status, 0, String(r.stderr));
      };
      set(top, 'trusted.vctx.name', 'nest\x1bed');
      set(top, 'trusted.vctx.flags', 'lock private');
      set(top, 'trusted.vctx.ip', '127.0.0.42');
      set(top, 'trusted.vctx.created', '1700000000');
      set(top, 'trusted.vctx.caps', '0x204405fb');
      await sleep(50);
      procs.forEach((p, i) => writeFileSync(join(dirs[i]!, 'cgroup.procs'), String(p.pid)));
      const s = source.snapshot();
      const xids = procs.map((p) => byPid(s, p.pid!)?.xid);
      assert.deepEqual(xids, [65001, 65002, 65001, 0]);
      const outer = s.contexts.find((c) => c.xid === 65001)!;
      const inner = s.contexts.find((c) => c.xid === 65002)!;
      assert.equal(outer.nprocs, 3, 'its own, the nested context\'s and the bind-123 one');
      assert.equal(inner.nprocs, 1);
      assert.equal(inner.parentXid, 65001);
      assert.equal(outer.parentXid, 0);
      assert.equal(inner.cgroup, join(top, '65002'));
      assert.equal(outer.name, 'nest\\x1bed');
      assert.deepEqual(outer.flags, ['lock', 'private']);
      assert.equal(outer.ip, '127.0.0.42');
      assert.equal(outer.loopback, null);
      assert.equal(outer.created, 1700000000);
      assert.equal(outer.capBounding, '0x204405fb');
      assert.ok(!s.contexts.some((c) => c.cgroup.endsWith('bind-123') || c.cgroup.endsWith('bind-test')));
      if (outer.memorySource === 'sum') {
        const rss = procs.slice(0, 3).reduce((a, p) => a + byPid(s, p.pid!)!.rss, 0);
        assert.equal(outer.memoryBytes, rss);
      }
      // a process of a private context cannot be signalled alone
      const p0 = byPid(s, procs[0]!.pid!)!;
      assert.throws(() => killPid(p0.pid, p0.startTime, 'SIGKILL'), /private context 65001/);
    } finally {
      const exits = procs.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : p.on('exit', r))));
      for (const p of procs) p.kill('SIGKILL');
      await Promise.all(exits);
      for (const d of [...dirs].reverse()) {
        for (let i = 0; i < 50 && existsSync(d); i++) {
          try { rmdirSync(d); } catch { await sleep(20); }
        }
      }
    }
  });

  test('a process of a context that did not run keeps its figures; a renice from outside shows within 10 snapshots', async () => {
    // the scanner does not read again the stat of a process whose context's CPU time did not move
    // (kernel/lib/procscan.c, STALE_ROUNDS): a tenth of them each snapshot, so all within 10
    const xid = startContext(['sleep', '1000']);
    await sleep(300);
    let s = source.snapshot();
    const p = s.processes.find((q) => q.xid === xid && q.comm === 'sleep');
    assert.ok(p, `the sleep of context ${xid} is in the snapshot`);
    assert.equal(p.nice, 0);
    s = source.snapshot();
    assert.deepEqual(byPid(s, p.pid), p, 'the figures of a process that did not run are the same');
    const r = spawnSync('renice', ['-n', '7', '-p', String(p.pid)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const seen: number[] = [];
    for (let i = 0; i < 10 && seen.at(-1) !== 7; i++) seen.push(byPid(source.snapshot(), p.pid)!.nice);
    assert.equal(seen.at(-1), 7, `nice in the 10 snapshots after the renice: ${seen.join(', ')}`);
    killContext(xid, 'SIGKILL');
  });

  test('a process that runs in a context of sleepers: its CPU time moves in every snapshot', async () => {
    const xid = startContext(['sleep', '1000']);
    const spin = spawn(chcontext, ['--ctx', String(xid), 'perl', '-e', '$0 = "spinner"; 1 while 1'], { stdio: 'ignore' });
    children.push(spin);
    let pid = 0;
    for (let i = 0; i < 50 && !pid; i++, await sleep(50)) {
      pid = source.snapshot().processes.find((q) => q.xid === xid && q.cmdline === 'spinner')?.pid ?? 0;
    }
    assert.ok(pid, 'the spinner is in the snapshot');
    const ticks: number[] = [];
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      const q = byPid(source.snapshot(), pid)!;
      ticks.push(q.utime + q.stime);
    }
    for (let i = 1; i < ticks.length; i++) assert.ok(ticks[i]! > ticks[i - 1]!, `CPU ticks of the spinner: ${ticks.join(', ')}`);
    killContext(xid, 'SIGKILL');
  });

  test('a child whose parent is killed shows its new parent in the next snapshot', async () => {
    const xid = startContext(['sleep', '1000']);
    const farm = spawn(chcontext, ['--ctx', String(xid), 'perl', '-e',
      '$0 = "parent"; my $p = fork; if (!$p) { $0 = "orphan"; sleep 1000; exit 0 } sleep 1000'], { stdio: 'ignore' });
    children.push(farm);
    let parent: ProcessInfo | undefined, orphan: ProcessInfo | undefined;
    for (let i = 0; i < 50 && !(parent && orphan); i++, await sleep(50)) {
      const s = source.snapshot();
      parent = s.processes.find((q) => q.xid === xid && q.cmdline === 'parent');
      orphan = s.processes.find((q) => q.xid === xid && q.cmdline === 'orphan');
    }
    assert.ok(parent && orphan && orphan.ppid === parent.pid, 'the child of the parent is in the snapshot');
    source.snapshot();
    killPid(parent.pid, parent.startTime, 'SIGKILL');
    // until it is reaped (one read: it may go between a check and the read)
    for (let i = 0; i < 50 && statFields(parent.pid)?.[0] === 'Z'; i++) await sleep(20);
    await sleep(100);
    const now = byPid(source.snapshot(), orphan.pid);
    assert.ok(now, 'the orphan is still there');
    assert.notEqual(now.ppid, parent.pid, 'its parent is no longer the killed one');
    const statPpid = Number(readFileSync(`/proc/${orphan.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    assert.equal(now.ppid, statPpid);
    killContext(xid, 'SIGKILL');
  });

  test('no stat file is kept open between snapshots (each costs the kernel a seq_file buffer)', async () => {
    const statFds = (pid: number) => readdirSync('/proc/self/fd').filter((fd) => {
      try { return readlinkSync(`/proc/self/fd/${fd}`) === `/proc/${pid}/stat`; } catch { return false; }
    }).length;
    const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    children.push(child);
    await sleep(100);
    assert.ok(byPid(source.snapshot(), child.pid!), 'the sleep is in the snapshot');
    source.snapshot();
    assert.equal(statFds(child.pid!), 0, 'no stat file of it open after two snapshots');
    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    assert.equal(byPid(source.snapshot(), child.pid!), undefined, 'gone from the next snapshot');
  });

  test('the escaping of comm and cmdline escapes C0, DEL, C1, bidi controls and invalid UTF-8, keeps valid UTF-8', () => {
    // the addon's escape(): libvctx's vctx_escape, which every process string of a snapshot goes through
    const terminalEscape = (requireAddon() as { escape(text: string | Uint8Array): string }).escape;
    assert.equal(terminalEscape('plain é 世界'), 'plain é 世界');
    assert.equal(terminalEscape('a\x1b[2Jb'), 'a\\x1b[2Jb');
    assert.equal(terminalEscape('t\tn\nr\r\\'), 't\\tn\\nr\\r\\\\');
    assert.equal(terminalEscape('\x7f\u0085\u009b'), '\\x7f\\u{85}\\u{9b}');
    assert.equal(terminalEscape('\u202eevil'), '\\u{202e}evil');
    assert.equal(terminalEscape(Uint8Array.from([0x61, 0xff, 0xc3, 0xa9, 0xe2, 0x80])), 'a\\xffé\\xe2\\x80');
    assert.equal(terminalEscape(Uint8Array.from([0xc0, 0xaf, 0xed, 0xa0, 0x80])), '\\xc0\\xaf\\xed\\xa0\\x80');
  });
});
