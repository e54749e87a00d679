/**
 * Disk use of servers (vdu semantics), measured in the background one
 * server at a time and cached; a lookup never waits.  Unknown values are
 * null (vtop shows `…`).  Not a component: the feed owns it.
 */
import type { DiskUseMap } from '../views/vtop-model.js';
import type { DiskUseSource } from './vtop-feed.js';

export interface DiskUseCacheOptions {
  /** measures one root directory in bytes */
  measure: (root: string) => Promise<number>;
  /** how long a figure stays fresh @default 600000 (10 min) */
  ttlMs?: number;
  /** how long to wait after a failure before measuring again @default 60000 */
  retryMs?: number;
  now?: () => number;
}

interface Entry {
  bytes: number | null;
  at: number;
  root: string;
}

export class DiskUseCache implements DiskUseSource {
  private entries = new Map<string, Entry>();
  private queue: { name: string; root: string }[] = [];
  private busy = false;
  private readonly now: () => number;

  constructor(private readonly opts: DiskUseCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  lookup(names: readonly string[], rootOf: (name: string) => string): DiskUseMap {
    const out = new Map<string, number | null>();
    const t = this.now();
    for (const name of names) {
      const root = rootOf(name);
      const e = this.entries.get(name);
      out.set(name, e && e.root === root ? e.bytes : null);
      const stale = !e || e.root !== root || t - e.at >= (e.bytes === null ? (this.opts.retryMs ?? 60_000) : (this.opts.ttlMs ?? 600_000));
      if (stale && !this.queue.some((q) => q.name === name)) this.queue.push({ name, root });
    }
    this.pump();
    return out;
  }

  /** resolves when nothing is queued or being measured (tests) */
  async idle(): Promise<void> {
    while (this.busy || this.queue.length) await new Promise((r) => setTimeout(r, 5));
  }

  private pump(): void {
    if (this.busy) return;
    const job = this.queue.shift();
    if (!job) return;
    this.busy = true;
    this.opts.measure(job.root).then(
      (bytes) => this.entries.set(job.name, { bytes, at: this.now(), root: job.root }),
      () => this.entries.set(job.name, { bytes: null, at: this.now(), root: job.root }),
    ).finally(() => {
      this.busy = false;
      this.pump();
    });
  }
}

/** a DiskUseSource of fixed figures (fixtures): names without a figure stay unknown */
export function staticDiskUse(bytesByName: Readonly<Record<string, number>>): DiskUseSource {
  return {
    lookup(names) {
      return new Map(names.map((n) => [n, bytesByName[n] ?? null]));
    },
  };
}
