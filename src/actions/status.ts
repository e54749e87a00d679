/**
 * `vserver NAME status` / `running` and the list of every server's state
 * (configured and running), as data.  A status also repairs what a crashed
 * command left (repair.ts) unless another command holds the server.
 */
import { existsSync } from 'node:fs';
import { configPath, listServers, loadServerConfig } from '../config/load.js';
import type { VctxPaths } from '../config/paths.js';
import type { ServerConfig } from '../config/types.js';
import { checkName } from './config-load.js';
import { LifecycleError } from './errors.js';
import { isStale, repair } from './repair.js';
import { findContext, readState, runFiles } from './runtime.js';

export interface ServerStatus {
  name: string;
  running: boolean;
  /** the context number while running */
  xid: number | null;
  /** host PID of the server's PID 1 */
  pid1: number | null;
  nprocs: number;
  /** unix ms when it was started */
  startedAt: number | null;
  /** seconds since */
  uptimeSec: number | null;
  flags: string[];
  /** false when NAME.conf is missing (a running context of that name) */
  configured: boolean;
}

/**
 * The status of @name.
 * @throws LifecycleError usage (bad name), unknown-server (no NAME.conf and not running)
 */
export async function serverStatus(name: string, paths: VctxPaths): Promise<ServerStatus> {
  checkName(name);
  // a status reads no more of the configuration than that it exists: an
  // invalid NAME.conf still has its server's state reported
  const configured = existsSync(configPath(paths.confdir, name));
  // a crash's leftovers go now, but never under a start or stop in progress
  // (the lock is asked only when there are leftovers: asking runs flock)
  const st = readState(paths, name);
  if (st && isStale(st) && !(await lockBusy(paths, name))) await repair(paths, name);
  const c = await findContext(paths, name);
  if (!c && !configured) throw new LifecycleError('unknown-server', 'config', `unknown server '${name}' (no ${name}.conf in ${paths.confdir})`);
  if (!c || c.empty) {
    return { name, running: false, xid: null, pid1: null, nprocs: 0, startedAt: null, uptimeSec: null, flags: [], configured };
  }
  return {
    name, running: true, xid: c.xid, pid1: c.pid1, nprocs: c.nprocs, startedAt: c.startedAt,
    uptimeSec: Math.max(0, Math.floor((Date.now() - c.startedAt) / 1000)), flags: c.flags, configured,
  };
}

/** is another command holding the server's lock right now? */
async function lockBusy(paths: VctxPaths, name: string): Promise<boolean> {
  const f = runFiles(paths, name).lock;
  if (!existsSync(f)) return false;
  const { acquireLock, LockTimeout } = await import('./lock.js');
  try {
    const l = await acquireLock(f, 0);
    await l.release();
    return false;
  } catch (e) {
    return e instanceof LockTimeout;
  }
}

/** `vserver NAME running`: true/false */
export async function isRunning(name: string, paths: VctxPaths): Promise<boolean> {
  checkName(name);
  const c = await findContext(paths, name);
  return c !== null && !c.empty;
}

export interface ServerListEntry extends ServerStatus {
  onBoot: boolean;
  priority: number;
  /** the configuration's problem, when it cannot be loaded */
  configError: string | null;
}

/** every configured server with its state (for vserver-all status and vtop) */
export async function listServerStates(paths: VctxPaths): Promise<ServerListEntry[]> {
  const { names } = await listServers(paths.confdir);
  const out: ServerListEntry[] = [];
  for (const name of names) {
    let config: ServerConfig | null = null;
    let configError: string | null = null;
    try {
      config = (await loadServerConfig(paths.confdir, name)).config;
    } catch (e) {
      configError = (e as Error).message;
    }
    const c = await findContext(paths, name).catch(() => null);
    const running = c !== null && !c.empty;
    out.push({
      name, running, xid: running ? c!.xid : null, pid1: running ? c!.pid1 : null, nprocs: running ? c!.nprocs : 0,
      startedAt: running ? c!.startedAt : null,
      uptimeSec: running ? Math.max(0, Math.floor((Date.now() - c!.startedAt) / 1000)) : null,
      flags: running ? c!.flags : config?.flags ?? [], configured: true,
      onBoot: config?.onBoot ?? false, priority: config?.priority ?? 0, configError,
    });
  }
  return out;
}
