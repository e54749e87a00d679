/**
 * vtop's header: host, kernel, uptime, load, host CPU and memory, how many
 * servers run, the refresh interval, and whether (and why) the view is
 * read-only.  When a line does not fit, its least useful parts go first
 * (kernel, then load average, then uptime); the mode tag never goes.  Pure.
 */
import { formatDuration, formatMemory } from './format.js';
import type { VtopFrame } from './vtop-model.js';
import type { ServerRow } from './vtop-servers.js';
import { clip, safe } from './vtop-text.js';

export interface HeaderOptions {
  /** why nothing can be changed (e.g. `not run as root`); undefined when actions are possible */
  readonly?: string;
}

/**
 * a part of a header line; higher `drop` goes first when the line is too
 * long, 0 never; a part with a `short` form is shortened before any goes
 */
export interface Part {
  text: string;
  drop: number;
  short?: string;
}

/** the parts joined by two blanks, shortening and then dropping parts until the line fits `width`, then clipped */
export function fitParts(parts: readonly Part[], width: number): string {
  const shown = parts.filter((p) => p.text).map((p) => ({ ...p }));
  const len = () => shown.reduce((n, p) => n + [...p.text].length, 0) + 2 * Math.max(0, shown.length - 1);
  for (const p of shown) {
    if (len() <= width) break;
    if (p.short !== undefined) p.text = p.short;
  }
  while (len() > width) {
    let worst = -1;
    shown.forEach((p, i) => { if (p.drop > 0 && (worst < 0 || p.drop > shown[worst]!.drop)) worst = i; });
    if (worst < 0) break;
    shown.splice(worst, 1);
  }
  return clip(shown.map((p) => p.text).join('  '), width);
}

/** `[read-only: REASON]` */
export function readonlyTag(reason: string): string {
  return `[read-only: ${reason}]`;
}

/**
 * The dashboard's first line: host, kernel, uptime, load, servers, interval,
 * mode; the meters (./vtop-meters.ts) follow it.
 */
export function topLine(frame: VtopFrame, rows: readonly ServerRow[], width: number, o: HeaderOptions = {}): string {
  const h = frame.host;
  const running = rows.filter((r) => r.state === 'running' && r.xid !== null && r.xid >= 2).length;
  const stopped = rows.filter((r) => r.state === 'stopped').length;
  return fitParts([
    { text: safe(h.hostname), drop: 0 },
    { text: `Linux ${safe(h.kernel)}`, drop: 4 },
    { text: `up ${formatDuration(frame.snapshot.uptime * 1000)}`, drop: 2 },
    { text: h.load ? `load ${h.load.map((x) => x.toFixed(2)).join(' ')}` : '', drop: 3 },
    { text: `servers ${running} running, ${stopped} stopped`, drop: 1 },
    { text: `every ${(frame.intervalMs / 1000).toFixed(1)}s`, drop: 0 },
    { text: frame.live ? '' : '[replay]', drop: 0 },
    { text: o.readonly !== undefined ? readonlyTag(o.readonly) : '', drop: 0 },
  ], width);
}

/** the two header lines of --once, each at most `width` code points */
export function headerLines(frame: VtopFrame, rows: readonly ServerRow[], width: number, o: HeaderOptions = {}): [string, string] {
  const h = frame.host;
  const running = rows.filter((r) => r.state === 'running' && r.xid !== null && r.xid >= 2).length;
  const stopped = rows.filter((r) => r.state === 'stopped').length;
  const one = fitParts([
    { text: safe(h.hostname), drop: 0 },
    { text: `Linux ${safe(h.kernel)}`, drop: 3 },
    { text: `up ${formatDuration(frame.snapshot.uptime * 1000)}`, drop: 1 },
    { text: h.load ? `load ${h.load.map((x) => x.toFixed(2)).join(' ')}` : '', drop: 2 },
    { text: `every ${(frame.intervalMs / 1000).toFixed(1)}s`, drop: 0 },
    { text: frame.live ? '' : '[replay]', drop: 0 },
    { text: o.readonly !== undefined ? readonlyTag(o.readonly) : '', drop: 0 },
  ], width);
  // CPU as everywhere in vtop: % of ONE core, so a host of n cores tops out at n×100 %
  const cpu = h.cpuPercent === undefined ? '-' : `${h.cpuPercent.toFixed(1)}%`;
  const used = Math.max(0, h.memTotal - h.memAvailable);
  const memPct = h.memTotal > 0 ? Math.round((used / h.memTotal) * 100) : 0;
  const two = fitParts([
    { text: `CPU ${cpu} of ${h.cpus * 100}% (${h.cpus} core${h.cpus === 1 ? '' : 's'})`, short: `CPU ${cpu} of ${h.cpus * 100}%`, drop: 0 },
    { text: `Mem ${formatMemory(used)}/${formatMemory(h.memTotal)} (${memPct}%)`, drop: 0 },
    { text: `servers ${running} running, ${stopped} stopped`, drop: 1 },
  ], width);
  return [one, two];
}
