/**
 * The refresh loop behind vtop (not a component): takes a snapshot per
 * interval from the injected source, runs the CPU tracker, gathers host
 * figures, configured names and cached disk use, and publishes one
 * VtopFrame.  Components subscribe (useSyncExternalStore) and never touch
 * the source themselves.
 */
import type { Snapshot, SnapshotSource } from '../kernel-bridge/types.js';
import { CpuTracker } from '../views/cpu.js';
import type { DiskQuotaFigure, DiskUseMap, HostInfo, VtopFrame } from '../views/vtop-model.js';
import { type CpuPoint, SPARK_WINDOW_MS } from '../views/vtop-meters.js';
import { LogTail } from './log-tail.js';

/** host figures, sampled once per refresh (may be async: the last value is used meanwhile) */
export interface HostProbe {
  sample(): HostInfo | Promise<HostInfo>;
}

/** disk use of servers, measured in the background; lookups never block */
export interface DiskUseSource {
  /** bytes per name, null while unknown; `roots` gives each server's root directory */
  lookup(names: readonly string[], rootOf: (name: string) => string): DiskUseMap;
}

/** what the feed needs */
export interface FeedOptions {
  source: SnapshotSource;
  host: HostProbe;
  /** configured server names; called at most every `configuredEveryMs` */
  configured: () => readonly string[];
  diskUse?: DiskUseSource;
  /** a running server tree's project quota (DISK_MAX), read each refresh; null = none */
  diskQuota?: (root: string) => DiskQuotaFigure | null;
  users?: ReadonlyMap<number, string>;
  /** @default 2000 */
  intervalMs?: number;
  /** @default '/etc/vservers' */
  confdir?: string;
  /** where stopped servers' roots are @default '/vservers' */
  rootdir?: string;
  /** @default 80 (% of one core) */
  runawayPercent?: number;
  /** @default 10000 */
  configuredEveryMs?: number;
  /** errors of the source (the UI shows them in the status line) */
  onError?: (e: Error) => void;
  /**
   * a cheaper first snapshot (stat only: at 5,000 processes the first full
   * scan also reads every status and cmdline file, ~0.3-0.5 s): the first
   * frame is drawn from it, marked partial, and the full one follows at once
   */
  quickFirst?: () => Snapshot;
  /**
   * adds what the snapshot cannot know to it (for a user other than root:
   * server names from the public index, src/actions/server-index.ts)
   */
  annotate?: (s: Snapshot) => Snapshot;
  /**
   * the console log of a server now (vtop passes src/actions/log.ts's
   * consoleLog): null when it has none; throws for an unknown server.
   * Without it the logs pane says there is no log.
   */
  logPath?: (name: string) => string | null;
  /** the clock (tests) @default Date.now */
  now?: () => number;
}

/** the refresh intervals + and - step through (ms) */
export const INTERVAL_STEPS = [500, 1000, 2000, 3000, 5000, 10000, 30000] as const;
export const MIN_INTERVAL_MS = 500;

/** the next step faster (dir -1) or slower (+1) than ms */
export function stepInterval(ms: number, dir: -1 | 1): number {
  if (dir < 0) {
    const lower = INTERVAL_STEPS.filter((s) => s < ms);
    return lower.length ? lower[lower.length - 1]! : MIN_INTERVAL_MS;
  }
  return INTERVAL_STEPS.find((s) => s > ms) ?? INTERVAL_STEPS[INTERVAL_STEPS.length - 1]!;
}

const FALLBACK_HOST: HostInfo = { hostname: '?', kernel: '?', cpus: 1, memTotal: 0, memAvailable: 0 };

export class VtopFeed {
  private frame: VtopFrame | null = null;
  private listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private readonly tracker: CpuTracker;
  private hostInfo: HostInfo = FALLBACK_HOST;
  private configuredNames: readonly string[] = [];
  private configuredAt = -Infinity;
  private seq = 0;
  private running = false;
  /** each context's CPU over the last minute (sparklines), by XID */
  private readonly history = new Map<number, CpuPoint[]>();
  private log: LogTail | null = null;
  intervalMs: number;

  constructor(private readonly opts: FeedOptions) {
    this.intervalMs = Math.max(MIN_INTERVAL_MS, opts.intervalMs ?? 2000);
    this.tracker = new CpuTracker({ runawayPercent: opts.runawayPercent ?? 80 });
  }

  /** for useSyncExternalStore */
  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  /** for useSyncExternalStore: the latest frame (null before the first refresh) */
  getFrame = (): VtopFrame | null => this.frame;

  /** takes one snapshot now and publishes the frame; returns it */
  async refresh(): Promise<VtopFrame> {
    const partial = this.seq === 0 && this.opts.quickFirst !== undefined;
    const taken = partial ? this.opts.quickFirst!() : this.opts.source.snapshot();
    const snapshot = this.opts.annotate ? this.opts.annotate(taken) : taken;
    const cpu = this.tracker.update(snapshot);
    const now = (this.opts.now ?? Date.now)();
    this.record(now, cpu.context);
    this.log?.poll();
    try {
      const h = this.opts.host.sample();
      this.hostInfo = h instanceof Promise ? await h : h;
    } catch {
      /* keep the last host figures */
    }
    if (now - this.configuredAt >= (this.opts.configuredEveryMs ?? 10000)) {
      this.configuredNames = [...this.opts.configured()].sort();
      this.configuredAt = now;
    }
    const names = new Set(this.configuredNames);
    const roots = new Map<string, string>();
    const diskQuota = new Map<string, DiskQuotaFigure | null>();
    for (const c of snapshot.contexts) {
      if (!c.name) continue;
      names.add(c.name);
      if (c.root) roots.set(c.name, c.root);
      if (c.root && this.opts.diskQuota) diskQuota.set(c.name, this.opts.diskQuota(c.root));
    }
    const rootdir = this.opts.rootdir ?? '/vservers';
    const diskUse = this.opts.diskUse
      ? this.opts.diskUse.lookup([...names].sort(), (n) => roots.get(n) ?? `${rootdir}/${n}`)
      : new Map<string, number | null>();
    this.frame = {
      seq: ++this.seq, ...(partial ? { partial } : {}), snapshot, cpu, host: this.hostInfo, configured: this.configuredNames, diskUse, diskQuota,
      users: this.opts.users ?? new Map(), intervalMs: this.intervalMs, live: this.opts.source.live,
      confdir: this.opts.confdir ?? '/etc/vservers', history: this.history, takenAt: now,
      ...(this.log ? { log: this.log.view() } : {}),
    };
    for (const fn of this.listeners) fn();
    return this.frame;
  }

  /** keeps each context's CPU of the last minute; a context gone is forgotten */
  private record(now: number, perContext: ReadonlyMap<number, number>): void {
    for (const [xid, pct] of perContext) {
      let h = this.history.get(xid);
      if (!h) this.history.set(xid, (h = []));
      h.push({ t: now, cpu: pct });
    }
    for (const [xid, h] of this.history) {
      let drop = 0;
      while (drop < h.length && now - h[drop]!.t >= SPARK_WINDOW_MS) drop++;
      if (drop) h.splice(0, drop);
      if (h.length === 0 && !perContext.has(xid)) this.history.delete(xid);
    }
  }

  /**
   * Follows server `name`'s console log in the frames (frame.log), read now
   * and at every refresh; null stops.  Publishes a frame at once.
   */
  watchLog(name: string | null): void {
    if (name === null) {
      this.log = null;
    } else if (this.log?.name !== name) {
      const locate = this.opts.logPath;
      this.log = new LogTail(name, locate ? () => locate(name) : () => null);
    }
    this.log?.poll();
    if (this.frame) {
      const { log: _old, ...rest } = this.frame;
      this.frame = { ...rest, ...(this.log ? { log: this.log.view() } : {}) };
      for (const fn of this.listeners) fn();
    }
  }

  /** starts refreshing every intervalMs (the first refresh happens at once) */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** refreshes now and restarts the interval */
  refreshNow(): void {
    if (!this.running) {
      void this.safeRefresh();
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.tick();
  }

  /** changes the interval (clamped to MIN_INTERVAL_MS) */
  setIntervalMs(ms: number): void {
    this.intervalMs = Math.max(MIN_INTERVAL_MS, ms);
    if (this.frame) {
      this.frame = { ...this.frame, intervalMs: this.intervalMs };
      for (const fn of this.listeners) fn();
    }
    if (this.running) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.tick(), this.intervalMs);
    }
  }

  private async safeRefresh(): Promise<void> {
    try {
      await this.refresh();
    } catch (e) {
      this.opts.onError?.(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private tick(): void {
    this.timer = undefined;
    void this.safeRefresh().then(() => {
      // after a partial first frame, the full snapshot right away (once the frame is out)
      const wait = this.frame?.partial ? 0 : this.intervalMs;
      if (this.running && !this.timer) this.timer = setTimeout(() => this.tick(), wait);
    });
  }
}
