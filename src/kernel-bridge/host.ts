/**
 * Host-wide figures from the kernel: CPU jiffies (/proc/stat), memory
 * (/proc/meminfo), and what node:os says of name, release and load.  Two
 * small reads per call, nothing forked.  Raw figures; vtop's host probe
 * (src/live/host-probe.ts) turns two samples into a CPU %.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

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
  /** bytes */
  memTotal: number;
  /** bytes */
  memAvailable: number;
  load: [number, number, number];
}

/** busy and total jiffies of all CPUs from /proc/stat's first line */
export function cpuTimes(stat: string): CpuTimes | null {
  const m = /^cpu\s+(.*)$/m.exec(stat);
  if (!m) return null;
  const f = m[1]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice)
  const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Reads the host now.
 * @throws Error when /proc/stat or /proc/meminfo cannot be read
 */
export function readHost(): HostReading {
  const stat = readFileSync('/proc/stat', 'utf8');
  const times = cpuTimes(stat);
  const cpus = stat.match(/^cpu\d+ /gm)?.length || os.availableParallelism();
  const mem = readFileSync('/proc/meminfo', 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(mem)?.[1] ?? 0) * 1024;
  const [l1, l5, l15] = os.loadavg() as [number, number, number];
  return {
    hostname: os.hostname(), kernel: os.release(), cpus, times,
    memTotal: kib('MemTotal'), memAvailable: kib('MemAvailable'), load: [l1, l5, l15],
  };
}
