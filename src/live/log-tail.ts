/**
 * The tail of a server's console log for vtop's logs pane: reads what was
 * added to the file since the last poll (from its last 256 KiB when it is
 * first opened), keeps the last lines, and starts over when the file is
 * replaced or cut short (a new boot, a log that was capped).  Which file is
 * asked of the caller each poll (vtop passes src/actions/log.ts's
 * consoleLog), so the pane follows the server to its next boot.  The lines
 * are raw: the view escapes them.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { LogView } from '../views/vtop-model.js';

/** lines kept */
export const LOG_LINES = 2000;
/** bytes read from a file first opened: its end */
export const LOG_FIRST_BYTES = 256 * 1024;
/** bytes read per poll at most (a log growing faster is read over several) */
const LOG_READ_MAX = 1024 * 1024;

export class LogTail {
  private file: string | null = null;
  private ino = -1;
  private offset = 0;
  private lines: string[] = [];
  private partial = '';
  private dropped = 0;
  private error: string | null = null;
  private decoder = new TextDecoder('utf-8');

  /** @param locate the log file of the server now, or null when it has none; may throw (unknown server) */
  constructor(readonly name: string, private readonly locate: () => string | null, private readonly maxLines = LOG_LINES) {}

  private reset(file: string | null): void {
    this.file = file;
    this.ino = -1;
    this.offset = 0;
    this.lines = [];
    this.partial = '';
    this.decoder = new TextDecoder('utf-8');
  }

  /** reads what is new; true when the view changed */
  poll(): boolean {
    let file: string | null;
    try {
      file = this.locate();
    } catch (e) {
      const was = this.error;
      this.error = e instanceof Error ? e.message : String(e);
      return was !== this.error;
    }
    if (file !== this.file) this.reset(file);
    if (file === null) {
      const was = this.error;
      this.error = null;
      return was !== null;
    }
    let fd: number;
    try {
      fd = openSync(file, 'r');
    } catch (e) {
      const was = this.error;
      this.error = `${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`;
      return was !== this.error;
    }
    let changed = this.error !== null;
    this.error = null;
    try {
      const st = fstatSync(fd);
      if (st.ino !== this.ino || st.size < this.offset) {
        // a new file, or this one cut short: from its end
        if (this.ino !== -1) changed = true;
        this.reset(file);
        this.ino = st.ino;
        this.offset = Math.max(0, st.size - LOG_FIRST_BYTES);
      }
      const want = Math.min(st.size - this.offset, LOG_READ_MAX);
      if (want > 0) {
        const buf = Buffer.allocUnsafe(want);
        const got = readSync(fd, buf, 0, want, this.offset);
        if (got > 0) {
          const first = this.offset > 0 && this.lines.length === 0 && this.partial === '';
          this.offset += got;
          this.add(this.decoder.decode(buf.subarray(0, got), { stream: true }), first);
          changed = true;
        }
      }
    } finally {
      closeSync(fd);
    }
    return changed;
  }

  private add(text: string, skipFirst: boolean): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop()!;
    // read from the middle of the file: its first line is a piece
    if (skipFirst) parts.shift();
    for (const p of parts) this.lines.push(p.endsWith('\r') ? p.slice(0, -1) : p);
    const over = this.lines.length - this.maxLines;
    if (over > 0) {
      this.lines.splice(0, over);
      this.dropped += over;
    }
  }

  /** what the pane shows: the lines, and the line being written (no newline yet) last */
  view(): LogView {
    const lines = this.partial ? [...this.lines, this.partial] : this.lines.slice();
    return { name: this.name, path: this.file, lines, dropped: this.dropped, error: this.error };
  }
}
