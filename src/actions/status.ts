/**
 * `vserver NAME status` / `running` and the list of every server's state
 * (configured and running), as data.  A status also repairs what a crashed
 * command left (repair.ts) unless another command holds the server.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkTrustedFile } from '../config/checks.js';
import { configPath, listServers, loadAllServers, readBootSettings } from '../config/load.js';
import { formatIssue } from '../config/issues.js';
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
  /** the errors of NAME.conf (one per line) when it has some; null when it reads */
  configError: string | null;
}

/**
 * The status of @name.
 * @throws LifecycleError usage (bad name), unknown-server (no NAME.conf and not running)
 */
export async function serverStatus(name: string, paths: VctxPaths): Promise<ServerStatus> {
  checkName(name);
  // a status reports the state of a server whose NAME.conf is invalid, and
  // names the problem; the parser is loaded only when the file exists
  const configured = existsSync(configPath(paths.confdir, name));
  const configError = configured ? await configErrorOf(paths, name) : null;
  // a crash's leftovers go now, but never under a start or stop in progress
  // (the lock is asked only when there are leftovers: asking runs flock)
  const st = readState(paths, name);
  if (st && isStale(st) && !(await lockBusy(paths, name))) await repair(paths, name);
  const c = await findContext(paths, name);
  if (!c && !configured) throw new LifecycleError('unknown-server', 'config', `unknown server '${name}' (no ${name}.conf in ${paths.confdir})`);
  if (!c || c.empty) {
    return { name, running: false, xid: null, pid1: null, nprocs: 0, startedAt: null, uptimeSec: null, flags: [], configured, configError };
  }
  return {
    name, running: true, xid: c.xid, pid1: c.pid1, nprocs: c.nprocs, startedAt: c.startedAt,
    uptimeSec: Math.max(0, Math.floor((Date.now() - c.startedAt) / 1000)), flags: c.flags, configured, configError,
  };
}

/**
 * The errors of NAME.conf, one per line, or null when it reads.  Parsing
 * costs a status more than all else (the value schemas and node:net load:
 * ~13 ms of ~40), and the text rarely changes between two statuses: the
 * verdict on a text is kept in RUNDIR/.config-check/NAME.json with the
 * text itself and the identity of the code that judged it, and reused
 * while both are the same.  kernel/tools/vserver.c, the C path of a status,
 * reads the same file: it prints a status only where the verdict kept is
 * "no error" for the same text and code, and hands everything else here.  Whether the file is safe to trust (its owner
 * and mode, and its directory's) is checked every time.
 */
async function configErrorOf(paths: VctxPaths, name: string): Promise<string | null> {
  const file = configPath(paths.confdir, name);
  const memo = join(paths.rundir, '.config-check', `${name}.json`);
  let key: string | null = null;
  try {
    // whole numbers (bigint): the C path of a status (kernel/tools/vserver.c) makes the same key
    const code = statSync(fileURLToPath(import.meta.url), { bigint: true });
    key = JSON.stringify([`${code.size}:${code.mtimeNs}`, file, readFileSync(file, 'utf8')]);
    if (!(await checkTrustedFile(file))) {
      const m = JSON.parse(readFileSync(memo, 'utf8')) as { key?: unknown; error?: unknown };
      if (m.key === key && (m.error === null || typeof m.error === 'string')) return m.error;
    }
  } catch {
    // no verdict kept (or the file went): the full load below says what is wrong
  }
  const { loadConfigFor } = await import('./config-load.js');
  let error: string | null = null;
  try {
    await loadConfigFor(paths.confdir, name);
  } catch (e) {
    if (!(e instanceof LifecycleError) || e.kind === 'usage' || e.kind === 'unknown-server') throw e;
    error = e.message;
  }
  // kept only when the file read as judged and was trusted (else the error is the trust's, rechecked each time)
  try {
    if (key !== null && !(await checkTrustedFile(file))) {
      mkdirSync(join(paths.rundir, '.config-check'), { recursive: true, mode: 0o700 });
      writeFileSync(`${memo}.tmp`, JSON.stringify({ key, error }) + '\n', { mode: 0o600 });
      renameSync(`${memo}.tmp`, memo);
    }
  } catch {
    // a read-only run directory: the next status parses again
  }
  return error;
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
  /** ONBOOT as written, even when another line is bad; null when ONBOOT itself is bad */
  onBoot: boolean | null;
  priority: number;
  /** the configuration's problem, when it cannot be loaded */
  configError: string | null;
  /**
   * what is wrong with the server for people, one line each: the
   * configuration's errors, and every clash with another server (both
   * servers show it)
   */
  problems: string[];
}

/** every configured server with its state (for vserver-all status and vtop) */
export async function listServerStates(paths: VctxPaths): Promise<ServerListEntry[]> {
  const { names } = await listServers(paths.confdir);
  const all = await loadAllServers(paths.confdir);
  const { statusClashes } = await import('./clashes.js');
  const configs = new Map(all.servers.map((c) => [c.name, c]));
  const failed = new Map(all.failed.map((f) => [f.name, f.error]));
  const out: ServerListEntry[] = [];
  for (const name of names) {
    const config: ServerConfig | null = configs.get(name) ?? null;
    const err = failed.get(name) ?? null;
    const configError = err ? err.message : null;
    const boot = config ? { onBoot: config.onBoot, priority: config.priority } : await readBootSettings(paths.confdir, name);
    const problems = [
      ...(configError ? configError.split('\n') : []),
      ...(config ? statusClashes(config, all.servers).map((i) => formatIssue(i)) : []),
    ];
    const c = await findContext(paths, name).catch(() => null);
    const running = c !== null && !c.empty;
    out.push({
      name, running, xid: running ? c!.xid : null, pid1: running ? c!.pid1 : null, nprocs: running ? c!.nprocs : 0,
      startedAt: running ? c!.startedAt : null,
      uptimeSec: running ? Math.max(0, Math.floor((Date.now() - c!.startedAt) / 1000)) : null,
      flags: running ? c!.flags : config?.flags ?? [], configured: true,
      onBoot: boot.onBoot, priority: boot.priority ?? 0, configError, problems,
    });
  }
  return out;
}
