/**
 * The capability table of vctx: every Linux capability this tool knows
 * (numbers 0..40, as in <linux/capability.h>), and the three sets of
 * CONTRACT.md "Capabilities of a server":
 *
 *  - default: kept by every server (and by `chcontext --secure`);
 *  - addable: may be added with `S_CAPS` / `--cap`;
 *  - refused: never given to a server, each with the reason and what to
 *    do instead.  A capability newer than this table is refused as unknown.
 *
 * Pure data and pure functions: the config parser, the CLI (`--cap`,
 * `reducecap --show`) and the dashboard all import it.
 *
 * The rows themselves are kernel/tables/vctx-tables.json, which libvctx
 * (caps.c, `chcontext --cap`, `reducecap`) reads too: scripts/gen-tables.mjs
 * makes src/generated/tables.ts from it at build time.  Generated rather
 * than read from the addon, because this module is pure and runs where the
 * addon may be absent (unit tests without root, vtop's bundle).
 */

import { CAP_ROWS, type CapSetName } from '../generated/tables.js';

/** Which of the three sets a capability belongs to. */
export type CapSet = CapSetName;

export interface CapInfo {
  /** capability number (bit in the capability masks) */
  readonly number: number;
  /** short name without prefix, upper case: 'NET_RAW' */
  readonly name: string;
  /** full name: 'CAP_NET_RAW' */
  readonly capName: string;
  readonly set: CapSet;
  /** what the capability allows, one short phrase */
  readonly description: string;
  /** for refused capabilities: why, and what to do instead */
  readonly refusal?: string;
}

/** Every capability this tool knows, indexed by number (0..CAP_LAST). */
export const CAPABILITIES: readonly CapInfo[] = CAP_ROWS.map(([number, name, set, description, refusal]) => ({
  number,
  name,
  capName: `CAP_${name}`,
  set,
  description,
  ...(refusal !== undefined ? { refusal } : {}),
}));

/** The highest capability number this tool knows (the last row of the table). */
export const CAP_LAST = CAPABILITIES.length - 1;

const BY_NAME = new Map(CAPABILITIES.map((c) => [c.name, c]));

function namesOf(set: CapSet): readonly string[] {
  return CAPABILITIES.filter((c) => c.set === set).map((c) => c.name);
}

/** Kept by every server (short names, by number). */
export const SERVER_DEFAULT_CAPS = namesOf('default');
/** May be added with S_CAPS / --cap (short names, by number). */
export const ADDABLE_CAPS = namesOf('addable');
/** Never given to a server (short names, by number); see capRefusal(). */
export const REFUSED_CAPS = namesOf('refused');

/** 'CAP_NET_RAW', 'cap_net_raw', 'net_raw' -> 'NET_RAW' (not checked). */
export function normalizeCapName(name: string): string {
  const up = name.trim().toUpperCase();
  return up.startsWith('CAP_') ? up.slice(4) : up;
}

/** Look a capability up by name (`CAP_X` or `X`, any case) or undefined. */
export function capByName(name: string): CapInfo | undefined {
  return BY_NAME.get(normalizeCapName(name));
}

/** Why a capability is refused, or undefined when it is not refused (or unknown). */
export function capRefusal(name: string): string | undefined {
  return capByName(name)?.refusal;
}

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * The known name closest to @name, for "did you mean" messages: the
 * smallest edit distance, ties broken by a shared prefix, then by number.
 */
export function closestName(name: string, candidates: readonly string[]): string {
  let best = candidates[0] ?? '';
  let bestScore = Infinity;
  for (const c of candidates) {
    let d = editDistance(name, c);
    if (c.startsWith(name) || name.startsWith(c)) d -= 0.5;
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return best;
}

/** The known capability name closest to an unknown one ('NET_RAWW' -> 'CAP_NET_RAW'). */
export function closestCapName(name: string): string {
  return `CAP_${closestName(normalizeCapName(name), CAPABILITIES.map((c) => c.name))}`;
}

/** A bounding-set mask of the given capability names (unknown names ignored). */
export function capMask(names: Iterable<string>): bigint {
  let mask = 0n;
  for (const n of names) {
    const c = capByName(n);
    if (c) mask |= 1n << BigInt(c.number);
  }
  return mask;
}

/** Short names of the capabilities set in @mask, by number (bits beyond CAP_LAST ignored). */
export function capNamesFromMask(mask: bigint): string[] {
  return CAPABILITIES.filter((c) => (mask >> BigInt(c.number)) & 1n).map((c) => c.name);
}

/** A mask as the 0x-hex string the kernel bridge uses ('0x00000000a80425fb'). */
export function capMaskHex(mask: bigint): string {
  return `0x${mask.toString(16).padStart(16, '0')}`;
}

/** One problem with a capability request, ready to become a config error. */
export interface CapProblem {
  /** the token as written ('CAP_NET_RAW', '!foo') */
  token: string;
  message: string;
}

/** The capabilities a server ends up with, from the default set and its requests. */
export interface CapRequestResult {
  /** final bounding set, short names by number */
  bounding: string[];
  /** capabilities added beyond the default set */
  added: string[];
  /** default capabilities dropped with '!' */
  dropped: string[];
  problems: CapProblem[];
}

/**
 * Apply capability requests (`CAP_X`/`X` adds, `!CAP_X` drops; any case)
 * to the server default set.  Adding a refused or unknown capability, or
 * adding and dropping the same one, is a problem; the problems are
 * collected, one per bad token.  Adding a default one, or dropping one
 * not held, changes nothing and is accepted.
 */
export function resolveCapRequests(tokens: readonly string[]): CapRequestResult {
  const set = new Set(SERVER_DEFAULT_CAPS);
  const problems: CapProblem[] = [];
  const adds = new Map<string, string>();
  const drops = new Map<string, string>();
  for (const token of tokens) {
    const drop = token.startsWith('!');
    const bare = drop ? token.slice(1) : token;
    const cap = capByName(bare);
    if (!cap) {
      problems.push({
        token,
        message: bare.trim() === ''
          ? `'!' must be followed by a capability name, e.g. !CAP_CHOWN`
          : `unknown capability '${bare}' (did you mean ${closestCapName(bare)}?); ` +
            `this tool knows CAP_CHOWN (0) to CAP_${CAPABILITIES[CAP_LAST]!.name} (${CAP_LAST}), newer ones are refused`,
      });
      continue;
    }
    if (drop) {
      drops.set(cap.name, token);
      continue;
    }
    if (cap.set === 'refused') {
      problems.push({ token, message: `${cap.capName} is refused to servers: ${cap.refusal}` });
      continue;
    }
    adds.set(cap.name, token);
  }
  for (const [name, token] of adds) {
    if (drops.has(name)) {
      problems.push({ token, message: `CAP_${name} is both added and dropped ('${drops.get(name)}'); keep one` });
    }
  }
  const added: string[] = [];
  const dropped: string[] = [];
  for (const name of adds.keys()) {
    if (!set.has(name)) added.push(name);
    set.add(name);
  }
  for (const name of drops.keys()) {
    if (set.has(name) && !adds.has(name)) dropped.push(name);
    if (!adds.has(name)) set.delete(name);
  }
  const byNumber = (a: string, b: string) => capByName(a)!.number - capByName(b)!.number;
  return {
    bounding: [...set].sort(byNumber),
    added: added.sort(byNumber),
    dropped: dropped.sort(byNumber),
    problems,
  };
}
