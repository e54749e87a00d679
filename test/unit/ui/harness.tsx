/**
 * Test harness for vtop: a fake terminal (settable size, resize events),
 * a fake stdin, and a feed replaying test/fixtures/vtop/demo.json.
 */
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { render } from 'ink';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import type { Snapshot, SnapshotSource } from '../../../src/kernel-bridge/types.js';
import { RecordingActions } from '../../../src/actions/vtop-port.js';
import { VtopApp, type VtopAppProps } from '../../../src/ui/app.js';
import { staticDiskUse } from '../../../src/live/disk-use-cache.js';
import { EscapeCoalescingStdin } from '../../../src/ui/escape-coalescing-stdin.js';
import { staticHostProbe } from '../../../src/live/host-probe.js';
import { buildKeymap, type KeyOverrides } from '../../../src/ui/keys.js';
import { type ColorMode, makeTheme, ThemeContext } from '../../../src/ui/theme.js';
import { stepInterval, VtopFeed } from '../../../src/live/vtop-feed.js';

export const DEMO = fileURLToPath(new URL('../../fixtures/vtop/demo.json', import.meta.url));

export class FakeStdout extends EventEmitter {
  frames: string[] = [];
  isTTY = true;
  constructor(public columns: number, public rows: number) {
    super();
  }
  write = (s: string) => {
    this.frames.push(s);
    return true;
  };
  lastFrame = () => this.frames[this.frames.length - 1] ?? '';
  resize(columns: number, rows: number) {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

export class FakeStdin extends EventEmitter {
  isTTY = true;
  private data: string | null = null;
  write = (s: string) => {
    this.data = s;
    this.emit('readable');
  };
  read = () => {
    const d = this.data;
    this.data = null;
    return d;
  };
  setEncoding() {}
  setRawMode() {}
  resume() {}
  pause() {}
  ref() {}
  unref() {}
}

/** a raw terminal as vtop's CLI sees it: bytes arrive as 'data' events, one read each */
export class FakeTty extends EventEmitter {
  isTTY = true;
  setRawMode() {}
  ref() {}
  unref() {}
  pause() {}
}

export const tick = (ms = 15) => new Promise((r) => setTimeout(r, ms));

/** a feed over the demo recording (or any source), refreshed `refreshes` times */
export async function demoFeed(refreshes = 2, source?: SnapshotSource): Promise<VtopFeed> {
  const fx = new FixtureSnapshotSource(DEMO);
  const x = fx.extras;
  const feed = new VtopFeed({
    source: source ?? fx, host: staticHostProbe(x.host), configured: () => x.configured ?? [],
    diskUse: staticDiskUse(x.diskUse ?? {}), users: new Map(Object.entries(x.users ?? {}).map(([k, v]) => [Number(k), v])),
  });
  for (let i = 0; i < refreshes; i++) await feed.refresh();
  return feed;
}

/** the demo's snapshots, for tests that change them */
export function demoSnapshots(): Snapshot[] {
  const fx = new FixtureSnapshotSource(DEMO);
  return Array.from({ length: fx.length }, () => fx.snapshot());
}

/** a source replaying given snapshots in order (the last one repeats) */
export function listSource(snaps: Snapshot[]): SnapshotSource {
  let i = 0;
  return { live: false, snapshot: () => snaps[Math.min(i++, snaps.length - 1)]! };
}

export interface Rendered {
  stdout: FakeStdout;
  stdin: FakeStdin;
  actions: RecordingActions;
  feed: VtopFeed;
  /** the last frame without escape sequences, as lines */
  lines(): string[];
  text(): string;
  raw(): string;
  press(...keys: string[]): Promise<void>;
  /** one read of the terminal carrying these bytes (with `tty: true`: through vtop's EscapeCoalescingStdin) */
  read(bytes: string): Promise<void>;
  unmount(): void;
}

export const KEY = { up: '\x1b[A', down: '\x1b[B', right: '\x1b[C', left: '\x1b[D', enter: '\r', esc: '\x1b', tab: '\t', backspace: '\x7f', home: '\x1b[H', end: '\x1b[F' };

export async function renderVtop(o: {
  columns?: number; rows?: number; readonly?: boolean; overrides?: KeyOverrides; colorMode?: ColorMode;
  refreshes?: number; feed?: VtopFeed; props?: Partial<VtopAppProps>;
  /** read keys as the CLI does: a raw terminal behind EscapeCoalescingStdin */
  tty?: boolean;
} = {}): Promise<Rendered> {
  const stdout = new FakeStdout(o.columns ?? 80, o.rows ?? 24);
  const tty = new FakeTty();
  const stdin = o.tty ? new EscapeCoalescingStdin(tty, 40) : new FakeStdin();
  const send = (bytes: string) => (stdin instanceof FakeStdin ? stdin.write(bytes) : void tty.emit('data', Buffer.from(bytes)));
  const actions = new RecordingActions();
  const feed = o.feed ?? (await demoFeed(o.refreshes ?? 2));
  const keymap = buildKeymap({ readonly: o.readonly, overrides: o.overrides });
  const inst = render(
    <ThemeContext.Provider value={makeTheme(o.colorMode ?? '16')}>
      <VtopApp store={feed} actions={actions} keymap={keymap} stepInterval={stepInterval} {...o.props} />
    </ThemeContext.Provider>,
    { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, debug: true, exitOnCtrlC: false, patchConsole: false },
  );
  await tick();
  const raw = () => stdout.lastFrame();
  const text = () => stripVTControlCharacters(raw());
  return {
    stdout, stdin: stdin as FakeStdin, actions, feed, raw, text,
    lines: () => text().replace(/\n$/, '').split('\n'),
    press: async (...keys: string[]) => {
      for (const k of keys) {
        send(k);
        await tick(5);
      }
      await tick();
    },
    read: async (bytes: string) => {
      send(bytes);
      await tick();
    },
    unmount: () => {
      inst.unmount();
      inst.cleanup();
    },
  };
}
