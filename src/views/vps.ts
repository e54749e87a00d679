/**
 * vps: `ps` output with a CONTEXT column inserted after the PID column.
 * Pure: ps's text and a PID -> XID map in, text out.
 *
 * Its widths and words come from kernel/tables/vctx-tables.json ("render"),
 * which kernel/tools/vps.c (vps's C path) prints from too.
 *
 * The header gets `CONTEXT` padded to 20 characters right after `PID `;
 * each row gets, at the same place, the XID right-aligned in 5 characters,
 * a space and the name, that whole field padded to 20 characters (or
 * followed by one space when longer).  A PID the map does not know (the
 * process ended before the snapshot) shows `ERR` in the XID place, as
 * util-vserver's vps did.
 */
import { escapeForTerminal } from './format.js';
import { rawContextName, type ContextNames } from './names.js';
import { isDigits } from '../config/digits.js';
import { VPS_RENDER } from '../generated/tables.js';

// from kernel/tables/vctx-tables.json ("render"), as kernel/tools/vps.c prints
export const CONTEXT_WIDTH: number = VPS_RENDER.contextWidth;
const XID_WIDTH: number = VPS_RENDER.xidWidth;
const NO_PID_COLUMN: string = VPS_RENDER.noPidColumn;

/** where the PID column of a ps header is: the index just after `PID ` */
export function findPidColumn(header: string): { end: number; token: number } | null {
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  let token = 0;
  while ((m = re.exec(header)) !== null) {
    if (m[0] === 'PID') return { end: m.index + 4, token };
    token++;
  }
  return null;
}

/** the CONTEXT field of one row (XID in 5, space, name; padded to 20 or followed by a space) */
export function contextField(xid: number | null, name: string): string {
  const field = (xid === null ? VPS_RENDER.unknownXid : String(xid)).padStart(XID_WIDTH) + ' ' + name;
  return field.length < CONTEXT_WIDTH ? field.padEnd(CONTEXT_WIDTH) : field + ' ';
}

/** one parsed row: the PID it names and where the CONTEXT field goes
 * (may lie past the end of a row whose PID is its last column) */
interface RowSplit {
  pid: number;
  at: number;
}

function splitRow(line: string, pidEnd: number, token: number): RowSplit | null {
  // The PID is right-aligned under the header's `PID`: its last digit sits
  // just before column pidEnd-1.  A wider PID may push further right.
  let last = pidEnd - 2;
  if (last >= 0 && last < line.length && isDigit(line, last)) {
    while (last + 1 < line.length && isDigit(line, last + 1)) last++;
    let first = last;
    while (first > 0 && isDigit(line, first - 1)) first--;
    return { pid: Number(line.slice(first, last + 1)), at: Math.max(pidEnd, last + 2) };
  }
  // Misaligned row: fall back to the PID header's token index.
  const re = /\S+/g;
  let m: RegExpExecArray | null;
  let i = 0;
  while ((m = re.exec(line)) !== null) {
    if (i === token) {
      if (!isDigits(m[0])) return null;
      const end = m.index + m[0].length;
      return { pid: Number(m[0]), at: end + 1 };
    }
    i++;
  }
  return null;
}

function isDigit(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
}

export class PsParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PsParseError';
  }
}

/**
 * Inserts the CONTEXT column into ps's output.
 * @param psOutput everything ps wrote on stdout
 * @param xidOf XID of a host PID, or undefined when unknown
 * @throws PsParseError when the output has no PID column
 */
export function insertContextColumn(
  psOutput: string,
  xidOf: (pid: number) => number | undefined,
  names: ContextNames,
): string {
  if (psOutput === '') return '';
  const lines = psOutput.split('\n');
  const trailingNewline = lines[lines.length - 1] === '';
  if (trailingNewline) lines.pop();

  const header = lines[0]!;
  const col = findPidColumn(header);
  if (!col) throw new PsParseError(NO_PID_COLUMN);
  const { end: pidEnd, token } = col;

  const out: string[] = [];
  out.push(header.slice(0, pidEnd).padEnd(pidEnd) + VPS_RENDER.contextHeader.padEnd(CONTEXT_WIDTH) + header.slice(pidEnd));

  const nameCache = new Map<number, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const split = splitRow(line, pidEnd, token);
    if (!split) {
      out.push(line);
      continue;
    }
    const xid = xidOf(split.pid);
    let name = '';
    if (xid !== undefined) {
      let n = nameCache.get(xid);
      if (n === undefined) nameCache.set(xid, (n = escapeForTerminal(rawContextName(xid, names, 'vps'))));
      name = n;
    }
    out.push(line.slice(0, split.at).padEnd(split.at) + contextField(xid ?? null, name) + line.slice(split.at));
  }
  return out.join('\n') + (trailingNewline ? '\n' : '');
}

/** one process in `vps --json` */
export interface VpsRowJson {
  pid: number;
  xid: number | null;
  context: string;
  /** ps's own line for the process, unchanged */
  ps: string;
}

/** the `vps --json` document: ps's header and one entry per row */
export interface VpsJson {
  header: string;
  processes: VpsRowJson[];
}

/** ps's output as the `--json` document */
export function vpsJson(psOutput: string, xidOf: (pid: number) => number | undefined, names: ContextNames): VpsJson {
  const lines = psOutput.split('\n').filter((l) => l !== '');
  const header = lines[0] ?? '';
  const col = findPidColumn(header);
  if (!col) throw new PsParseError(NO_PID_COLUMN);
  const processes: VpsRowJson[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const split = splitRow(line, col.end, col.token);
    if (!split) continue;
    const xid = xidOf(split.pid);
    processes.push({
      pid: split.pid,
      xid: xid ?? null,
      context: xid === undefined ? '' : rawContextName(xid, names, 'vps'),
      ps: line,
    });
  }
  return { header, processes };
}
