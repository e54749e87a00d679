/**
 * The typed face of the kernel layer: what a snapshot of the host holds.
 * Produced by the native addon (libvctx's /proc + cgroup scan) or by the
 * recorded-fixture source; consumed by src/views and src/actions.
 */

/** One process on the host, as the snapshot saw it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** security context number: 0 host, 1 spectator, 2.. servers */
  xid: number;
  /** PID as seen inside its context's PID namespace (null when unknown or xid 0/1) */
  innerPid: number | null;
  /** one-letter state from /proc/PID/stat (R S D Z T t X I) */
  state: string;
  /** /proc/PID/comm, already escaped for a terminal */
  comm: string;
  threads: number;
  /** start time in clock ticks after boot (/proc/PID/stat field 22) */
  startTime: number;
  /** CPU times in clock ticks */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
  /** bytes */
  vsz: number;
  rss: number;
  uid: number;
  nice: number;
  /** command line, NUL separators turned into spaces, escaped, bounded length; '' for kernel threads */
  cmdline: string;
}

/** Where a per-context figure came from, so the UI can say it. */
export type FigureSource = 'cgroup2' | 'cgroup1' | 'sum';

/** One running context (xid >= 1), with the cgroup's own figures. */
export interface ContextInfo {
  xid: number;
  /** server name ('' for anonymous chcontext contexts) */
  name: string;
  /** XID of the parent context, 0 for top-level ones */
  parentXid: number;
  /** cgroup2 directory */
  cgroup: string;
  /** root directory ('' when the context kept the host's /) */
  root: string;
  /** host PID of the context's PID 1 (0 when unknown) */
  pid1: number;
  /** dotted IPv4 lock or null */
  ip: string | null;
  /** loopback address 127/8 is mapped to, or null */
  loopback: string | null;
  /** the IPv6 address of its lock, or null */
  ip6?: string | null;
  /** its private IPv6 loopback (::1 inside), or null */
  loopback6?: string | null;
  /** true when its connections off the loopback leave from the host's address */
  nat?: boolean;
  /** capability bounding set of PID 1, as a hex string (0x...) */
  capBounding: string;
  /** flag names: lock sched nproc private fakeinit */
  flags: string[];
  /** unix seconds when the context was created */
  created: number;
  /** processes in the context (cgroup subtree) */
  nprocs: number;
  /** namespace inode numbers keyed by type (pid, mnt, ipc, uts, cgroup, time) */
  namespaces: Record<string, number>;
  /** CPU time used by the context in microseconds, and where it came from */
  cpuUsec: number;
  cpuSource: FigureSource;
  /** memory charged to the context in bytes, and where it came from */
  memoryBytes: number;
  memorySource: FigureSource;
  /** memory limit in bytes, null = none */
  memoryMax: number | null;
  /** process limit, null = none */
  pidsMax: number | null;
  /** times the pids limit refused a fork */
  pidsEvents: number;
  /** OOM kills inside the context */
  oomKills: number;
  /**
   * Network traffic the context's lock let through, from the kernel's
   * per-context counters (one pinned eBPF map, kernel/bpf/ipv4root.h):
   * bytes of IP packets (headers included) and packets, received (rx) and
   * sent (tx), since the context started; nested contexts' included.
   * null when not counted (no network lock).  Absent in recordings made
   * before the counters.
   */
  netRxBytes?: number | null;
  netRxPackets?: number | null;
  netTxBytes?: number | null;
  netTxPackets?: number | null;
  /**
   * Disk I/O in bytes, read and written, and where it came from:
   * 'cgroup2' the cgroup's io.stat, 'sum' /proc/PID/io (read_bytes,
   * write_bytes) over its live processes (with the children they reaped).
   * null when not read (a stat-only snapshot).
   */
  ioReadBytes?: number | null;
  ioWriteBytes?: number | null;
  ioSource?: FigureSource;
}

/** A full host snapshot. */
export interface Snapshot {
  /** milliseconds (CLOCK_MONOTONIC) when it was taken */
  takenAt: number;
  /** sysconf(_SC_CLK_TCK) */
  clockTicks: number;
  /** unix seconds of boot (btime in /proc/stat) */
  bootTime: number;
  /** seconds since boot when taken */
  uptime: number;
  /** page size in bytes */
  pageSize: number;
  processes: ProcessInfo[];
  contexts: ContextInfo[];
}

/** A source of snapshots: the native addon or recorded fixtures. */
export interface SnapshotSource {
  snapshot(): Snapshot;
  /** true when figures come from a real kernel */
  readonly live: boolean;
}
