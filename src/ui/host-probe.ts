/**
 * Host figures for vtop's header.  The live probe reads the kernel through
 * node:os, /proc/stat and /proc/meminfo (CPU busy since the last call,
 * available memory); the static one replays what a recording says.  Not
 * components.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { HostInfo } from '../views/vtop-model.js';
import type { HostProbe } from './vtop-feed.js';

/** busy and total jiffies of all CPUs from /proc/stat's first line */
export function cpuTimes(stat: string): { busy: number; total: number } | null {
  const m = /^cpu\s+(.*)$/m.exec(stat);
  if (!m) return null;
  const f = m[1]!.trim().split(/\s+/).map(Number);
  // user nice system idle iowait irq softirq steal (guest and guest_nice are inside user and nice)
  const total = f.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * Host CPU busy between two /proc/stat samples in % of ONE core, as every
 * CPU figure of vtop: the busy share of all CPUs times their number
 * (0..cpus×100); undefined without two samples.
 */
export function hostCpuPercent(last: { busy: number; total: number } | null, now: { busy: number; total: number } | null, cpus: number): number | undefined {
  if (!now || !last || now.total <= last.total) return undefined;
  const p = (100 * cpus * (now.busy - last.busy)) / (now.total - last.total);
  return Math.max(0, Math.min(100 * cpus, p));
}

/**
 * The live host: hostname, kernel release, CPUs, load, CPU busy % and
 * memory, from /proc/stat and /proc/meminfo (two small reads per refresh:
 * the dashboard forks nothing to sample the host).
 */
export function liveHostProbe(): HostProbe {
  let last: { busy: number; total: number } | null = null;
  return {
    sample(): HostInfo {
      const stat = readFileSync('/proc/stat', 'utf8');
      const now = cpuTimes(stat);
      // the CPUs the first line of /proc/stat adds up
      const cpus = stat.match(/^cpu\d+ /gm)?.length || os.availableParallelism();
      const cpuPercent = hostCpuPercent(last, now, cpus);
      last = now;
      const mem = readFileSync('/proc/meminfo', 'utf8');
      const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(mem)?.[1] ?? 0) * 1024;
      const [l1, l5, l15] = os.loadavg() as [number, number, number];
      return {
        hostname: os.hostname(), kernel: os.release(), cpus,
        cpuPercent,
        memTotal: kib('MemTotal'), memAvailable: kib('MemAvailable'), load: [l1, l5, l15],
      };
    },
  };
}

/** fixed figures (a recording's `host`, or a placeholder) */
export function staticHostProbe(info?: Partial<HostInfo>): HostProbe {
  const h: HostInfo = { hostname: 'recorded', kernel: 'unknown', cpus: 1, memTotal: 0, memAvailable: 0, ...info };
  return { sample: () => h };
}
