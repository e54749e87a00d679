/**
 * Runtime state of the servers: what the kernel says (a context's cgroup)
 * and the little the tool records under the runtime directory.
 *
 * RUNDIR/NAME/ holds, per server:
 *   console.log   the init's console output (`vserver NAME log`), at most
 *                 CONSOLE_MAX; console.log.1 the part before (or the last boot's)
 *   console.log.pipe  the pipe the server writes its console into, which the
 *                 monitor (chcontext) copies into console.log
 *   reboot.sock   the host end of the server's /dev/reboot (the monitor's)
 *   lock          the per-server lock (lock.ts)
 *   state.json    what a start did that the kernel does not record: the
 *                 context's XID and cgroup inode, the monitor's PID, and an
 *                 IP alias added on IPROOTDEV (written *before* it is added)
 *
 * The kernel is the truth: a state file is believed only while the cgroup
 * it names exists with the same inode (cgroup2 inodes are not reused), and
 * otherwise the context is looked up by name in the kernel's contexts (the
 * `trusted.vctx.name` attribute, through the snapshot).  A state file whose
 * context is gone is a crash's leftover: repair() removes what it records.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
// fs.promises loads on first use (node:fs/promises would load at start: ~1 ms)
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { VctxPaths } from '../config/paths.js';
import type { ContextRecord } from '../kernel-bridge/context.js';
import { cgroupPids, cgroupPopulated, contextCgroup, dirIno } from '../kernel-bridge/cgroup.js';
import { monitorByCmdline, procStat, processAlive } from '../kernel-bridge/pid.js';

/** the files of one server under the runtime directory */
export interface ServerRunFiles {
  dir: string;
  console: string;
  rebootSocket: string;
  lock: string;
  state: string;
}

export function runFiles(paths: VctxPaths, name: string): ServerRunFiles {
  const dir = join(paths.rundir, name);
  return {
    dir,
    console: join(dir, 'console.log'),
    rebootSocket: join(dir, 'reboot.sock'),
    lock: join(dir, 'lock'),
    state: join(dir, 'state.json'),
  };
}

/** an IP alias added to a host device at start */
export interface AliasRecord {
  ip: string;
  prefix: number;
  dev: string;
  broadcast: string | null;
  label: string | null;
  /** IPROOT's IPv6 address, added as /128 (nodad) besides; absent or null: none (records of older versions have none) */
  ip6?: string | null;
  /** true when the IPv4 address was the host's already: this start added (and stop removes) only ip6 */
  v4Present?: boolean;
}

/** state.json */
export interface ServerState {
  name: string;
  /** set once the context exists */
  xid: number | null;
  /** inode of the context's cgroup2 directory */
  cgroupIno: string | null;
  pid1: number | null;
  /** the context's monitor (chcontext --daemon) */
  monitor: number | null;
  /** unix ms when the context was created */
  startedAt: number | null;
  /** the context's flags (S_FLAGS) */
  flags: string[];
  /** where the server's 127.0.0.0/8 is mapped */
  loopback?: string | null;
  /** the alias this start added (and stop removes); null when none */
  alias: AliasRecord | null;
}

export async function ensureRunDir(paths: VctxPaths, name: string): Promise<ServerRunFiles> {
  const f = runFiles(paths, name);
  await fsp.mkdir(paths.rundir, { recursive: true, mode: 0o755 });
  await fsp.mkdir(f.dir, { recursive: true, mode: 0o700 });
  return f;
}

export function readState(paths: VctxPaths, name: string): ServerState | null {
  try {
    const s = JSON.parse(readFileSync(runFiles(paths, name).state, 'utf8')) as ServerState;
    return s && s.name === name ? s : null;
  } catch {
    return null;
  }
}

/** writes state.json atomically (a crash leaves the old or the new one) */
export async function writeState(paths: VctxPaths, st: ServerState): Promise<void> {
  const f = runFiles(paths, st.name);
  const tmp = `${f.state}.${process.pid}`;
  await fsp.writeFile(tmp, JSON.stringify(st) + '\n', { mode: 0o600 });
  await fsp.rename(tmp, f.state);
}

/**
 * The loopback addresses of the servers of this runtime directory that
 * run (their state file's cgroup exists with the same inode).
 */
export function loopbacksInUse(paths: VctxPaths): Set<string> {
  const used = new Set<string>();
  let names: string[];
  try {
    names = readdirSync(paths.rundir);
  } catch {
    return used;
  }
  for (const n of names) {
    const st = readState(paths, n);
    if (!st?.loopback || st.xid === null || st.cgroupIno === null) continue;
    const dir = contextCgroup(st.xid);
    if (dir && dirIno(dir) === st.cgroupIno) used.add(st.loopback);
  }
  return used;
}

export async function removeState(paths: VctxPaths, name: string): Promise<void> {
  await fsp.rm(runFiles(paths, name).state, { force: true });
}

// ------------------------------------------------------------ contexts

/** a running server's context, as the kernel has it */
export interface RunningContext {
  xid: number;
  pid1: number;
  /** the cgroup2 directory */
  cgroup: string;
  /** processes in the context */
  nprocs: number;
  /** unix ms when the context was created */
  startedAt: number;
  flags: string[];
  /** the context's cgroup exists but has no process left */
  empty: boolean;
  /** the monitor (chcontext --daemon) is alive */
  monitorAlive: boolean;
  /** its PID, when known */
  monitor: number | null;
}

/**
 * The kernel's contexts named @name (the name is a trusted.* attribute Node
 * cannot read itself): a walk of the cgroup tree through the addon.
 */
async function contextsNamed(name: string): Promise<ContextRecord[]> {
  const { listContexts } = await import('../kernel-bridge/context.js');
  return listContexts().filter((c) => c.name === name && c.parentXid === 0);
}

/** the monitor of a context: the parent of its PID 1 while that runs */
function monitorOf(pid1: number): number | null {
  const st = procStat(pid1);
  if (!st || st.ppid <= 1) return null;
  const parent = procStat(st.ppid);
  return parent && /chcontext/.test(parent.comm) ? parent.pid : null;
}

/**
 * Is server @name running, and where?  The state file is a fast hint that
 * is verified against the kernel (same cgroup inode); without a valid hint
 * the kernel's contexts are searched by name (unless @trustState says a
 * missing state file means "not started by us": start, where the kernel's
 * name claim arbitrates anyway).
 */
export async function findContext(paths: VctxPaths, name: string, opts: { scan?: boolean } = {}): Promise<RunningContext | null> {
  const st = readState(paths, name);
  if (st && st.xid !== null && st.cgroupIno !== null) {
    const dir = contextCgroup(st.xid);
    if (dir && dirIno(dir) === st.cgroupIno) {
      const pids = cgroupPids(dir);
      return {
        xid: st.xid,
        pid1: st.pid1 ?? 0,
        cgroup: dir,
        nprocs: pids.length,
        startedAt: st.startedAt ?? Date.now(),
        flags: st.flags ?? [],
        empty: pids.length === 0 && !cgroupPopulated(dir),
        monitorAlive: processAlive(st.monitor),
        monitor: st.monitor,
      };
    }
    if (opts.scan === false) return null;
  } else if (opts.scan === false) {
    return null;
  }
  const found = await contextsNamed(name);
  const c = found[0];
  if (!c) return null;
  const monitor = (c.pid1 ? monitorOf(c.pid1) : null) ?? monitorByCmdline(name);
  return {
    xid: c.xid,
    pid1: c.pid1,
    cgroup: c.cgroup,
    nprocs: c.nprocs,
    startedAt: c.created * 1000,
    flags: c.flags,
    empty: c.nprocs === 0 && !cgroupPopulated(c.cgroup),
    monitorAlive: monitor !== null,
    monitor,
  };
}

/**
 * Releases an empty context whose monitor is gone through libvctx's one
 * release path (vctx_release: cgroups v2 and v1, IPv4 lock records,
 * guard socket).  Returns false when the context still has processes.
 */
export async function releaseContext(xid: number): Promise<boolean> {
  const dir = contextCgroup(xid);
  if (!dir || !existsSync(dir)) return true;
  const { releaseContextNow } = await import('../kernel-bridge/context.js');
  try {
    releaseContextNow(xid);
  } catch (e) {
    if ((e as { code?: string }).code === 'ESRCH') return true;
    return false;
  }
  return !existsSync(dir);
}
