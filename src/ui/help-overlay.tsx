/** The `?` overlay: generated from the key table, so it always tells the truth. */
import { memo, useMemo } from 'react';
import { Box } from 'ink';
import { helpSections, type Keymap } from './keys.js';
import { clip } from '../views/vtop-text.js';
import { Line } from './line.js';
import type { StyleName } from './theme.js';

export interface HelpOverlayProps {
  keymap: Keymap;
  height: number;
  width: number;
}

interface HelpLine {
  text: string;
  style: StyleName;
}

/** the help text as lines, in one column or two when the terminal is wide enough to need them */
export function helpLines(keymap: Keymap, height: number, width: number): HelpLine[] {
  const items: HelpLine[] = [];
  const sections = helpSections(keymap);
  const keyW = Math.min(14, Math.max(...sections.flatMap((s) => s.entries.map((e) => e.keys.length))) + 1);
  for (const s of sections) {
    items.push({ text: s.group === 'Act' ? 'Act (asks first; not in --readonly)' : s.group, style: 'title' });
    for (const e of s.entries) items.push({ text: `  ${e.keys.padEnd(keyW)} ${e.help}`, style: e.changes ? 'danger' : 'normal' });
  }
  const foot: HelpLine[] = [
    { text: 'CPU% = % of ONE core over the last interval (200% = two cores busy).  ! = runaway.', style: 'dim' },
    { text: keymap.readonly ? 'read-only: no action can change the system.  Any key closes this help.' : 'Any key closes this help.', style: 'dim' },
  ];
  const body = height - foot.length;
  let out: HelpLine[];
  if (items.length <= body || width < 80) {
    out = items.slice(0, Math.max(0, body));
  } else {
    const colW = Math.floor((width - 1) / 2);
    const half = Math.ceil(items.length / 2);
    out = [];
    for (let i = 0; i < Math.min(half, body); i++) {
      const a = items[i]!;
      const b = items[i + half];
      // one style per line: the left column's (a Line is a single Text)
      out.push({ text: clip(a.text, colW).padEnd(colW) + ' ' + clip(b?.text ?? '', colW), style: a.style });
    }
  }
  return [...out, ...foot].slice(0, height);
}

export const HelpOverlay = memo(function HelpOverlay({ keymap, height, width }: HelpOverlayProps) {
  const lines = useMemo(() => helpLines(keymap, height, width), [keymap, height, width]);
  return (
    <Box flexDirection="column" height={height} overflowY="hidden">
      {lines.map((l, i) => (
        <Line key={i} text={l.text} width={width} style={l.style} />
      ))}
    </Box>
  );
});
