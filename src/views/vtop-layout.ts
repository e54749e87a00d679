/**
 * How vtop divides the terminal.  Pure.  The frame is ONE line shorter than
 * the terminal: Ink clears the whole screen on every frame that fills it,
 * which flickers over SSH.
 */

export interface Layout {
  width: number;
  /** lines of the whole frame (rows - 1) */
  height: number;
  /** header lines (the top line, then meter lines) */
  header: number;
  /** server rows shown (the table header line comes on top) */
  servers: number;
  /** process rows shown (a title line and a column header line come on top) */
  procs: number;
  /** true when the terminal is too small to show anything useful */
  tooSmall: boolean;
}

export const MIN_COLUMNS = 40;
export const MIN_ROWS = 10;

/**
 * @param rows terminal rows, @param columns terminal columns
 * @param serverCount rows the server list has
 * @param headerWanted header lines wanted (the top line and the meters):
 *   one under 16 rows, two up to 23, one more for every 8 rows beyond
 */
export function computeLayout(rows: number, columns: number, serverCount: number, headerWanted = 2): Layout {
  const width = Math.max(1, columns);
  const height = Math.max(1, rows - 1);
  if (columns < MIN_COLUMNS || rows < MIN_ROWS) {
    return { width, height, header: 0, servers: 0, procs: 0, tooSmall: true };
  }
  const header = height >= 16 ? Math.max(1, Math.min(headerWanted, 2 + Math.floor((height - 16) / 8))) : 1;
  // fixed lines: header, server table header, process title, process column header, status line
  const free = height - header - 4;
  const cap = Math.max(2, Math.floor(free * 0.4));
  const servers = Math.max(1, Math.min(serverCount, cap));
  const procs = Math.max(1, free - servers);
  return { width, height, header, servers, procs, tooSmall: false };
}

/** the first row to show so that `selected` is visible in a window of `size` rows */
export function scrollTo(offset: number, selected: number, size: number, total: number): number {
  if (size <= 0) return 0;
  let o = offset;
  if (selected < o) o = selected;
  if (selected >= o + size) o = selected - size + 1;
  return Math.max(0, Math.min(o, Math.max(0, total - size)));
}

/** which rows of a list a window of `size` lines shows, and how many it hides */
export interface ListWindow {
  /** the first row shown */
  offset: number;
  /** rows shown */
  shown: number;
  /** rows hidden above and below the window */
  above: number;
  below: number;
}

/**
 * The window of a list that may not fit: when it does not, the last line
 * of the window says how many rows are hidden (hiddenLine), so one row
 * fewer is shown, scrolled so that `selected` is visible.
 */
export function listWindow(offset: number, selected: number, size: number, total: number): ListWindow {
  if (total <= size) return { offset: 0, shown: total, above: 0, below: 0 };
  const shown = Math.max(1, size - 1);
  const o = scrollTo(offset, Math.max(0, Math.min(selected, total - 1)), shown, total);
  return { offset: o, shown, above: o, below: Math.max(0, total - o - shown) };
}

/** the line that says what a window hides, e.g. `  ↑ 2 more above  ↓ 3 more below`; '' when nothing is */
export function hiddenLine(w: ListWindow): string {
  const parts: string[] = [];
  if (w.above > 0) parts.push(`↑ ${w.above} more above`);
  if (w.below > 0) parts.push(`↓ ${w.below} more below`);
  return parts.length ? `  ${parts.join('  ')}` : '';
}
