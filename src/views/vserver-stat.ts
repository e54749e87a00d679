/**
 * vserver-stat: one row per running context, util-vserver's sums over the
 * context's processes, and the table / JSON renderings of those rows.
 * Pure: a snapshot in, rows and text out.
 */
import type { ContextInfo, FigureSource, Snapshot } from '../kernel-bridge/types.js';
import { escapeForTerminal, formatDuration, formatMemory, ticksToMs, truncate } from './format.js';
import { rawContextName, type ContextNames } from './names.js';

/** the exact header line (without newline) */
export const STAT_HEADER = 'CTX   PROC    VSZ    RSS  userTIME   sysTIME    UPTIME NAME';

/** one context's sums */
export interface StatRow {
  xid: number;
  /** raw display name ('root server', 'monitoring server', server name or '') */
  name: string;
  processes: number;
  /** bytes */
  vsz: number;
  rss: number;
  /** utime + cutime, stime + cstime of every process, milliseconds */
  userMs: number;
  sysMs: number;
  /** milliseconds since the context's oldest process started */
  uptimeMs: number;
  /** the context's own cgroup figures, when the snapshot has them (xid >= 1) */
  context: ContextInfo | null;
}

export interface StatOptions {
  /** a PID left out of the sums (vserver-stat leaves itself out) */
  excludePid?: number;
}

/**
 * Sums the snapshot's processes by context.  Contexts the snapshot lists
 * with processes its process scan missed (a race) still get a row, from
 * the cgroup's count and creation time.
 * @returns rows by ascending XID
 */
export function computeStatRows(snapshot: Snapshot, names: ContextNames, opts: StatOptions = {}): StatRow[] {
  const hz = snapshot.clockTicks;
  const acc = new Map<number, { n: number; vsz: number; rss: number; ut: number; st: number; oldest: number }>();
  for (const p of snapshot.processes) {
    if (p.pid === opts.excludePid) continue;
    let a = acc.get(p.xid);
    if (!a) acc.set(p.xid, (a = { n: 0, vsz: 0, rss: 0, ut: 0, st: 0, oldest: p.startTime }));
    a.n++;
    a.vsz += p.vsz;
    a.rss += p.rss;
    a.ut += p.utime + p.cutime;
    a.st += p.stime + p.cstime;
    if (p.startTime < a.oldest) a.oldest = p.startTime;
  }

  const ctxByXid = new Map<number, ContextInfo>();
  for (const c of snapshot.contexts) ctxByXid.set(c.xid, c);

  const nowMs = Math.floor(snapshot.uptime * 1000);
  const rows: StatRow[] = [];
  for (const [xid, a] of acc) {
    rows.push({
      xid,
      name: rawContextName(xid, names, 'stat'),
      processes: a.n,
      vsz: a.vsz,
      rss: a.rss,
      userMs: ticksToMs(a.ut, hz),
      sysMs: ticksToMs(a.st, hz),
      uptimeMs: Math.max(0, nowMs - ticksToMs(a.oldest, hz)),
      context: ctxByXid.get(xid) ?? null,
    });
  }
  const bootMs = snapshot.bootTime * 1000;
  for (const c of snapshot.contexts) {
    if (acc.has(c.xid) || c.nprocs <= 0) continue;
    rows.push({
      xid: c.xid,
      name: rawContextName(c.xid, names, 'stat'),
      processes: c.nprocs,
      vsz: 0,
      rss: 0,
      userMs: 0,
      sysMs: 0,
      uptimeMs: c.created > 0 ? Math.max(0, nowMs - (c.created * 1000 - bootMs)) : 0,
      context: c,
    });
  }
  rows.sort((a, b) => a.xid - b.xid);
  return rows;
}

/** puts `s` into `line` (an array of characters) so that it ends before column `end` */
function putRight(line: string[], s: string, end: number): void {
  const start = end - s.length;
  for (let i = 0; i < s.length; i++) {
    if (start + i >= 0) line[start + i] = s[i]!;
  }
}

/** one table line for a row, without newline */
export function formatStatRow(row: StatRow): string {
  const line: string[] = new Array<string>(55).fill(' ');
  const xid = String(row.xid);
  for (let i = 0; i < xid.length; i++) line[i] = xid[i]!;
  putRight(line, String(row.processes), 10);
  putRight(line, formatMemory(row.vsz), 17);
  putRight(line, formatMemory(row.rss), 24);
  putRight(line, formatDuration(row.userMs), 34);
  putRight(line, formatDuration(row.sysMs), 44);
  putRight(line, formatDuration(row.uptimeMs), 54);
  return line.join('') + truncate(escapeForTerminal(row.name), 20);
}

/** the whole table, header first, every line ending in a newline */
export function formatStatTable(rows: StatRow[]): string {
  let out = STAT_HEADER + '\n';
  for (const r of rows) out += formatStatRow(r) + '\n';
  return out;
}

/** the cgroup figures of one context in the JSON output */
export interface StatCgroupJson {
  path: string;
  memoryBytes: number;
  memorySource: FigureSource;
  memoryMax: number | null;
  cpuUsec: number;
  cpuSource: FigureSource;
  pids: number;
  pidsMax: number | null;
  pidsEvents: number;
  oomKills: number;
}

/** one context in `vserver-stat --json` */
export interface StatRowJson {
  xid: number;
  name: string;
  processes: number;
  vszBytes: number;
  rssBytes: number;
  userMs: number;
  sysMs: number;
  uptimeMs: number;
  /** null for context 0 (the host) and contexts without a cgroup */
  cgroup: StatCgroupJson | null;
  /**
   * the server tree's project quota (DISK_MAX): use and limit (null = none) in
   * bytes, inodes, project id; null when its tree carries no project id of vctx's
   */
  disk: StatDiskJson | null;
  /**
   * bytes the server's tree holds of its own (vdu: regular files with one
   * link; a unified server's own layer, not the shared store); null when
   * unknown (no root, unreadable)
   */
  ownDiskBytes: number | null;
}

/** a server tree's use against its DISK_MAX */
export interface StatDiskJson {
  projectId: number;
  usedBytes: number;
  limitBytes: number | null;
  inodes: number;
}

/** the `vserver-stat --json` document */
export interface StatJson {
  contexts: StatRowJson[];
}

/**
 * the rows as the `--json` document (names raw, not escaped); @disks: the
 * tree quotas by XID (the CLI reads them through the bridge)
 */
export function statJson(rows: StatRow[], disks: ReadonlyMap<number, StatDiskJson | null> = new Map(),
  owned: ReadonlyMap<number, number | null> = new Map()): StatJson {
  return {
    contexts: rows.map((r) => ({
      xid: r.xid,
      name: r.name,
      processes: r.processes,
      vszBytes: r.vsz,
      rssBytes: r.rss,
      userMs: r.userMs,
      sysMs: r.sysMs,
      uptimeMs: r.uptimeMs,
      cgroup: r.context
        ? {
            path: r.context.cgroup,
            memoryBytes: r.context.memoryBytes,
            memorySource: r.context.memorySource,
            memoryMax: r.context.memoryMax,
            cpuUsec: r.context.cpuUsec,
            cpuSource: r.context.cpuSource,
            pids: r.context.nprocs,
            pidsMax: r.context.pidsMax,
            pidsEvents: r.context.pidsEvents,
            oomKills: r.context.oomKills,
          }
        : null,
      disk: disks.get(r.xid) ?? null,
      ownDiskBytes: owned.get(r.xid) ?? null,
    })),
  };
}
