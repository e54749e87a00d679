/**
 * A drop-in for Ink's Output (ink/build/output.js), used by vtop's bundle
 * (scripts/bundle-vtop.mjs puts it in Ink's place).
 *
 * Ink composes every frame in a grid of one object per cell (10,000 at
 * 200x50), each with its own styles array, then serialises the grid cell by
 * cell: ~10 MiB of garbage per frame, which made vtop's heap grow to 100 MiB
 * and more between collections.  Here a row is a short list of spans, each
 * one piece of already styled text with its column and width; a write that
 * lands on earlier spans cuts them (slice-ansi keeps the styles of what is
 * left), and a row is the spans joined with blanks between them.  vtop's
 * screen is almost only side-by-side text, so a frame costs one string per
 * row.  The result is the same screen (the same characters in the same
 * styles at the same places); the escape sequences may be spelled
 * differently.
 *
 * Same contract as Ink's: write(x, y, text, {transformers}), clip(clip),
 * unclip(), get() → {output, height}; clipping exactly as Ink clips.
 */
import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';
import { memo } from './memo.js';

type Transformer = (line: string, index: number) => string;
interface Clip {
  x1: number | undefined;
  x2: number | undefined;
  y1: number | undefined;
  y2: number | undefined;
}
type Operation =
  | { type: 'write'; x: number; y: number; text: string; transformers: readonly Transformer[] }
  | { type: 'clip'; clip: Clip }
  | { type: 'unclip' };

/** one piece of styled text on a row: starts at column x, w columns wide */
interface Span {
  x: number;
  w: number;
  text: string;
}

const widths = memo<number>(512);
const widthOf = (s: string): number => widths(s, () => stringWidth(s));
const widestLine = (text: string): number => {
  let w = 0;
  for (const line of text.split('\n')) w = Math.max(w, widthOf(line));
  return w;
};

/** puts `span` on `row`, cutting whatever it covers */
function place(row: Span[], span: Span): void {
  const end = span.x + span.w;
  const last = row[row.length - 1];
  if (last === undefined || last.x + last.w <= span.x) {
    row.push(span);
    return;
  }
  const kept: Span[] = [];
  for (const s of row) {
    const sEnd = s.x + s.w;
    if (sEnd <= span.x || s.x >= end) {
      kept.push(s);
      continue;
    }
    if (s.x < span.x) kept.push({ x: s.x, w: span.x - s.x, text: sliceAnsi(s.text, 0, span.x - s.x) });
    if (sEnd > end) kept.push({ x: end, w: sEnd - end, text: sliceAnsi(s.text, end - s.x) });
  }
  kept.push(span);
  kept.sort((a, b) => a.x - b.x);
  row.length = 0;
  row.push(...kept);
}

/** a row as text: the spans with blanks between them, trailing blanks trimmed */
function serialise(row: readonly Span[] | undefined): string {
  if (row === undefined) return '';
  let out = '';
  let col = 0;
  for (const s of row) {
    if (s.x > col) out += ' '.repeat(s.x - col);
    out += s.text;
    col = s.x + s.w;
  }
  return out.trimEnd();
}

export default class Output {
  width: number;
  height: number;
  operations: Operation[] = [];

  constructor(options: { width: number; height: number }) {
    this.width = options.width;
    this.height = options.height;
  }

  write(x: number, y: number, text: string, options: { transformers: readonly Transformer[] }): void {
    if (!text) return;
    this.operations.push({ type: 'write', x, y, text, transformers: options.transformers });
  }

  clip(clip: Clip): void {
    this.operations.push({ type: 'clip', clip });
  }

  unclip(): void {
    this.operations.push({ type: 'unclip' });
  }

  get(): { output: string; height: number } {
    const rows: (Span[] | undefined)[] = new Array(this.height);
    const clips: Clip[] = [];
    for (const op of this.operations) {
      if (op.type === 'clip') {
        clips.push(op.clip);
        continue;
      }
      if (op.type === 'unclip') {
        clips.pop();
        continue;
      }
      let { x, y } = op;
      let lines = op.text.split('\n');
      const clip = clips[clips.length - 1];
      if (clip) {
        const horizontally = typeof clip.x1 === 'number' && typeof clip.x2 === 'number';
        const vertically = typeof clip.y1 === 'number' && typeof clip.y2 === 'number';
        if (horizontally && (x + widestLine(op.text) < clip.x1! || x > clip.x2!)) continue;
        if (vertically && (y + lines.length < clip.y1! || y > clip.y2!)) continue;
        if (horizontally) {
          const x1 = clip.x1!;
          const x2 = clip.x2!;
          lines = lines.map((line) => {
            const from = x < x1 ? x1 - x : 0;
            const w = widthOf(line);
            const to = x + w > x2 ? x2 - x : w;
            return sliceAnsi(line, from, to);
          });
          if (x < x1) x = x1;
        }
        if (vertically) {
          const from = y < clip.y1! ? clip.y1! - y : 0;
          const to = y + lines.length > clip.y2! ? clip.y2! - y : lines.length;
          lines = lines.slice(from, to);
          if (y < clip.y1!) y = clip.y1!;
        }
      }
      for (let index = 0; index < lines.length; index++) {
        const r = y + index;
        if (r < 0 || r >= this.height) continue;
        let line = lines[index]!;
        for (const t of op.transformers) line = t(line, index);
        let w = widthOf(line);
        let at = x;
        if (at < 0) {
          // what lies left of column 0 is not drawn
          line = sliceAnsi(line, -at);
          w += at;
          at = 0;
        }
        if (w <= 0) continue;
        place((rows[r] ??= []), { x: at, w, text: line });
      }
    }
    const out: string[] = new Array(this.height);
    for (let r = 0; r < this.height; r++) out[r] = serialise(rows[r]);
    return { output: out.join('\n'), height: this.height };
  }
}
