/**
 * `vserver NAME start`: check everything, then pre-start hook, IP alias,
 * context (chcontext --daemon), the boot, post-start hook.  A failure at
 * any step undoes every step taken before it and names the step.
 *
 * The start is done when the server's boot is: its init runs and no rc
 * script of the boot (/etc/init.d/rcS, /etc/init.d/rc N: processes named
 * rcS or rc, zombies included) is left, while the init sleeps - seen in the
 * kernel's view of the context's processes, for at most BOOT_WAIT_SEC.  An
 * init that ends meanwhile (the context empties) fails the start with the
 * last lines of the console, and nothing of the server is left.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import {
  checkIp6Assignable, checkIpAssignable, checkServerInit, checkServerRoot, formatIssue, formatIssueBare, INSTANCE_ENV, instanceName, loadAllServers,
  localIPv4Addresses, localIPv6Addresses, resolveInRoot, type ServerConfig,
} from '../config/index.js';
import type { VctxPaths } from '../config/paths.js';
import { addAlias, aliasToAdd, deviceExists, removeAlias } from './alias.js';
import {
  CHCONTEXT, loopbackCandidates, loopbackForXid, rebootCommand, startArgs, type StartPlan,
} from './chcontext-args.js';
import { runningContexts, runningElsewhere, startClashes } from './clashes.js';
import { loadConfigFor } from './config-load.js';
import { applyServerDiskLimit, diskLimitProblem } from './disk-limit.js';
import { LifecycleError, errText } from './errors.js';
import { hookProblem, runHook } from './hooks.js';
import { pingWarning, viewsWarning } from './host-checks.js';
import { acquireLock, lockServer, type HeldLock } from './lock.js';
import { releaseStale, repair } from './repair.js';
import { publishServer } from './server-index.js';
import {
  ensureRunDir, findContext, loopbacksInUse, readState, removeState, runFiles, writeState,
  type AliasRecord, type ServerState,
} from './runtime.js';
import { cgroupPids, contextCgroup, dirIno } from '../kernel-bridge/cgroup.js';
import { escapeText } from '../kernel-bridge/escape.js';
import { inheritedSoftLimits } from '../kernel-bridge/host.js';
import { procStat, processAlive } from '../kernel-bridge/pid.js';
import { FLAG } from '../generated/tables.js';

/** how long a start or stop waits for another command on the same server */
export { LOCK_WAIT_SEC } from './lock.js';

export interface StartResult {
  xid: number;
  pid1: number;
  /** non-fatal problems (post-start hook, config warnings) */
  warnings: string[];
}

/** how long a start waits for the server's boot (its rc scripts) to finish */
export const BOOT_WAIT_SEC = 120;
/** console lines a failed start quotes */
const CONSOLE_TAIL_LINES = 4;

/** what the host's init would run for the server, as argv inside it */
async function initArgv(config: ServerConfig, root: string): Promise<{ argv: string[]; persist: boolean }> {
  const init = config.init;
  if (init.style === 'init') return { argv: ['/sbin/init'], persist: false };
  if (init.style === 'command') return { argv: init.argv, persist: !config.flags.includes(FLAG.fakeinit) };
  const rc = (await resolveInRoot(root, '/etc/init.d/rc')).exists ? '/etc/init.d/rc' : '/etc/rc.d/rc';
  return { argv: [rc, String(init.runlevel)], persist: true };
}

/**
 * every reason not to start, one per line; [] when none.  What is worth
 * saying but does not refuse (a clash with a stopped server) goes to
 * @warnings.
 */
export async function startProblems(config: ServerConfig, paths: VctxPaths, warnings: string[] = []): Promise<string[]> {
  const out: string[] = [];
  const all = await loadAllServers(paths.confdir);
  const clashes = startClashes(config, all.servers, runningContexts(), runningElsewhere());
  for (const i of clashes.errors) out.push(formatIssue(i));
  for (const i of clashes.warnings) warnings.push(formatIssueBare(i));
  const ipIssue = checkIpAssignable(config, localIPv4Addresses(networkInterfaces()));
  if (ipIssue) out.push(formatIssue(ipIssue));
  const ip6Issue = checkIp6Assignable(config, localIPv6Addresses(networkInterfaces()));
  if (ip6Issue) out.push(formatIssue(ip6Issue));
  if (config.ipDev && !(await deviceExists(config.ipDev))) {
    out.push(`${config.file}:${config.lines.IPROOTDEV ?? '?'}: IPROOTDEV=${JSON.stringify(config.ipDev)}: no such network device on this host`);
  }
  const rootIssue = await checkServerRoot(paths.rootdir, config.name);
  if (rootIssue) out.push(formatIssue(rootIssue));
  else {
    const initIssue = await checkServerInit(join(paths.rootdir, config.name), config.init, config.file, config.lines.S_INIT ?? null);
    if (initIssue) out.push(formatIssue(initIssue));
    const diskIssue = diskLimitProblem(config, join(paths.rootdir, config.name));
    if (diskIssue) out.push(diskIssue);
  }
  const hook = await hookProblem(paths.confdir, config.name);
  if (hook) out.push(hook);
  return out;
}

/** chcontext --status-fd's line: the context, or why not (the kind decides, never the words) */
export type ChcontextStatus =
  | { xid: number; pid1: number }
  | { error: { kind: string; errno: number; code: string; message: string } };

/** the one JSON line of `chcontext --daemon --status-fd 3`; null when there is none */
export function parseChcontextStatus(text: string): ChcontextStatus | null {
  const line = text.split('\n').find((l) => l.trim() !== '');
  if (!line) return null;
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    if (typeof v.xid === 'number' && typeof v.pid1 === 'number') return { xid: v.xid, pid1: v.pid1 };
    const e = v.error as Record<string, unknown> | undefined;
    if (e && typeof e.kind === 'string' && typeof e.message === 'string') {
      return { error: { kind: e.kind, errno: Number(e.errno) || 0, code: String(e.code ?? ''), message: e.message } };
    }
  } catch {
    /* not JSON */
  }
  return null;
}

/** runs chcontext --daemon with its status line on descriptor 3 */
function runChcontext(args: string[]): Promise<{ code: number; status: ChcontextStatus | null; stderr: string }> {
  return new Promise((resolve) => {
    // nothing of our environment but the instance (docs/instances.md) and the
    // attack suite's test switch (kernel/lib/testswitch.c)
    const weaken = process.env['VCTX_TEST_WEAKEN'];
    const inst = instanceName();
    const child = spawn(CHCONTEXT, ['--status-fd', '3', ...args], {
      env: {
        PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...(weaken ? { VCTX_TEST_WEAKEN: weaken } : {}),
        ...(inst ? { [INSTANCE_ENV]: inst } : {}),
      },
      stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let status = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => { status += d.toString(); });
    child.once('error', (e) => resolve({ code: 127, status: null, stderr: e.message }));
    child.once('close', (code) => resolve({ code: code ?? 1, status: parseChcontextStatus(status), stderr }));
  });
}

/** the last @n non-empty lines of the console log, escaped, joined on one line */
export function consoleTail(file: string, n = CONSOLE_TAIL_LINES): string {
  let fd = -1;
  try {
    const size = statSync(file).size;
    const len = Math.min(size, 8192);
    const buf = Buffer.alloc(len);
    fd = openSync(file, 'r');
    readSync(fd, buf, 0, len, size - len);
    const lines = buf.toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
    return lines.slice(-n).map((l) => escapeText(l)).join(' | ');
  } catch {
    return '';
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** boot script names: sysvinit's and busybox's /etc/init.d/rcS and rc N, /etc/rc.d/rc* */
const BOOT_SCRIPTS = new Set(['rcS', 'rc', 'rc.sysinit']);

export type BootState = 'booting' | 'up' | 'ended';

/**
 * One look at the context: ended (PID 1 gone: the context emptied or its
 * init exited), booting (a boot script runs, or PID 1 is not asleep: it may
 * be between two of them), or up.
 */
export function bootState(cgroup: string, pid1: number, hasInit: boolean): BootState {
  const pids = cgroupPids(cgroup);
  if (!pids.includes(pid1) || !processAlive(pid1)) return 'ended';
  for (const pid of pids) {
    const st = procStat(pid);
    if (st && BOOT_SCRIPTS.has(st.comm)) return 'booting';
  }
  if (hasInit && procStat(pid1)?.state !== 'S') return 'booting';
  return 'up';
}

/**
 * Waits until the boot is done (two looks in a row say 'up', 20 ms apart; looks every
 * 5-20 ms: a look is a few reads of /proc, and the boot's end is what start
 * waits for)
 * or the init ends; 'booting' after @ms.
 */
async function waitBoot(cgroup: string, pid1: number, hasInit: boolean, ms: number): Promise<BootState> {
  const end = Date.now() + ms;
  let ups = 0;
  for (let delay = 5; ; delay = Math.min(delay * 2, 20)) {
    const s = bootState(cgroup, pid1, hasInit);
    if (s === 'ended') return s;
    ups = s === 'up' ? ups + 1 : 0;
    if (ups >= 2) return 'up';
    if (Date.now() >= end) return 'booting';
    await sleep(ups ? 20 : delay);
  }
}

/** waits (up to @ms) for the monitor to release an ended context */
async function waitReleased(cgroup: string, ino: string | null, monitor: number | null, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && (processAlive(monitor) || (ino !== null && dirIno(cgroup) === ino))) await sleep(20);
}

/**
 * The loopback of the server: 127.128.hi.lo of a static XID; for a dynamic
 * one the first address of its name's sequence in 127.129.0.0/16 that no
 * running server of this runtime directory has (the caller holds the
 * allocation lock, so two starts cannot pick the same one).  The two
 * ranges are disjoint, so static and dynamic servers never meet.  In a
 * named instance the sequence is NAME@INSTANCE's, so that a server of the
 * same name in another instance (another runtime directory) starts
 * elsewhere; static XIDs of two instances never meet (docs/instances.md).
 */
function chooseLoopback(config: ServerConfig, paths: VctxPaths): string {
  if (config.context !== null) return loopbackForXid(config.context);
  const used = loopbacksInUse(paths);
  const inst = instanceName();
  for (const lb of loopbackCandidates(inst ? `${config.name}@${inst}` : config.name)) if (!used.has(lb)) return lb;
  throw new Error('no free loopback address in 127.129.0.0/16');
}

/**
 * Starts server @name.  @opts.lockHeld: the caller (restart) holds the
 * server's lock already.
 * @throws LifecycleError
 */
export async function start(name: string, paths: VctxPaths, opts: { lockHeld?: boolean } = {}): Promise<StartResult> {
  const { config, warnings: cw } = await loadConfigFor(paths.confdir, name);
  const warnings = cw.map(formatIssueBare);
  // a unified tree: mounted again after a reboot; a unify asked while it ran, done now
  const unify = await import('./unify.js');
  if (unify.unifyWork(paths.rootdir, name) && !(await findContext(paths, name))) {
    const u = await unify.unifyPending(name, paths);
    if (u) {
      warnings.push(`'${name}' was unified before this start, as asked while it ran: ${u.linked} files linked to existing objects, ${u.newObjects} new objects` +
        `${u.packError ? `; its own files not packed: ${u.packError}` : ''}${u.projectError ? `; ${u.projectError}` : ''}`);
    }
  }
  const problems = await startProblems(config, paths, warnings);
  if (problems.length) throw new LifecycleError('invalid', 'checks', problems.join('\n'));

  const files = await ensureRunDir(paths, name);
  const lock: HeldLock | null = opts.lockHeld ? null : await lockServer(files.lock, 'start', name);
  try {
    await repair(paths, name);
    if (await findContext(paths, name, { scan: readState(paths, name) !== null })) {
      throw new LifecycleError('already-running', 'running', `server '${name}' is already running`);
    }
    try {
      return await startLocked(config, paths, warnings);
    } catch (e) {
      // the kernel still has the name: a context left empty by a dead monitor is released, once
      if (e instanceof LifecycleError && e.kind === 'already-running' && (await releaseStale(paths, name))) {
        return await startLocked(config, paths, warnings);
      }
      throw e;
    }
  } finally {
    await lock?.release();
  }
}

async function startLocked(config: ServerConfig, paths: VctxPaths, warnings: string[]): Promise<StartResult> {
  const name = config.name;
  const root = join(paths.rootdir, name);
  const files = runFiles(paths, name);
  const undo: Array<{ what: string; fn: () => Promise<void> }> = [];
  let step = 'prepare';
  const state: ServerState = {
    name, xid: null, cgroupIno: null, pid1: null, monitor: null, startedAt: null, flags: config.flags, alias: null,
  };
  const hookEnv = { name, root, ip: config.ip, xid: null as number | null };
  try {
    // the previous boot's console output stays one start longer
    if (existsSync(files.console)) await rename(files.console, `${files.console}.1`).catch(() => {});

    step = 'pre-start';
    const pre = await runHook(paths.confdir, 'pre-start', hookEnv);
    if (!pre.ok) throw new Error(`${pre.error}${pre.output.trim() ? `: ${pre.output.trim().split('\n').pop()}` : ''}`);

    step = 'alias';
    const alias: AliasRecord | null = await aliasToAdd(config);
    if (alias) {
      state.alias = alias;
      await writeState(paths, state); // the intent first: a crash after adding is repaired
      undo.push({ what: 'alias', fn: async () => { await removeAlias(alias); } });
      await addAlias(alias);
    }

    step = 'disk limit';
    applyServerDiskLimit(config, root);

    step = 'context';
    if (config.context !== null && existsSync(contextCgroup(config.context) ?? '/nonexistent')) {
      throw new Error(`context ${config.context} (S_CONTEXT) is already in use by another context`);
    }
    const { argv, persist } = await initArgv(config, root);
    const alloc = config.context === null ? await acquireLock(join(paths.rundir, '.loopback.lock'), 30) : null;
    let xid: number;
    try {
      const loopback = chooseLoopback(config, paths);
      const plan: StartPlan = {
        root, loopback, console: files.console, rebootSocket: files.rebootSocket,
        onReboot: rebootCommand(name, paths, 'restart', 'vreboot'),
        onHalt: rebootCommand(name, paths, 'stop', 'vhalt'),
        init: argv, persist, inheritedSoft: inheritedSoftLimits(),
      };
      const out = await runChcontext(startArgs(config, plan));
      const status = out.status;
      if (!status || 'error' in status || out.code !== 0) {
        if (status && 'error' in status) {
          if (status.error.kind === 'VCTX_ERR_RUNNING') throw new LifecycleError('already-running', 'context', `server '${name}' is already running`);
          throw new Error(status.error.message);
        }
        throw new Error(out.stderr.trim().replace(/^chcontext: /, '').split('\n')[0] || `chcontext exited with status ${out.code} and no status line`);
      }
      xid = status.xid;
      const pid1 = status.pid1;
      const cg = contextCgroup(xid);
      state.xid = xid;
      state.pid1 = pid1;
      state.cgroupIno = cg ? dirIno(cg) : null;
      state.monitor = procStat(pid1)?.ppid ?? null;
      state.startedAt = Date.now();
      state.loopback = loopback;
      // recorded before the allocation lock goes: the next start sees the loopback taken
      await writeState(paths, state);
    } finally {
      await alloc?.release();
    }
    const pid1 = state.pid1!;
    const ino = state.cgroupIno;
    hookEnv.xid = xid;

    // the boot: done when its rc scripts are; an init that ends meanwhile fails the start
    step = 'boot';
    const cg = contextCgroup(xid);
    const boot = cg && ino !== null ? await waitBoot(cg, pid1, config.init.style === 'init', BOOT_WAIT_SEC * 1000) : 'ended';
    if (boot === 'ended') {
      if (cg) await waitReleased(cg, ino, state.monitor, 10_000);
      await repair(paths, name);
      undo.length = 0; // repair removed the alias, state and index entry
      const tail = consoleTail(files.console);
      const hint = config.init.style === 'sysv' && (await resolveInRoot(root, '/sbin/init')).exists
        ? `; S_INIT=sysv runs the rc scripts without an init, so the server ends when they leave no process: set S_INIT="init" in ${config.file} (sysvinit is installed) or rebuild it`
        : '';
      throw new LifecycleError('failed', 'init',
        `cannot start '${name}': its init (${argv.join(' ')}) ended during the boot${hint}; last lines of its console: ${tail || '(empty)'}`);
    }
    if (boot === 'booting') warnings.push(`the boot scripts of '${name}' are still running after ${BOOT_WAIT_SEC} s`);

    step = 'post-start';
    const post = await runHook(paths.confdir, 'post-start', hookEnv);
    if (!post.ok) warnings.push(`post-start hook: ${post.error}`);
    const ping = pingWarning(config.ip !== null);
    if (ping) warnings.push(ping);
    const views = viewsWarning(name);
    if (views) warnings.push(views);
    // what other users may know of it (its name is root's to read in the kernel)
    await publishServer(paths, { name, xid, state: 'running', ip: config.ip, ip6: config.ip6, cgroupIno: ino, startedAt: state.startedAt! })
      .catch((e) => warnings.push(`the public index of running servers was not updated: ${errText(e)}`));
    return { xid, pid1, warnings };
  } catch (e) {
    const undone: string[] = [];
    for (const u of undo.reverse()) {
      try {
        await u.fn();
        undone.push(u.what);
      } catch (ue) {
        warnings.push(`undoing ${u.what} failed: ${errText(ue)}`);
      }
    }
    if (state.xid === null) await removeState(paths, name).catch(() => {});
    if (e instanceof LifecycleError) throw e;
    const tail = undone.length ? `; undone: ${undone.join(', ')}` : '';
    throw new LifecycleError('failed', step, `cannot start '${name}': step ${step} failed: ${errText(e)}${tail}`);
  }
}

