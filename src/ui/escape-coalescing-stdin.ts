/**
 * A stdin for Ink that hands over one key at a time and never splits an
 * escape sequence.
 *
 * Ink 6 passes a run of plain characters that arrived in one read to
 * useInput as one "paste"; a sysadmin typing fast over SSH (or a slow link
 * delivering "jjk" together) would lose those keys.  This wrapper splits
 * every read into keys: each character alone, each complete escape
 * sequence (CSI, SS3, Alt+key, Esc Esc+sequence) as one unit.  Only a
 * bracketed paste (`ESC[200~ … ESC[201~`) stays one piece: its text,
 * without control characters, is handed over as one input (which vtop
 * ignores except in the filter prompt).
 *
 * Ink also reassembles a key sequence only when all its bytes arrive before
 * the next turn of the event loop; over a slow SSH link an arrow key's
 * `ESC [ A` often arrives as `ESC` then, milliseconds later, `[A` — which
 * Ink reads as Esc followed by the text "[A".  This wrapper holds back an
 * incomplete trailing sequence for up to `delayMs` (ncurses' ESCDELAY
 * idea) and hands Ink whole sequences; a lone Esc is delivered when the
 * delay passes.  It implements the part of a tty.ReadStream Ink uses.
 */
import { EventEmitter } from 'node:events';

const ESC = '\x1b';
const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';
/** a bracketed paste longer than this is dropped (its text is kept only up to here) */
const MAX_PASTE = 64 * 1024;

/** end index of the CSI (`ESC [ …`) or SS3 (`ESC O x`) sequence whose introducer is at `at`; -1 incomplete; 0 not one */
function controlEnd(s: string, at: number): number {
  const kind = s[at];
  if (kind === undefined) return -1;
  if (kind === 'O') return at + 1 < s.length ? at + 2 : -1;
  if (kind !== '[') return 0;
  for (let j = at + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (j === at + 1 && c === 0x5b) continue; // ESC [ [ A: the Linux console's function keys
    if (c >= 0x20 && c <= 0x3f) continue; // parameters and intermediates
    return c >= 0x40 && c <= 0x7e ? j + 1 : j; // final byte; garbage ends the sequence before it
  }
  return -1;
}

/** what splitKeys found: the keys, and an incomplete tail to wait for */
export interface SplitInput {
  /** one entry per key (a bracketed paste's text is one entry) */
  keys: string[];
  /** an incomplete escape sequence or bracketed paste at the end ('' when none) */
  rest: string;
  /** rest is an unfinished bracketed paste */
  inPaste: boolean;
}

/**
 * Splits terminal input into keys: characters one by one (whole code
 * points), escape sequences as units, a bracketed paste as its text.
 */
export function splitKeys(s: string): SplitInput {
  const keys: string[] = [];
  let i = 0;
  const incomplete = (inPaste = false): SplitInput => ({ keys, rest: s.slice(i), inPaste });
  while (i < s.length) {
    if (s[i] !== ESC) {
      const cp = s.codePointAt(i)!;
      const n = cp > 0xffff ? 2 : 1;
      keys.push(s.slice(i, i + n));
      i += n;
      continue;
    }
    if (s.startsWith(PASTE_START, i)) {
      const end = s.indexOf(PASTE_END, i + PASTE_START.length);
      if (end < 0) return incomplete(true);
      const text = s.slice(i + PASTE_START.length, end).replace(/[\x00-\x1f\x7f-\x9f]/g, '');
      if (text) keys.push(text.slice(0, MAX_PASTE));
      i = end + PASTE_END.length;
      continue;
    }
    if (i + 1 >= s.length) return incomplete();
    let at = i + 1;
    if (s[at] === ESC) {
      // Esc Esc [ A (Alt+arrow in some terminals), or two Esc presses
      if (at + 1 >= s.length) return incomplete();
      at++;
    }
    const end = controlEnd(s, at);
    if (end < 0) return incomplete();
    if (end > 0) {
      keys.push(s.slice(i, end));
      i = end;
      continue;
    }
    if (at > i + 1) {
      keys.push(s.slice(i, at)); // Esc Esc
      i = at;
      continue;
    }
    // Alt+key: Esc and one code point
    const n = s.codePointAt(at)! > 0xffff ? 2 : 1;
    keys.push(s.slice(i, at + n));
    i = at + n;
  }
  return { keys, rest: '', inPaste: false };
}

/** index where an incomplete escape sequence (or bracketed paste) at the end of `s` starts, or -1 */
export function incompleteTail(s: string): number {
  const { rest } = splitKeys(s);
  return rest ? s.length - rest.length : -1;
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
    const { keys, inPaste, rest: tail } = splitKeys(this.held + chunk);
    let rest = tail;
    if (inPaste && rest.length > MAX_PASTE + PASTE_START.length) {
      // a runaway paste: keep its start and the bytes that may begin its end marker
      rest = rest.slice(0, MAX_PASTE + PASTE_START.length) + rest.slice(-(PASTE_END.length - 1));
    }
    this.held = rest;
    if (keys.length) this.deliver(keys);
    if (this.held) {
      // an unfinished paste waits longer than a split escape sequence, then is dropped
      this.timer = setTimeout(() => {
        this.timer = undefined;
        const h = this.held;
        this.held = '';
        if (h && !inPaste) this.deliver([h]);
      }, inPaste ? Math.max(this.delayMs, 2000) : this.delayMs);
      this.timer.unref?.();
    }
  }

  private deliver(keys: string[]): void {
    this.queue.push(...keys);
    this.emit('readable');
  }

  read(): string | null {
    return this.queue.shift() ?? null;
  }

  /**
   * Raw mode on: the terminal is read (again).  Off: it is no longer read
   * at all (paused), so a program that takes the terminal over (`enter`)
   * gets every key.  A paused stream stays paused when a listener is added,
   * so the next mount on the same terminal resumes it explicitly; else vtop
   * would draw after `enter` but never read a key.
   */
  setRawMode(mode: boolean): this {
    this.inner.setRawMode?.(mode);
    if (mode && !this.attached) {
      this.inner.on('data', this.onData);
      this.attached = true;
      if ('resume' in this.inner && typeof this.inner.resume === 'function') (this.inner as NodeJS.ReadStream).resume();
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
