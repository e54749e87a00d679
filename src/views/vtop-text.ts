/**
 * Fixed-width text for vtop's tables: column fitting, padding, and making
 * any string from the system safe to print.  Pure.
 */

import { escapeText } from '../kernel-bridge/escape.js';

/** a table column */
export interface Column<Id extends string = string> {
  id: Id;
  title: string;
  /** preferred width */
  width: number;
  /** 'right' for numbers */
  align: 'left' | 'right';
  /** lower numbers are dropped last when the terminal is narrow; 0 = never dropped */
  priority: number;
  /** takes the remaining width (at least `width`); at most one flex column */
  flex?: boolean;
  /** the most a flex column takes (the rest of the line stays empty) */
  maxWidth?: number;
}

/** a column with the width it got */
export interface FittedColumn<Id extends string = string> extends Column<Id> {
  at: number;
}

/**
 * Picks the columns that fit in `width` (dropping the highest priority
 * numbers first) and gives the flex column what is left.  Columns are
 * separated by one space.
 */
export function fitColumns<Id extends string>(cols: readonly Column<Id>[], width: number): FittedColumn<Id>[] {
  let chosen = [...cols];
  const total = (cs: Column<Id>[]) => cs.reduce((s, c) => s + c.width, 0) + Math.max(0, cs.length - 1);
  while (total(chosen) > width) {
    let worst = -1;
    for (let i = 0; i < chosen.length; i++) {
      const c = chosen[i]!;
      if (c.priority > 0 && (worst < 0 || c.priority > chosen[worst]!.priority)) worst = i;
    }
    if (worst < 0) break;
    chosen.splice(worst, 1);
  }
  const spare = Math.max(0, width - total(chosen));
  return chosen.map((c) => ({ ...c, at: c.flex ? Math.min(c.width + spare, c.maxWidth ?? Infinity) : c.width }));
}

/**
 * Any raw control character left in a string becomes a visible escape
 * (`\x1b`).  Text the scanner already escaped (literal backslashes) is kept
 * as is: this is the last guard before the terminal, not a second escaping.
 */
export function safe(s: string): string {
  return escapeText(s, 'hex');
}

/** cuts to n code points, marking the cut with `…` */
export function clip(s: string, n: number): string {
  if (n <= 0) return '';
  if (s.length <= n) return s;
  const cps = [...s];
  if (cps.length <= n) return s;
  return cps.slice(0, n - 1).join('') + '…';
}

/** pads or clips to exactly n code points */
export function cell(s: string, n: number, align: 'left' | 'right'): string {
  const c = clip(s, n);
  const len = [...c].length;
  if (len >= n) return c;
  return align === 'right' ? ' '.repeat(n - len) + c : c + ' '.repeat(n - len);
}

/** one table line from values by column id, exactly as wide as the columns */
export function formatLine<Id extends string>(cols: readonly FittedColumn<Id>[], values: Record<Id, string>): string {
  let out = '';
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i]!;
    if (i > 0) out += ' ';
    out += cell(values[c.id] ?? '', c.at, c.align);
  }
  return out;
}

/** the header line of a table */
export function headerLine<Id extends string>(cols: readonly FittedColumn<Id>[]): string {
  const v = {} as Record<Id, string>;
  for (const c of cols) v[c.id] = c.title;
  return formatLine(cols, v);
}

/** a CPU percentage for a column: `99.5`, `100`, `1234`, `-` when unknown */
export function formatPercent(p: number | undefined): string {
  if (p === undefined || !Number.isFinite(p)) return '-';
  if (p < 0.05) return '0.0';
  if (p < 100) return p.toFixed(1);
  return String(Math.round(p));
}

/** words wrapped into lines of at most `width` (a word longer than the width is clipped) */
export function wrapWords(prefix: string, words: readonly string[], width: number): string[] {
  const lines: string[] = [];
  let line = prefix;
  const indent = ' '.repeat(Math.min(prefix.length, Math.max(0, width - 8)));
  let fresh = true;
  for (const w of words) {
    const sep = fresh ? '' : ' ';
    if (line.length + sep.length + w.length <= width) {
      line += sep + w;
      fresh = false;
    } else {
      if (!fresh) lines.push(line);
      line = indent + clip(w, Math.max(1, width - indent.length));
      fresh = false;
    }
  }
  lines.push(line);
  return lines.map((l) => clip(l, width));
}
