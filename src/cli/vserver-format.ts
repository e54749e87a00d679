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
