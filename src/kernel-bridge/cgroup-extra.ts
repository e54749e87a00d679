/**
 * The cgroup2 figures of a context that the snapshot does not carry, for
 * vctx-exporter: CPU time split into user and system (cpu.stat), the
 * memory high-water mark (memory.peak, Linux 5.19+) and the tasks counted
 * against pids.max (pids.current).  Plain reads of three small files per
 * context, nothing forked; a file that is missing (no such controller, an
 * older kernel, a context gone meanwhile) gives null for its figures.
 * On a hybrid host (controllers on v1 hierarchies, as libvctx's layout
 * allows) the memory and pids figures come from the v1 directory of the
 * same context, <mount>/vctx/<xid>, as libvctx's scan reads them
 * (memory.max_usage_in_bytes for the peak).  cpu.stat is a core cgroup2
 * file: it is there whatever the controllers.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';

export interface CgroupExtra {
  /** cpu.stat user_usec and system_usec, microseconds; null when unreadable */
  cpuUserUsec: number | null;
  cpuSystemUsec: number | null;
  /** memory.peak in bytes; null when the kernel has none */
  memoryPeak: number | null;
  /** pids.current: tasks (threads) charged to the context; null without the pids controller */
  pidsCurrent: number | null;
}

const buf = Buffer.alloc(4096);

/**
 * A small cgroup file, in three system calls (readFileSync also stats it);
 * null when it cannot be read
 */
function read(dir: string, file: string): string | null {
  let fd: number;
  try {
    fd = openSync(join(dir, file), 'r');
  } catch {
    return null;
  }
  try {
    return buf.toString('latin1', 0, readSync(fd, buf, 0, buf.length, 0));
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/**
 * The cgroup2 files that proved missing in a context's directory that
 * exists: the controller is not on cgroup2 here (a hybrid host) or the
 * kernel has no such file; not asked again (a failed open costs an
 * exception).  Which controllers are where does not change while the host runs.
 */
const missingV2 = new Set<string>();

function readV2(dir: string, file: string): string | null {
  if (!dir || missingV2.has(file)) return null;
  const t = read(dir, file);
  if (t === null && read(dir, 'cgroup.type') !== null) missingV2.add(file);
  return t;
}

function num(text: string | null): number | null {
  if (text === null) return null;
  const n = Number(text.trim());
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/** `key value` lines (cpu.stat, memory.events): the value of @key, or null */
export function statField(text: string | null, key: string): number | null {
  if (text === null) return null;
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

let v1Mounts: Map<string, string> | undefined;

/** where the v1 hierarchies of the memory and pids controllers are mounted (mountinfo, once) */
function v1Mount(controller: 'memory' | 'pids'): string | null {
  if (!v1Mounts) {
    v1Mounts = new Map();
    let text = '';
    try {
      text = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      /* none then */
    }
    for (const line of text.split('\n')) {
      const [pre, post] = line.split(' - ');
      const f = pre?.split(' ');
      const g = post?.split(' ');
      if (!f || !g || g[0] !== 'cgroup') continue;
      for (const opt of (g[2] ?? '').split(',')) if ((opt === 'memory' || opt === 'pids') && !v1Mounts.has(opt)) v1Mounts.set(opt, f[4]!);
    }
  }
  return v1Mounts.get(controller) ?? null;
}

/** the extra figures of context @xid, whose cgroup2 directory is @dir (a ContextInfo's cgroup) */
export function cgroupExtra(dir: string, xid: number): CgroupExtra {
  const cpu = dir ? read(dir, 'cpu.stat') : null;
  const v1 = (c: 'memory' | 'pids', file: string): number | null => {
    const m = v1Mount(c);
    return m ? num(read(join(m, 'vctx', String(xid)), file)) : null;
  };
  const peak = num(readV2(dir, 'memory.peak'));
  const pids = num(readV2(dir, 'pids.current'));
  return {
    cpuUserUsec: statField(cpu, 'user_usec'),
    cpuSystemUsec: statField(cpu, 'system_usec'),
    memoryPeak: peak ?? v1('memory', 'memory.max_usage_in_bytes'),
    pidsCurrent: pids ?? v1('pids', 'pids.current'),
  };
}
