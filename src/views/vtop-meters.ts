/**
 * htop-style meters for vtop's header, and the CPU sparklines of the server
 * list.  Pure: host figures and samples in, spans of text with a tone out.
 *
 * A meter is `Label[||||||      12.3%]`: the bar is as long as the share,
 * the figure is written over the bar's right end (as htop does).  A meter of
 * several parts (memory: used, then cache) draws each part in its own colour
 * in 16 colours, and with its own character without colour (`|` used, `:`
 * cache), so it reads right under NO_COLOR too; the figure says the same in
 * words.  CPU is % of ONE core per core meter; the total meter, as every CPU
 * figure of vtop, says how much of the host's n×100 % is busy.
 */
import { formatMemory } from './format.js';
import type { HostInfo } from './vtop-model.js';

/** the look of a piece of a meter (src/ui/theme.ts maps each to a style) */
export type MeterTone = 'label' | 'bracket' | 'cpu' | 'used' | 'cache' | 'swap' | 'figure' | 'plain';

export interface MeterSpan {
  text: string;
  tone: MeterTone;
}

/** a meter part: a share of the whole (0..1), how it looks, and its character without colour */
export interface MeterPart {
  share: number;
  tone: MeterTone;
  mono: string;
}

/** terminals at least this wide get one meter per core (narrower: one total) */
export const WIDE_COLUMNS = 120;
/** a core meter is never narrower than this */
const MIN_CORE_METER = 14;
/** at most this many lines of core meters */
const MAX_CORE_LINES = 4;

const len = (s: string) => [...s].length;

/**
 * One meter exactly `width` columns wide: `label[bar figure]`.  The bar's
 * characters are `|` in colour mode (each part coloured), each part's own
 * character in mono.
 */
export function meter(label: string, parts: readonly MeterPart[], figure: string, width: number, mono: boolean): MeterSpan[] {
  const inner = Math.max(1, width - len(label) - 2);
  const fig = len(figure) <= inner ? figure : '';
  const cells: { ch: string; tone: MeterTone }[] = [];
  let acc = 0;
  for (const p of parts) {
    const share = Math.max(0, Math.min(1, p.share));
    const upto = Math.min(inner, Math.round((acc + share) * inner));
    while (cells.length < upto) cells.push({ ch: mono ? p.mono : '|', tone: p.tone });
    acc += share;
  }
  while (cells.length < inner) cells.push({ ch: ' ', tone: 'plain' });
  // the figure overwrites the bar's right end
  const figAt = inner - len(fig);
  const spans: MeterSpan[] = [{ text: label, tone: 'label' }, { text: '[', tone: 'bracket' }];
  let cur: MeterSpan | null = null;
  for (let i = 0; i < figAt; i++) {
    const c = cells[i]!;
    if (cur && cur.tone === c.tone) cur.text += c.ch;
    else spans.push((cur = { text: c.ch, tone: c.tone }));
  }
  if (fig) spans.push({ text: fig, tone: 'figure' });
  spans.push({ text: ']', tone: 'bracket' });
  return spans;
}

/** a percentage as a meter figure: `7.5%`, `100%` */
function pct(p: number): string {
  return p >= 99.95 ? `${Math.round(p)}%` : `${p.toFixed(1)}%`;
}

/** the CPU meter of all cores: busy as a share of the host, the figure in % of one core (`150.0/200%`) */
export function cpuTotalMeter(h: HostInfo, width: number, mono: boolean): MeterSpan[] {
  const cap = h.cpus * 100;
  const p = h.cpuPercent;
  return meter('CPU', [{ share: p === undefined ? 0 : p / cap, tone: 'cpu', mono: '|' }],
    p === undefined ? `- of ${cap}%` : `${p.toFixed(1)}% of ${cap}%`, width, mono);
}

/** host memory: used (total - available), then cache (available - free), against the total */
export function memMeter(h: HostInfo, width: number, mono: boolean): MeterSpan[] {
  const total = h.memTotal;
  const used = Math.max(0, total - h.memAvailable);
  const cache = Math.max(0, h.memAvailable - (h.memFree ?? h.memAvailable));
  const parts: MeterPart[] = total > 0
    ? [{ share: used / total, tone: 'used', mono: '|' }, { share: cache / total, tone: 'cache', mono: ':' }]
    : [];
  return meter('Mem', parts, `${formatMemory(used).trim()}/${formatMemory(total).trim()}`, width, mono);
}

/** swap: used against the total (`0/0` when there is none) */
export function swapMeter(h: HostInfo, width: number, mono: boolean): MeterSpan[] {
  const total = h.swapTotal ?? 0;
  const used = Math.max(0, total - (h.swapFree ?? total));
  return meter('Swp', total > 0 ? [{ share: used / total, tone: 'swap', mono: '|' }] : [], `${formatMemory(used).trim()}/${formatMemory(total).trim()}`, width, mono);
}

/** meters side by side, one blank between, filling `width` */
export function meterRow(make: readonly ((w: number) => MeterSpan[])[], width: number): MeterSpan[] {
  const n = make.length;
  const each = Math.floor((width - (n - 1)) / n);
  const out: MeterSpan[] = [];
  make.forEach((m, i) => {
    if (i > 0) out.push({ text: ' ', tone: 'plain' });
    // the last takes what the division left
    out.push(...m(i === n - 1 ? width - (n - 1) - each * (n - 1) : each));
  });
  return out;
}

/**
 * The meter lines of the header.  Below WIDE_COLUMNS (or without per-core
 * figures) one line: CPU total, Mem, Swp.  Wide: the cores' meters, as many
 * side by side as fit (at most MAX_CORE_LINES lines: more cores than that
 * holds get the total instead), then Mem and Swp.
 */
export function meterLines(h: HostInfo, width: number, mono: boolean): MeterSpan[][] {
  const cores = h.cpuPercents;
  const narrow = () => [meterRow([(w) => cpuTotalMeter(h, w, mono), (w) => memMeter(h, w, mono), (w) => swapMeter(h, w, mono)], width)];
  if (width < WIDE_COLUMNS || !cores || cores.length === 0) return narrow();
  const labelW = String(cores.length - 1).length;
  let perLine = Math.max(1, Math.min(cores.length, Math.floor((width + 1) / 40)));
  if (Math.ceil(cores.length / perLine) > MAX_CORE_LINES) perLine = Math.ceil(cores.length / MAX_CORE_LINES);
  // more cores than fit in MAX_CORE_LINES lines of the narrowest meters: the total, rather than some of them
  if (perLine > Math.floor((width + 1) / (MIN_CORE_METER + 1))) return narrow();
  const lines: MeterSpan[][] = [];
  for (let i = 0; i < cores.length; i += perLine) {
    const row = cores.slice(i, i + perLine).map((p, j) => (w: number) =>
      meter(String(i + j).padStart(labelW), [{ share: (p ?? 0) / 100, tone: 'cpu', mono: '|' }], p === undefined ? '-' : pct(p), w, mono));
    // a short last line keeps the others' meter width
    const slots = [...row, ...Array.from({ length: perLine - row.length }, () => (w: number) => [{ text: ' '.repeat(w), tone: 'plain' as MeterTone }])];
    lines.push(meterRow(slots, width));
  }
  lines.push(meterRow([(w) => memMeter(h, w, mono), (w) => swapMeter(h, w, mono)], width));
  return lines;
}

/** the plain text of a line of spans */
export function spansText(spans: readonly MeterSpan[]): string {
  return spans.map((s) => s.text).join('');
}

// ---------------------------------------------------------------- sparklines

/** one CPU sample of a server: when (ms) and % of one core */
export interface CpuPoint {
  t: number;
  cpu: number;
}

/** the window a sparkline shows */
export const SPARK_WINDOW_MS = 60_000;
const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * The last minute of `points` in `width` characters, oldest left: each
 * character the highest sample of its slice of the minute, as a block of
 * eight heights against `scale` (% of one core: the host's cores × 100, so
 * every row is drawn to the same scale); a slice with no sample is blank,
 * a sample of 0 the lowest block.
 */
export function sparkline(points: readonly CpuPoint[], now: number, width: number, scale: number): string {
  if (width <= 0) return '';
  const slice = SPARK_WINDOW_MS / width;
  const top: (number | undefined)[] = new Array(width).fill(undefined);
  for (const p of points) {
    const age = now - p.t;
    if (age < 0 || age >= SPARK_WINDOW_MS) continue;
    const i = width - 1 - Math.floor(age / slice);
    if (i >= 0) top[i] = Math.max(top[i] ?? 0, p.cpu);
  }
  const s = scale > 0 ? scale : 100;
  return top.map((v) => (v === undefined ? ' ' : BLOCKS[Math.max(0, Math.min(7, Math.ceil((v / s) * 8) - 1))]!)).join('');
}
