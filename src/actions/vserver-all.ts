/**
 * `vserver-all start|stop|status|exec`: the servers with ONBOOT=yes are
 * started by PRIORITY (lower first, then by name); stop stops every running
 * configured server in the reverse order; exec (and vapt) runs a command in
 * each running one.  One server's failure does not stop the others.
 */
import { existsSync } from 'node:fs';
import { configPath } from '../config/load.js';
import type { VctxPaths } from '../config/paths.js';
import { contextToEnter } from './enter.js';
import { errText, LifecycleError } from './errors.js';
import { startServer, stopServer } from './lifecycle.js';
import { listServerStates, type ServerListEntry } from './status.js';

export interface AllOutcome {
  name: string;
  /** what happened: started, stopped, skipped (already so), failed */
  result: 'started' | 'stopped' | 'already-running' | 'not-running' | 'failed';
  xid: number | null;
  error: string | null;
  /** warnings of a start or stop */
  warnings: string[];
}

function byPriority(a: ServerListEntry, b: ServerListEntry): number {
  return a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

export async function allStates(paths: VctxPaths): Promise<ServerListEntry[]> {
  return (await listServerStates(paths)).sort(byPriority);
}

/**
 * starts the ONBOOT servers, one after the other, in PRIORITY order; a
 * server whose ONBOOT cannot be read is tried too, so that its error is
 * reported rather than the server skipped
 */
export async function startAll(paths: VctxPaths, onEach?: (o: AllOutcome) => void): Promise<AllOutcome[]> {
  const out: AllOutcome[] = [];
  for (const s of (await allStates(paths)).filter((x) => x.onBoot !== false)) {
    let o: AllOutcome;
    if (s.running) o = { name: s.name, result: 'already-running', xid: s.xid, error: null, warnings: [] };
    else {
      try {
        const r = await startServer(s.name, paths);
        o = { name: s.name, result: 'started', xid: r.xid, error: null, warnings: r.warnings };
      } catch (e) {
        o = e instanceof LifecycleError && e.kind === 'already-running'
          ? { name: s.name, result: 'already-running', xid: null, error: null, warnings: [] }
          : { name: s.name, result: 'failed', xid: null, error: errText(e), warnings: [] };
      }
    }
    out.push(o);
    onEach?.(o);
  }
  return out;
}

/** stops every running configured server, in reverse PRIORITY order */
export async function stopAll(paths: VctxPaths, opts: { timeoutSec?: number } = {}, onEach?: (o: AllOutcome) => void): Promise<AllOutcome[]> {
  const out: AllOutcome[] = [];
  for (const s of (await allStates(paths)).reverse().filter((x) => x.running)) {
    let o: AllOutcome;
    try {
      const r = await stopServer(s.name, paths, opts);
      o = { name: s.name, result: 'stopped', xid: r.xid, error: null, warnings: r.warnings };
    } catch (e) {
      o = e instanceof LifecycleError && e.kind === 'not-running'
        ? { name: s.name, result: 'not-running', xid: null, error: null, warnings: [] }
        : { name: s.name, result: 'failed', xid: s.xid, error: errText(e), warnings: [] };
    }
    out.push(o);
    onEach?.(o);
  }
  return out;
}

/** a server a command is to run in (`vserver-all exec`, `vapt`): its context, or why not */
export interface ExecTarget {
  name: string;
  /** the running context to run in; null when skipped or failed */
  xid: number | null;
  /** not to run in, and not a failure: a stopped server of `--all` */
  skipped: string | null;
  /** not to run in, and a failure: unknown, not running, private */
  error: string | null;
}

/**
 * the servers to run a command in: every configured one (@names null: a
 * stopped server is skipped, not failed) or the ones named, in that order
 * (an unknown, stopped or private one is a failure, named)
 */
export async function execTargets(paths: VctxPaths, names: string[] | null): Promise<ExecTarget[]> {
  const one = async (name: string): Promise<ExecTarget> => {
    try {
      return { name, xid: await contextToEnter(name, paths), skipped: null, error: null };
    } catch (e) {
      // "not running" of a name nobody configured: say so
      if (e instanceof LifecycleError && e.kind === 'not-running' && !existsSync(configPath(paths.confdir, name))) {
        return { name, xid: null, skipped: null, error: `unknown server '${name}' (no ${name}.conf in ${paths.confdir})` };
      }
      return { name, xid: null, skipped: null, error: errText(e) };
    }
  };
  if (names) {
    const out: ExecTarget[] = [];
    for (const n of names) out.push(await one(n));
    return out;
  }
  const out: ExecTarget[] = [];
  for (const s of await allStates(paths)) {
    if (s.running) out.push(await one(s.name));
    else out.push({ name: s.name, xid: null, skipped: s.configError ? 'invalid config, not running' : 'not running', error: null });
  }
  return out;
}
