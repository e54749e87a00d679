import type { UnifyResult } from '../actions/unify.js';
/**
 * Text shared by vserver and vserver-all.
 */

/** 3725 -> '1h 02m 05s'; 90061 -> '1d 01h 01m' */
export function formatUptime(sec: number): string {
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  const p2 = (n: number) => String(n).padStart(2, '0');
  if (d) return `${d}d ${p2(h)}h ${p2(m)}m`;
  if (h) return `${h}h ${p2(m)}m ${p2(s)}s`;
  if (m) return `${m}m ${p2(s)}s`;
  return `${s}s`;
}

const MIB = (b: number) => `${(b / 1048576).toFixed(1)} MiB`;

/** the line `unify` (and build --unify) prints */
export function unifiedLine(r: UnifyResult): string {
  if (r.outcome === 'already') return `Server '${r.name}' is already unified: nothing to do\n`;
  if (r.outcome === 'pending') return `Server '${r.name}' is running: it will be unified at its next start\n`;
  const c = r.counts!;
  return `Server '${r.name}' unified: ${c.linked} files linked to existing objects (${MIB(c.sharedBytes)} freed), ` +
    `${c.newObjects} new objects (${MIB(c.newBytes)}), ${c.moved} never-shared paths in its own layer` +
    `${c.layerShared ? ', its lower layer one another server has' : ''} (${(r.elapsedMs / 1000).toFixed(1)} s)\n`;
}
