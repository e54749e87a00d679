/**
 * Context membership and confinement through the addon: listing contexts,
 * joining the spectator (context 1), releasing a context left by a crashed
 * tool, changing a running context's limits, reading its network counters,
 * and reaping a child Node did not spawn.  (Waiting for a context to empty is `vserver stop`'s poll of
 * the cgroup: it also watches the monitor and releases for a dead one.)
 */
import { requireAddon } from './addon.js';
import type { ContextInfo } from './types.js';

/**
 * A running context as the cgroup tree records it (no /proc scan): the
 * snapshot's ContextInfo without the figures and namespaces.
 */
export type ContextRecord = Pick<ContextInfo,
  'xid' | 'parentXid' | 'name' | 'cgroup' | 'root' | 'pid1' | 'ip' | 'loopback' | 'ip6' | 'loopback6' | 'nat' |
  'capBounding' | 'flags' | 'created' | 'nprocs'>;

/** what the addon's listContexts() gives: the flags as libvctx writes them, space-separated */
type RawContextRecord = Omit<ContextRecord, 'flags'> & { flags: string };

interface RawKernel {
  listContexts(): RawContextRecord[];
  spectate(): void;
  release(xid: number): void;
  setLimits(xid: number, limits: LiveLimits): void;
  netCounters(xid: number): NetCounters | null;
}

/**
 * A context's network traffic as its lock's packet filters let it through
 * (the pinned per-context map, kernel/bpf/ipv4root.h): bytes of IP packets,
 * headers included, and packets, received (rx) and sent (tx) since it started.
 */
export interface NetCounters {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
}

/**
 * The network counters of context `xid` (its own traffic, without nested
 * contexts'), or null when it is not counted: no such context, no network
 * lock, or its entry went with its release.  The snapshot's netRx and netTx
 * figures are the same counters.
 * @throws KernelError when the map cannot be read
 */
export function netCounters(xid: number): NetCounters | null {
  return raw().netCounters(xid);
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

/**
 * Make this (multithreaded) process a member of context 1: it keeps the
 * host's view of every process but can no longer signal or trace any
 * process but itself (a seccomp filter on every thread).  Irreversible.
 */
export function spectate(): void {
  raw().spectate();
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

/**
 * Change the limits of running context @xid where its controllers are
 * (cgroup2, or v1 on hybrid hosts); all or nothing.  Throws a KernelError
 * naming the file and value the kernel refused.
 */
export function setLiveLimits(xid: number, limits: LiveLimits): void {
  raw().setLimits(xid, limits);
}

/** the list vserver's front took as Node started (front.ts), for the first listing only */
let handedOver: ContextRecord[] | Error | null = null;

/** the list (or libvctx's error) vserver's front took: listContexts()'s next answer */
export function adoptContextList(l: ContextRecord[] | Error): void {
  handedOver = l;
}

/** every running context (the spectator's included), from the cgroup tree */
export function listContexts(): ContextRecord[] {
  const h = handedOver;
  if (h !== null) {
    handedOver = null;
    if (h instanceof Error) throw h;
    return h;
  }
  return raw().listContexts().map((c) => ({ ...c, flags: c.flags ? c.flags.split(' ') : [] }));
}
