/**
 * DISK_MAX: a server's disk limit is the project quota of its tree (ext4
 * or XFS).  Applied at start and by `vserver NAME set DISK_MAX=` (running
 * or not: a quota belongs to the file system, not to the context), lifted
 * by `delete`.  Where the file system has no project quotas it is refused
 * in one line naming the mount and what it lacks.
 *
 * The tree is the server's root, or a unified server's own layers
 * (ROOTDIR/.vctx-unified/NAME: what it wrote, its packed /etc; quota.ts
 * diskTreeOf), the shared store and lower layer carrying no id.
 * The project id: the one the tree's root directory carries when it is one
 * of vctx's (from PROJID_BASE, 100000, up), else the lowest id from there
 * the file system has no quota entry for (libvctx, under an flock of the
 * roots directory).  The kernel records it on the root directory
 * (`lsattr -pd ROOT` shows it); vserver-stat --json shows it too.
 */
import type { ServerConfig } from '../config/index.js';
import {
  applyDiskLimit, diskTreeOf, PROJID_BASE, quotaSupport, setProjectLimit, treeProjectId, type QuotaSupport,
} from '../kernel-bridge/quota.js';
import { LifecycleError, errText } from './errors.js';

/**
 * Why @support cannot hold a disk limit, as the end of a sentence
 * ("ROOT is on MOUNT (ext4, /dev/x), which ..."); null when it can.
 */
export function noProjectQuotaReason(root: string, s: QuotaSupport): string | null {
  if (s.ok) return null;
  const where = s.mountPoint ? `${s.mountPoint} (${s.fsType}${s.source ? `, ${s.source}` : ''})` : `a ${s.fsType} file system`;
  const lacks: string[] = [];
  const opts = new Set(s.options);
  const prjOption = ['prjquota', 'pquota', 'pqnoenforce', 'prjjquota'].some((o) => opts.has(o));
  if (s.fsType === 'ext4') {
    const f = s.ext4Features;
    if (!f) lacks.push("the ext4 'project' and 'quota' features (if it has them, its superblock was unreadable)");
    else if (!f.project || !f.quota) {
      lacks.push(`the ext4 ${[!f.project && "'project'", !f.quota && "'quota'"].filter(Boolean).join(' and ')} feature${!f.project && !f.quota ? 's' : ''} (tune2fs -O quota,project on it unmounted, or mkfs.ext4 -O quota,project)`);
    }
    if (!prjOption || (s.accounting && !s.enforced)) lacks.push("the 'prjquota' mount option");
  } else if (s.fsType === 'xfs') {
    if (!prjOption || (s.accounting && !s.enforced)) lacks.push("the 'prjquota' mount option (XFS takes it at mount time only)");
  } else {
    lacks.push('project quotas, which vctx finds on ext4 and XFS only');
  }
  if (s.kernelSupport === false && s.kernelOption) lacks.push(`a kernel built with ${s.kernelOption} (this one has no ${s.fsType} quotas at all)`);
  if (!lacks.length) lacks.push('project quotas that the kernel answers for');
  return `${root} is on ${where}, which has no project quotas: it lacks ${lacks.join('; ')}`;
}

/** the one-line refusal of DISK_MAX for @config's tree @root, or null when the file system can hold it */
export function diskLimitProblem(config: ServerConfig, serverRoot: string): string | null {
  if (config.diskMax === null) return null;
  const root = diskTreeOf(serverRoot);
  let s: QuotaSupport;
  try {
    s = quotaSupport(root);
  } catch (e) {
    return `${config.file}:${config.lines.DISK_MAX ?? '?'}: DISK_MAX: cannot look at ${root}: ${errText(e)}`;
  }
  const why = noProjectQuotaReason(root, s);
  return why ? `${config.file}:${config.lines.DISK_MAX ?? '?'}: DISK_MAX cannot be enforced: ${why}` : null;
}

export interface DiskLimitResult {
  /** the tree's project id */
  projectId: number;
  /** the limit set in bytes; null = none */
  limit: number | null;
  /** inodes given the project id now (0 when the tree had it already) */
  tagged: number;
}

/**
 * Sets @config's DISK_MAX on tree @root (the file system was checked with
 * diskLimitProblem).  Without DISK_MAX, a tree that carries one of vctx's
 * project ids has its limit lifted, and one that carries none is left alone.
 * @throws LifecycleError failed, naming the file the kernel refused
 */
export function applyServerDiskLimit(config: ServerConfig, serverRoot: string): DiskLimitResult | null {
  const root = diskTreeOf(serverRoot);
  if (config.diskMax === null) {
    const id = liftTreeLimit(root);
    return id === null ? null : { projectId: id, limit: null, tagged: 0 };
  }
  try {
    const r = applyDiskLimit(root, config.diskMax);
    return { projectId: r.projectId, limit: config.diskMax, tagged: r.tagged };
  } catch (e) {
    throw new LifecycleError('failed', 'quota', `cannot set DISK_MAX of '${config.name}' on ${root}: ${errText(e)}`);
  }
}

/**
 * Lifts the limit of the project server root @serverRoot's tree carries
 * (delete: the tree goes, and with it every block charged to the id, which
 * is then free again).  Never throws: a tree without one of vctx's ids has
 * nothing to lift.  Returns the id whose limit was lifted, null when none.
 */
export function liftDiskLimit(serverRoot: string): number | null {
  return liftTreeLimit(diskTreeOf(serverRoot));
}

/** liftDiskLimit of the tree @tree itself (the server's root or its own layers) */
function liftTreeLimit(tree: string): number | null {
  try {
    const id = treeProjectId(tree);
    return id >= PROJID_BASE && liftProjectLimit(tree, id) ? id : null;
  } catch {
    return null; /* no project id, or no quotas: nothing to lift */
  }
}

/**
 * The limit of project @id lifted on the file system of @path (a path that
 * stays: delete lifts a unified server's once its own layers are gone).
 * Never throws; false when there was nothing to lift.
 */
export function liftProjectLimit(path: string, id: number): boolean {
  try {
    if (id < PROJID_BASE || !quotaSupport(path).ok) return false;
    setProjectLimit(path, id, 0);
    return true;
  } catch {
    return false;
  }
}

/** the project id of vctx's that server root @serverRoot's tree carries, else null (never throws) */
export function serverProjectId(serverRoot: string): number | null {
  try {
    const id = treeProjectId(diskTreeOf(serverRoot));
    return id >= PROJID_BASE ? id : null;
  } catch {
    return null;
  }
}
