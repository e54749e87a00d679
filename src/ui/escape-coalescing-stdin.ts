/**
 * A stdin for Ink that never splits an escape sequence.
 *
 * Ink 6 reassembles a key sequence only when all its bytes arrive before
 * the next turn of the event loop; over a slow SSH link an arrow key's
 * `ESC [ A` often arrives as `ESC` then, milliseconds later, `[A` — which
 * Ink reads as Esc followed by the text "[A".  This wrapper holds back an
 * incomplete trailing sequence for up to `delayMs` (ncurses' ESCDELAY
 * idea) and hands Ink whole sequences; a lone Esc is delivered when the
 * delay passes.  It implements the part of a tty.ReadStream Ink uses.
 */
import { EventEmitter } from 'node:events';

const ESC = '\x1b';

/** index where an incomplete escape sequence at the end of `s` starts, or -1 */
export function incompleteTail(s: string): number {
  const i = s.lastIndexOf(ESC);
  if (i < 0) return -1;
  const start = i > 0 && s[i - 1] === ESC ? i - 1 : i;
  const rest = s.slice(i + 1);
  if (rest === '') return start;
  if (rest[0] === '[') {
    // CSI: parameters/intermediates 0x20-0x3f, final 0x40-0x7e (ESC [ [ A is a legacy form)
    for (let j = 1; j < rest.length; j++) {
      const c = rest.charCodeAt(j);
      if (j === 1 && rest[j] === '[') continue;
      if (c >= 0x20 && c <= 0x3f) continue;
      return -1; // final byte (or garbage): complete as far as we care
    }
    return start;
  }
  if (rest[0] === 'O') return rest.length < 2 ? start : -1;
  return -1;
}

/** the bits of a tty.ReadStream this wrapper needs */
export interface RawInput extends NodeJS.EventEmitter {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  ref(): unknown;
  unref(): unknown;
}

export class EscapeCoalescingStdin extends EventEmitter {
  readonly isTTY: boolean;
  private queue: string[] = [];
  private held = '';
  private timer: NodeJS.Timeout | undefined;
  private attached = false;
  private readonly onData = (chunk: Buffer | string) => this.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));

  /**
   * @param inner the real stdin (a TTY)
   * @param delayMs how long an incomplete sequence may wait for its rest
   *   @default ESCDELAY from the environment, else 100
   */
  constructor(private readonly inner: RawInput, private readonly delayMs = defaultDelay()) {
    super();
    this.isTTY = !!inner.isTTY;
  }

  /** feeds bytes as if they came from the terminal (used by the data listener and by tests) */
  push(chunk: string): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const s = this.held + chunk;
    const cut = incompleteTail(s);
    const ready = cut < 0 ? s : s.slice(0, cut);
    this.held = cut < 0 ? '' : s.slice(cut);
    if (ready) this.deliver(ready);
    if (this.held) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        const h = this.held;
        this.held = '';
        if (h) this.deliver(h);
      }, this.delayMs);
      this.timer.unref?.();
    }
  }

  private deliver(s: string): void {
    this.queue.push(s);
    this.emit('readable');
  }

  read(): string | null {
    return this.queue.shift() ?? null;
  }

  setRawMode(mode: boolean): this {
    this.inner.setRawMode?.(mode);
    if (mode && !this.attached) {
      this.inner.on('data', this.onData);
      this.attached = true;
    } else if (!mode && this.attached) {
      this.inner.off('data', this.onData);
      this.attached = false;
      if ('pause' in this.inner && typeof this.inner.pause === 'function') (this.inner as NodeJS.ReadStream).pause();
    }
    return this;
  }

  setEncoding(): this {
    return this;
  }

  ref(): this {
    this.inner.ref();
    return this;
  }

  unref(): this {
    this.inner.unref();
    return this;
  }
}

function defaultDelay(): number {
  const v = Number(process.env['ESCDELAY']);
  return Number.isFinite(v) && v >= 0 && v <= 2000 ? v : 100;
}
