/**
 * Host figures for vtop's header.  The live probe reads the host through
 * the bridge (src/kernel-bridge/host.ts) and keeps the last CPU sample to
 * give CPU busy since the last call; the static one replays what a
 * recording says.
 */
import { type CpuTimes, readHost } from '../kernel-bridge/host.js';
import type { HostInfo } from '../views/vtop-model.js';
import type { HostProbe } from './vtop-feed.js';

/**
 * Host CPU busy between two /proc/stat samples in % of ONE core, as every
 * CPU figure of vtop: the busy share of all CPUs times their number
 * (0..cpus×100); undefined without two samples.
 */
export function hostCpuPercent(last: CpuTimes | null, now: CpuTimes | null, cpus: number): number | undefined {
  if (!now || !last || now.total <= last.total) return undefined;
  const p = (100 * cpus * (now.busy - last.busy)) / (now.total - last.total);
  return Math.max(0, Math.min(100 * cpus, p));
}

/**
 * The live host: hostname, kernel release, CPUs, load, CPU busy % and
 * memory (the dashboard forks nothing to sample the host).
 */
export function liveHostProbe(): HostProbe {
  let last: CpuTimes | null = null;
  let lastPer: (CpuTimes | undefined)[] = [];
  return {
    sample(): HostInfo {
      const h = readHost();
      const cpuPercent = hostCpuPercent(last, h.times, h.cpus);
      // each core: % of that core (one core's share of the whole is its % of one core)
      const cpuPercents = h.perCpu.map((t, i) => hostCpuPercent(lastPer[i] ?? null, t ?? null, 1));
      last = h.times;
      lastPer = h.perCpu;
      return {
        hostname: h.hostname, kernel: h.kernel, cpus: h.cpus,
        cpuPercent, cpuPercents,
        memTotal: h.memTotal, memAvailable: h.memAvailable, memFree: h.memFree,
        swapTotal: h.swapTotal, swapFree: h.swapFree, load: h.load,
      };
    },
  };
}

/** fixed figures (a recording's `host`, or a placeholder) */
export function staticHostProbe(info?: Partial<HostInfo>): HostProbe {
  const h: HostInfo = { hostname: 'recorded', kernel: 'unknown', cpus: 1, memTotal: 0, memAvailable: 0, ...info };
  return { sample: () => h };
}
