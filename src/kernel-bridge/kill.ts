/**
 * Signalling through libvctx: a single process exactly as it was seen
 * (PID plus start time, so a reused PID is never hit) or a whole context.
 */
import { constants } from 'node:os';
import { requireAddon } from './addon.js';
import { KernelError } from './errors.js';
import { isDigits } from '../config/digits.js';

/** a signal as a number (0..64) or a name: 'SIGHUP' or 'HUP' */
export type SignalSpec = number | string;

interface KillBinding {
  killPid(pid: number, startTime: number, signal: number): void;
  killContext(xid: number, signal: number): number;
}

function binding(): KillBinding {
  const a = requireAddon();
  if (typeof a.killPid !== 'function' || typeof a.killContext !== 'function') {
    throw new Error('vctx native addon has no killPid(): rebuild it (npm run build)');
  }
  return a as unknown as KillBinding;
}

const SIGRTMAX = 64;

function invalid(message: string): KernelError {
  return new KernelError(message, constants.errno.EINVAL, 'EINVAL');
}

/**
 * The number of a signal given as a number, a numeric string, `HUP` or
 * `SIGHUP` (any case); null when it is none.
 */
export function parseSignal(sig: SignalSpec): number | null {
  if (typeof sig === 'number') return Number.isInteger(sig) && sig >= 0 && sig <= SIGRTMAX ? sig : null;
  const s = sig.trim();
  if (isDigits(s)) return parseSignal(Number(s));
  const up = s.toUpperCase();
  const name = (up.startsWith('SIG') ? up : `SIG${up}`) as keyof typeof constants.signals;
  const n = constants.signals[name];
  return typeof n === 'number' ? n : null;
}

function signalOrThrow(sig: SignalSpec): number {
  const n = parseSignal(sig);
  if (n === null) throw invalid(`${String(sig)}: not a signal`);
  return n;
}

/**
 * Send @signal to the process @pid, but only if it is still the process
 * that started at @startTime (clock ticks after boot, as in a snapshot's
 * ProcessInfo.startTime; 0 skips the check).
 * @throws KernelError ESRCH when it is gone or the PID now names a newer
 *   process, EPERM for a process of a `private` context, EINVAL for bad input
 */
export function killPid(pid: number, startTime: number, signal: SignalSpec = 'SIGTERM'): void {
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid > 0x3fffffff) throw invalid(`${pid}: not a process ID`);
  if (!Number.isSafeInteger(startTime) || startTime < 0) throw invalid(`${startTime}: not a start time`);
  binding().killPid(pid, startTime, signalOrThrow(signal));
}

/**
 * Send @signal to every process of context @xid (its cgroup subtree, nested
 * contexts included); SIGKILL kills the whole cgroup at once.  Returns how
 * many processes were signalled.
 * @throws KernelError ESRCH when no such context runs, EINVAL for context 0
 */
export function killContext(xid: number, signal: SignalSpec = 'SIGTERM'): number {
  if (!Number.isSafeInteger(xid) || xid < 0 || xid > 0xffffffff) throw invalid(`${xid}: not a context number`);
  if (xid === 0) throw invalid('refusing to signal context 0 (the host) as a whole');
  return binding().killContext(xid, signalOrThrow(signal));
}
