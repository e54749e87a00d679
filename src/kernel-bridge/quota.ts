/**
 * Disk limits (DISK_MAX) through libvctx's project quotas
 * (kernel/lib/quota.c, quotactl_fd PRJQUOTA and FS_IOC_FSSETXATTR), and
 * what a file system lacks when it has none: its mount (mountinfo), the
 * ext4 superblock's features, the kernel's quota options.
 */
import { openSync, readSync, closeSync, existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { basename, dirname, join, resolve } from 'node:path';
import { requireAddon } from './addon.js';

/** project ids vctx gives servers' trees start here (VCTX_PROJID_BASE) */
export const PROJID_BASE = 100000;

interface RawProbe {
  fsType: number;
  devMajor: number;
  devMinor: number;
  accounting: boolean;
  enforced: boolean;
  quotaErrno: number;
  projidOk: boolean;
}

interface RawQuota {
  quotaProbe(path: string): RawProbe;
  quotaProjectOf(root: string): { projectId: number; inherit: boolean };
  quotaApply(root: string, bytes: number): { projectId: number; tagged: number; skipped: number };
  quotaTagTree(root: string, projectId: number): { tagged: number; skipped: number };
  quotaSet(path: string, projectId: number, bytes: number): void;
  quotaGet(path: string, projectId: number): { usedBytes: number; limitBytes: number; inodes: number };
}

const raw = (): RawQuota => requireAddon() as unknown as RawQuota;

const FS_NAMES: Record<number, string> = { 0xef53: 'ext4', 0x58465342: 'xfs', 0x9123683e: 'btrfs', 0x01021994: 'tmpfs', 0x794c7630: 'overlay' };

/** what the file system holding a path offers for project quotas */
export interface QuotaSupport {
  /** the file system accounts and enforces project quotas: DISK_MAX works */
  ok: boolean;
  /** 'ext4', 'xfs', ... (statfs), or the magic number in hex */
  fsType: string;
  /** where it is mounted, its source and its super block options (mountinfo); '' when not found */
  mountPoint: string;
  source: string;
  options: string[];
  accounting: boolean;
  enforced: boolean;
  /** ext4: the superblock's 'quota' and 'project' features; null when not ext4 or unreadable */
  ext4Features: { quota: boolean; project: boolean } | null;
  /**
   * the kernel's support for this file system's quotas (CONFIG_QFMT_V2 for ext4,
   * CONFIG_XFS_QUOTA for XFS) from /proc/config.gz; null when unknown
   */
  kernelSupport: boolean | null;
  /** the kernel option kernelSupport was read from */
  kernelOption: string | null;
}

/** the mountinfo line of device maj:min whose mount point holds @path (the deepest one) */
function mountOf(path: string, major: number, minor: number): { mountPoint: string; source: string; options: string[] } {
  const dev = `${major}:${minor}`;
  const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
  let best = { mountPoint: '', source: '', options: [] as string[] };
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return best;
  }
  const p = resolve(path);
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    if (f[2] !== dev) continue;
    const mp = unescape(f[4] ?? '');
    if (!(mp === '/' || p === mp || p.startsWith(mp + '/'))) continue;
    if (mp.length < best.mountPoint.length) continue;
    const g = post.split(' ');
    best = { mountPoint: mp, source: unescape(g[1] ?? ''), options: [...(f[5] ?? '').split(','), ...(g[2] ?? '').split(',')] };
  }
  return best;
}

/** the ext4 superblock's quota and project features of block device @dev; null when unreadable */
export function ext4Features(dev: string): { quota: boolean; project: boolean } | null {
  if (!dev.startsWith('/dev/')) return null;
  let fd: number;
  try {
    fd = openSync(dev, 'r');
  } catch {
    return null;
  }
  try {
    const sb = Buffer.alloc(1024);
    if (readSync(fd, sb, 0, 1024, 1024) !== 1024 || sb.readUInt16LE(0x38) !== 0xef53) return null;
    const roCompat = sb.readUInt32LE(0x64);
    return { quota: (roCompat & 0x100) !== 0, project: (roCompat & 0x2000) !== 0 };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** whether the running kernel was built with @option, from /proc/config.gz; null when unknown */
export function kernelOption(option: string): boolean | null {
  try {
    const text = gunzipSync(readFileSync('/proc/config.gz')).toString('latin1');
    return new RegExp(`^${option}=[ym]$`, 'm').test(text);
  } catch {
    return null;
  }
}

/** what the file system of @path (a directory) offers for project quotas */
export function quotaSupport(path: string): QuotaSupport {
  const p = raw().quotaProbe(path);
  const fsType = FS_NAMES[p.fsType] ?? `0x${p.fsType.toString(16)}`;
  const m = mountOf(path, p.devMajor, p.devMinor);
  const option = fsType === 'ext4' ? 'CONFIG_QFMT_V2' : fsType === 'xfs' ? 'CONFIG_XFS_QUOTA' : null;
  return {
    ok: p.accounting && p.enforced && p.projidOk,
    fsType,
    ...m,
    accounting: p.accounting,
    enforced: p.enforced,
    ext4Features: fsType === 'ext4' ? ext4Features(m.source) : null,
    kernelSupport: option ? kernelOption(option) : null,
    kernelOption: option,
  };
}

/**
 * The tree that holds server root @root's own files, which DISK_MAX's
 * project id tags and counts: @root itself, or for a unified server (an
 * overlay on @root) its own layers ROOTDIR/.vctx-unified/NAME (upper, work
 * and own.erofs; the shared store and lower layer carry no id).
 */
export function diskTreeOf(root: string): string {
  const own = join(dirname(root), '.vctx-unified', basename(root));
  return existsSync(join(own, 'lower')) ? own : root;
}

/** the project id a server tree carries: 0 when none; vctx's ids are >= PROJID_BASE */
export function treeProjectId(root: string): number {
  return raw().quotaProjectOf(root).projectId;
}

/**
 * Gives the tree @root a project id of its own (kept when it has one of
 * vctx's), tags every directory and file on its file system, and sets the
 * project's limit to @bytes (0 = none).  The caller checked quotaSupport.
 * @throws KernelError naming the file and the kernel's refusal
 */
export function applyDiskLimit(root: string, bytes: number): { projectId: number; tagged: number; skipped: number } {
  return raw().quotaApply(root, bytes);
}

/** tags @root's tree with @projectId only (no limit): the walk on its own */
export function tagTree(root: string, projectId: number): { tagged: number; skipped: number } {
  return raw().quotaTagTree(root, projectId);
}

/** the block limit of project @projectId on the file system of @path: @bytes, 0 = none */
export function setProjectLimit(path: string, projectId: number, bytes: number): void {
  raw().quotaSet(path, projectId, bytes);
}

/** a server tree's use against its limit */
export interface DiskQuota {
  projectId: number;
  usedBytes: number;
  /** null = no limit */
  limitBytes: number | null;
  inodes: number;
}

/** the use and limit of project @projectId on the file system of @path */
export function projectQuota(path: string, projectId: number): DiskQuota {
  const q = raw().quotaGet(path, projectId);
  return { projectId, usedBytes: q.usedBytes, limitBytes: q.limitBytes || null, inodes: q.inodes };
}

/**
 * The use and limit of the tree @root, or null when it carries no project
 * id of vctx's or its file system keeps no project quota (never throws:
 * for listings).
 */
export function diskQuotaOf(root: string): DiskQuota | null {
  try {
    const tree = diskTreeOf(root);
    const id = treeProjectId(tree);
    return id < PROJID_BASE ? null : projectQuota(tree, id);
  } catch {
    return null;
  }
}
