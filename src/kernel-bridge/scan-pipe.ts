/**
 * A snapshot taken by a command's C front while Node started
 * (kernel/tools/vserver-stat.c, vps.c), read from the pipe it left open:
 * the Snapshot the addon's snapshot({ lite: true }) gives, as JSON
 * (libvctx's vctx_scan_json writes the same keys in the same order),
 * without loading the addon.  One JSON.parse: at start-up, before V8 has compiled anything,
 * decoding a binary form field by field in JavaScript cost more (~2 ms for
 * 100 processes) than the addon it spares.
 *
 * A failed scan is {"error": MESSAGE, "errno": N, "code": NAME, "kind": KIND}: libvctx's
 * error, as the addon would have thrown it.
 */
import { closeSync, readFileSync } from 'node:fs';
import { KernelError } from './errors.js';
import type { Snapshot } from './types.js';

/**
 * The snapshot on @fd (read to its end, then closed).
 * @throws KernelError the scan's own failure; Error a malformed stream
 */
export function readScanPipe(fd: number): Snapshot {
  let text: string;
  try {
    text = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  return parseScan(text);
}

/**
 * The snapshot in @text, as a front wrote it (libvctx's vctx_scan_json).
 * @throws KernelError the scan's own failure; Error what is not a snapshot
 */
export function parseScan(text: string): Snapshot {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`the snapshot from the front is not JSON (${e instanceof Error ? e.message : String(e)}; ${text.length} bytes)`);
  }
  if (typeof v !== 'object' || v === null) throw new Error('the snapshot from the front is not an object');
  const o = v as Record<string, unknown>;
  if (typeof o.error === 'string') throw new KernelError(o.error, Number(o.errno) || 0, typeof o.code === 'string' ? o.code : '', o.kind);
  if (!Array.isArray(o.processes) || !Array.isArray(o.contexts)) {
    throw new Error('the snapshot from the front has no processes or contexts');
  }
  return o as unknown as Snapshot;
}
