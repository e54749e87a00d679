/**
 * The ULIMIT key: the arguments of the shell's `ulimit` builtin (bash),
 * parsed, not run.  `-H` sets hard limits, `-S` soft ones, both or neither
 * set both; they apply to every option of the line, wherever they stand.
 * Each option may be followed by its value (`-u 1000`, `-u1000`), letters
 * may be grouped (`-HSu 1000`), and a value without an option is `-f`, as
 * in bash.  Values are integers or `unlimited`, in bash's units: KiB for
 * -c -d -f -l -m -s -v, seconds for -t, plain counts otherwise; the result
 * is in the kernel's units (bytes for sizes).
 */
import { isDigits } from './digits.js';

/** The resource limits ULIMIT can set (names as in setrlimit(2)). */
export type RlimitName =
  | 'RLIMIT_CORE' | 'RLIMIT_DATA' | 'RLIMIT_NICE' | 'RLIMIT_FSIZE' | 'RLIMIT_SIGPENDING'
  | 'RLIMIT_MEMLOCK' | 'RLIMIT_RSS' | 'RLIMIT_NOFILE' | 'RLIMIT_MSGQUEUE' | 'RLIMIT_RTPRIO'
  | 'RLIMIT_STACK' | 'RLIMIT_CPU' | 'RLIMIT_NPROC' | 'RLIMIT_AS' | 'RLIMIT_LOCKS';

export interface UlimitOption {
  letter: string;
  resource: RlimitName;
  /** RLIMIT_* number on Linux (asm-generic/resource.h) */
  number: number;
  /** bytes per unit of the ulimit value */
  factor: number;
  /** what the limit is, for messages and the template */
  description: string;
}

/* bash's limits table (builtins/ulimit.def), restricted to Linux rlimits. */
export const ULIMIT_OPTIONS: readonly UlimitOption[] = [
  { letter: 'c', resource: 'RLIMIT_CORE', number: 4, factor: 1024, description: 'core file size (KiB)' },
  { letter: 'd', resource: 'RLIMIT_DATA', number: 2, factor: 1024, description: 'data segment size (KiB)' },
  { letter: 'e', resource: 'RLIMIT_NICE', number: 13, factor: 1, description: 'scheduling priority ceiling (20 - nice)' },
  { letter: 'f', resource: 'RLIMIT_FSIZE', number: 1, factor: 1024, description: 'size of files written (KiB)' },
  { letter: 'i', resource: 'RLIMIT_SIGPENDING', number: 11, factor: 1, description: 'pending signals' },
  { letter: 'l', resource: 'RLIMIT_MEMLOCK', number: 8, factor: 1024, description: 'locked memory (KiB)' },
  { letter: 'm', resource: 'RLIMIT_RSS', number: 5, factor: 1024, description: 'resident set size (KiB; not enforced by Linux)' },
  { letter: 'n', resource: 'RLIMIT_NOFILE', number: 7, factor: 1, description: 'open files' },
  { letter: 'q', resource: 'RLIMIT_MSGQUEUE', number: 12, factor: 1, description: 'POSIX message queue bytes' },
  { letter: 'r', resource: 'RLIMIT_RTPRIO', number: 14, factor: 1, description: 'real-time priority' },
  { letter: 's', resource: 'RLIMIT_STACK', number: 3, factor: 1024, description: 'stack size (KiB)' },
  { letter: 't', resource: 'RLIMIT_CPU', number: 0, factor: 1, description: 'CPU time (seconds)' },
  { letter: 'u', resource: 'RLIMIT_NPROC', number: 6, factor: 1, description: 'processes per user' },
  { letter: 'v', resource: 'RLIMIT_AS', number: 9, factor: 1024, description: 'virtual memory (KiB)' },
  { letter: 'x', resource: 'RLIMIT_LOCKS', number: 10, factor: 1, description: 'file locks' },
];

const BY_LETTER = new Map(ULIMIT_OPTIONS.map((o) => [o.letter, o]));
const LETTERS = ULIMIT_OPTIONS.map((o) => `-${o.letter}`).join(' ');

/** A limit value in the kernel's units, or no limit. */
export type RlimitValue = number | 'unlimited';

/**
 * One resource limit to set.  `soft`/`hard` are null when that half is
 * not set (the inherited value stays; when only the hard limit is set and
 * the inherited soft limit is above it, the soft limit must come down to
 * it, as setrlimit(2) refuses soft > hard).
 */
export interface Rlimit {
  letter: string;
  resource: RlimitName;
  number: number;
  soft: RlimitValue | null;
  hard: RlimitValue | null;
}

export type UlimitResult = { ok: true; limits: Rlimit[] } | { ok: false; errors: string[] };

/** Allowed-values text for messages. */
export const ULIMIT_ALLOWED =
  `[-H|-S|-HS] OPTION VALUE ..., OPTION one of ${LETTERS}, VALUE an integer or 'unlimited' (e.g. "-H -u 1000")`;

function parseValue(opt: UlimitOption, text: string): RlimitValue | string {
  if (text === 'unlimited') return 'unlimited';
  if (!isDigits(text)) return `-${opt.letter} needs an integer or 'unlimited', not '${text}'`;
  const n = Number(text) * opt.factor;
  if (!Number.isSafeInteger(n)) return `-${opt.letter} ${text} is too large (use 'unlimited')`;
  return n;
}

/** Parse the arguments of `ulimit` (already unquoted from the config: one string, blank-separated). */
export function parseUlimit(args: string): UlimitResult {
  const words = args.split(/[ \t]+/).filter((w) => w !== '');
  const errors: string[] = [];
  let hard = false;
  let soft = false;
  // in order, so a repeated option keeps its last value, as bash does
  const sets: Array<{ opt: UlimitOption; value: RlimitValue }> = [];
  let pending: UlimitOption | null = null;
  const take = (opt: UlimitOption, text: string) => {
    const v = parseValue(opt, text);
    if (typeof v === 'string' && v !== 'unlimited') errors.push(v);
    else sets.push({ opt, value: v });
  };
  for (const w of words) {
    if (pending) {
      if (!w.startsWith('-')) {
        take(pending, w);
        pending = null;
        continue;
      }
      errors.push(`-${pending.letter} needs a value (setting a limit, not showing it)`);
      pending = null;
    }
    if (w.startsWith('-') && w.length > 1) {
      for (let i = 1; i < w.length; i++) {
        const c = w[i]!;
        if (c === 'H') { hard = true; continue; }
        if (c === 'S') { soft = true; continue; }
        const opt = BY_LETTER.get(c);
        if (!opt) {
          errors.push(c === 'a'
            ? `-a shows limits and sets none; use ${LETTERS}`
            : `unknown option -${c}`);
          break;
        }
        const inline = w.slice(i + 1);
        if (inline !== '' && /^[0-9]|^unlimited$/.test(inline)) {
          take(opt, inline);
        } else if (inline === '') {
          pending = opt;
        } else {
          // more letters follow: this option gets no value
          errors.push(`-${c} needs a value (setting a limit, not showing it)`);
          continue;
        }
        break;
      }
      continue;
    }
    // a value with no option is -f, as in bash
    take(BY_LETTER.get('f')!, w);
  }
  if (pending) errors.push(`-${pending.letter} needs a value (setting a limit, not showing it)`);
  if (errors.length) return { ok: false, errors };
  const both = hard === soft;
  const byResource = new Map<RlimitName, Rlimit>();
  for (const { opt, value } of sets) {
    byResource.set(opt.resource, {
      letter: opt.letter,
      resource: opt.resource,
      number: opt.number,
      soft: both || soft ? value : null,
      hard: both || hard ? value : null,
    });
  }
  return { ok: true, limits: [...byResource.values()] };
}

/** Format limits back as ulimit arguments (for the template and messages). */
export function formatUlimit(limits: readonly Rlimit[]): string {
  return limits.map((l) => {
    const opt = BY_LETTER.get(l.letter)!;
    const mode = l.soft !== null && l.hard !== null ? '-HS' : l.hard !== null ? '-H' : '-S';
    const v = (l.hard ?? l.soft)!;
    return `${mode} -${l.letter} ${v === 'unlimited' ? 'unlimited' : v / opt.factor}`;
  }).join(' ');
}
