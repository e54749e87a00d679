/**
 * What one vtop refresh hands the UI: a snapshot with everything derived
 * from outside it (CPU%, host figures, configured names, disk use, user
 * names).  Plain data; built by the feed (src/live/vtop-feed.ts), read by
 * the vtop-* views.
 */
import type { Snapshot } from '../kernel-bridge/types.js';
import type { CpuSample } from './cpu.js';
import type { CpuPoint } from './vtop-meters.js';

/** host-wide figures for the header */
export interface HostInfo {
  hostname: string;
  kernel: string;
  /** online CPUs */
  cpus: number;
  /**
   * host CPU busy over the last interval in % of ONE core, like every CPU
   * figure of vtop (0..cpus×100: 150 = one and a half cores busy); undefined until known
   */
  cpuPercent?: number;
  /** each CPU's busy over the last interval, % of that core (0..100), by CPU number; undefined until known */
  cpuPercents?: (number | undefined)[];
  memTotal: number;
  memAvailable: number;
  /** bytes not used at all (MemFree); MemAvailable - MemFree is mostly cache */
  memFree?: number;
  /** bytes of swap, and of it free (0 when there is no swap) */
  swapTotal?: number;
  swapFree?: number;
  /** 1, 5, 15 minute load averages */
  load?: [number, number, number];
}

/** disk use by server name: bytes, or null while still being measured / unknown */
export type DiskUseMap = ReadonlyMap<string, number | null>;

/** a running server tree's use against its DISK_MAX (project quota), bytes; limit null = none */
export interface DiskQuotaFigure {
  projectId: number;
  usedBytes: number;
  limitBytes: number | null;
}

/** one refresh */
export interface VtopFrame {
  /** increases by one per refresh */
  seq: number;
  /**
   * the snapshot is stat-only (the first frame, drawn before the slow first
   * full scan): users, inner PIDs and command lines are not known yet
   */
  partial?: boolean;
  snapshot: Snapshot;
  cpu: CpuSample;
  host: HostInfo;
  /** configured server names (/etc/vservers/NAME.conf), sorted */
  configured: readonly string[];
  diskUse: DiskUseMap;
  /** running servers' project quotas by name (absent or null: none) */
  diskQuota?: ReadonlyMap<string, DiskQuotaFigure | null>;
  /** user names by uid */
  users: ReadonlyMap<number, string>;
  /** refresh interval in ms */
  intervalMs: number;
  /** the source reads a real kernel (false: replaying a recording) */
  live: boolean;
  /** where NAME.conf files live (detail pane shows the path) */
  confdir: string;
  /** each context's CPU (% of one core) over the last minute, oldest first, by XID (sparklines) */
  history?: ReadonlyMap<number, readonly CpuPoint[]>;
  /** when this frame was taken (ms, Date.now()): the sparklines' right end */
  takenAt?: number;
  /** the console log the logs pane shows, when one is open */
  log?: LogView;
}

/** the tail of a server's console log, as read (raw text: escaped when shown) */
export interface LogView {
  /** the server */
  name: string;
  /** the file read, or null when the server has none (yet) */
  path: string | null;
  /** its last lines, oldest first, raw (the view escapes them) */
  lines: readonly string[];
  /** lines dropped before these since the pane opened (the tail is capped) */
  dropped: number;
  /** why it cannot be read, or null */
  error: string | null;
}
