/**
 * `vtop --once --json`: one frame as plain data (numbers unformatted).
 * Every CPU figure, the host's too, is % of ONE core over the interval
 * (`cpuPercentOf`).  A server's memory comes as two figures that mean
 * different things: `rssSumBytes`, the sum of its processes' RSS (shared
 * pages counted once per process, as vserver-stat), and
 * `cgroupMemoryBytes`, what its cgroup is charged (memory.current; null
 * when there is no memory controller or it is not running).  Network:
 * `netInBytes`/`netOutBytes` (and packets), the kernel's per-context
 * counters since the server started (null when not counted: no network
 * lock, not running, the host).  Disk I/O: `ioReadBytes`/`ioWriteBytes`,
 * from `ioSource` 'io.stat' (the cgroup's) or 'live processes' (its live
 * processes' /proc/PID/io only); null when not known.  Pure.
 */
import type { VtopFrame } from './vtop-model.js';
import type { ProcRow } from './vtop-procs.js';
import type { IoSource, ServerRow } from './vtop-servers.js';

export interface VtopJson {
  /** `cpuPercent`: % of one core, 0..cpus×100 */
  host: VtopFrame['host'] & { uptimeSeconds: number };
  intervalMs: number;
  cpuPercentOf: 'one core';
  live: boolean;
  servers: {
    xid: number | null; name: string; label: string; state: string; processes: number;
    cpuPercent: number | null; rssSumBytes: number; vszSumBytes: number; uptimeSeconds: number | null;
    ip: string | null; ip6: string | null; diskBytes: number | null; runaways: number;
    cgroupMemoryBytes: number | null; cgroupMemoryMax: number | null; pidsMax: number | null;
    netInBytes: number | null; netOutBytes: number | null; netInPackets: number | null; netOutPackets: number | null;
    ioReadBytes: number | null; ioWriteBytes: number | null; ioSource: IoSource | null;
    processList: {
      pid: number; startTime: number; innerPid: number | null; user: string; state: string;
      cpuPercent: number | null; rssBytes: number; vszBytes: number; command: string; runaway: boolean; depth: number;
    }[];
  }[];
}

/** @param procsOf the process rows shown for a server (by XID) */
export function frameToJson(frame: VtopFrame, servers: readonly ServerRow[], procsOf: (xid: number) => readonly ProcRow[]): VtopJson {
  const round = (n: number | undefined) => (n === undefined ? null : Math.round(n * 10) / 10);
  return {
    host: { ...frame.host, uptimeSeconds: Math.floor(frame.snapshot.uptime) },
    intervalMs: frame.cpu.intervalMs,
    cpuPercentOf: 'one core',
    live: frame.live,
    servers: servers.map((s) => ({
      xid: s.xid, name: s.name, label: s.label, state: s.state, processes: s.nprocs, cpuPercent: round(s.cpu),
      rssSumBytes: s.rss, vszSumBytes: s.vsz, uptimeSeconds: s.uptimeMs === null ? null : Math.floor(s.uptimeMs / 1000),
      ip: s.ip, ip6: s.ip6, diskBytes: s.disk ?? null, runaways: s.runaways,
      cgroupMemoryBytes: s.context && s.context.memorySource !== 'sum' ? s.context.memoryBytes : null,
      cgroupMemoryMax: s.context?.memoryMax ?? null, pidsMax: s.context?.pidsMax ?? null,
      netInBytes: s.net?.inBytes ?? null, netOutBytes: s.net?.outBytes ?? null,
      netInPackets: s.net?.inPackets ?? null, netOutPackets: s.net?.outPackets ?? null,
      ioReadBytes: s.io?.readBytes ?? null, ioWriteBytes: s.io?.writeBytes ?? null, ioSource: s.io?.source ?? null,
      processList: s.xid === null ? [] : procsOf(s.xid).map((p) => ({
        pid: p.pid, startTime: p.startTime, innerPid: p.innerPid, user: p.user, state: p.state, cpuPercent: round(p.cpu),
        rssBytes: p.rss, vszBytes: p.vsz, command: p.command, runaway: p.runaway, depth: p.branch.length / 3,
      })),
    })),
  };
}
