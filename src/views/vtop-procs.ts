/**
 * vtop's process pane: the selected context's processes as a tree (or a
 * flat list), sorted and filtered.  Pure.  CPU% is % of ONE core over the
 * last interval.
 */
import type { ProcessInfo } from '../kernel-bridge/types.js';
import { procKey, type CpuSample } from './cpu.js';
import { formatDuration, formatMemory, ticksToMs } from './format.js';
import { flattenTree, type TreeNode } from './tree.js';
import { type Column, type FittedColumn, fitColumns, formatLine, formatPercent, safe } from './vtop-text.js';

export type SortKey = 'cpu' | 'mem' | 'pid' | 'name';

/** how the pane is ordered and narrowed */
export interface ProcViewOptions {
  sort: SortKey;
  /** reverse of the natural order (natural: CPU and memory descending, PID and name ascending) */
  invert: boolean;
  /** case-insensitive substring of PID, inner PID, user, comm or command line; '' = all */
  filter: string;
  /** tree (siblings sorted) or flat */
  tree: boolean;
}

export const DEFAULT_PROC_VIEW: ProcViewOptions = { sort: 'pid', invert: false, filter: '', tree: true };

/** one line of the process pane */
export interface ProcRow {
  /** procKey(pid, startTime) */
  key: string;
  pid: number;
  startTime: number;
  xid: number;
  innerPid: number | null;
  user: string;
  state: string;
  cpu: number | undefined;
  rss: number;
  vsz: number;
  /** utime+stime in ms */
  timeMs: number;
  /** tree drawing before the command ('' in flat mode) */
  branch: string;
  /** escaped command line, `[comm]` for kernel threads */
  command: string;
  /** comm, escaped */
  comm: string;
  runaway: boolean;
  /** in the tree only as an ancestor of a filter match */
  context: boolean;
}

function natural(sort: SortKey): number {
  return sort === 'cpu' || sort === 'mem' ? -1 : 1;
}

function comparator(opts: ProcViewOptions, cpu: CpuSample): (a: ProcessInfo, b: ProcessInfo) => number {
  const dir = natural(opts.sort) * (opts.invert ? -1 : 1);
  const pct = (p: ProcessInfo) => cpu.proc.get(p.pid, p.startTime) ?? -1;
  switch (opts.sort) {
    case 'cpu':
      return (a, b) => dir * (pct(a) - pct(b)) || a.pid - b.pid;
    case 'mem':
      return (a, b) => dir * (a.rss - b.rss) || a.pid - b.pid;
    case 'name':
      return (a, b) => dir * (a.comm < b.comm ? -1 : a.comm > b.comm ? 1 : 0) || a.pid - b.pid;
    case 'pid':
      return (a, b) => dir * (a.pid - b.pid);
  }
}

function matcher(filter: string, users: ReadonlyMap<number, string>): ((p: ProcessInfo) => boolean) | null {
  const f = filter.trim().toLowerCase();
  if (!f) return null;
  return (p) =>
    String(p.pid) === f || (p.innerPid !== null && String(p.innerPid) === f) ||
    p.comm.toLowerCase().includes(f) || p.cmdline.toLowerCase().includes(f) ||
    (users.get(p.uid) ?? '').toLowerCase() === f;
}

/** inputs of buildProcRows that come from the frame */
export interface ProcRowInputs {
  /** the context's trees (buildContextTrees(snapshot).get(xid)) */
  roots: readonly TreeNode[];
  cpu: CpuSample;
  users: ReadonlyMap<number, string>;
  runaways: ReadonlySet<string>;
  clockTicks: number;
  /** a stat-only snapshot: user and command line not read yet (shown as …) */
  partial?: boolean;
}

function toRow(p: ProcessInfo, branch: string, inp: ProcRowInputs, context: boolean): ProcRow {
  const key = procKey(p.pid, p.startTime);
  return {
    key, pid: p.pid, startTime: p.startTime, xid: p.xid, innerPid: p.innerPid,
    user: inp.partial ? '…' : safe(inp.users.get(p.uid) ?? String(p.uid)), state: safe(p.state),
    cpu: inp.cpu.proc.get(p.pid, p.startTime), rss: p.rss, vsz: p.vsz,
    timeMs: ticksToMs(p.utime + p.stime, inp.clockTicks), branch,
    command: inp.partial ? `${safe(p.comm)} …` : safe(p.cmdline !== '' ? p.cmdline : `[${p.comm}]`), comm: safe(p.comm),
    runaway: inp.runaways.has(key), context,
  };
}

/** the rows of one context's processes, in display order */
export function buildProcRows(inp: ProcRowInputs, opts: ProcViewOptions): ProcRow[] {
  const cmp = comparator(opts, inp.cpu);
  const match = matcher(opts.filter, inp.users);
  const out: ProcRow[] = [];

  if (!opts.tree) {
    const all: ProcessInfo[] = [];
    const stack = [...inp.roots];
    while (stack.length) {
      const n = stack.pop()!;
      if (!match || match(n.proc)) all.push(n.proc);
      for (const c of n.children) stack.push(c);
    }
    all.sort(cmp);
    for (const p of all) out.push(toRow(p, '', inp, false));
    return out;
  }

  // Tree: which nodes to show (a match, or an ancestor of one)
  let keep: Set<TreeNode> | null = null;
  if (match) {
    keep = new Set();
    // reverse pre-order sees every descendant before its ancestor (no recursion: trees can be deep)
    const order = flattenTree([...inp.roots]);
    for (let i = order.length - 1; i >= 0; i--) {
      const n = order[i]!;
      if (match(n.proc) || n.children.some((c) => keep!.has(c))) keep.add(n);
    }
  }
  const nodeCmp = (a: TreeNode, b: TreeNode) => cmp(a.proc, b.proc);
  const roots = inp.roots.filter((n) => !keep || keep.has(n));
  roots.sort(nodeCmp);
  // explicit stack of [node, prefix-for-children, branch]
  const stack: [TreeNode, string, string][] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push([roots[i]!, '', '']);
  while (stack.length) {
    const [n, prefix, branch] = stack.pop()!;
    out.push(toRow(n.proc, branch, inp, !!match && !match(n.proc)));
    const kids = n.children.filter((c) => !keep || keep.has(c)).sort(nodeCmp);
    for (let i = kids.length - 1; i >= 0; i--) {
      const last = i === kids.length - 1;
      stack.push([kids[i]!, prefix + (last ? '   ' : '│  '), prefix + (last ? '└─ ' : '├─ ')]);
    }
  }
  return out;
}

export type ProcColumnId = 'mark' | 'pid' | 'inner' | 'user' | 'state' | 'cpu' | 'rss' | 'vsz' | 'time' | 'command';

/** the process pane's columns; VSZ goes first when narrow, then TIME+, USER, INNER */
export const PROC_COLUMNS: readonly Column<ProcColumnId>[] = [
  { id: 'mark', title: ' ', width: 1, align: 'left', priority: 0 },
  { id: 'pid', title: 'PID', width: 7, align: 'right', priority: 0 },
  { id: 'inner', title: 'INNER', width: 6, align: 'right', priority: 1 },
  { id: 'user', title: 'USER', width: 8, align: 'left', priority: 2 },
  { id: 'state', title: 'S', width: 1, align: 'left', priority: 0 },
  { id: 'cpu', title: 'CPU%', width: 5, align: 'right', priority: 0 },
  { id: 'rss', title: 'RSS', width: 6, align: 'right', priority: 0 },
  { id: 'vsz', title: 'VSZ', width: 6, align: 'right', priority: 4 },
  { id: 'time', title: 'TIME+', width: 8, align: 'right', priority: 3 },
  { id: 'command', title: 'COMMAND', width: 30, align: 'left', priority: 0, flex: true },
];

export function procColumns(width: number): FittedColumn<ProcColumnId>[] {
  const cols = fitColumns(PROC_COLUMNS, width);
  // still too narrow: the command shrinks rather than the line growing
  const fixed = cols.reduce((s, c) => s + (c.flex ? 0 : c.at + 1), 0);
  return cols.map((c) => (c.flex ? { ...c, at: Math.max(1, Math.min(c.at, width - fixed)) } : c));
}

/** one process as text, exactly as wide as the columns; a tagged one is marked `*` (before `!`) */
export function formatProcLine(row: ProcRow, cols: readonly FittedColumn<ProcColumnId>[], tagged = false): string {
  return formatLine(cols, {
    mark: tagged ? '*' : row.runaway ? '!' : ' ',
    pid: String(row.pid),
    inner: row.innerPid === null ? '-' : String(row.innerPid),
    user: row.user,
    state: row.state,
    cpu: formatPercent(row.cpu),
    rss: formatMemory(row.rss),
    vsz: formatMemory(row.vsz),
    time: formatDuration(row.timeMs),
    command: row.branch + row.command,
  });
}

/**
 * Whether a row matches a search: the PID or inner PID exactly, or the
 * text (case-insensitive) in its command name, command line or user (what
 * the row shows, escaped).
 */
export function rowMatches(row: ProcRow, text: string): boolean {
  const f = text.trim().toLowerCase();
  if (!f) return false;
  return String(row.pid) === f || (row.innerPid !== null && String(row.innerPid) === f) ||
    row.comm.toLowerCase().includes(f) || row.command.toLowerCase().includes(f) || row.user.toLowerCase() === f;
}

/**
 * The index of the next row matching `text` from `from` on (`from` itself
 * included when `inclusive`), wrapping around; -1 when none does.
 */
export function nextMatch(rows: readonly ProcRow[], text: string, from: number, inclusive: boolean): number {
  const n = rows.length;
  for (let k = inclusive ? 0 : 1; k <= n; k++) {
    const i = (((from + k) % n) + n) % n;
    if (rowMatches(rows[i]!, text)) return i;
  }
  return -1;
}
