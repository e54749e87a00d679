/**
 * How `vserver NAME build` shows its progress on stderr.  Events without
 * figures are one line each (`copy: setting up …`).  Counted events (the
 * copy template's bytes, files and elapsed time) never print bare: on a
 * terminal they update one line in place; off a terminal (a log, a pipe)
 * a line with the figures every 30 s at most, and the totals at the end.
 */
import type { BuildProgress } from '../actions/build.js';
import { formatMemory } from '../views/format.js';

/** off a terminal, at most one line of figures this often */
export const LOG_EVERY_MS = 30_000;

/** "1.2GiB, 12345 files, 34.5 s" */
export function progressFigures(ev: BuildProgress): string {
  const parts: string[] = [];
  if (ev.bytes !== undefined) {
    const m = formatMemory(ev.bytes);
    parts.push(m.endsWith(' ') ? `${m.trim()} B` : `${m}iB`);
  }
  if (ev.files !== undefined) parts.push(`${ev.files} file${ev.files === 1 ? '' : 's'}`);
  if (ev.elapsedMs !== undefined) parts.push(`${(ev.elapsedMs / 1000).toFixed(1)} s`);
  return parts.join(', ');
}

interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
}

/** a progress callback that writes to @out (process.stderr) */
export function buildProgressPrinter(out: Out, now: () => number = Date.now): (ev: BuildProgress) => void {
  const tty = out.isTTY === true;
  let inPlace = false;
  let lastLogged = -Infinity;
  return (ev) => {
    const counted = ev.bytes !== undefined || ev.files !== undefined;
    if (!counted) {
      if (inPlace) out.write('\n');
      inPlace = false;
      out.write(`${ev.step}: ${ev.detail}\n`);
      return;
    }
    const line = `${ev.step}: ${ev.detail} ${progressFigures(ev)}`;
    if (tty) {
      out.write(`\r${line}\x1b[K${ev.final ? '\n' : ''}`);
      inPlace = !ev.final;
      return;
    }
    const t = now();
    if (ev.final || t - lastLogged >= LOG_EVERY_MS) {
      lastLogged = t;
      out.write(`${line}\n`);
    }
  };
}
