/**
 * util-vserver's number formats, re-implemented (CONTRACT.md "Formats in
 * detail").  Pure functions, no I/O.
 */

import { escapeText } from '../kernel-bridge/escape.js';

const MEM_SUFFIXES = [' ', 'K', 'M', 'G', 'T', '+'] as const;

/**
 * A byte count as vserver-stat shows it: scaled by 1024 until under 1000,
 * with the unit suffix (` ` for bytes, `K`, `M`, `G`, `T`, `+` beyond) and
 * one decimal when it fits (the tenths of the last division, truncated;
 * none when they are 0 or the number has 4 digits).  Not padded.
 *
 * @example formatMemory(1536) === '1.5K'; formatMemory(286) === '286 '
 */
export function formatMemory(bytes: number): string {
  let val = Math.max(0, Math.floor(bytes));
  let mod = 0;
  let suffix: string = '+';
  for (let i = 0; i < MEM_SUFFIXES.length; i++) {
    if (val < 1000) {
      suffix = MEM_SUFFIXES[i]!;
      break;
    }
    mod = Math.floor((10 * (val % 1024)) / 1024);
    val = Math.floor(val / 1024);
  }
  if (val > 9999) val = 9999;
  if (val >= 1000) mod = 0;
  return (mod !== 0 ? `${val}.${mod}` : `${val}`) + suffix;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/**
 * A duration in milliseconds as vserver-stat shows it:
 * under 1 h `MmSSsXX` (XX hundredths), under 1 d `HhMMmSS`,
 * up to 999 d `DdHHhMM`, beyond `YyDDdHH` (365-day years),
 * `INVALID` beyond 999*999 days.  Not padded.
 *
 * @example formatDuration(754_320) === '12m34s32'
 */
export function formatDuration(ms: number): string {
  let t = Math.max(0, Math.floor(ms));
  const hundredths = Math.floor((t % 1000) / 10);
  t = Math.floor(t / 1000);
  const ss = t % 60;
  t = Math.floor(t / 60);
  const mm = t % 60;
  t = Math.floor(t / 60);
  const hh = t % 24;
  const days = Math.floor(t / 24);

  if (days > 999 * 999) return 'INVALID';
  if (days > 999) return `${Math.floor(days / 365)}y${pad2(days % 365)}d${pad2(hh)}`;
  if (days > 0) return `${days}d${pad2(hh)}h${pad2(mm)}`;
  if (hh > 0) return `${hh}h${pad2(mm)}m${pad2(ss)}`;
  return `${mm}m${pad2(ss)}s${pad2(hundredths)}`;
}

/** clock ticks to milliseconds (ticks * 1000 / hz, truncated) */
export function ticksToMs(ticks: number, clockTicks: number): number {
  return Math.floor((ticks * 1000) / (clockTicks > 0 ? clockTicks : 100));
}

/**
 * Makes a string safe for a terminal line: control characters (C0, DEL,
 * C1, bidi controls) and backslash become C-style escapes (`\n`, `\t`,
 * `\\`, `\xNN` per UTF-8 byte), as libvctx escapes process names.
 * Printable text, including non-ASCII letters, is kept.
 */
export function escapeForTerminal(s: string): string {
  return escapeText(s, 'text');
}

/**
 * Cuts a string to at most `max` terminal columns' worth of code points
 * (whole code points, never half a surrogate pair).
 */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const cps = [...s];
  return cps.length <= max ? s : cps.slice(0, max).join('');
}
