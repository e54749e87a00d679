import type { UnifyResult } from '../actions/unify.js';
/**
 * Text shared by vserver and vserver-all.  The status lines and the uptime
 * come from kernel/tables/vctx-tables.json ("render.status"), which the C
 * path of `vserver NAME status` (kernel/tools/vserver.c) prints from too.
 */
import { STATUS_RENDER } from '../generated/tables.js';

/** a template of the tables with its {placeholders} filled */
function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{([a-z]+)\}/g, (_, k: string) => String(values[k]));
}

/** 3725 -> '1h 02m 05s'; 90061 -> '1d 01h 01m' */
export function formatUptime(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  const p2 = (n: number) => String(n).padStart(2, '0');
  const u = STATUS_RENDER.uptime;
  if (d) return fill(u.days, { d, hh: p2(h), mm: p2(m) });
  if (h) return fill(u.hours, { h, mm: p2(m), ss: p2(s) });
  if (m) return fill(u.minutes, { m, ss: p2(s) });
  return fill(u.seconds, { s });
}

/** `vserver NAME status`'s lines for a running server */
export function statusRunning(name: string, xid: number, nprocs: number, uptimeSec: number): string {
  return STATUS_RENDER.running.map((l) => fill(l, { name, xid, nprocs, uptime: formatUptime(uptimeSec) }) + '\n').join('');
}

/** `vserver NAME status`'s line for a stopped server */
export function statusStopped(name: string): string {
  return fill(STATUS_RENDER.stopped, { name }) + '\n';
}

const MIB = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

/** the line `unify` (and build --unify) prints */
export function unifiedLine(r: UnifyResult): string {
  if (r.outcome === 'already') return `Server '${r.name}' is already unified: nothing to do\n`;
  if (r.outcome === 'pending') return `Server '${r.name}' is running: it will be unified at its next start\n`;
  const c = r.counts!;
  return `Server '${r.name}' unified: ${c.linked} files linked to existing objects (${MIB(c.sharedBytes)} freed), ` +
    `${c.newObjects} new objects (${MIB(c.newBytes)}), ${c.moved} never-shared paths in its own layer` +
    (c.own ? ` (${MIB(c.own.bytes)} packed into ${MIB(c.own.imageBytes)})` : c.packError ? ` (not packed: ${c.packError})` : '') +
    `${c.layerShared ? ', its lower layer one another server has' : ''} (${(r.elapsedMs / 1000).toFixed(1)} s)` +
    `${c.projectError ? `; warning: ${c.projectError}` : ''}\n`;
}
