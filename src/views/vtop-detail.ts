/**
 * vtop's detail pane for the selected server: capability bounding set
 * decoded by name (kept vs dropped), flags, limits and how close each is,
 * IP lock, network and disk I/O, namespaces, paths.  Pure: rows in, lines out.
 */
import { CAPABILITIES } from '../config/caps.js';
import { formatMemory } from './format.js';
import type { IoSource, ServerRow } from './vtop-servers.js';
import { clip, safe, wrapWords } from './vtop-text.js';

/** Linux capability names by number (linux/capability.h), 0..CAP_LAST: config/caps.ts's table */
export const CAP_NAMES: readonly string[] = CAPABILITIES.map((c) => c.name);

/** a bounding set split by name; bits above CAP_LAST_CAP we know come as `cap_N` */
export function decodeCaps(hex: string): { kept: string[]; dropped: string[] } {
  let mask: bigint;
  try {
    mask = BigInt(hex);
  } catch {
    return { kept: [], dropped: [] };
  }
  const kept: string[] = [];
  const dropped: string[] = [];
  CAP_NAMES.forEach((name, bit) => ((mask >> BigInt(bit)) & 1n ? kept : dropped).push(name));
  for (let bit = CAP_NAMES.length; bit < 64; bit++) if ((mask >> BigInt(bit)) & 1n) kept.push(`cap_${bit}`);
  return { kept, dropped };
}

/** how a detail line should look */
export type Tone = 'title' | 'normal' | 'dim' | 'warn' | 'bad' | 'good';

export interface DetailLine {
  text: string;
  tone: Tone;
}

const pct = (used: number, max: number) => Math.round((used / max) * 100);
const toneFor = (fraction: number): Tone => (fraction >= 0.9 ? 'bad' : fraction >= 0.75 ? 'warn' : 'normal');

/** the names of the places a cgroup's memory figure is read from */
const MEMORY_FILE: Record<string, string> = { cgroup2: 'memory.current', cgroup1: 'memory.usage_in_bytes' };

/** where a disk I/O figure is read from, as the pane names it */
const IO_FROM: Record<IoSource, string> = { 'io.stat': 'io.stat', 'live processes': 'live processes only: /proc/PID/io' };

/**
 * The lines describing a server, each at most `width` code points.
 * @param canAct the user can start/stop servers here (no hint offers an action otherwise)
 */
export function detailLines(row: ServerRow, width: number, confdir: string, canAct = true): DetailLine[] {
  const L: DetailLine[] = [];
  const add = (text: string, tone: Tone = 'normal') => L.push({ text: clip(text, width), tone });
  const title = row.xid === null ? `${row.label}  stopped` : `${row.label}  (xid ${row.xid})  ${row.state}`;
  add(title, 'title');
  if (row.name) add(`config   ${safe(confdir)}/${row.label}.conf`);
  const c = row.context;
  if (row.state === 'host') {
    add('the host: every process outside a server; every capability', 'dim');
    return L;
  }
  if (!c) {
    add(canAct ? 'not running: start it with the start key' : 'not running', 'dim');
    return L;
  }
  add(`root     ${c.root ? safe(c.root) : "(the host's /)"}`);
  add(`IP lock  ${c.ip ? [c.ip, c.ip6].filter(Boolean).join(' ') : 'none (not locked)'}${c.loopback ? `   localhost -> ${c.loopback}` : ''}`);
  add(`flags    ${c.flags.length ? c.flags.map(safe).join(' ') : 'none'}${c.parentXid ? `   parent xid ${c.parentXid}` : ''}`);
  // two figures, each named: what the cgroup is charged (page cache included, a shared page
  // once) and the list's "RSS sum" (every process's resident memory, a shared page in each)
  const oom = c.oomKills ? `   OOM kills ${c.oomKills}` : '';
  const file = MEMORY_FILE[c.memorySource];
  if (!file) {
    add(`memory   no cgroup mem (no memory controller)${c.memoryMax ? `, limit ${formatMemory(c.memoryMax)}` : ''}${oom}`,
      c.oomKills ? 'bad' : 'normal');
  } else if (c.memoryMax) {
    const f = c.memoryBytes / c.memoryMax;
    add(`memory   cgroup mem ${formatMemory(c.memoryBytes)} of ${formatMemory(c.memoryMax)} (${pct(c.memoryBytes, c.memoryMax)}%)${oom}   [${file}]`,
      c.oomKills ? 'bad' : toneFor(f));
  } else {
    add(`memory   cgroup mem ${formatMemory(c.memoryBytes)}, no limit${oom}   [${file}]`, c.oomKills ? 'bad' : 'normal');
  }
  add(`         RSS sum ${formatMemory(row.rss)} (its processes' RSS, shared pages in each)`);
  if (c.pidsMax) {
    const f = c.nprocs / c.pidsMax;
    add(`pids     ${c.nprocs} of ${c.pidsMax} (${pct(c.nprocs, c.pidsMax)}%)${c.pidsEvents ? `   forks refused ${c.pidsEvents}` : ''}`,
      c.pidsEvents ? 'bad' : toneFor(f));
  } else {
    add(`pids     ${c.nprocs}, no limit`);
  }
  // network: the kernel's per-context counters since the start (both ends of loopback traffic count)
  const n = row.net;
  const m = (b: number) => formatMemory(b).trimEnd();
  if (n) add(`network  in ${m(n.inBytes)} (${n.inPackets} packets)  out ${m(n.outBytes)} (${n.outPackets} packets)`);
  else add('network  not counted (no network lock, or not readable: it needs root)', 'dim');
  const io = row.io;
  if (io) add(`disk io  read ${m(io.readBytes)}  written ${m(io.writeBytes)}   [${IO_FROM[io.source]}]`);
  else add('disk io  not known (not read yet, or not readable: it needs root)', 'dim');
  const dq = row.diskQuota;
  if (dq) {
    add(dq.limitBytes
      ? `disk     ${formatMemory(dq.usedBytes)} of ${formatMemory(dq.limitBytes)} (${pct(dq.usedBytes, dq.limitBytes)}%)   [project ${dq.projectId}]`
      : `disk     ${formatMemory(dq.usedBytes)}, no limit   [project ${dq.projectId}]`,
    dq.limitBytes ? toneFor(dq.usedBytes / dq.limitBytes) : 'normal');
  }
  const caps = decodeCaps(c.capBounding);
  for (const line of wrapWords(`caps kept (${caps.kept.length})    `, caps.kept, width)) add(line, 'good');
  for (const line of wrapWords(`caps dropped (${caps.dropped.length}) `, caps.dropped, width)) add(line, 'dim');
  const ns = Object.entries(c.namespaces).map(([k, v]) => `${safe(k)}:${v}`);
  for (const line of wrapWords('ns       ', ns, width)) add(line);
  add(`cgroup   ${safe(c.cgroup)}`, 'dim');
  return L;
}
