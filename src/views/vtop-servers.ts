/**
 * vtop's server list: one row per context (the host first, as context 0),
 * then configured servers that are not running.  vserver-stat semantics
 * for the sums (processes, VSZ, RSS over the context's processes: "RSS
 * sum", each process's resident memory, shared pages counted once per
 * process; uptime since its oldest process started); CPU% is % of ONE core
 * over the last interval.  The cgroup's own memory figure ("cgroup mem",
 * memory.current) is a different one: the detail pane shows it.
 * Network (bytes in/out since the server started, from the kernel's
 * per-context counters) and disk I/O (bytes read/written: the cgroup's
 * io.stat, else its live processes' /proc/PID/io) come from the snapshot.
 * A context with no process left (an empty cgroup a killed tool left
 * behind) is not a running server and is not listed as one.  Pure.
 */
import type { ContextInfo } from '../kernel-bridge/types.js';
import { formatDuration, formatMemory } from './format.js';
import { rawContextName } from './names.js';
import type { DiskQuotaFigure, VtopFrame } from './vtop-model.js';
import { type CpuPoint, sparkline } from './vtop-meters.js';
import { type Column, type FittedColumn, fitColumns, formatLine, formatPercent, safe } from './vtop-text.js';

export type ServerState = 'host' | 'running' | 'stopped';

/** one line of the server list */
export interface ServerRow {
  /** stable identity for selection: `x:XID` for running contexts, `n:NAME` for stopped ones */
  key: string;
  /** null when stopped */
  xid: number | null;
  /** the server name as configured ('' for anonymous contexts and the host) */
  name: string;
  /** what the list shows (escaped): `root server`, `web`, `(ctx 49152)` */
  label: string;
  state: ServerState;
  nprocs: number;
  /** % of one core over the last interval; undefined until two samples */
  cpu: number | undefined;
  /** the sum of its processes' RSS, bytes ("RSS sum") */
  rss: number;
  /** the sum of its processes' VSZ, bytes */
  vsz: number;
  /** ms since the context's oldest process started; null when stopped */
  uptimeMs: number | null;
  ip: string | null;
  /** the IPv6 address of its lock, or null */
  ip6: string | null;
  /** bytes; null while being measured; undefined when it does not apply (host, anonymous) */
  disk: number | null | undefined;
  /** processes of this context flagged as runaway */
  runaways: number;
  /** the context's own record (undefined for the host and stopped servers) */
  context: ContextInfo | undefined;
  /** the highest of memory/pids/disk use as a fraction of the limit (0..1+), when limited */
  pressure: number | undefined;
  /** its CPU over the last minute (the sparkline), oldest first */
  history?: readonly CpuPoint[];
  /** its network traffic since it started; null when not counted (no network lock), not running, or the host */
  net: NetFigures | null;
  /** its disk I/O; null when not known (a stat-only frame), not running, or the host */
  io: IoFigures | null;
  /** its tree's use against DISK_MAX (running servers); absent or null: no project quota */
  diskQuota?: DiskQuotaFigure | null;
}

/** what the sparkline column needs besides the row: the frame's time and the scale (the host's cores × 100) */
export interface SparkScale {
  now: number;
  scale: number;
}

/** bytes and packets a server received (in) and sent (out) */
export interface NetFigures {
  inBytes: number;
  outBytes: number;
  inPackets: number;
  outPackets: number;
}

/** where a server's disk I/O figure comes from */
export type IoSource = 'io.stat' | 'live processes';

/** bytes a server read and wrote */
export interface IoFigures {
  readBytes: number;
  writeBytes: number;
  /** 'io.stat': the cgroup's; 'live processes': /proc/PID/io summed over its live processes only */
  source: IoSource;
}

/** the network figures of a context record, null when not counted */
export function netOf(c: ContextInfo): NetFigures | null {
  if (c.netRxBytes == null || c.netTxBytes == null) return null;
  return { inBytes: c.netRxBytes, outBytes: c.netTxBytes, inPackets: c.netRxPackets ?? 0, outPackets: c.netTxPackets ?? 0 };
}

/** the disk I/O figures of a context record, null when not known */
export function ioOf(c: ContextInfo): IoFigures | null {
  if (c.ioReadBytes == null || c.ioWriteBytes == null) return null;
  return { readBytes: c.ioReadBytes, writeBytes: c.ioWriteBytes, source: c.ioSource === 'cgroup2' ? 'io.stat' : 'live processes' };
}

/** consecutive hot intervals before a process counts as runaway */
export const DEFAULT_RUNAWAY_INTERVALS = 3;

/** the runaway processes of a frame: procKeys that stayed hot for `intervals` refreshes */
export function runawayKeys(frame: VtopFrame, intervals = DEFAULT_RUNAWAY_INTERVALS): Set<string> {
  const out = new Set<string>();
  for (const [k, n] of frame.cpu.hot) if (n >= intervals) out.add(k);
  return out;
}

/** builds the rows, host first, running contexts by XID, then stopped servers by name */
export function buildServerRows(frame: VtopFrame, runaways: ReadonlySet<string>): ServerRow[] {
  const snap = frame.snapshot;
  const hz = snap.clockTicks > 0 ? snap.clockTicks : 100;
  interface Agg { n: number; rss: number; vsz: number; oldest: number; run: number }
  const agg = new Map<number, Agg>();
  for (const p of snap.processes) {
    let a = agg.get(p.xid);
    if (!a) agg.set(p.xid, (a = { n: 0, rss: 0, vsz: 0, oldest: Infinity, run: 0 }));
    a.n++;
    a.rss += p.rss;
    a.vsz += p.vsz;
    if (p.startTime < a.oldest) a.oldest = p.startTime;
    if (runaways.size > 0 && runaways.has(`${p.pid}:${p.startTime}`)) a.run++;
  }
  const uptimeOf = (a: Agg | undefined): number | null =>
    a && a.oldest !== Infinity ? Math.max(0, snap.uptime * 1000 - (a.oldest * 1000) / hz) : null;

  const rows: ServerRow[] = [];
  const host = agg.get(0);
  rows.push({
    key: 'x:0', xid: 0, name: '', label: 'root server', state: 'host', nprocs: host?.n ?? 0,
    cpu: frame.cpu.context.get(0), rss: host?.rss ?? 0, vsz: host?.vsz ?? 0,
    uptimeMs: snap.uptime * 1000, ip: null, ip6: null, disk: undefined, runaways: host?.run ?? 0,
    context: undefined, pressure: undefined, history: frame.history?.get(0), net: null, io: null,
  });

  const names = new Map<number, string>();
  for (const c of snap.contexts) if (c.name) names.set(c.xid, c.name);
  const running = new Set<string>();
  const ctxs = [...snap.contexts].sort((a, b) => a.xid - b.xid);
  for (const c of ctxs) {
    if (c.xid === 0) continue;
    const a = agg.get(c.xid);
    // no process in it: what is left of a context, never a running server (a configured one shows as stopped)
    if (!a && c.nprocs === 0) continue;
    if (c.name) running.add(c.name);
    const raw = rawContextName(c.xid, names, 'stat');
    const fractions: number[] = [];
    if (c.memoryMax) fractions.push(c.memoryBytes / c.memoryMax);
    if (c.pidsMax) fractions.push(c.nprocs / c.pidsMax);
    const dq = c.name ? frame.diskQuota?.get(c.name) : undefined;
    if (dq?.limitBytes) fractions.push(dq.usedBytes / dq.limitBytes);
    rows.push({
      key: `x:${c.xid}`, xid: c.xid, name: c.name, label: raw ? safe(raw) : `(ctx ${c.xid})`,
      state: 'running', nprocs: a?.n ?? c.nprocs, cpu: frame.cpu.context.get(c.xid),
      rss: a?.rss ?? 0, vsz: a?.vsz ?? 0, uptimeMs: uptimeOf(a), ip: c.ip, ip6: c.ip6 ?? null,
      disk: c.name ? (frame.diskUse.get(c.name) ?? null) : undefined,
      runaways: a?.run ?? 0, context: c,
      pressure: fractions.length ? Math.max(...fractions) : undefined, history: frame.history?.get(c.xid),
      net: netOf(c), io: ioOf(c),
      ...(dq ? { diskQuota: dq } : {}),
    });
  }
  for (const name of frame.configured) {
    if (running.has(name)) continue;
    rows.push({
      key: `n:${name}`, xid: null, name, label: safe(name), state: 'stopped', nprocs: 0, cpu: undefined,
      rss: 0, vsz: 0, uptimeMs: null, ip: null, ip6: null, disk: frame.diskUse.get(name) ?? null, runaways: 0,
      context: undefined, pressure: undefined, net: null, io: null,
    });
  }
  return rows;
}

export type ServerColumnId =
  'mark' | 'xid' | 'name' | 'state' | 'proc' | 'cpu' | 'rss' | 'vsz' | 'uptime' | 'ip' | 'disk' | 'net' | 'io' | 'memlim' | 'spark';

/**
 * The server list's columns; on a narrow terminal the sparkline goes first,
 * then the memory against its limit, VSZ, disk I/O, network, disk, uptime,
 * IP (80 columns show what they showed before the network, I/O, memory and
 * sparkline columns; the detail pane always has them).
 */
export const SERVER_COLUMNS: readonly Column<ServerColumnId>[] = [
  { id: 'mark', title: ' ', width: 1, align: 'left', priority: 0 },
  { id: 'xid', title: 'XID', width: 5, align: 'right', priority: 0 },
  { id: 'name', title: 'NAME', width: 10, align: 'left', priority: 0, flex: true, maxWidth: 20 },
  { id: 'state', title: 'STATE', width: 7, align: 'left', priority: 0 },
  { id: 'proc', title: 'PROC', width: 5, align: 'right', priority: 0 },
  { id: 'cpu', title: 'CPU%', width: 6, align: 'right', priority: 0 },
  { id: 'rss', title: 'RSS sum', width: 7, align: 'right', priority: 0 },
  { id: 'vsz', title: 'VSZ sum', width: 7, align: 'right', priority: 7 },
  { id: 'uptime', title: 'UPTIME', width: 8, align: 'right', priority: 3 },
  { id: 'ip', title: 'IP', width: 15, align: 'left', priority: 2 },
  { id: 'disk', title: 'DISK', width: 6, align: 'right', priority: 4 },
  { id: 'net', title: 'NET IN/OUT', width: 11, align: 'right', priority: 5 },
  { id: 'io', title: 'IO R/W', width: 11, align: 'right', priority: 6 },
  { id: 'memlim', title: 'MEM/LIMIT', width: 11, align: 'right', priority: 8 },
  { id: 'spark', title: 'CPU, last minute', width: 30, align: 'left', priority: 9 },
];

/** the cgroup's memory (memory.current) against its limit (MEMORY_MAX): `120M/256M`, `120M/-` without one */
export function memAgainstLimit(row: ServerRow): string {
  const c = row.context;
  if (!c || row.state !== 'running') return '';
  return `${formatMemory(c.memoryBytes)}/${c.memoryMax ? formatMemory(c.memoryMax) : '-'}`;
}

/**
 * Two byte counts in `width` characters, `IN/OUT` (formatMemory's units:
 * `1.0M/23.4K`), without tenths when both do not fit.
 */
export function formatBytePair(a: number, b: number, width = 11): string {
  const f = (n: number) => formatMemory(n).trimEnd();
  const full = `${f(a)}/${f(b)}`;
  if (full.length <= width) return full;
  const whole = (n: number) => f(n).replace(/\.\d/, '');
  return `${whole(a)}/${whole(b)}`;
}

/** the columns that fit a width (NAME takes the slack, up to 20 characters is typical); the sparkline only where there are samples to draw */
export function serverColumns(width: number, spark = true): FittedColumn<ServerColumnId>[] {
  return fitColumns(spark ? SERVER_COLUMNS : SERVER_COLUMNS.filter((c) => c.id !== 'spark'), width);
}

/** one row as text, exactly as wide as the columns */
export function formatServerLine(row: ServerRow, cols: readonly FittedColumn<ServerColumnId>[], spark?: SparkScale): string {
  const running = row.state !== 'stopped';
  const sparkCol = spark && running && row.history ? cols.find((c) => c.id === 'spark') : undefined;
  return formatLine(cols, {
    mark: row.runaways > 0 ? '!' : ' ',
    xid: row.xid === null ? '-' : String(row.xid),
    name: row.label,
    state: row.state,
    proc: running ? String(row.nprocs) : '',
    cpu: running ? formatPercent(row.cpu) : '',
    rss: running ? formatMemory(row.rss) : '',
    vsz: running ? formatMemory(row.vsz) : '',
    uptime: row.uptimeMs === null ? '' : formatDuration(row.uptimeMs),
    ip: row.ip ?? '',
    disk: row.disk === undefined ? '' : row.disk === null ? '…' : formatMemory(row.disk),
    // not running: nothing; running but not counted (no network lock): '-'
    net: row.context === undefined ? '' : row.net ? formatBytePair(row.net.inBytes, row.net.outBytes) : '-',
    // not known yet (the stat-only first frame): '…'
    io: row.context === undefined ? '' : row.io ? formatBytePair(row.io.readBytes, row.io.writeBytes) : '…',
    memlim: memAgainstLimit(row),
    spark: sparkCol ? sparkline(row.history!, spark!.now, sparkCol.at, spark!.scale) : '',
  });
}
