/**
 * `vserver-all start|stop|status`: the servers with ONBOOT=yes are started
 * by PRIORITY (lower first, then by name); stop stops every running
 * configured server in the reverse order.  One server's failure does not
 * stop the others.
 */
import type { VctxPaths } from '../config/paths.js';
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
