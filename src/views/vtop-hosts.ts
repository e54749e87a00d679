/**
 * `vtop --host`: the servers of several hosts on one screen, grouped by
 * host.  Each host's state is what its `vtop --stream` last sent (the
 * `vtop --once --json` document) or why it cannot be read.  What a host
 * sends is hostile: it is checked field by field here (a field of the
 * wrong type is left out, never trusted) and every string is escaped
 * (`safe`) before a line is made of it.  Pure.
 */
import { formatDuration, formatMemory } from './format.js';
import { type Column, fitColumns, formatLine, formatPercent, headerLine, safe } from './vtop-text.js';

/** one server of a remote host, as checked */
export interface RemoteServer {
  name: string;
  xid: number | null;
  state: string;
  processes: number;
  cpuPercent: number | null;
  memoryBytes: number | null;
  uptimeSeconds: number | null;
  ip: string | null;
}

/** a host of the screen now */
export interface HostView {
  /** as given to --host ([USER@]HOST) */
  host: string;
  status: 'connecting' | 'up' | 'unreachable';
  /** why it is unreachable (one line, escaped) */
  error: string | null;
  /** when its last frame came (ms since the epoch), null before the first */
  updatedAt: number | null;
  /** its own frame counter */
  seq: number;
  /** its host name, as it says */
  hostname: string | null;
  /** null, or why actions are not taken there (read-only) */
  readonly: string | null;
  servers: RemoteServer[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown, max = 256): string | null => (typeof v === 'string' ? safe(v.slice(0, max)) : null);

/**
 * The servers of one `vtop --stream` line (the host's own row, context 0,
 * left out), checked; null when @doc is no frame.
 */
export function parseRemoteFrame(doc: unknown): { seq: number; hostname: string | null; readonly: string | null; servers: RemoteServer[] } | null {
  if (typeof doc !== 'object' || doc === null) return null;
  const d = doc as Record<string, unknown>;
  if (!Array.isArray(d['servers'])) return null;
  const host = typeof d['host'] === 'object' && d['host'] !== null ? d['host'] as Record<string, unknown> : {};
  const servers: RemoteServer[] = [];
  for (const s of (d['servers'] as unknown[]).slice(0, 10000)) {
    if (typeof s !== 'object' || s === null) continue;
    const r = s as Record<string, unknown>;
    const name = str(r['name'], 64);
    const xid = num(r['xid']);
    if (name === null || xid === 0) continue;
    servers.push({
      name, xid, state: str(r['state'], 32) ?? '?', processes: num(r['processes']) ?? 0, cpuPercent: num(r['cpuPercent']),
      memoryBytes: num(r['cgroupMemoryBytes']) ?? num(r['rssSumBytes']), uptimeSeconds: num(r['uptimeSeconds']),
      ip: str(r['ip'], 64),
    });
  }
  return {
    seq: num(d['seq']) ?? 0, hostname: str(host['hostname'], 64),
    readonly: d['readonly'] === null ? null : str(d['readonly'], 200) ?? 'read-only', servers,
  };
}

/** a line of the screen: a host's heading, or one of its servers */
export type HostsRow =
  | { kind: 'host'; key: string; host: HostView }
  | { kind: 'server'; key: string; host: HostView; server: RemoteServer };

/** the screen's rows, host by host in the order given, each host's servers by name */
export function hostsRows(hosts: readonly HostView[]): HostsRow[] {
  const rows: HostsRow[] = [];
  for (const h of hosts) {
    rows.push({ kind: 'host', key: `h:${h.host}`, host: h });
    if (h.status === 'unreachable') continue;
    for (const s of [...h.servers].sort((a, b) => a.name.localeCompare(b.name))) {
      rows.push({ kind: 'server', key: `s:${h.host}:${s.name}`, host: h, server: s });
    }
  }
  return rows;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);

/** a host's heading: `hostb (b1) · 3 servers · updated 12:00:01 UTC` or `hostb · UNREACHABLE: why` */
export function hostHeading(h: HostView): string {
  const named = h.hostname && h.hostname !== h.host ? `${safe(h.host)} (${h.hostname})` : safe(h.host);
  if (h.status === 'unreachable') {
    return `${named} · UNREACHABLE${h.updatedAt ? ` since ${clock(h.updatedAt)} UTC` : ''}: ${h.error ?? 'no connection'}; reconnecting`;
  }
  if (h.status === 'connecting') return `${named} · connecting…`;
  const n = h.servers.length;
  return `${named} · ${n} server${n === 1 ? '' : 's'} · updated ${h.updatedAt ? clock(h.updatedAt) : '-'} UTC (#${h.seq})${h.readonly ? ` · read-only: ${h.readonly}` : ''}`;
}

type Id = 'name' | 'xid' | 'state' | 'procs' | 'cpu' | 'mem' | 'uptime' | 'ip';
const COLUMNS: readonly Column<Id>[] = [
  { id: 'name', title: '  SERVER', width: 16, align: 'left', priority: 0, flex: true, maxWidth: 34 },
  { id: 'xid', title: 'CTX', width: 6, align: 'right', priority: 3 },
  { id: 'state', title: 'STATE', width: 8, align: 'left', priority: 0 },
  { id: 'procs', title: 'PROCS', width: 5, align: 'right', priority: 4 },
  { id: 'cpu', title: 'CPU%', width: 6, align: 'right', priority: 1 },
  { id: 'mem', title: 'MEM', width: 7, align: 'right', priority: 2 },
  { id: 'uptime', title: 'UPTIME', width: 8, align: 'right', priority: 5 },
  { id: 'ip', title: 'IP', width: 15, align: 'left', priority: 6 },
];

export function hostsColumns(width: number) {
  return fitColumns(COLUMNS, width);
}

export function hostsHeader(width: number): string {
  return headerLine(hostsColumns(width));
}

/** a server's line (every string in it escaped when parsed) */
export function serverLine(s: RemoteServer, width: number): string {
  return formatLine(hostsColumns(width), {
    name: `  ${s.name}`, xid: s.xid === null ? '-' : String(s.xid), state: s.state, procs: String(s.processes),
    cpu: formatPercent(s.cpuPercent ?? undefined), mem: s.memoryBytes === null ? '-' : formatMemory(s.memoryBytes),
    uptime: s.uptimeSeconds === null ? '-' : formatDuration(s.uptimeSeconds * 1000), ip: s.ip ?? '-',
  });
}

/** `vtop --host ... --once --json`: every host, its state and its servers */
export function hostsJson(hosts: readonly HostView[]): { hosts: { host: string; reachable: boolean; error: string | null; hostname: string | null; servers: RemoteServer[] }[] } {
  return {
    hosts: hosts.map((h) => ({ host: h.host, reachable: h.status === 'up', error: h.error, hostname: h.hostname, servers: h.status === 'up' ? h.servers : [] })),
  };
}

/** `vtop --host ... --once`: the screen as text */
export function hostsText(hosts: readonly HostView[], width: number): string {
  const lines = [hostsHeader(width)];
  for (const r of hostsRows(hosts)) lines.push(r.kind === 'host' ? `── ${hostHeading(r.host)}` : serverLine(r.server, width));
  return lines.map((l) => [...l].slice(0, width).join('').trimEnd()).join('\n');
}
