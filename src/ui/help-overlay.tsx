/**
 * The `?` overlay: generated from the key table, so it always tells the
 * truth.  Nothing in it is ever cut off: entries go in two columns when
 * they fit side by side, long ones wrap, and what does not fit the screen
 * goes on further pages (Space / PgDn / ↓ turn them).
 */
import { memo, useMemo } from 'react';
import { Box } from 'ink';
import { helpSections, type Keymap } from './keys.js';
import { wrapWords } from '../views/vtop-text.js';
import { Line } from './line.js';
import type { StyleName } from './theme.js';

export interface HelpOverlayProps {
  keymap: Keymap;
  height: number;
  width: number;
  /** the page shown (0-based; clamped) */
  page?: number;
  /** why the view is read-only (with a read-only keymap) */
  readonlyReason?: string;
}

interface HelpLine {
  text: string;
  style: StyleName;
}

const len = (s: string) => [...s].length;

/** the help as pages of at most `height` lines, none wider than `width` */
export function helpPages(keymap: Keymap, height: number, width: number, readonlyReason?: string): HelpLine[][] {
  const sections = helpSections(keymap);
  const keyW = Math.min(14, Math.max(...sections.flatMap((s) => s.entries.map((e) => len(e.keys))))) + 1;
  // units that stay together in a column: a section's title with its first entry, then each entry
  // (an entry too long for the column wraps under its text)
  const units = (colW: number): HelpLine[][] => sections.flatMap((s) => s.entries.map((e, i) => {
    const style: StyleName = e.changes ? 'danger' : 'normal';
    const lead = ` ${e.keys.padEnd(keyW)} `;
    const lines = len(lead) + len(e.help) <= colW ? [lead + e.help] : wrapWords(lead, e.help.split(' '), colW);
    const out = lines.map((text) => ({ text, style }));
    return i > 0 ? out : [{ text: s.group === 'Act' ? 'Act (asks first)' : s.group, style: 'title' as StyleName }, ...out];
  }));
  const foot = (pages: number, page: number): HelpLine[] => [
    ...(keymap.readonly ? [{ text: `read-only${readonlyReason ? ` (${readonlyReason})` : ''}: no key changes anything.`, style: 'dim' as StyleName }] : []),
    { text: `CPU% = % of ONE core (200% = two cores busy); ! = runaway.  ${pages > 1 ? `Page ${page + 1}/${pages}: Space next, PgUp back, any other key closes.` : 'Any key closes.'}`, style: 'dim' },
  ];
  const rows = Math.max(1, height - foot(1, 0).length);
  const columns = (colW: number, n = rows): HelpLine[][] => {
    const cols: HelpLine[][] = [[]];
    for (const u of units(colW)) {
      let col = cols[cols.length - 1]!;
      if (col.length > 0 && col.length + u.length > n) cols.push((col = []));
      col.push(...u.slice(0, n));
    }
    return cols.filter((c) => c.length);
  };
  /** two columns a page, balanced: the shortest columns that need no more pages than full ones */
  const balanced = (colW: number): HelpLine[][] => {
    const full = columns(colW);
    const need = Math.ceil(full.length / 2) * 2;
    const lines = full.reduce((n, c) => n + c.length, 0);
    for (let n = Math.ceil(lines / need); n < rows; n++) {
      const c = columns(colW, n);
      if (c.length <= need) return c;
    }
    return full;
  };
  const half = Math.floor((width - 1) / 2);
  const one = columns(width);
  let pages: HelpLine[][] = one;
  // two columns only where every entry fits its column unwrapped
  const widest = Math.max(...sections.flatMap((s) => s.entries.map((e) => 1 + keyW + 1 + len(e.help))));
  if (one.length > 1 && widest <= half) {
    const two = balanced(half);
    const paired: HelpLine[][] = [];
    for (let i = 0; i < two.length; i += 2) {
      const a = two[i]!;
      const b = two[i + 1] ?? [];
      const page: HelpLine[] = [];
      for (let r = 0; r < Math.max(a.length, b.length); r++) {
        const l = a[r];
        const rgt = b[r];
        // one style per line (a Line is a single Text): the left column's, else the right's
        page.push({ text: (l?.text ?? '').padEnd(half) + (rgt ? ' ' + rgt.text : ''), style: l?.style ?? rgt?.style ?? 'normal' });
      }
      paired.push(page);
    }
    if (paired.length < one.length) pages = paired;
  }
  return pages.map((p, i) => [...p, ...foot(pages.length, i).map((l) => ({ ...l, text: wrapFoot(l.text, width) }))].slice(0, height));
}

/** a footer line that does not fit keeps its first sentences */
function wrapFoot(text: string, width: number): string {
  if (len(text) <= width) return text;
  const cut = text.split(/(?<=\.)  /);
  while (cut.length > 1 && len(cut.join('  ')) > width) cut.splice(cut.length > 2 ? 1 : 0, 1);
  return cut.join('  ').slice(0, width);
}

export const HelpOverlay = memo(function HelpOverlay({ keymap, height, width, page = 0, readonlyReason }: HelpOverlayProps) {
  const pages = useMemo(() => helpPages(keymap, height, width, readonlyReason), [keymap, height, width, readonlyReason]);
  const lines = pages[Math.max(0, Math.min(page, pages.length - 1))] ?? [];
  return (
    <Box flexDirection="column" height={height} overflowY="hidden">
      {lines.map((l, i) => (
        <Line key={i} text={l.text} width={width} style={l.style} />
      ))}
    </Box>
  );
});
