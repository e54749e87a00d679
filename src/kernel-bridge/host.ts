/**
 * Host-wide figures from the kernel: CPU jiffies (/proc/stat), memory
 * (/proc/meminfo), and what node:os says of name, release and load.  Two
 * small reads per call, nothing forked.  Raw figures; vtop's host probe
 * (src/live/host-probe.ts) turns two samples into a CPU %.
 * And the host's settings the actions consult: the mounts below a directory
 * (/proc/self/mountinfo), this process's soft limits (/proc/self/limits) and
 * net.ipv4.ping_group_range.
 */
import { readFileSync, statSync, statfsSync } from 'node:fs';
// fs.promises loads on first use (node:fs/promises would load at start: ~1 ms)
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';

/** busy and total jiffies of all CPUs */
export interface CpuTimes {
  busy: number;
  total: number;
}

/** one reading of the host */
export interface HostReading {
  hostname: string;
  kernel: string;
  /** the CPUs /proc/stat's first line adds up */
  cpus: number;
  /** null when /proc/stat has no `cpu` line */
  times: CpuTimes | null;
  /** each CPU's (`cpuN` lines), by N; a CPU that is offline is missing (undefined) */
  perCpu: (CpuTimes | undefined)[];
  /** bytes */
  memTotal: number;
  /** bytes */
  memAvailable: number;
  /** bytes (MemFree) */
  memFree: number;
  /** bytes (SwapTotal, SwapFree) */
  swapTotal: number;
  swapFree: number;
  load: [number, number, number];
}

/** busy and total jiffies of one /proc/stat cpu line's figures */
function timesOf(figures: string): CpuTimes {
  const f = figures.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice)
  const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** busy and total jiffies of all CPUs from /proc/stat's first line */
export function cpuTimes(stat: string): CpuTimes | null {
  const m = /^cpu\s+(.*)$/m.exec(stat);
  return m ? timesOf(m[1]!) : null;
}

/** busy and total jiffies of each CPU from /proc/stat's `cpuN` lines, by N */
export function perCpuTimes(stat: string): (CpuTimes | undefined)[] {
  const out: (CpuTimes | undefined)[] = [];
  for (const m of stat.matchAll(/^cpu(\d+)\s+(.*)$/gm)) {
    const n = Number(m[1]);
    if (n < 4096) out[n] = timesOf(m[2]!);
  }
  return out;
}

/**
 * Reads the host now.
 * @throws Error when /proc/stat or /proc/meminfo cannot be read
 */
export function readHost(): HostReading {
  const stat = readFileSync('/proc/stat', 'utf8');
  const times = cpuTimes(stat);
  const perCpu = perCpuTimes(stat);
  const cpus = stat.match(/^cpu\d+ /gm)?.length || os.availableParallelism();
  const mem = readFileSync('/proc/meminfo', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(mem)?.[1] ?? 0) * 1024;
  const [l1, l5, l15] = os.loadavg() as [number, number, number];
  return {
    hostname: os.hostname(), kernel: os.release(), cpus, times, perCpu,
    memTotal: kib('MemTotal'), memAvailable: kib('MemAvailable'), memFree: kib('MemFree'),
    swapTotal: kib('SwapTotal'), swapFree: kib('SwapFree'), load: [l1, l5, l15],
  };
}

/** the mount points at or below dir (this mount namespace), deepest first */
export async function mountsBelow(dir: string): Promise<string[]> {
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8');
  const base = resolve(dir);
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const mp = f[4]?.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (mp && (mp === base || mp.startsWith(base + '/'))) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** a soft limit as /proc/self/limits gives it */
export type SoftLimit = number | 'unlimited';

const LIMIT_NAMES: Record<string, number> = {
  'Max cpu time': 0, 'Max file size': 1, 'Max data size': 2, 'Max stack size': 3, 'Max core file size': 4,
  'Max resident set': 5, 'Max processes': 6, 'Max open files': 7, 'Max locked memory': 8,
  'Max address space': 9, 'Max file locks': 10, 'Max pending signals': 11, 'Max msgqueue size': 12,
  'Max nice priority': 13, 'Max realtime priority': 14,
};

/** the soft limits this process has (and its children inherit), by resource number */
export function inheritedSoftLimits(text: string = readFileSync('/proc/self/limits', 'utf8')): Map<number, SoftLimit> {
  const out = new Map<number, SoftLimit>();
  for (const line of text.split('\n')) {
    const name = line.slice(0, 26).trim();
    const n = LIMIT_NAMES[name];
    if (n === undefined) continue;
    const soft = line.slice(26).trim().split(/\s+/)[0] ?? '';
    out.set(n, soft === 'unlimited' ? 'unlimited' : Number(soft));
  }
  return out;
}

export const PING_GROUP_RANGE = '/proc/sys/net/ipv4/ping_group_range';

/** the text of net.ipv4.ping_group_range ("LOW HIGH"), or null when unreadable */
export function readPingGroupRange(file = PING_GROUP_RANGE): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
}

/** where lxcfs and vctx-netview serve the inside views (libvctx's VCTX_LXCFS_DIR, VCTX_NETVIEW_DIR) */
export const LXCFS_DIR = '/var/lib/lxcfs';
export const NETVIEW_DIR = '/run/vctx-netview';
const FUSE_SUPER_MAGIC = 0x65735546;

/** a FUSE file system is mounted at @dir and @probe in it can be looked up: libvctx's test before it binds a view */
export function fuseAnswers(dir: string, probe: string): boolean {
  try {
    return statfsSync(dir).type === FUSE_SUPER_MAGIC && statSync(dir + probe).isFile();
  } catch {
    return false;
  }
}

/** which inside views the host serves now (a server started now gets them) */
export function insideViews(): { lxcfs: boolean; netview: boolean } {
  return { lxcfs: fuseAnswers(LXCFS_DIR, '/proc/meminfo'), netview: fuseAnswers(NETVIEW_DIR, '/tcp') };
}
