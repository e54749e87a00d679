/**
 * `vserver NAME stop [--timeout S]`: pre-stop hook; the init's own
 * shutdown (busybox init: SIGUSR2, poweroff; sysvinit: `init 0`; sysv rc
 * style: `rc 0`; a command with fakeinit: SIGTERM to PID 1), waiting up to
 * S seconds for the context to empty; then SIGTERM to every process, 5 s,
 * then SIGKILL of the whole cgroup.  Returns when the context's cgroup is
 * gone (the monitor removes it; a dead monitor's is released here); then
 * the alias is removed and the post-stop hook runs.  Processes that would
 * not die make it fail, listing them with their state.
 *
 * The shutdown is known to be finished from the kernel, never from the
 * console: an init's last act is reboot(2) (sysvinit's halt, busybox's
 * poweroff), which in a server's PID namespace ends its init (servers hold
 * CAP_SYS_BOOT for this; kexec is closed by seccomp) and so the context.
 * Busybox init pauses about 2 s before that call (for a serial console):
 * once nothing but it is left (not even the guard, which its kill(-1) ends) and it sleeps, its shutdown is done and the
 * context is ended at once.  The monitor is told first (SIGUSR1) that this
 * end is the host's stop, so it runs no on-halt command of its own.
 *
 * Debian's sendsigs (sysvinit's `init 0`, after the services' stop
 * scripts) sends SIGTERM to every process left, then checks once a second
 * (`killall5 -18`, `sleep 1`) whether any is still there.  Its first check
 * comes a few milliseconds after the SIGTERM, while they are still exiting,
 * so it nearly always sleeps a whole second.  Once the kernel shows that
 * nothing is left in the server but that sleep and its callers up to the
 * init (the sleep, sendsigs, startpar, rc, the init), the condition the
 * sleep waits for holds: the stop ends that sleep (SIGTERM), sendsigs'
 * next check finds no process and its shutdown goes on (unmounts, halt,
 * reboot(2)) as it would a second later.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants as fsConstants, openSync } from 'node:fs';
import { basename, join } from 'node:path';
import { resolveInRoot, type ServerConfig } from '../config/index.js';
import type { VctxPaths } from '../config/paths.js';
import { cgroupEmpty, cgroupPids, dirIno } from '../kernel-bridge/cgroup.js';
import { killContext } from '../kernel-bridge/kill.js';
import { escapeText } from '../kernel-bridge/escape.js';
import { procStat, processAlive, processWchan } from '../kernel-bridge/pid.js';
import { removeAlias } from './alias.js';
import { CHCONTEXT } from './chcontext-args.js';
import { checkName, loadConfigFor } from './config-load.js';
import { LifecycleError, errText } from './errors.js';
import { runHook } from './hooks.js';
import { lockServer, type HeldLock } from './lock.js';
import { isStale, repair } from './repair.js';
import { unpublishServer } from './server-index.js';
import {
  ensureRunDir, findContext, readState, releaseContext, removeState, runFiles, type RunningContext,
} from './runtime.js';
import { FLAG } from '../generated/tables.js';

export const DEFAULT_STOP_TIMEOUT_SEC = 10;
/** between SIGTERM and SIGKILL (the kill sequence "15 5 9") */
export const TERM_GRACE_SEC = 5;
/** after SIGKILL: what is still there is stuck (D state) */
const KILL_WAIT_SEC = 5;

export interface StopOptions {
  /** seconds for the init's own shutdown. @default 10 */
  timeoutSec?: number;
  /** the caller holds the lock (restart) */
  lockHeld?: boolean;
  /**
   * a server that ended by itself (its init's reboot(2), a halt inside: its
   * state is recorded, its context gone) is settled as a stop would leave
   * it - address, state, index, post-stop hook - with how 'already-gone'
   * (the monitor's on-halt command, `stop --if-running`)
   */
  settleEnded?: boolean;
}

export interface StuckProcess {
  pid: number;
  comm: string;
  /** the process's state letter: D (uninterruptible), Z, ... */
  state: string;
  /** kernel function it sleeps in, when readable */
  wchan: string;
}

/** a process the stop had to signal because the shutdown left it */
export interface KilledProcess {
  pid: number;
  comm: string;
}

export interface StopResult {
  xid: number;
  /** how the server went: its own shutdown, SIGTERM, or SIGKILL */
  how: 'shutdown' | 'term' | 'kill' | 'already-gone';
  /** with 'term' or 'kill': the processes that were left and got the signals */
  killed: KilledProcess[];
  warnings: string[];
}

/** @throws LifecycleError 'failed' with .stuck set when processes stay */
export class StopTimeout extends LifecycleError {
  constructor(readonly xid: number, readonly stuck: StuckProcess[], message: string) {
    super('failed', 'stop', message);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** true once the context's cgroup is gone (releasing it when its monitor died) */
async function gone(c: RunningContext, ino: string | null): Promise<boolean> {
  if (dirIno(c.cgroup) !== ino) return true;
  if (!cgroupEmpty(c.cgroup)) return false;
  if (processAlive(c.monitor)) return false; // the monitor is releasing it
  await releaseContext(c.xid).catch(() => false);
  return dirIno(c.cgroup) !== ino;
}

async function waitGone(c: RunningContext, ino: string | null, ms: number, check?: () => void): Promise<boolean> {
  const end = Date.now() + ms;
  for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
    if (await gone(c, ino)) return true;
    check?.();
    if (Date.now() >= end) return false;
    await sleep(Math.min(delay, Math.max(1, end - Date.now())));
  }
}

/**
 * runs CMD inside the context, its output into the console's pipe (which
 * the monitor copies into the capped console log; never the log file
 * itself, which would grow past its limit); killed after @ms
 */
function execInside(xid: number, argv: string[], consoleFile: string, ms: number): Promise<number> {
  return new Promise((resolve) => {
    let fd = -1;
    try {
      // no reader (the monitor is gone): ENXIO, and the output goes nowhere
      fd = openSync(`${consoleFile}.pipe`, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
    } catch {
      /* no console: output goes nowhere */
    }
    const child = spawn(CHCONTEXT, ['--ctx', String(xid), '--', ...argv], {
      stdio: ['ignore', fd >= 0 ? fd : 'ignore', fd >= 0 ? fd : 'ignore'],
    });
    if (fd >= 0) closeSync(fd);
    const t = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('error', () => {
      clearTimeout(t);
      resolve(127);
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code ?? 1);
    });
  });
}

/** signals PID 1 after checking it is still the context's */
function signalPid1(c: RunningContext, sig: NodeJS.Signals): boolean {
  if (!c.pid1 || !cgroupPids(c.cgroup).includes(c.pid1)) return false;
  try {
    process.kill(c.pid1, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * The init's own shutdown; resolves when it was asked (not when it is
 * done).  Private servers cannot be entered, so rc-style ones go straight
 * to the signals.
 */
async function askShutdown(c: RunningContext, config: ServerConfig | null, root: string, consoleFile: string, ms: number): Promise<'busybox' | 'signal' | 'ran' | 'none'> {
  const priv = c.flags.includes(FLAG.private);
  const init = config?.init ?? { style: 'init' as const };
  if (init.style === 'init') {
    const r = await resolveInRoot(root, '/sbin/init').catch(() => null);
    const isBusybox = r !== null && basename(r.inner) === 'busybox';
    if (isBusybox) return signalPid1(c, 'SIGUSR2') ? 'busybox' : 'none';
    if (priv || !r?.exists) return signalPid1(c, 'SIGTERM') ? 'signal' : 'none';
    await execInside(c.xid, ['/sbin/init', '0'], consoleFile, ms);
    return 'ran';
  }
  if (init.style === 'sysv') {
    if (priv) return 'none';
    const rc = (await resolveInRoot(root, '/etc/init.d/rc').catch(() => null))?.exists ? '/etc/init.d/rc' : '/etc/rc.d/rc';
    await execInside(c.xid, [rc, '0'], consoleFile, ms);
    return 'ran';
  }
  // a command: with fakeinit it is PID 1 and gets SIGTERM; under the reaper nothing of its own
  if (c.flags.includes(FLAG.fakeinit)) return signalPid1(c, 'SIGTERM') ? 'signal' : 'none';
  return 'none';
}

/** tells the monitor that the init's coming end is this stop's (see the top) */
function announceStop(c: RunningContext): void {
  if (!c.monitor || !processAlive(c.monitor) || !/chcontext/.test(procStat(c.monitor)?.comm ?? '')) return;
  try {
    process.kill(c.monitor, 'SIGUSR1');
  } catch {
    /* gone meanwhile */
  }
}

/**
 * busybox init after its shutdown: every other process is gone - the
 * context's guard too, which only its kill(-1, SIGTERM) after the shutdown
 * actions ends - and the init sleeps (the pause before its reboot(2));
 * while it runs its shutdown actions it waits for them, with children.
 */
function busyboxShutDown(c: RunningContext): boolean {
  const pids = cgroupPids(c.cgroup);
  if (!pids.includes(c.pid1) || pids.some((pid) => pid !== c.pid1 && processAlive(pid))) return false;
  return /nanosleep/.test(processWchan(c.pid1));
}

/** one process of a context, as the kernel shows it */
export interface ProcEntry {
  pid: number;
  ppid: number;
  comm: string;
  /** the state letter: Z (zombie) and X are dead */
  state: string;
}

/**
 * The pid of sendsigs' `sleep 1` (see the top) when nothing else of the
 * server lives: every live process is that sleep or one of its ancestors
 * up to PID 1 @pid1.  null otherwise (a process it signalled is still
 * there, or sendsigs is not sleeping).
 */
export function sendsigsIdleSleep(procs: readonly ProcEntry[], pid1: number): number | null {
  const live = procs.filter((p) => p.state !== 'Z' && p.state !== 'X');
  const byPid = new Map(live.map((p) => [p.pid, p]));
  const sleep = live.find((p) => p.comm === 'sleep' && byPid.get(p.ppid)?.comm === 'sendsigs');
  if (!sleep) return null;
  const chain = new Set<number>();
  for (let p: ProcEntry | undefined = sleep; p; p = p.pid === pid1 ? undefined : byPid.get(p.ppid)) chain.add(p.pid);
  if (!chain.has(pid1)) return null;
  return live.every((p) => chain.has(p.pid)) ? sleep.pid : null;
}

/** the context's processes, as sendsigsIdleSleep takes them */
function contextProcs(c: RunningContext): ProcEntry[] {
  const out: ProcEntry[] = [];
  for (const pid of cgroupPids(c.cgroup)) {
    const st = procStat(pid);
    if (st) out.push({ pid, ppid: st.ppid, comm: st.comm, state: st.state });
  }
  return out;
}

/** the processes still in the context, for the kill's report */
function leftProcesses(c: RunningContext): KilledProcess[] {
  return cgroupPids(c.cgroup).map((pid) => ({ pid, comm: escapeText(procStat(pid)?.comm ?? '?') }));
}

function stuckList(c: RunningContext): StuckProcess[] {
  return cgroupPids(c.cgroup).map((pid) => {
    const st = procStat(pid);
    return { pid, comm: st?.comm ?? '?', state: st?.state ?? '?', wchan: processWchan(pid) };
  });
}

/**
 * Stops server @name.
 * @throws LifecycleError (not-running: exit 3), StopTimeout
 */
export async function stop(name: string, paths: VctxPaths, opts: StopOptions = {}): Promise<StopResult> {
  checkName(name);
  const timeoutSec = opts.timeoutSec ?? DEFAULT_STOP_TIMEOUT_SEC;
  let config: ServerConfig | null = null;
  let configError: LifecycleError | null = null;
  try {
    config = (await loadConfigFor(paths.confdir, name)).config;
  } catch (e) {
    // a running server whose configuration went away or went bad can still be stopped
    if (!(e instanceof LifecycleError) || e.kind === 'usage') throw e;
    configError = e;
  }
  // no usable configuration and nothing running: the configuration's own
  // error (unknown server, or file, line, key and value), and no lock or
  // runtime directory made for it
  if (configError && !(await findContext(paths, name).catch(() => null))) throw configError;
  const files = await ensureRunDir(paths, name);
  const lock: HeldLock | null = opts.lockHeld ? null : await lockServer(files.lock, 'stop', name);
  try {
    const before = readState(paths, name);
    const ended = opts.settleEnded === true && before !== null && before.xid !== null && isStale(before);
    const rep = await repair(paths, name);
    const c = await findContext(paths, name);
    if (!c && ended && !rep.problems.length) {
      const post = await runHook(paths.confdir, 'post-stop', { name, root: join(paths.rootdir, name), ip: config?.ip ?? null, xid: null });
      return { xid: before.xid!, how: 'already-gone', killed: [], warnings: post.ok ? [] : [`post-stop hook: ${post.error}`] };
    }
    if (!c) {
      if (configError) throw configError;
      throw new LifecycleError('not-running', 'running', `server '${name}' is not running`);
    }
    const r = await stopLocked(name, c, config, paths, timeoutSec);
    if (configError?.kind === 'invalid') r.warnings.unshift(`stopped with the defaults, as its configuration has errors: ${configError.message.split('\n').join('; ')}`);
    return r;
  } finally {
    await lock?.release();
  }
}

async function stopLocked(name: string, c: RunningContext, config: ServerConfig | null, paths: VctxPaths, timeoutSec: number): Promise<StopResult> {
  const warnings: string[] = [];
  const root = join(paths.rootdir, name);
  const files = runFiles(paths, name);
  const st = readState(paths, name);
  const hookEnv = { name, root, ip: config?.ip ?? null, xid: c.xid };
  const ino = dirIno(c.cgroup);

  const pre = await runHook(paths.confdir, 'pre-stop', hookEnv);
  if (!pre.ok) warnings.push(`pre-stop hook: ${pre.error}`);

  let how: StopResult['how'] = 'shutdown';
  let killed: KilledProcess[] = [];
  const t0 = Date.now();
  announceStop(c);
  const asked = await askShutdown(c, config, root, files.console, timeoutSec * 1000);
  let finished = false;
  const busyboxDone = asked !== 'busybox' ? undefined : () => {
    if (finished || !busyboxShutDown(c)) return;
    finished = true;
    try {
      killContext(c.xid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  };
  // sysvinit's shutdown: sendsigs' idle second is cut short (see the top)
  const cut = new Set<number>();
  const sendsigsDone = asked !== 'ran' || (config?.init.style ?? 'init') !== 'init' ? undefined : () => {
    const pid = sendsigsIdleSleep(contextProcs(c), c.pid1);
    if (pid === null || cut.has(pid) || procStat(pid)?.comm !== 'sleep') return;
    cut.add(pid);
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      /* gone meanwhile */
    }
  };
  let done = await waitGone(c, ino, Math.max(0, timeoutSec * 1000 - (Date.now() - t0)), busyboxDone ?? sendsigsDone);
  if (!done) {
    how = 'term';
    killed = leftProcesses(c);
    try {
      killContext(c.xid, 'SIGTERM');
    } catch (e) {
      if (dirIno(c.cgroup) === ino) warnings.push(`SIGTERM: ${errText(e)}`);
    }
    done = await waitGone(c, ino, TERM_GRACE_SEC * 1000);
  }
  if (!done) {
    how = 'kill';
    try {
      killContext(c.xid, 'SIGKILL');
    } catch (e) {
      if (dirIno(c.cgroup) === ino) warnings.push(`SIGKILL: ${errText(e)}`);
    }
    done = await waitGone(c, ino, KILL_WAIT_SEC * 1000);
  }
  if (killed.length) {
    warnings.push(`the shutdown of '${name}' did not end within ${timeoutSec} s; ${how === 'kill' ? 'SIGTERM then SIGKILL' : 'SIGTERM'} ended ` +
      killed.map((p) => `${p.pid} (${p.comm})`).join(', '));
  }
  if (!done) {
    const stuck = stuckList(c);
    const list = stuck.map((p) => `${p.pid} (${p.comm}, state ${p.state}${p.wchan ? `, in ${p.wchan}` : ''})`).join(', ');
    throw new StopTimeout(c.xid, stuck,
      `server '${name}' did not stop: ${stuck.length ? `process${stuck.length > 1 ? 'es' : ''} ${list} would not die` : 'its context could not be released'} ` +
      `(SIGKILL sent ${KILL_WAIT_SEC} s ago); its address stays until they are gone`);
  }
  // the context is gone: other users no longer see it running
  await unpublishServer(paths, name).catch(() => {});

  if (st?.alias) {
    try {
      await removeAlias(st.alias);
    } catch (e) {
      warnings.push(`removing the address: ${errText(e)} (the next command retries)`);
      return { xid: c.xid, how, killed, warnings };
    }
  }
  await removeState(paths, name).catch(() => {});
  const post = await runHook(paths.confdir, 'post-stop', { ...hookEnv, xid: null });
  if (!post.ok) warnings.push(`post-stop hook: ${post.error}`);
  return { xid: c.xid, how, killed, warnings };
}
