/**
 * vtop's server list: one row per context (the host first, as context 0),
 * then configured servers that are not running.  vserver-stat semantics
 * for the sums (processes, VSZ, RSS over the context's processes: "RSS
 * sum", each process's resident memory, shared pages counted once per
 * process; uptime since its oldest process started); CPU% is % of ONE core
 * over the last interval.  The cgroup's own memory figure ("cgroup mem",
 * memory.current) is a different one: the detail pane shows it.
 * A context with no process left (an empty cgroup a killed tool left
 * behind) is not a running server and is not listed as one.  Pure.
 */
import type { ContextInfo } from '../kernel-bridge/types.js';
import { formatDuration, formatMemory } from './format.js';
import { rawContextName } from './names.js';
import type { DiskQuotaFigure, VtopFrame } from './vtop-model.js';
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
  /** its tree's use against DISK_MAX (running servers); absent or null: no project quota */
  diskQuota?: DiskQuotaFigure | null;
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
    context: undefined, pressure: undefined,
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
      pressure: fractions.length ? Math.max(...fractions) : undefined,
      ...(dq ? { diskQuota: dq } : {}),
    });
  }
  for (const name of frame.configured) {
    if (running.has(name)) continue;
    rows.push({
      key: `n:${name}`, xid: null, name, label: safe(name), state: 'stopped', nprocs: 0, cpu: undefined,
      rss: 0, vsz: 0, uptimeMs: null, ip: null, ip6: null, disk: frame.diskUse.get(name) ?? null, runaways: 0,
      context: undefined, pressure: undefined,
    });
  }
  return rows;
}

export type ServerColumnId = 'mark' | 'xid' | 'name' | 'state' | 'proc' | 'cpu' | 'rss' | 'vsz' | 'uptime' | 'ip' | 'disk';

/** the server list's columns; VSZ goes first when narrow, then disk, uptime, IP */
export const SERVER_COLUMNS: readonly Column<ServerColumnId>[] = [
  { id: 'mark', title: ' ', width: 1, align: 'left', priority: 0 },
  { id: 'xid', title: 'XID', width: 5, align: 'right', priority: 0 },
  { id: 'name', title: 'NAME', width: 10, align: 'left', priority: 0, flex: true, maxWidth: 20 },
  { id: 'state', title: 'STATE', width: 7, align: 'left', priority: 0 },
  { id: 'proc', title: 'PROC', width: 5, align: 'right', priority: 0 },
  { id: 'cpu', title: 'CPU%', width: 6, align: 'right', priority: 0 },
  { id: 'rss', title: 'RSS sum', width: 7, align: 'right', priority: 0 },
  { id: 'vsz', title: 'VSZ sum', width: 7, align: 'right', priority: 5 },
  { id: 'uptime', title: 'UPTIME', width: 8, align: 'right', priority: 3 },
  { id: 'ip', title: 'IP', width: 15, align: 'left', priority: 2 },
  { id: 'disk', title: 'DISK', width: 6, align: 'right', priority: 4 },
];

/** the columns that fit a width (NAME takes the slack, up to 20 characters is typical) */
export function serverColumns(width: number): FittedColumn<ServerColumnId>[] {
  return fitColumns(SERVER_COLUMNS, width);
}

/** one row as text, exactly as wide as the columns */
export function formatServerLine(row: ServerRow, cols: readonly FittedColumn<ServerColumnId>[]): string {
  const running = row.state !== 'stopped';
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
  });
}
