/**
 * Recovery after a crash: what a killed tool (or a killed monitor) left
 * behind is found from the kernel and state.json, and removed by the next
 * start, stop or status of the server.
 *  - a context whose cgroup is empty and whose monitor is dead: released
 *    (cgroups, eBPF state, guard socket) through libvctx, whose every
 *    listing also sweeps what crashed tools left (vctx_list);
 *  - a state file whose context is gone: the IP alias it records is
 *    removed, then the file and a leftover reboot socket.
 * The per-server lock taken by start/stop keeps this from racing a start.
 */
import { existsSync } from 'node:fs';
// fs.promises loads on first use (node:fs/promises would load at start: ~1 ms)
import { promises as fsp } from 'node:fs';
import type { VctxPaths } from '../config/paths.js';
import { cgroupEmpty, contextCgroup, dirIno } from '../kernel-bridge/cgroup.js';
import { processAlive } from '../kernel-bridge/pid.js';
import { findContext, readState, releaseContext, removeState, runFiles, type ServerState } from './runtime.js';

export interface RepairReport {
  /** the context released, if any */
  released: number | null;
  /** the alias removed, if any */
  aliasRemoved: string | null;
  /** problems met (repair never throws) */
  problems: string[];
}

/**
 * Whether the state @st records leftovers repair() would remove: false while
 * its context has processes or its monitor lives (running, starting, or
 * being released by the monitor).  Reads only the cgroup and the monitor's
 * process (through the bridge).
 */
export function isStale(st: ServerState): boolean {
  if (st.xid !== null && st.cgroupIno !== null) {
    const dir = contextCgroup(st.xid);
    if (dir && dirIno(dir) === st.cgroupIno) {
      return cgroupEmpty(dir) && !processAlive(st.monitor);
    }
    return true;
  }
  return !processAlive(st.monitor);
}

/** repairs server @name's runtime state; a running server is left alone */
export async function repair(paths: VctxPaths, name: string): Promise<RepairReport> {
  const rep: RepairReport = { released: null, aliasRemoved: null, problems: [] };
  const st = readState(paths, name);
  if (!st || !isStale(st)) return rep; // running, or its monitor is releasing it
  if (st.xid !== null && st.cgroupIno !== null) {
    const dir = contextCgroup(st.xid);
    if (dir && dirIno(dir) === st.cgroupIno) {
      if (await releaseContext(st.xid).catch(() => false)) rep.released = st.xid;
      else {
        rep.problems.push(`context ${st.xid} of '${name}' could not be released`);
        return rep;
      }
    }
  }
  if (st.alias) {
    try {
      const { removeAlias } = await import('./alias.js'); // `ip`, through child_process
      await removeAlias(st.alias);
      rep.aliasRemoved = `${st.alias.ip}/${st.alias.prefix} on ${st.alias.dev}`;
    } catch (e) {
      rep.problems.push((e as Error).message);
      return rep; // keep the record: the next command tries again
    }
  }
  const f = runFiles(paths, name);
  if (existsSync(f.rebootSocket)) await fsp.rm(f.rebootSocket, { force: true }).catch(() => {});
  await removeState(paths, name).catch(() => {});
  // loaded here, not with this module: every status imports repair, and the
  // server index brings the configuration's validators (node:net) and
  // node:fs/promises with it (~10 ms of a status)
  const { unpublishServer } = await import('./server-index.js');
  await unpublishServer(paths, name).catch(() => {});
  return rep;
}

/**
 * A context named @name found in the kernel (no state file) that is empty
 * and has no monitor is released.  Returns true when one was.
 */
export async function releaseStale(paths: VctxPaths, name: string): Promise<boolean> {
  const c = await findContext(paths, name, { scan: true }).catch(() => null);
  if (!c || !c.empty || c.monitorAlive) return false;
  return releaseContext(c.xid).catch(() => false);
}
