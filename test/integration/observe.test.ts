/**
 * The observation commands against the live host (root): vserver-stat,
 * vps, vpstree, vkill, vdu.  Contexts are made with kernel/out/chcontext;
 * every process, context and mount made here is removed in after() even
 * when a test fails.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import type { ContextInfo, ProcessInfo, Snapshot } from '../../src/kernel-bridge/types.js';
import { spawnContext } from '../helpers/daemon-context.js';
import { commandPath, type Command } from '../helpers/commands.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CHCONTEXT = join(root, 'kernel', 'out', 'chcontext');
const VDU_TOOL = join(root, 'kernel', 'out', 'vdu');
const isRoot = process.getuid?.() === 0;

/** runs one of the commands as installed (test/helpers/commands.ts) */
function cli(name: Command, args: string[], opts: { uid?: number; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(commandPath(name), args, {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, FORCE_COLOR: '0', ...opts.env },
    // a real other user: its own group too (with root's group, a checkout below a
    // 0701 directory such as mktemp -d's is out of its reach)
    uid: opts.uid,
    gid: opts.uid,
  });
}

function noStack(r: SpawnSyncReturns<string>): void {
  assert.doesNotMatch(r.stderr, /\n\s+at /, `stack trace in stderr: ${r.stderr}`);
}

/** a context made by chcontext for the tests */
interface TestContext {
  child: ChildProcess;
  xid: number;
  name: string;
}

const made: TestContext[] = [];
const spawned: ChildProcess[] = [];

/** starts `chcontext --name NAME [--flag F] -- sleep 300` and waits for its XID */
async function makeContext(name: string, flags: string[] = []): Promise<TestContext> {
  const args = ['--name', name, ...flags.flatMap((f) => ['--flag', f])];
  const { child, xid } = await spawnContext(args, ['sleep', '300']);
  const ctx = { child, xid, name };
  made.push(ctx);
  // wait until the sleep runs inside (the context has 2 processes)
  for (let i = 0; i < 100; i++) {
    const procs = cgroupProcs(xid);
    if (procs.length >= 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return ctx;
}

/** the cgroup2 directory of a context (below <cgroup2>/vctx/) */
function cgroupDir(xid: number): string | null {
  const mounts = spawnSync('findmnt', ['-n', '-o', 'TARGET', '-t', 'cgroup2'], { encoding: 'utf8' }).stdout.split('\n');
  for (const m of mounts.filter(Boolean)) {
    const d = join(m, 'vctx', String(xid));
    if (existsSync(d)) return d;
  }
  return null;
}

function cgroupProcs(xid: number): number[] {
  const d = cgroupDir(xid);
  if (!d) return [];
  const r = spawnSync('sh', ['-c', `find ${JSON.stringify(d)} -name cgroup.procs -exec cat {} +`], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/** kills a test context whatever state it is in */
async function destroy(ctx: TestContext): Promise<void> {
  const d = cgroupDir(ctx.xid);
  if (d && existsSync(join(d, 'cgroup.kill'))) {
    try {
      writeFileSync(join(d, 'cgroup.kill'), '1');
    } catch {
      /* already gone */
    }
  }
  if (ctx.child.exitCode === null && ctx.child.signalCode === null) {
    const exited = new Promise((r) => ctx.child.once('exit', r));
    const t = setTimeout(() => ctx.child.pid && process.kill(ctx.child.pid, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }
}

function waitExit(child: ChildProcess, ms = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`pid ${child.pid} did not exit`)), ms);
    child.once('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal });
    });
  });
}

function skipReason(): string | undefined {
  if (!isRoot) return 'needs root (the commands refuse other users)';
  return undefined;
}

describe('observation commands on the live host', { skip: skipReason() }, () => {
  let named: TestContext;
  const ctxName = `obs-${process.pid}`;

  before(async () => {
    if (!existsSync(CHCONTEXT) || !existsSync(VDU_TOOL)) {
      spawnSync('make', ['-s', '-C', join(root, 'kernel')], { stdio: 'inherit' });
    }
    named = await makeContext(ctxName);
  });

  after(async () => {
    for (const c of made) await destroy(c);
    for (const c of spawned) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  });

  test('--help of every command: usage on stdout, exit 0', () => {
    for (const name of ['vserver-stat', 'vps', 'vpstree', 'vkill', 'vdu'] as const) {
      const r = cli(name, ['--help']);
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: ${name} `));
    }
  });

  test('not root: one line, exit 1', () => {
    for (const [name, args] of [['vserver-stat', []], ['vps', ['ax']], ['vpstree', []], ['vkill', ['1']], ['vdu', ['/tmp']]] as const) {
      const r = cli(name, [...args], { uid: 65534 });
      assert.equal(r.status, 1, `${name}: ${r.stderr}`);
      assert.equal(r.stderr, `${name}: must be run as root\n`);
      assert.equal(r.stdout, '');
    }
  });

  test('usage errors: one line naming the flag, exit 2', () => {
    const cases: [Command, string[], string][] = [
      ['vserver-stat', ['--bogus'], "vserver-stat: unknown option '--bogus'; try 'vserver-stat --help'\n"],
      ['vserver-stat', ['extra'], "vserver-stat: unexpected argument 'extra'; try 'vserver-stat --help'\n"],
      ['vpstree', ['--ascii', '--unicode'], "vpstree: options '--ascii' and '--unicode' exclude each other; try 'vpstree --help'\n"],
      ['vkill', [], "vkill: No pid specified; try 'vkill --help'\n"],
      ['vkill', ['-s', 'BOGUS', '1'], "vkill: Invalid signal specified (-s 'BOGUS'); try 'vkill --help'\n"],
      // found by the fuzz test: a line break in the signal broke the one-line error
      ['vkill', ['-s', '\r\n', '1'], "vkill: Invalid signal specified (-s '\\r\\n'); try 'vkill --help'\n"],
      ['vkill', ['abc'], "vkill: 'abc' is not a PID (a positive number); try 'vkill --help'\n"],
      ['vkill', ['-x'], "vkill: unknown option '-x'; try 'vkill --help'\n"],
      ['vdu', [], "vdu: no PATH given; try 'vdu --help'\n"],
      ['vdu', ['--inodes', '/'], "vdu: unknown option '--inodes'; try 'vdu --help'\n"],
    ];
    for (const [name, args, want] of cases) {
      const r = cli(name, args);
      assert.equal(r.status, 2, `${name} ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, want);
    }
  });

  test('vserver-stat: header, context 0 and the test context, at the fixed columns', () => {
    const r = cli('vserver-stat', []);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines[0], 'CTX   PROC    VSZ    RSS  userTIME   sysTIME    UPTIME NAME');
    const time = String.raw`(?:\d+m\d\ds\d\d|\d+h\d\dm\d\d|\d+d\d\dh\d\d|\d+y\d+d\d\d)`;
    const mem = String.raw`\d+(?:\.\d)?[ KMGT+]`;
    const row = new RegExp(String.raw`^(\d+) +(\d+) +${mem} +${mem} +${time} +${time} +${time} (.*)$`);
    for (const l of lines.slice(1)) {
      assert.match(l, row);
      assert.equal(l[54], ' ', l);
      assert.notEqual(l[53], ' ', l);
      assert.notEqual(l[33], ' ', l);
      assert.notEqual(l[43], ' ', l);
    }
    const host = lines.find((l) => l.startsWith('0 '))!;
    assert.ok(host, r.stdout);
    assert.equal(host.slice(55), 'root server');
    assert.ok(Number(row.exec(host)![2]) > 10);
    const mine = lines.find((l) => l.startsWith(`${named.xid} `));
    assert.ok(mine, `no row for context ${named.xid}:\n${r.stdout}`);
    assert.equal(mine.slice(55), ctxName.slice(0, 20));
    assert.ok(Number(row.exec(mine)![2]) >= 2, mine);
  });

  test('vserver-stat --json: the rows with the cgroup figures', () => {
    const r = cli('vserver-stat', ['--json']);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { contexts: Array<Record<string, unknown> & { cgroup: Record<string, unknown> | null }> };
    const host = doc.contexts.find((c) => c.xid === 0)!;
    assert.equal(host.name, 'root server');
    assert.equal(host.cgroup, null);
    const mine = doc.contexts.find((c) => c.xid === named.xid)!;
    assert.equal(mine.name, ctxName);
    assert.ok(mine.cgroup);
    for (const k of ['memoryBytes', 'cpuUsec', 'pids', 'pidsEvents', 'oomKills']) assert.equal(typeof mine.cgroup[k], 'number', k);
    assert.match(String(mine.cgroup.memorySource), /^(cgroup2|cgroup1|sum)$/);
    assert.match(String(mine.cgroup.cpuSource), /^(cgroup2|cgroup1|sum)$/);
    assert.ok((mine.cgroup.pids as number) >= 2);
  });

  test("vserver-stat's front hands Node the addon's snapshot, less its own scanning child", () => {
    // kernel/out/vserver-stat with a `node` that keeps what the front wrote on fd 3
    const dir = mkdtempSync(join(tmpdir(), 'vctx-stat-front-'));
    try {
      writeFileSync(join(dir, 'node'), `#!/bin/sh\necho $$ > ${dir}/pid\nexec cat <&3 > ${dir}/scan.json\n`, { mode: 0o755 });
      const r = spawnSync(commandPath('vserver-stat'), ['--json'], {
        encoding: 'utf8', env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, timeout: 60_000,
      });
      assert.equal(r.status, 0, r.stderr);
      const front = JSON.parse(readFileSync(join(dir, 'scan.json'), 'utf8')) as Snapshot;
      const frontPid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
      const addon = new NativeSnapshotSource({ lite: true }).snapshot();
      // the same keys, in the same order, for the snapshot, a process and a context
      assert.deepEqual(Object.keys(front), Object.keys(addon));
      assert.deepEqual(Object.keys(front.processes[0]!), Object.keys(addon.processes[0]!));
      const mine = (s: Snapshot): ContextInfo => s.contexts.find((c) => c.xid === named.xid)!;
      assert.deepEqual(Object.keys(mine(front)), Object.keys(mine(addon)));
      // what does not change between two scans is equal
      const still = (c: ContextInfo): Partial<ContextInfo> => {
        const { cpuUsec: _c, memoryBytes: _m, ...rest } = c;
        return rest;
      };
      assert.deepEqual(still(mine(front)), still(mine(addon)));
      assert.equal(mine(front).name, ctxName);
      const sleeper = (s: Snapshot): ProcessInfo => s.processes.find((p) => p.xid === named.xid && p.comm === 'sleep')!;
      const { utime: _u, stime: _s, ...a } = sleeper(front);
      const { utime: _u2, stime: _s2, ...b } = sleeper(addon);
      assert.deepEqual(a, b);
      assert.equal(typeof front.takenAt, 'number');
      assert.equal(front.clockTicks, addon.clockTicks);
      assert.equal(front.bootTime, addon.bootTime);
      // the front's child, which scanned, is not in it (the front itself, now `cat`, is)
      assert.ok(front.processes.some((p) => p.pid === frontPid));
      assert.deepEqual(front.processes.filter((p) => p.ppid === frontPid), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('vps ax: CONTEXT after PID, the host as MAIN, the context by name, ps itself known', () => {
    const r = cli('vps', ['ax']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    const header = lines[0]!;
    const at = header.indexOf('PID ') + 4;
    assert.equal(header.slice(at, at + 20), 'CONTEXT             ');
    const init = lines.find((l) => /^\s*1 /.test(l))!;
    assert.equal(init.slice(at, at + 20), '    0 MAIN          ');
    const sleeps = lines.filter((l) => l.endsWith('sleep 300') && l.slice(at, at + 20).trim().startsWith(`${named.xid} `));
    assert.ok(sleeps.length >= 1, r.stdout);
    assert.equal(sleeps[0]!.slice(at, at + 20), `${String(named.xid).padStart(5)} ${ctxName}`.padEnd(20));
    const psRow = lines.find((l) => / ps ax$/.test(l))!;
    assert.ok(psRow, r.stdout);
    assert.doesNotMatch(psRow.slice(at, at + 20), /ERR/);
  });

  test("vps: the front (ps's parent, which takes the snapshot once ps has ended) is a host process, ps is the spectator's", () => {
    const r = cli('vps', ['-eo', 'pid,ppid,args']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    const helper = lines.find((l) => / \S*kernel\/out\/vps -eo pid,ppid,args$/.test(l));
    assert.ok(helper, r.stdout);
    assert.match(helper, /^\s*(\d+)\s+0 MAIN\s+\d+ /);
    const helperPid = /^\s*(\d+)/.exec(helper)![1];
    const ps = lines.find((l) => / ps -eo pid,ppid,args$/.test(l))!;
    assert.ok(ps, r.stdout);
    assert.match(ps, new RegExp(String.raw`^\s*\d+\s+1 ALL_PROC\s+${helperPid} `));
  });

  test("vps: ps starts as context 1's member (its cgroup from its first instruction) and cannot signal a host process", () => {
    // a stand-in ps, first in PATH (the front runs `ps` from PATH): it reports
    // its cgroup and tries to signal a host sleep, then prints a ps listing
    const dir = mkdtempSync(join(tmpdir(), 'vctx-vps-ps-'));
    const host = spawn('sleep', ['300'], { stdio: 'ignore' });
    spawned.push(host);
    try {
      writeFileSync(join(dir, 'ps'), `#!/bin/sh
echo "cgroup $(grep '^0::' /proc/self/cgroup)" >&2
if kill -0 ${host.pid} 2>/dev/null; then echo "signal ok" >&2; else echo "signal refused" >&2; fi
echo "  PID CMD"
echo "    1 init"
`, { mode: 0o755 });
      const r = cli('vps', ['-e'], { env: { PATH: `${dir}:${process.env.PATH}` } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, /^cgroup 0::\/(.*\/)?vctx\/1$/m);
      assert.match(r.stderr, /^signal refused$/m);
      assert.match(r.stdout, /^\s+1\s+0 MAIN\s+init$/m);
      assert.doesNotThrow(() => process.kill(host.pid!, 0), 'the host process is gone');
    } finally {
      host.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('vps -o ppid,pid,comm: the PID column is found after PPID', () => {
    const r = cli('vps', ['-e', '-o', 'ppid,pid,comm']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.match(lines[0]!, /^\s*PPID\s+PID CONTEXT {13}COMMAND$/);
    const init = lines.find((l) => /^\s*0\s+1 /.test(l))!;
    assert.match(init, /^\s*0\s+1 +0 MAIN +\S/);
  });

  test('vps with an option ps refuses: ps says why, its exit status, no stack', () => {
    const r = cli('vps', ['--no-such-ps-option']);
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /error|usage/i);
    noStack(r);
  });

  test('vpstree: the context headed by XID NAME, its processes with inner PIDs', () => {
    const r = cli('vpstree', ['--ascii']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^0 root server\n/);
    const block = r.stdout.split('\n\n').find((b) => b.startsWith(`${named.xid} ${ctxName}\n`));
    assert.ok(block, r.stdout);
    assert.match(block, /\n`- \d+ \[1\] /);
    assert.match(block, /\d+ \[\d+\] sleep 300/);
  });

  test('vpstree NAME and --json; an unknown server is exit 3', () => {
    const r = cli('vpstree', ['--json', ctxName]);
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { contexts: Array<{ xid: number; name: string; trees: Array<{ innerPid: number; children: unknown[] }> }> };
    assert.equal(doc.contexts.length, 1);
    assert.equal(doc.contexts[0]!.xid, named.xid);
    assert.equal(doc.contexts[0]!.trees[0]!.innerPid, 1);
    const bad = cli('vpstree', ['no-such-server-here']);
    assert.equal(bad.status, 3);
    assert.equal(bad.stderr, "vpstree: unknown server 'no-such-server-here' (give a context number or the name of a running server)\n");
  });

  test('vkill on a process that already exited: the clear message, exit 1', async () => {
    const c = spawn('true');
    await waitExit(c);
    const r = cli('vkill', [String(c.pid)]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `vkill: (pid ${c.pid}): No such process\n`);
    noStack(r);
  });

  test('vkill -s KILL PID signals that host process', async () => {
    const c = spawn('sleep', ['300']);
    spawned.push(c);
    const r = cli('vkill', ['-s', 'KILL', String(c.pid)]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await waitExit(c), { code: null, signal: 'SIGKILL' });
  });

  test('vkill --xid N PID takes the PID as seen inside the context', async () => {
    const ctx = await makeContext(`obs-inner-${process.pid}`);
    const tree = JSON.parse(cli('vpstree', ['--json', String(ctx.xid)]).stdout) as {
      contexts: Array<{ trees: Array<{ pid: number; innerPid: number; cmdline: string; children: Array<{ pid: number; innerPid: number; cmdline: string }> }> }>;
    };
    const init = tree.contexts[0]!.trees[0]!;
    const sleep = init.cmdline === 'sleep 300' ? init : init.children.find((c) => c.cmdline === 'sleep 300')!;
    assert.ok(sleep, JSON.stringify(tree));
    assert.notEqual(sleep.innerPid, sleep.pid);
    const r = cli('vkill', ['--xid', String(ctx.xid), '-s', 'SIGTERM', '--', String(sleep.innerPid)]);
    assert.equal(r.status, 0, r.stderr);
    // the reaper exits with the command's status, and chcontext with it
    await waitExit(ctx.child, 15_000);
    assert.ok(!cgroupProcs(ctx.xid).includes(sleep.pid));
  });

  test('vkill --xid N with no PID signals the whole context', async () => {
    const ctx = await makeContext(`obs-whole-${process.pid}`);
    const r = cli('vkill', ['--xid', ctx.name, '-s', '9']);
    assert.equal(r.status, 0, r.stderr);
    await waitExit(ctx.child, 15_000);
    assert.deepEqual(cgroupProcs(ctx.xid), []);
  });

  test('vkill --xid of a context that does not run: exit 3', () => {
    const r = cli('vkill', ['--xid', '65000', '1']);
    assert.equal(r.status, 3);
    assert.equal(r.stderr, 'vkill: context 65000 is not running\n');
  });

  test("vkill refuses a private context's single process with the kernel layer's reason", async () => {
    const ctx = await makeContext(`obs-priv-${process.pid}`, ['private']);
    const procs = cgroupProcs(ctx.xid);
    assert.ok(procs.length > 0);
    const r = cli('vkill', ['-s', 'KILL', String(procs[procs.length - 1])]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^vkill: .*private.*\n$/);
    noStack(r);
    assert.ok(cgroupProcs(ctx.xid).length > 0, 'the process must still run');
  });
});

describe('vdu on a tree with hard links, symbolic links and a mount', { skip: skipReason() }, () => {
  let dir: string;
  let mounted = '';

  before(() => {
    if (!existsSync(VDU_TOOL)) spawnSync('make', ['-s', '-C', join(root, 'kernel')], { stdio: 'inherit' });
    dir = mkdtempSync(join(tmpdir(), 'vctx-vdu-'));
  });

  after(() => {
    if (mounted) spawnSync('umount', ['-l', mounted]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** what vdu must count: KiB of the allocated blocks of single-link regular files, same filesystem */
  function expectedKiB(top: string): number {
    const dev = lstatSync(top).dev;
    let blocks = 0;
    const walk = (d: string): void => {
      for (const n of readdirSync(d)) {
        const p = join(d, n);
        const st = lstatSync(p);
        if (st.isFile() && st.nlink === 1) blocks += st.blocks;
        else if (st.isDirectory() && st.dev === dev) walk(p);
      }
    };
    walk(top);
    return Math.floor((blocks * 512) / 1024);
  }

  test('exact KiB: only single-link regular files, symlinks not followed, no other filesystem', () => {
    const t = join(dir, 'tree');
    mkdirSync(join(t, 'a', 'b', 'c'), { recursive: true });
    mkdirSync(join(t, 'mnt'));
    const big = Buffer.alloc(300 * 1024, 7);
    writeFileSync(join(t, 'one'), big); // counted
    writeFileSync(join(t, 'a', 'two'), Buffer.alloc(40 * 1024, 1)); // counted
    writeFileSync(join(t, 'a', 'b', 'c', 'small'), 'x'); // counted (one block)
    writeFileSync(join(t, 'a', 'linked'), Buffer.alloc(500 * 1024, 2)); // two links: not counted
    linkSync(join(t, 'a', 'linked'), join(t, 'a', 'b', 'linked-too'));
    const outside = join(dir, 'outside');
    writeFileSync(outside, Buffer.alloc(800 * 1024, 3));
    symlinkSync(outside, join(t, 'a', 'to-outside')); // a symlink: not followed
    symlinkSync(join(dir), join(t, 'a', 'b', 'loop')); // a directory symlink: not followed
    const r0 = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'vctx-vdu-test', join(t, 'mnt')]);
    if (r0.status === 0) {
      mounted = join(t, 'mnt');
      writeFileSync(join(t, 'mnt', 'elsewhere'), Buffer.alloc(1024 * 1024, 4)); // other filesystem: not counted
    }

    const want = expectedKiB(t);
    const single = ['one', 'a/two', 'a/b/c/small'].reduce((s, f) => s + lstatSync(join(t, f)).blocks, 0) / 2;
    assert.equal(want, single, 'the helper agrees with the hand count');

    const r = cli('vdu', [t, join(t, 'a'), join(t, 'one'), join(t, 'a', 'to-outside')]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      `${t}\t${want}K\n` +
        `${join(t, 'a')}\t${expectedKiB(join(t, 'a'))}K\n` +
        `${join(t, 'one')}\t${lstatSync(join(t, 'one')).blocks / 2}K\n` +
        `${join(t, 'a', 'to-outside')}\t0K\n`,
    );
    assert.ok(want >= 340, `${want}`);
    const j = cli('vdu', ['--json', t, join(t, 'a', 'to-outside')]);
    assert.equal(j.status, 0, j.stderr);
    assert.deepEqual(JSON.parse(j.stdout), { paths: [{ path: t, kib: want }, { path: join(t, 'a', 'to-outside'), kib: 0 }] });
    if (mounted) spawnSync('umount', [mounted]), (mounted = '');
  });

  test('vdu --json (the installed C vdu): names with a tab, a quote and a newline stay one JSON string; a PATH that cannot be read is left out, exit 1', () => {
    const odd = join(dir, 'odd\tname "q"\nx');
    mkdirSync(odd);
    writeFileSync(join(odd, 'f'), Buffer.alloc(64 * 1024, 5));
    const missing = join(dir, 'missing');
    const r = cli('vdu', ['--json', odd, missing, '--json']);
    // '--json' after a PATH is a PATH (options come first), so it is missing too
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `vdu: ${missing}: No such file or directory\nvdu: --json: No such file or directory\n`);
    assert.deepEqual(JSON.parse(r.stdout), { paths: [{ path: odd, kib: expectedKiB(odd) }] });
    assert.ok(expectedKiB(odd) >= 64);
    const none = cli('vdu', ['--json', missing]);
    assert.equal(none.status, 1);
    assert.deepEqual(JSON.parse(none.stdout), { paths: [] });
  });

  test('a PATH that does not exist: message, no line, exit 1; the others still print', () => {
    const missing = join(dir, 'missing');
    const r = cli('vdu', [missing, dir]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `vdu: ${missing}: No such file or directory\n`);
    assert.match(r.stdout, new RegExp(`^${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\t\\d+K\\n$`));
  });
});
