/**
 * A SnapshotSource that replays recorded snapshots from JSON files, so the
 * views and vtop can run (and be tested) without root or a kernel.
 *
 * A fixture path is either a JSON file or a directory (every `*.json` in it,
 * by name).  A file holds one Snapshot, an array of Snapshots, or an object
 * `{ snapshots: Snapshot[], host?, configured?, diskUse?, users? }` — the
 * optional fields describe what a live source would learn elsewhere (host
 * figures, /etc/vservers names, vdu results, user names) so vtop can show
 * a complete screen from a recording.
 *
 * Each call of snapshot() returns the next recorded snapshot, looping at the
 * end.  Time never runs backwards: on every loop `takenAt` and `uptime` are
 * shifted forward by the recording's length plus one interval (the CPU
 * counters do restart, which CPU trackers treat as a fresh sample).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { Snapshot, SnapshotSource } from './types.js';

const int = z.number().int();
const num = z.number();

const processSchema = z.object({
  pid: int.positive(),
  ppid: int.nonnegative(),
  xid: int.nonnegative(),
  innerPid: int.positive().nullable(),
  state: z.string().length(1),
  comm: z.string(),
  threads: int.nonnegative(),
  startTime: num.nonnegative(),
  utime: num.nonnegative(),
  stime: num.nonnegative(),
  cutime: num.nonnegative(),
  cstime: num.nonnegative(),
  vsz: num.nonnegative(),
  rss: num.nonnegative(),
  uid: int.nonnegative(),
  nice: int,
  cmdline: z.string(),
});

const figureSource = z.enum(['cgroup2', 'cgroup1', 'sum']);

const contextSchema = z.object({
  xid: int.nonnegative(),
  name: z.string(),
  parentXid: int.nonnegative(),
  cgroup: z.string(),
  root: z.string(),
  pid1: int.nonnegative(),
  ip: z.string().nullable(),
  loopback: z.string().nullable(),
  ip6: z.string().nullable().optional(),
  loopback6: z.string().nullable().optional(),
  nat: z.boolean().optional(),
  capBounding: z.string().regex(/^0x[0-9a-fA-F]+$/),
  flags: z.array(z.string()),
  created: num.nonnegative(),
  nprocs: int.nonnegative(),
  namespaces: z.record(z.string(), num),
  cpuUsec: num.nonnegative(),
  cpuSource: figureSource,
  memoryBytes: num.nonnegative(),
  memorySource: figureSource,
  memoryMax: num.nonnegative().nullable(),
  pidsMax: int.nonnegative().nullable(),
  pidsEvents: int.nonnegative(),
  oomKills: int.nonnegative(),
  netRxBytes: num.nonnegative().nullable().optional(),
  netRxPackets: num.nonnegative().nullable().optional(),
  netTxBytes: num.nonnegative().nullable().optional(),
  netTxPackets: num.nonnegative().nullable().optional(),
  ioReadBytes: num.nonnegative().nullable().optional(),
  ioWriteBytes: num.nonnegative().nullable().optional(),
  ioSource: figureSource.optional(),
});

const snapshotSchema = z.object({
  takenAt: num.nonnegative(),
  clockTicks: int.positive(),
  bootTime: num.nonnegative(),
  uptime: num.nonnegative(),
  pageSize: int.positive(),
  processes: z.array(processSchema),
  contexts: z.array(contextSchema),
});

const hostSchema = z.object({
  hostname: z.string(),
  kernel: z.string(),
  cpus: int.positive(),
  /** host CPU busy, % of ONE core (0..cpus×100), as every CPU figure of vtop */
  cpuPercent: num.min(0).optional(),
  /** each core's busy, % of that core (0..100), by CPU number */
  cpuPercents: z.array(num.min(0).max(100)).optional(),
  memTotal: num.nonnegative(),
  memAvailable: num.nonnegative(),
  memFree: num.nonnegative().optional(),
  swapTotal: num.nonnegative().optional(),
  swapFree: num.nonnegative().optional(),
  load: z.tuple([num, num, num]).optional(),
}).refine((h) => h.cpuPercent === undefined || h.cpuPercent <= h.cpus * 100, {
  message: 'cpuPercent is % of one core: at most cpus × 100', path: ['cpuPercent'],
});

const extrasSchema = z.object({
  snapshots: z.array(snapshotSchema).min(1),
  host: hostSchema.optional(),
  configured: z.array(z.string()).optional(),
  diskUse: z.record(z.string(), num.nonnegative()).optional(),
  users: z.record(z.string(), z.string()).optional(),
});

/** host figures a recording may carry (what the live path reads from /proc and os) */
export type FixtureHost = z.infer<typeof hostSchema>;

/** what a recording may say besides its snapshots */
export interface FixtureExtras {
  host?: FixtureHost;
  /** configured server names (as /etc/vservers/NAME.conf would list them) */
  configured?: string[];
  /** disk use in bytes by server name (vdu semantics) */
  diskUse?: Record<string, number>;
  /** user names by uid (decimal string) */
  users?: Record<string, string>;
}

/** a fixture that cannot be used, naming the file and the first problem */
export class FixtureError extends Error {
  override name = 'FixtureError';
}

function describeIssue(file: string, issue: z.core.$ZodIssue): string {
  const where = issue.path.length ? issue.path.map(String).join('.') : '(top level)';
  return `${file}: ${where}: ${issue.message}`;
}

function parseFile(file: string): { snapshots: Snapshot[]; extras: FixtureExtras } {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FixtureError(`${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (Array.isArray(data)) {
    const r = z.array(snapshotSchema).min(1).safeParse(data);
    if (!r.success) throw new FixtureError(describeIssue(file, r.error.issues[0]!));
    return { snapshots: r.data, extras: {} };
  }
  if (data !== null && typeof data === 'object' && 'snapshots' in data) {
    const r = extrasSchema.safeParse(data);
    if (!r.success) throw new FixtureError(describeIssue(file, r.error.issues[0]!));
    const { snapshots, ...extras } = r.data;
    return { snapshots, extras };
  }
  const r = snapshotSchema.safeParse(data);
  if (!r.success) throw new FixtureError(describeIssue(file, r.error.issues[0]!));
  return { snapshots: [r.data], extras: {} };
}

/** the JSON files a fixture path names: the file itself, or a directory's *.json by name */
export function fixtureFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new FixtureError(`${path}: no such fixture file or directory`);
  }
  if (!st.isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => join(path, n));
  if (files.length === 0) throw new FixtureError(`${path}: directory holds no *.json snapshot files`);
  return files;
}

/** Replays recorded snapshots, one per call, looping; never live. */
export class FixtureSnapshotSource implements SnapshotSource {
  readonly live = false;
  /** what the recordings say besides snapshots (merged over all files, later files win) */
  readonly extras: FixtureExtras;
  private readonly recorded: Snapshot[];
  private next = 0;
  private loop = 0;
  private readonly loopShiftMs: number;

  /**
   * @param paths fixture files or directories, replayed in the order given
   * @throws FixtureError naming the file and field when a fixture is unusable
   */
  constructor(paths: string | string[]) {
    const list = (Array.isArray(paths) ? paths : [paths]).flatMap(fixtureFiles);
    const snaps: Snapshot[] = [];
    const extras: FixtureExtras = {};
    for (const f of list) {
      const parsed = parseFile(f);
      snaps.push(...parsed.snapshots);
      Object.assign(extras, parsed.extras);
    }
    if (snaps.length === 0) throw new FixtureError(`${list.join(', ')}: no snapshots`);
    this.recorded = snaps;
    this.extras = extras;
    const first = snaps[0]!.takenAt;
    const last = snaps[snaps.length - 1]!.takenAt;
    const step = snaps.length > 1 ? (last - first) / (snaps.length - 1) : 1000;
    this.loopShiftMs = Math.max(0, last - first) + Math.max(step, 1);
  }

  /** how many snapshots one loop holds */
  get length(): number {
    return this.recorded.length;
  }

  snapshot(): Snapshot {
    const s = this.recorded[this.next]!;
    const shift = this.loop * this.loopShiftMs;
    this.next++;
    if (this.next >= this.recorded.length) {
      this.next = 0;
      this.loop++;
    }
    if (shift === 0) return s;
    return { ...s, takenAt: s.takenAt + shift, uptime: s.uptime + shift / 1000 };
  }
}
