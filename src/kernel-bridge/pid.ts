/**
 * Single processes as the host's /proc shows them: a process's state,
 * parent and start time, whether it lives, where it sleeps, a monitor found
 * by its command line, and the processes whose root is below a directory.
 * Plain reads, nothing forked (the full scan is the snapshot's, in libvctx).
 */
import { readdirSync, readFileSync } from 'node:fs';
// fs.promises loads on first use (node:fs/promises would load at start: ~1 ms)
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { isDigits } from '../config/digits.js';

/** fields of /proc/PID/stat: state, ppid, start time (ticks) */
export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
  startTime: number;
}

export function procStat(pid: number): ProcStat | null {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const close = s.lastIndexOf(')');
  const comm = s.slice(s.indexOf('(') + 1, close);
  const f = s.slice(close + 2).split(' ');
  return { pid, comm, state: f[0] ?? '?', ppid: Number(f[1]), startTime: Number(f[19]) };
}

/** a live process (a zombie is dead: it only waits to be reaped) */
export function processAlive(pid: number | null): boolean {
  if (!pid || pid <= 0) return false;
  const st = procStat(pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

/** the kernel function @pid sleeps in (/proc/PID/wchan); '' when running, gone or unreadable */
export function processWchan(pid: number): string {
  try {
    const w = readFileSync(`/proc/${pid}/wchan`, 'utf8').trim();
    return w === '0' ? '' : w;
  } catch {
    return '';
  }
}

/** a live `chcontext ... --name NAME ... --daemon` monitor, by its command line */
export function monitorByCmdline(name: string): number | null {
  let ents: string[];
  try {
    ents = readdirSync('/proc');
  } catch {
    return null;
  }
  for (const e of ents) {
    if (!isDigits(e)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${e}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    if (!cmd.includes('chcontext\0') && !cmd.startsWith('chcontext')) continue;
    const args = cmd.split('\0');
    const i = args.indexOf('--name');
    if (i >= 0 && args[i + 1] === name && args.includes('--daemon') && processAlive(Number(e))) return Number(e);
  }
  return null;
}

/**
 * Processes whose root directory is at or below dir, as far as the host can
 * tell: /proc/PID/root's path for a process in the host's mount namespace;
 * for one in another (a running server, whose root's path the host cannot
 * name), its root's device and inode: dir itself, or, when dir is an
 * overlay's mount point (a unified server), any directory of that overlay.
 */
export async function processesRootedIn(dir: string): Promise<number[]> {
  const base = resolve(dir);
  const pids: number[] = [];
  const st = await fsp.stat(base).catch(() => null);
  const overlay = st ? (await fsp.statfs(base).catch(() => null))?.type === OVERLAYFS_SUPER_MAGIC : false;
  const ownNs = await fsp.readlink('/proc/self/ns/mnt').catch(() => null);
  for (const e of await fsp.readdir('/proc')) {
    if (!isDigits(e)) continue;
    const r = await fsp.readlink(`/proc/${e}/root`).catch(() => null);
    if (r === null) continue;
    if (r === base || r.startsWith(base + '/')) {
      pids.push(Number(e));
      continue;
    }
    if (!st || (await fsp.readlink(`/proc/${e}/ns/mnt`).catch(() => ownNs)) === ownNs) continue;
    const rs = await fsp.stat(`/proc/${e}/root`).catch(() => null);
    if (rs && rs.dev === st.dev && (overlay || rs.ino === st.ino)) pids.push(Number(e));
  }
  return pids;
}

/** statfs(2)'s f_type of overlayfs */
const OVERLAYFS_SUPER_MAGIC = 0x794c7630;
