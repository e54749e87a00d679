/**
 * Shared helpers for the kernel-layer integration tests (root, real
 * kernel): run the C tools, start a context in the background, run
 * commands inside it, tear it down, and check that nothing is left behind
 * (cgroups v2 and v1, guard socket, processes).
 *
 *     const ctx = await startContext(['--secure', '--root', root], ['sleep', '300']);
 *     try { ... chcontext(['--ctx', String(ctx.xid), 'ps', 'ax']) ... }
 *     finally { await stopContext(ctx); }
 *
 * Every context started here is remembered; stopAll() (in an after() hook)
 * kills whatever a failed test left running.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncOptions, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRoot } from './busybox-root.js';
import { commandPath, type Command } from './commands.js';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const toolsDir = join(projectRoot, 'kernel', 'out');
export const isRoot = process.getuid?.() === 0;

/** absolute path of a C tool in kernel/out */
export function tool(name: string): string {
  return join(toolsDir, name);
}

export type Result = SpawnSyncReturns<string>;

/** run a program, capture text output; 10 s timeout unless given (a hung tool is a failure) */
export function run(cmd: string, args: string[], opts: SpawnSyncOptions = {}): Result {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: 10_000, ...opts }) as Result;
}

/** run kernel/out/NAME */
export function runTool(name: string, args: string[], opts: SpawnSyncOptions = {}): Result {
  return run(tool(name), args, opts);
}

/** kernel/out/chcontext ARGS */
export function chcontext(args: string[], opts: SpawnSyncOptions = {}): Result {
  return runTool('chcontext', args, opts);
}

/** `chcontext --ctx XID -- sh -c SCRIPT` (the server's /bin/sh) */
export function inCtx(xid: number, script: string, opts: SpawnSyncOptions = {}): Result {
  return chcontext(['--ctx', String(xid), '--', '/bin/sh', '-c', script], opts);
}

/** a command of the project as installed (its bundle, through its #! line: test/helpers/commands.ts) */
export function runCli(name: Command, args: string[], opts: SpawnSyncOptions = {}): Result {
  return run(commandPath(name), args, {
    cwd: projectRoot,
    timeout: 60_000,
    ...opts,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', ...(opts.env ?? {}) },
  });
}

/** a readable dump of a Result for assertion messages */
export function show(r: Result): string {
  return `status=${r.status} signal=${r.signal} error=${r.error?.message ?? ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
}

/** assert exit 0, return stdout */
export function ok(r: Result): string {
  assert.equal(r.status, 0, show(r));
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** poll @fn until it returns a truthy value or @ms pass; returns the last value */
export async function waitFor<T>(fn: () => T, ms = 5000, step = 25): Promise<T> {
  const end = Date.now() + ms;
  let v = fn();
  while (!v && Date.now() < end) {
    await sleep(step);
    v = fn();
  }
  return v;
}

/* ------------------------------------------------------------- cgroups */

/** where cgroup2 is mounted (the unified dir on a hybrid host) */
export const cgroup2: string = (() => {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  for (const l of mounts) {
    const f = l.split(' ');
    if (f[2] === 'cgroup2') return f[1]!;
  }
  return '/sys/fs/cgroup';
})();

/** v1 mount point of a controller, or null when it is on cgroup2 (or absent) */
export function v1Mount(ctl: string): string | null {
  for (const l of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const f = l.split(' ');
    if (f[2] === 'cgroup' && (f[3] ?? '').split(',').includes(ctl)) return f[1]!;
  }
  return null;
}

/** the controllers cgroup2 offers */
export function v2Controllers(): string[] {
  try {
    return readFileSync(join(cgroup2, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/** relative cgroup path of a context below the cgroup2 mount (nested ones too), or null */
export function cgroupRel(xid: number): string | null {
  const base = join(cgroup2, 'vctx');
  const walk = (rel: string, depth: number): string | null => {
    if (depth > 8) return null;
    let entries: string[];
    try {
      entries = readdirSync(join(cgroup2, rel));
    } catch {
      return null;
    }
    for (const e of entries) {
      if (!/^\d+$/.test(e) && !e.startsWith('bind-')) continue;
      const sub = `${rel}/${e}`;
      try {
        if (!statSync(join(cgroup2, sub)).isDirectory()) continue;
      } catch {
        continue;
      }
      if (e === String(xid)) return sub;
      const deeper = walk(sub, depth + 1);
      if (deeper) return deeper;
    }
    return null;
  };
  return existsSync(base) ? walk('vctx', 0) : null;
}

/** cgroup2 directory of a context, or null */
export function cgroupDir(xid: number): string | null {
  const rel = cgroupRel(xid);
  return rel ? join(cgroup2, rel) : null;
}

/** host PIDs in the context's cgroup subtree */
export function procsOf(xid: number): number[] {
  const d = cgroupDir(xid);
  if (!d) return [];
  const out: number[] = [];
  const walk = (dir: string): void => {
    try {
      for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (l) out.push(Number(l));
      for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
    } catch {
      /* removed meanwhile */
    }
  };
  walk(d);
  return out;
}

/** the directory of a controller's cgroup for a context: v1 dir, or the cgroup2 dir */
export function controllerDir(ctl: 'pids' | 'memory' | 'cpu' | 'cpuacct', xid: number): string | null {
  const v1 = v1Mount(ctl);
  const rel = cgroupRel(xid);
  if (!rel) return null;
  if (v1) return join(v1, rel);
  return join(cgroup2, rel);
}

export function guardSocket(xid: number): string {
  return `/run/vctx/guard/${xid}.sock`;
}

/** everything a context may leave behind, as a list of what is still there */
export function leftovers(xid: number): string[] {
  const left: string[] = [];
  const v2 = cgroupDir(xid);
  if (v2) left.push(v2);
  if (existsSync(join(cgroup2, 'vctx', String(xid)))) left.push(join(cgroup2, 'vctx', String(xid)));
  if (existsSync(guardSocket(xid))) left.push(guardSocket(xid));
  for (const ctl of ['pids', 'memory', 'cpu', 'cpuacct', 'freezer']) {
    const m = v1Mount(ctl);
    if (!m) continue;
    // top-level and nested v1 dirs share the v2 relative path; look for the XID anywhere below vctx/
    const r = run('find', [join(m, 'vctx'), '-type', 'd', '-name', String(xid)]);
    for (const l of r.stdout.split('\n')) if (l) left.push(l);
  }
  return [...new Set(left)];
}

export function assertNoLeftovers(xid: number): void {
  assert.deepEqual(leftovers(xid), [], `context ${xid} left something behind`);
}

/** wait until the context's cgroups and guard socket are gone */
export async function waitGone(xid: number, ms = 8000): Promise<void> {
  await waitFor(() => leftovers(xid).length === 0, ms);
  assertNoLeftovers(xid);
}

/** the context numbers under <cgroup2>/vctx (top level) */
export function topLevelContexts(): number[] {
  try {
    return readdirSync(join(cgroup2, 'vctx'))
      .filter((e) => /^\d+$/.test(e))
      .map(Number);
  } catch {
    return [];
  }
}

/* ------------------------------------------------------------- processes */

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fields of /proc/PID/stat after the comm: [0] = state, [1] = ppid, ... */
export function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 2).trim().split(' ');
  } catch {
    return null;
  }
}

export function ppidOf(pid: number): number {
  const f = statFields(pid);
  return f ? Number(f[1]) : 0;
}

/** start time of a process (clock ticks after boot, stat field 22) */
export function startTimeOf(pid: number): number {
  const f = statFields(pid);
  return f ? Number(f[19]) : 0;
}

/** alive and not a zombie */
export function running(pid: number): boolean {
  const f = statFields(pid);
  return !!f && f[0] !== 'Z' && f[0] !== 'X';
}

/** host PIDs of processes whose cmdline contains @needle, among @pids */
export function findByCmdline(pids: number[], needle: string): number[] {
  return pids.filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ').includes(needle);
    } catch {
      return false;
    }
  });
}

/** NSpid of a process: [host pid, pid in the next namespace, ...] */
export function nspid(pid: number): number[] {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^NSpid:\s+(.*)$/m.exec(s);
  return m ? m[1]!.trim().split(/\s+/).map(Number) : [pid];
}

/** a field of /proc/PID/status (text after the colon, trimmed) */
export function statusField(status: string, key: string): string {
  const m = new RegExp(`^${key}:[ \\t]*(.*)$`, 'm').exec(status);
  return m ? m[1]!.trim() : '';
}

/* ------------------------------------------------------------- contexts */

export interface Ctx {
  xid: number;
  /** host PID of the context's PID 1 */
  pid1: number;
  /** host PID of the background monitor (PID 1's parent) */
  monitor: number;
}

const started = new Set<Ctx>();

/**
 * `chcontext --daemon ARGS -- CMD...`: returns XID, PID 1 and the monitor.
 * Waits until CMD runs (the context has at least @minProcs processes).
 */
export async function startContext(args: string[], cmd: string[], minProcs = 2): Promise<Ctx> {
  const r = chcontext(['--daemon', ...args, '--', ...cmd]);
  assert.equal(r.status, 0, `chcontext --daemon failed: ${show(r)}`);
  const m = /^(\d+) (\d+)$/m.exec(r.stdout);
  assert.ok(m, `chcontext --daemon printed no "XID PID1": ${show(r)}`);
  const ctx: Ctx = { xid: Number(m[1]), pid1: Number(m[2]), monitor: 0 };
  ctx.monitor = ppidOf(ctx.pid1);
  started.add(ctx);
  await waitFor(() => procsOf(ctx.xid).length >= minProcs, 5000);
  return ctx;
}

/** kill every process of a context (cgroup.kill) */
export function killAll(xid: number): void {
  const d = cgroupDir(xid);
  if (!d) return;
  try {
    writeFileSync(join(d, 'cgroup.kill'), '1');
  } catch {
    /* gone meanwhile */
  }
}

/** kill a context and wait for its monitor to release everything; asserts no leftovers */
export async function stopContext(ctx: Ctx): Promise<void> {
  killAll(ctx.xid);
  await waitFor(() => !running(ctx.pid1) && (!ctx.monitor || !running(ctx.monitor)), 8000);
  started.delete(ctx);
  await waitGone(ctx.xid);
}

/** after(): stop whatever the tests of a file left running (no assertion) */
export async function stopAll(): Promise<void> {
  for (const ctx of [...started]) {
    killAll(ctx.xid);
    await waitFor(() => leftovers(ctx.xid).length === 0, 8000);
    if (ctx.monitor && running(ctx.monitor)) {
      try {
        process.kill(ctx.monitor, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    started.delete(ctx);
  }
}

/* ------------------------------------------------------------- C helpers */

/**
 * Compile test/helpers/NAME.c (or @source text) with gcc -static into a temp
 * dir; returns the binary's path.  Static, so it runs in a busybox root.
 */
export function compileC(name: string, source?: string, extra: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), 'vctx-cc-'));
  const src = source === undefined ? join(projectRoot, 'test', 'helpers', `${name}.c`) : join(dir, `${name}.c`);
  if (source !== undefined) writeFileSync(src, source);
  const out = join(dir, name);
  const r = run('gcc', ['-O1', '-static', '-o', out, src, ...extra]);
  assert.equal(r.status, 0, `gcc ${name}: ${show(r)}`);
  return out;
}

/** a busybox root with vctx-probe (test/helpers/vctx-probe.c) compiled in as /bin/vctx-probe */
export async function makeProbeRoot(): Promise<{ root: string; probe: string }> {
  const probe = compileC('vctx-probe');
  const root = await makeBusyboxRoot();
  copyFileSync(probe, join(root, 'bin', 'vctx-probe'));
  return { root, probe };
}

/** remove a compileC output dir */
export function removeCompiled(bin: string): void {
  rmSync(dirname(bin), { recursive: true, force: true });
}

/* ------------------------------------------------------------- tmux */

/** a detached tmux session running @cmd; returns helpers bound to its name */
export function tmuxSession(name: string, cmd: string): { capture(): string; keys(...k: string[]): void; kill(): void } {
  const r = run('tmux', ['new-session', '-d', '-s', name, '-x', '100', '-y', '30', cmd]);
  assert.equal(r.status, 0, show(r));
  return {
    capture: () => run('tmux', ['capture-pane', '-p', '-t', name]).stdout,
    keys: (...k: string[]) => {
      run('tmux', ['send-keys', '-t', name, ...k]);
    },
    kill: () => {
      run('tmux', ['kill-session', '-t', name]);
    },
  };
}

/** a background process the tests started on the host, stopped by PID */
export function spawnHost(cmd: string, args: string[]): { pid: number; stop(): void } {
  const c = spawn(cmd, args, { stdio: 'ignore', detached: false });
  return {
    pid: c.pid!,
    stop: () => {
      try {
        process.kill(c.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    },
  };
}

/* ------------------------------------------------------------- global state */

/** what the kernel layer has on the host: context cgroups (v2 + v1) and guard sockets */
export interface HostState {
  v2: string[];
  v1: string[];
  guards: string[];
  mounts: string;
}

function listDir(d: string): string[] {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
}

export function hostState(): HostState {
  const v1: string[] = [];
  for (const ctl of ['pids', 'memory', 'cpu', 'cpuacct', 'freezer']) {
    const m = v1Mount(ctl);
    if (m) for (const e of listDir(join(m, 'vctx'))) if (/^\d+$/.test(e)) v1.push(`${ctl}/${e}`);
  }
  return {
    v2: listDir(join(cgroup2, 'vctx')).filter((e) => /^\d+$|^bind-/.test(e)),
    v1,
    guards: listDir('/run/vctx/guard'),
    mounts: readFileSync('/proc/self/mountinfo', 'utf8'),
  };
}

/**
 * What appeared since @before and is not a live context of somebody else
 * (other test files may run at the same time): empty new context cgroups,
 * v1 dirs and guard sockets without a cgroup2 context, new host mounts.
 */
export async function newLeftovers(before: HostState): Promise<string[]> {
  await sleep(100);
  const now = hostState();
  const left: string[] = [];
  const live = (xid: string): boolean => procsOf(Number(xid)).length > 0;
  for (const e of now.v2) if (!before.v2.includes(e) && !(/^\d+$/.test(e) && live(e))) left.push(`cgroup2 vctx/${e}`);
  for (const e of now.v1) {
    const xid = e.split('/')[1]!;
    if (!before.v1.includes(e) && !now.v2.includes(xid)) left.push(`cgroup v1 ${e}`);
  }
  for (const g of now.guards) {
    const xid = g.replace(/\.sock$/, '');
    if (!before.guards.includes(g) && !now.v2.includes(xid)) left.push(`guard ${g}`);
  }
  const oldMounts = new Set(before.mounts.split('\n').map((l) => l.split(' ').slice(4, 5).join()));
  for (const l of now.mounts.split('\n')) {
    const mp = l.split(' ')[4];
    if (mp && !oldMounts.has(mp)) left.push(`mount ${mp}`);
  }
  return left;
}

/**
 * Copy a host program (a kernel/out tool by name, or an absolute path) into
 * a server root's /bin with the shared libraries ldd lists, so it runs
 * inside.  Returns its path inside the root ("/bin/NAME").
 */
export function installInRoot(root: string, program: string): string {
  const src = program.startsWith('/') ? program : tool(program);
  const name = src.split('/').pop()!;
  run('cp', ['-f', src, join(root, 'bin', name)]);
  const ldd = run('ldd', [src]).stdout;
  for (const m of ldd.matchAll(/(\/[^\s]+\.so[^\s]*)/g)) {
    const lib = m[1]!;
    run('mkdir', ['-p', join(root, dirname(lib))]);
    if (!existsSync(join(root, lib))) run('cp', ['-fL', lib, join(root, lib)]);
  }
  return `/bin/${name}`;
}
