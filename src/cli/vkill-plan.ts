/**
 * vkill's pure half: signal names and numbers, and which exact processes
 * (host PID + start time) the PIDs on the command line name.
 */
import { constants } from 'node:os';
import type { ProcessInfo, Snapshot } from '../kernel-bridge/types.js';
import { isDigits } from '../config/digits.js';

/** the highest signal number Linux knows (SIGRTMAX) */
export const SIGNAL_MAX = 64;

/**
 * A signal as a number (`9`), a name (`KILL`, `kill`) or a name with the
 * SIG prefix (`SIGKILL`); null when it is none of those.
 */
export function parseSignal(s: string): number | null {
  if (isDigits(s)) {
    const n = Number(s);
    return n <= SIGNAL_MAX ? n : null;
  }
  const up = s.toUpperCase();
  const name = (up.startsWith('SIG') ? up : `SIG${up}`) as keyof typeof constants.signals;
  const n = Object.prototype.hasOwnProperty.call(constants.signals, name) ? constants.signals[name] : undefined;
  return typeof n === 'number' ? n : null;
}

/** the conventional name of a signal number (`SIGTERM`), or its number */
export function signalName(sig: number): string {
  if (sig === 0) return '0';
  for (const [name, n] of Object.entries(constants.signals)) {
    if (n === sig && name !== 'SIGIOT' && name !== 'SIGPOLL') return name;
  }
  return String(sig);
}

/** one PID of the command line, resolved */
export type KillTarget =
  | { arg: number; proc: ProcessInfo }
  | { arg: number; proc: null; reason: string };

/**
 * Resolves command-line PIDs against a snapshot.
 * @param xid null: PIDs are host PIDs; a number: PIDs as seen inside that
 *   context (its PID namespace; host PIDs for contexts 0 and 1)
 */
export function planKill(snapshot: Snapshot, xid: number | null, pids: number[]): KillTarget[] {
  const out: KillTarget[] = [];
  if (xid === null) {
    const byPid = new Map<number, ProcessInfo>();
    for (const p of snapshot.processes) byPid.set(p.pid, p);
    for (const arg of pids) {
      const proc = byPid.get(arg);
      out.push(proc ? { arg, proc } : { arg, proc: null, reason: `(pid ${arg}): No such process` });
    }
    return out;
  }
  const inner = new Map<number, ProcessInfo>();
  for (const p of snapshot.processes) {
    if (p.xid !== xid) continue;
    if (p.innerPid !== null) inner.set(p.innerPid, p);
    else if (xid <= 1) inner.set(p.pid, p);
  }
  for (const arg of pids) {
    const proc = inner.get(arg);
    out.push(proc ? { arg, proc } : { arg, proc: null, reason: `(pid ${arg} in context ${xid}): No such process` });
  }
  return out;
}
