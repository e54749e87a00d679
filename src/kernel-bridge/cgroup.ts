/**
 * A context's cgroup as the actions see it: where it is (libvctx's cgroup
 * layout, handed over by vserver's front or through the addon), whether it still exists (its inode: cgroup2
 * inodes are not reused), its processes and whether it is populated.
 * Plain reads of cgroupfs, nothing forked.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireAddon } from './addon.js';

/** where libvctx keeps the contexts' cgroups (vctx_cgroup_layout) */
export interface CgroupLayout {
  /** the cgroup2 mount */
  v2: string;
  /** the directory below it that holds the top-level contexts (<v2>/vctx) */
  contexts: string;
  /** some controllers sit on v1 hierarchies */
  hybrid: boolean;
}

interface RawCgroup {
  cgroupLayout(): CgroupLayout;
}

let layout: CgroupLayout | null | undefined;

/** the layout vserver's front asked libvctx for (front.ts): no addon needed */
export function adoptCgroupLayout(l: CgroupLayout | null): void {
  layout = l;
}

/** libvctx's cgroup layout, or null on a host without cgroup2 (once per process) */
export function cgroupLayout(): CgroupLayout | null {
  if (layout !== undefined) return layout;
  try {
    layout = (requireAddon() as unknown as RawCgroup).cgroupLayout();
  } catch {
    layout = null;
  }
  return layout;
}

/** <cgroup2>/vctx/<xid> (top-level contexts: servers are never nested); null without cgroup2 */
export function contextCgroup(xid: number): string | null {
  const l = cgroupLayout();
  return l ? join(l.contexts, String(xid)) : null;
}

/** inode of a (cgroup) directory as a decimal string, or null when it is gone */
export function dirIno(dir: string): string | null {
  try {
    return statSync(dir, { bigint: true }).ino.toString();
  } catch {
    return null;
  }
}

/** every PID in the cgroup subtree at @dir (nested contexts included) */
export function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string, depth: number): void => {
    try {
      for (const l of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (l) out.push(Number(l));
    } catch {
      return;
    }
    if (depth > 16) return;
    let ents;
    try {
      ents = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of ents) if (e.isDirectory()) walk(join(d, e.name), depth + 1);
  };
  walk(dir, 0);
  return out;
}

/** true while the cgroup subtree has processes (cgroup.events populated) */
export function cgroupPopulated(dir: string): boolean {
  try {
    return /^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'));
  } catch {
    return false;
  }
}

/** the cgroup subtree at @dir has no process left */
export function cgroupEmpty(dir: string): boolean {
  return cgroupPids(dir).length === 0 && !cgroupPopulated(dir);
}

/**
 * Freezes (@frozen true) or thaws the cgroup of context @xid through
 * cgroup v2's cgroup.freeze, and resolves when cgroup.events says the
 * kernel has done it (a freeze waits for every task to stop: up to
 * @timeoutMs, then it is undone and this throws).
 */
export async function setContextFrozen(xid: number, frozen: boolean, timeoutMs = 10_000): Promise<void> {
  const dir = contextCgroup(xid);
  if (!dir) throw new Error('no cgroup2 hierarchy: a context cannot be frozen');
  writeFileSync(join(dir, 'cgroup.freeze'), frozen ? '1' : '0');
  const want = new RegExp(`^frozen ${frozen ? 1 : 0}$`, 'm');
  const end = Date.now() + timeoutMs;
  while (!want.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'))) {
    if (Date.now() > end) {
      if (frozen) writeFileSync(join(dir, 'cgroup.freeze'), '0');
      throw new Error(`context ${xid} did not ${frozen ? 'freeze' : 'thaw'} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}
