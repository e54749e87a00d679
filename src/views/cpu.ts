/**
 * CPU% from successive snapshots, the way top computes it: the CPU time a
 * process (or context) used over the last interval, as a percentage of ONE
 * core (a process spinning two cores reads ~200%).  Pure: snapshots in,
 * figures out; the tracker keeps the previous snapshot's counters only.
 *
 * Processes are keyed by (pid, startTime), so a reused PID starts afresh
 * instead of inheriting the old process's counters; a counter that went
 * backwards (which a live process never does) is treated the same way.
 * Contexts are keyed by (xid, created) and prefer the cgroup's own CPU
 * counter, which also counts processes that exited during the interval.
 */
import type { Snapshot } from '../kernel-bridge/types.js';

/** the identity of one process across snapshots */
export const procKey = (pid: number, startTime: number): string => `${pid}:${startTime}`;

/**
 * % of one core of each process of one snapshot.  Only processes that used
 * CPU and processes seen for the first time are stored (a refresh of 5,000
 * sleepers allocates next to nothing); ask only about processes of the
 * snapshot the sample was made from.
 */
export class ProcCpu {
  constructor(
    private readonly valid: boolean,
    private readonly busy: ReadonlyMap<number, { startTime: number; pct: number }>,
    private readonly fresh: ReadonlyMap<number, number>,
    /** processes with a figure */
    readonly size: number,
  ) {}

  /** % of one core of the process, undefined when it has no figure yet (first seen, or the first sample) */
  get(pid: number, startTime: number): number | undefined {
    if (!this.valid) return undefined;
    const b = this.busy.get(pid);
    if (b !== undefined) return b.startTime === startTime ? b.pct : undefined;
    return this.fresh.get(pid) === startTime ? undefined : 0;
  }
}

/** what one update of the tracker yields */
export interface CpuSample {
  /** milliseconds between the two snapshots (0 for the first one) */
  intervalMs: number;
  /** % of one core per process; none for a process seen for the first time */
  proc: ProcCpu;
  /** % of one core by XID (0 = host processes), absent when unknown */
  context: Map<number, number>;
  /** consecutive intervals each process spent at or above the runaway threshold, by procKey */
  hot: Map<string, number>;
}

/** options of a CpuTracker */
export interface CpuTrackerOptions {
  /**
   * % of one core at or above which an interval counts as "hot"
   * @default 80
   */
  runawayPercent?: number;
}

interface ProcPrev {
  startTime: number;
  ticks: number;
  hot: number;
  /** the update that last saw it */
  seen: number;
}

interface CtxPrev {
  created: number;
  usec: number;
}

/** Feed it successive snapshots; each update returns the figures over the last interval. */
export class CpuTracker {
  readonly runawayPercent: number;
  private prevAt: number | null = null;
  /** by PID, changed in place (a reused PID is told apart by its start time) */
  private prevProcs = new Map<number, ProcPrev>();
  private stamp = 0;
  private prevCtx = new Map<number, CtxPrev>();

  constructor(options: CpuTrackerOptions = {}) {
    this.runawayPercent = options.runawayPercent ?? 80;
  }

  /** forgets everything: the next update is a first sample */
  reset(): void {
    this.prevAt = null;
    this.prevProcs.clear();
    this.prevCtx = new Map();
  }

  /** takes the next snapshot and returns the CPU figures since the previous one */
  update(snap: Snapshot): CpuSample {
    const hz = snap.clockTicks > 0 ? snap.clockTicks : 100;
    let intervalMs = this.prevAt === null ? 0 : snap.takenAt - this.prevAt;
    // Time went backwards (a replayed fixture wrapped around, a restarted source):
    // nothing measured over this interval is meaningful.
    const valid = intervalMs > 0;
    if (!valid) intervalMs = 0;
    // ticks -> % of one core over the interval
    const scale = valid ? (100 * 1000) / (hz * intervalMs) : 0;

    const busy = new Map<number, { startTime: number; pct: number }>();
    const fresh = new Map<number, number>();
    const hot = new Map<string, number>();
    const ctxTicks = new Map<number, number>();
    const ctxKnown = new Set<number>();
    const stamp = ++this.stamp;
    let known = 0;

    for (const p of snap.processes) {
      const ticks = p.utime + p.stime;
      const prev = this.prevProcs.get(p.pid);
      const same = prev !== undefined && prev.startTime === p.startTime;
      let hotCount = 0;
      if (valid && same && ticks >= prev!.ticks) {
        const used = ticks - prev!.ticks;
        const pct = used * scale;
        known++;
        if (used > 0) busy.set(p.pid, { startTime: p.startTime, pct });
        hotCount = pct >= this.runawayPercent ? prev!.hot + 1 : 0;
        ctxTicks.set(p.xid, (ctxTicks.get(p.xid) ?? 0) + used);
        ctxKnown.add(p.xid);
      } else {
        fresh.set(p.pid, p.startTime);
        if (valid) {
          // new during the interval: it can have used at most its own ticks
          const startedMsAgo = snap.uptime * 1000 - (p.startTime * 1000) / hz;
          if (startedMsAgo >= 0 && startedMsAgo <= intervalMs) {
            ctxTicks.set(p.xid, (ctxTicks.get(p.xid) ?? 0) + ticks);
          }
        }
      }
      if (hotCount > 0) hot.set(procKey(p.pid, p.startTime), hotCount);
      if (prev === undefined) {
        this.prevProcs.set(p.pid, { startTime: p.startTime, ticks, hot: hotCount, seen: stamp });
      } else {
        prev.startTime = p.startTime;
        prev.ticks = ticks;
        prev.hot = hotCount;
        prev.seen = stamp;
      }
    }
    if (this.prevProcs.size > snap.processes.length) {
      for (const [pid, prev] of this.prevProcs) if (prev.seen !== stamp) this.prevProcs.delete(pid);
    }

    const context = new Map<number, number>();
    if (valid) for (const xid of ctxKnown) context.set(xid, (ctxTicks.get(xid) ?? 0) * scale);

    const nextCtx = new Map<number, CtxPrev>();
    for (const c of snap.contexts) {
      const prev = valid ? this.prevCtx.get(c.xid) : undefined;
      if (c.cpuSource !== 'sum' && c.cpuUsec > 0) {
        if (prev && prev.created === c.created && c.cpuUsec >= prev.usec) {
          context.set(c.xid, ((c.cpuUsec - prev.usec) / 1000 / intervalMs) * 100);
        }
        nextCtx.set(c.xid, { created: c.created, usec: c.cpuUsec });
      }
    }

    this.prevAt = snap.takenAt;
    this.prevCtx = nextCtx;
    return { intervalMs, proc: new ProcCpu(valid, busy, fresh, known), context, hot };
  }
}
