/**
 * Context membership and confinement through the addon: the XID of a
 * process, joining the spectator (context 1), releasing contexts left by
 * crashed tools, and waiting (off the main thread) for a context to empty.
 */
import { requireAddon } from './addon.js';

interface RawKernel {
  xidOfPid(pid: number): number;
  spectate(): void;
  gc(): number;
  waitEmpty(xid: number, timeoutMs: number): Promise<void>;
}

const raw = (): RawKernel => requireAddon() as unknown as RawKernel;

/** security context number of pid (0 = this process) */
export function xidOfPid(pid: number): number {
  return raw().xidOfPid(pid);
}

/**
 * Make this (multithreaded) process a member of context 1: it keeps the
 * host's view of every process but can no longer signal or trace any
 * process but itself (a seccomp filter on every thread).  Irreversible.
 */
export function spectate(): void {
  raw().spectate();
}

/** release empty contexts whose monitor died; returns how many */
export function gcContexts(): number {
  return raw().gc();
}

/** resolves when context xid has no process left; rejects with ETIMEDOUT */
export function waitEmpty(xid: number, timeoutMs: number): Promise<void> {
  return raw().waitEmpty(xid, timeoutMs);
}
