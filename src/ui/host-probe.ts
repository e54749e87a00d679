/**
 * Host figures for vtop's header.  The live probe reads the kernel through
 * node:os and systeminformation (CPU busy since the last call, available
 * memory); the static one replays what a recording says.  Not components.
 */
import os from 'node:os';
import type { HostInfo } from '../views/vtop-model.js';
import type { HostProbe } from './vtop-feed.js';

/** the live host: hostname, kernel release, CPUs, load, CPU busy % and memory */
export function liveHostProbe(): HostProbe {
  let si: typeof import('systeminformation') | null = null;
  return {
    async sample(): Promise<HostInfo> {
      si ??= (await import('systeminformation')).default;
      const [load, mem] = await Promise.all([si.currentLoad(), si.mem()]);
      const [l1, l5, l15] = os.loadavg() as [number, number, number];
      return {
        hostname: os.hostname(), kernel: os.release(), cpus: os.availableParallelism(),
        cpuPercent: Math.max(0, Math.min(100, load.currentLoad)),
        memTotal: mem.total, memAvailable: mem.available, load: [l1, l5, l15],
      };
    },
  };
}

/** fixed figures (a recording's `host`, or a placeholder) */
export function staticHostProbe(info?: Partial<HostInfo>): HostProbe {
  const h: HostInfo = { hostname: 'recorded', kernel: 'unknown', cpus: 1, memTotal: 0, memAvailable: 0, ...info };
  return { sample: () => h };
}
