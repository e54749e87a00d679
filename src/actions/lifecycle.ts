/**
 * The lifecycle verbs of a virtual server, for the vserver CLI (which is
 * also what vtop's privileged helper runs).  Every changing action is
 * written to the system log (who, what, which server, result).  Errors are
 * LifecycleErrors carrying the CONTRACT exit code; nothing here formats
 * text for people beyond one-line messages.
 */
import type { VctxPaths } from '../config/paths.js';
import { loadConfigFor } from './config-load.js';
import { LifecycleError, errText } from './errors.js';
import { ensureRunDir } from './runtime.js';
import { setServerLimits, type SetResult } from './set.js';
import { start, type StartResult } from './start.js';
import { stop, DEFAULT_STOP_TIMEOUT_SEC, type StopResult } from './stop.js';
import { audit } from './syslog.js';
import { lockServer } from './lock.js';

export { LifecycleError } from './errors.js';
export { serverStatus, isRunning, listServerStates, type ServerStatus, type ServerListEntry } from './status.js';
export { DEFAULT_STOP_TIMEOUT_SEC } from './stop.js';

async function logged<T>(action: string, name: string, fn: () => Promise<T>, ok: (r: T) => string): Promise<T> {
  try {
    const r = await fn();
    await audit(action, name, ok(r));
    return r;
  } catch (e) {
    await audit(action, name, `failed: ${errText(e).split('\n')[0]}`);
    throw e;
  }
}

/** starts @name; resolves to its context number and PID 1 */
export async function startServer(name: string, paths: VctxPaths): Promise<StartResult> {
  return logged('start', name, () => start(name, paths), (r) => `ok, context ${r.xid}, init PID ${r.pid1}`);
}

/** sets limits of @name (KEY=VALUE args): live while it runs, and in NAME.conf */
export async function setServer(name: string, args: readonly string[], paths: VctxPaths): Promise<SetResult> {
  return logged('set', name, () => setServerLimits(name, args, paths), (r) =>
    `ok, ${r.changes.map(([k, v]) => `${k}=${v}`).join(' ')} ${r.xid !== null ? `applied to context ${r.xid} and ` : ''}written to ${r.conf}`);
}

function howText(r: StopResult): string {
  switch (r.how) {
    case 'shutdown': return 'shut down';
    case 'term': return 'ended by SIGTERM';
    case 'kill': return 'killed';
    case 'already-gone': return 'had ended by itself';
  }
}

/** stops @name (timeoutSec for its own shutdown, default 10) */
export async function stopServer(name: string, paths: VctxPaths, opts: { timeoutSec?: number; settleEnded?: boolean } = {}): Promise<StopResult> {
  return logged('stop', name, () => stop(name, paths, opts), (r) => `ok, context ${r.xid} ${howText(r)}`);
}

export interface RestartOptions {
  timeoutSec?: number;
  /** only when running (vreboot requests): a stopped server stays stopped */
  ifRunning?: boolean;
}

export interface RestartResult {
  stopped: StopResult | null;
  started: StartResult | null;
}

/** stop (when running) and start, under one hold of the server's lock */
export async function restartServer(name: string, paths: VctxPaths, opts: RestartOptions = {}): Promise<RestartResult> {
  return logged('restart', name, async () => {
    // a configuration that cannot start is refused before the server is
    // stopped (and before a lock or runtime directory is made for it)
    await loadConfigFor(paths.confdir, name);
    const files = await ensureRunDir(paths, name);
    const lock = await lockServer(files.lock, 'restart', name);
    try {
      let stopped: StopResult | null = null;
      try {
        // --if-running: a server that rebooted itself (its state recorded,
        // its context gone) counts as running: it is settled, then started
        stopped = await stop(name, paths, {
          timeoutSec: opts.timeoutSec ?? DEFAULT_STOP_TIMEOUT_SEC, lockHeld: true, settleEnded: opts.ifRunning,
        });
      } catch (e) {
        if (!(e instanceof LifecycleError && e.kind === 'not-running')) throw e;
        if (opts.ifRunning) return { stopped: null, started: null };
      }
      return { stopped, started: await start(name, paths, { lockHeld: true }) };
    } finally {
      await lock.release();
    }
  }, (r) => (r.started ? `ok, context ${r.started.xid}` : 'not running, nothing done'));
}

/**
 * stop requested from inside (vhalt, or the server's own halt, which the
 * monitor reports once the context is gone): only when running, or when it
 * ended by itself and its records are still there
 */
export async function haltServer(name: string, paths: VctxPaths, opts: { timeoutSec?: number } = {}): Promise<StopResult | null> {
  try {
    return await stopServer(name, paths, { ...opts, settleEnded: true });
  } catch (e) {
    if (e instanceof LifecycleError && e.kind === 'not-running') return null;
    throw e;
  }
}

/** writes an enter/exec to the system log (the CLI runs the command itself) */
export function auditEnter(action: 'enter' | 'exec', name: string, result: string): Promise<void> {
  return audit(action, name, result);
}
