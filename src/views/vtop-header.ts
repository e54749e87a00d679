/**
 * vtop's header: host, kernel, uptime, load, host CPU and memory, how many
 * servers run, the refresh interval.  Pure.
 */
import { formatDuration, formatMemory } from './format.js';
import type { VtopFrame } from './vtop-model.js';
import type { ServerRow } from './vtop-servers.js';
import { clip, safe } from './vtop-text.js';

/** the two header lines, each at most `width` code points */
export function headerLines(frame: VtopFrame, rows: readonly ServerRow[], width: number): [string, string] {
  const h = frame.host;
  const running = rows.filter((r) => r.state === 'running' && r.xid !== null && r.xid >= 2).length;
  const stopped = rows.filter((r) => r.state === 'stopped').length;
  const load = h.load ? `  load ${h.load.map((x) => x.toFixed(2)).join(' ')}` : '';
  const mode = frame.live ? '' : '  [replay]';
  const one = `${safe(h.hostname)}  Linux ${safe(h.kernel)}  up ${formatDuration(frame.snapshot.uptime * 1000)}${load}` +
    `  every ${(frame.intervalMs / 1000).toFixed(1)}s${mode}`;
  const cpu = h.cpuPercent === undefined ? '-' : `${h.cpuPercent.toFixed(1)}%`;
  const used = Math.max(0, h.memTotal - h.memAvailable);
  const memPct = h.memTotal > 0 ? Math.round((used / h.memTotal) * 100) : 0;
  const two = `CPU ${cpu} of ${h.cpus} core${h.cpus === 1 ? '' : 's'}  Mem ${formatMemory(used)}/${formatMemory(h.memTotal)} (${memPct}%)` +
    `  servers ${running} running, ${stopped} stopped`;
  return [clip(one, width), clip(two, width)];
}
