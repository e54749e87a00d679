/**
 * Context membership and confinement through the addon: the XID of a
 * process, joining the spectator (context 1), releasing contexts left by
 * crashed tools, changing a running context's limits, and waiting (off the
 * main thread) for a context to empty.
 */
import { requireAddon } from './addon.js';

/** a running context as the cgroup tree records it (no /proc scan) */
export interface ContextRecord {
  xid: number;
  parentXid: number;
  name: string;
  cgroup: string;
  root: string;
  /** host PID of PID 1, 0 when unknown or no longer that process */
  pid1: number;
  ip: string | null;
  loopback: string | null;
  capBounding: string;
  /** space-separated flag names */
  flags: string;
  created: number;
  nprocs: number;
}

interface RawKernel {
  listContexts(): ContextRecord[];
  xidOfPid(pid: number): number;
  spectate(): void;
  gc(): number;
  release(xid: number): void;
  waitEmpty(xid: number, timeoutMs: number): Promise<void>;
  setLimits(xid: number, limits: LiveLimits): void;
}

/**
 * Limits of a running context to change (a key left out stays as it is):
 * 0 means no limit (memory, processes, CPU cap) or the default weight (100).
 */
export interface LiveLimits {
  memoryMax?: number;
  pidsMax?: number;
  cpuWeight?: number;
  /** CPU time per 100 ms period, in microseconds (1000 = 1 % of one CPU) */
  cpuQuotaUs?: number;
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

/**
 * Release empty context @xid through libvctx's one release path: its
 * cgroups (v2 and v1), IPv4 lock records and guard socket.
 * @throws KernelError ESRCH when no such context exists, EBUSY when it
 *   still has processes after 5 s
 */
export function releaseContextNow(xid: number): void {
  raw().release(xid);
}

/** resolves when context xid has no process left; rejects with ETIMEDOUT */
export function waitEmpty(xid: number, timeoutMs: number): Promise<void> {
  return raw().waitEmpty(xid, timeoutMs);
}

/**
 * Change the limits of running context @xid where its controllers are
 * (cgroup2, or v1 on hybrid hosts); all or nothing.  Throws a KernelError
 * naming the file and value the kernel refused.
 */
export function setLiveLimits(xid: number, limits: LiveLimits): void {
  raw().setLimits(xid, limits);
}

/** every running context (the spectator's included), from the cgroup tree */
export function listContexts(): ContextRecord[] {
  return raw().listContexts();
}
