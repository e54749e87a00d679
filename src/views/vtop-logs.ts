/**
 * The logs pane's text: a title and the visible lines of a server's console
 * log, every line escaped with the one escaper (src/views/vtop-text.ts safe,
 * over src/kernel-bridge/escape.ts) as all text from inside a server is, tabs
 * expanded first.  Pure.
 */
import type { LogView } from './vtop-model.js';
import { clip, safe } from './vtop-text.js';

/** a console line as shown: escaped, each tab then to the next multiple of 8 of what is shown */
export function logLineText(raw: string): string {
  if (!raw.includes('\t')) return safe(raw);
  let out = '';
  for (const [i, part] of raw.split('\t').entries()) {
    if (i > 0) out += ' '.repeat(8 - ([...out].length % 8));
    out += safe(part);
  }
  return out;
}

/** the first line shown for a scroll position: null follows the end */
export function logTop(total: number, height: number, offset: number | null): number {
  const last = Math.max(0, total - height);
  return offset === null ? last : Math.max(0, Math.min(offset, last));
}

export interface LogPaneText {
  title: string;
  lines: string[];
  /** the first line shown */
  top: number;
  /** true when the end is shown and new lines will show */
  following: boolean;
}

/**
 * The pane for `log` in `height` lines below its title, `width` wide,
 * scrolled to `offset` (null: the end, following new lines).
 */
export function logPane(log: LogView | undefined, name: string, height: number, width: number, offset: number | null): LogPaneText {
  const who = safe(name);
  if (!log || log.name !== name) return { title: clip(`${who}: console log`, width), lines: ['(reading…)'], top: 0, following: true };
  if (log.error) return { title: clip(`${who}: console log`, width), lines: [clip(`cannot read it: ${safe(log.error)}`, width)], top: 0, following: true };
  if (log.path === null) {
    return { title: clip(`${who}: console log`, width), lines: [clip(`${who} has no console log yet (it has not started here)`, width)], top: 0, following: true };
  }
  const total = log.lines.length;
  const top = logTop(total, height, offset);
  const following = top >= Math.max(0, total - height);
  const where = total === 0 ? 'empty' : `lines ${top + 1}-${Math.min(total, top + height)} of ${total}${log.dropped ? ` (${log.dropped} older dropped)` : ''}`;
  const title = clip(`${who}: console log ${safe(log.path)}, ${where}${following ? ', following' : ''}; ↑↓ PgUp PgDn Home End scroll, Esc closes`, width);
  const lines = log.lines.slice(top, top + height).map((l) => clip(logLineText(l), width));
  return { title, lines, top, following };
}
