/**
 * Unification (issue 14; the 2002 manual's section 2.7) on stock kernels:
 * servers' identical non-configuration files share one inode in a
 * content-addressed store, and each server's root is an overlay that
 * copies a file up into the server's own upper directory the moment the
 * server changes it.
 *
 *   ROOTDIR/.vctx-store/objects/XX/HASH   the objects (SHA-256 of content,
 *                                         mode, owner, xattrs; one inode each)
 *   ROOTDIR/.vctx-unified/NAME/lower      the server's read-only layer:
 *                                         directories, symlinks, hard links
 *                                         into the store; a symbolic link to
 *                                         ROOTDIR/.vctx-layers/TREEHASH, one
 *                                         layer for servers whose layers are
 *                                         the same tree
 *   ROOTDIR/.vctx-unified/NAME/own.erofs  the server's own /etc and dpkg's
 *                                         and debconf's databases (PACKED),
 *                                         packed at unify into one
 *                                         compressed erofs image (small
 *                                         files share blocks)
 *   ROOTDIR/.vctx-unified/NAME/own        where that image is mounted
 *                                         (read-only)
 *   ROOTDIR/.vctx-unified/NAME/upper      the rest of what is never shared
 *                                         (/var, data directories, conffiles
 *                                         elsewhere) and everything the
 *                                         server writes
 *   ROOTDIR/.vctx-unified/NAME/work       overlayfs's work directory
 *   ROOTDIR/NAME                          the overlay, mounted in the host's
 *                                         mount namespace (every tool keeps
 *                                         using ROOTDIR/NAME as the tree)
 *
 * The overlay's layers, top first: upper, own, lower.  The walk and the
 * hashing are kernel/tools/vunify.c, the image mkfs.erofs (erofs-utils).
 * One function, mountUnified, mounts a unified tree where it is missing
 * (after a reboot): start, backup, vserver-copy and deunify call it.
 */
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, open, readdir, readlink, rename, rm, rmdir, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { VctxPaths } from '../config/paths.js';
import { configPath } from '../config/index.js';
import { toolsDir } from '../kernel-bridge/addon.js';
import { mountsBelow } from '../kernel-bridge/host.js';
import { processesRootedIn } from '../kernel-bridge/pid.js';
import { PROJID_BASE, tagTree, treeProjectId } from '../kernel-bridge/quota.js';
import { checkName, loadConfigFor } from './config-load.js';
import { LifecycleError, errText } from './errors.js';
import { acquireLock, LOCK_WAIT_SEC, lockServer, type HeldLock } from './lock.js';
import { ensureRunDir, findContext } from './runtime.js';
import { run } from './templates/common.js';

export const VUNIFY = join(toolsDir, 'vunify');

/** what is never shared (relative to the server's root), besides dpkg's conffiles */
export const NEVER_SHARED = ['etc', 'var', 'home', 'root', 'srv', 'tmp', 'run', 'opt', 'usr/local', 'boot', 'media', 'mnt'];

export interface UnifiedDirs {
  store: string;
  base: string;
  lower: string;
  upper: string;
  work: string;
  /** the server's own layer: an erofs image of what is never shared, and its mount point */
  image: string;
  own: string;
  /** stands while the image is made and the upper emptied (packOwn) */
  packing: string;
  /** a unify asked while the server ran: done at its next start */
  pending: string;
}

export function unifiedDirs(rootdir: string, name: string): UnifiedDirs {
  const base = join(rootdir, '.vctx-unified', name);
  return {
    store: join(rootdir, '.vctx-store'), base, lower: join(base, 'lower'), upper: join(base, 'upper'), work: join(base, 'work'),
    image: join(base, 'own.erofs'), own: join(base, 'own'), packing: join(base, 'own.packing'),
    pending: join(rootdir, '.vctx-unified', `${name}.pending`),
  };
}

/** server @name's tree is unified (its layer exists) */
export function isUnified(rootdir: string, name: string): boolean {
  return existsSync(unifiedDirs(rootdir, name).lower);
}

async function isMountPoint(dir: string): Promise<boolean> {
  return (await mountsBelow(dir)).includes(dir);
}

/**
 * Mounts unified server @name's overlay on ROOTDIR/NAME when it is not
 * (after a reboot); nothing for a server that is not unified.  Returns
 * whether the tree is unified.
 */
export async function mountUnified(rootdir: string, name: string): Promise<boolean> {
  const d = unifiedDirs(rootdir, name);
  if (!existsSync(d.lower)) return false;
  const root = join(rootdir, name);
  if (await isMountPoint(root)) return true;
  if (!existsSync(root)) await mkdir(root, { mode: 0o755 });
  await mkdir(d.work, { recursive: true, mode: 0o700 });
  if (existsSync(d.packing)) await resumePack(d, name);
  const own = existsSync(d.image);
  const mountedOwn = own && !(await isMountPoint(d.own));
  if (own) await mountOwn(d, name);
  // index=off: the layers may be copied (vserver-copy) and remounted elsewhere; xino=auto: one
  // device and unique inode numbers in the tree although the own layer is another file system
  await run('mount', ['-t', 'overlay', 'overlay', '-o',
    `lowerdir=${own ? `${d.own}:` : ''}${d.lower},upperdir=${d.upper},workdir=${d.work},index=off,redirect_dir=off,metacopy=off,xino=auto`, root]).catch(async (e: Error) => {
    if (mountedOwn) await run('umount', [d.own]).catch(() => {});
    throw new LifecycleError('failed', 'unify', `cannot mount the unified tree of '${name}' on ${root}: ${e.message}`);
  });
  return true;
}

/** mounts @d's own layer (its erofs image) when it is not: from the file, else through a loop device (kernels before 6.12) */
async function mountOwn(d: UnifiedDirs, name: string): Promise<void> {
  if (await isMountPoint(d.own)) return;
  await mkdir(d.own, { recursive: true, mode: 0o755 });
  await run(VUNIFY, ['mount-image', d.image, d.own]).catch(async (e: Error & { code?: number }) => {
    if (e.code !== 3) throw e;
    await run('mount', ['-t', 'erofs', '-o', 'ro,nosuid,nodev,loop', d.image, d.own]);
  }).catch((e: Error) => {
    throw new LifecycleError('failed', 'unify', `cannot mount the own layer of '${name}' (${d.image}) on ${d.own}: ${e.message}`);
  });
}

/** unmounts server @name's overlay, then its own layer, when mounted */
async function unmountUnified(rootdir: string, name: string): Promise<void> {
  const root = join(rootdir, name);
  const d = unifiedDirs(rootdir, name);
  if (await isMountPoint(root)) {
    const users = await processesRootedIn(root);
    if (users.length) throw new LifecycleError('failed', 'root', `process ${users.join(', ')} runs inside ${root}; not unmounting it`);
    await run('umount', [root]);
  }
  if (await isMountPoint(d.own)) await run('umount', [d.own]);
}

/**
 * What a server's own image holds (relative to its root): the package
 * manager's configuration and database, ~1,100 small files in a Debian
 * server that take a 4 KiB block each on ext4 (6.5 MiB) and are rarely
 * written.  The rest of what is never shared (logs, data directories,
 * /home, /srv, /tmp ...) stays in the upper directory, where a server
 * renames directories and grows files without a copy-up.
 */
export const PACKED = ['etc', 'var/lib/dpkg', 'var/cache/debconf'];
/** PACKED holding more than this (apparent size: a huge or sparse file) is not packed: mkfs would read it all */
const PACK_MAX_BYTES = 64 << 20;

/**
 * Packs PACKED from @d's upper (what convert moved there: the server's
 * alone) into its own erofs image, mounts it as the layer under the upper,
 * and only then removes those files from the upper: lz4hc and tail-packing
 * take a Debian server's 6.5 MiB to ~1.5 MiB.  The server still changes any
 * of them: the overlay copies it up into its upper.  Crash-safe: the marker
 * d.packing stands from before mkfs until the upper is emptied, the image
 * is on disk (fsync) before it is renamed into place and mounted, and a
 * mount (resumePack) finishes or undoes what a crash interrupted.  Throws
 * (the upper untouched, nothing left) when the image cannot be made or
 * cannot be mounted on this kernel.
 */
async function packOwn(d: UnifiedDirs, name: string): Promise<{ bytes: number; imageBytes: number }> {
  const present: string[] = [];
  for (const p of PACKED) if ((await lstat(join(d.upper, p)).catch(() => null))?.isDirectory()) present.push(p);
  if (!present.length) throw new Error('it has no /etc, dpkg or debconf directory of its own');
  const du = async (...opts: string[]) =>
    Number(/^(\d+)\s+total$/m.exec(await run('du', ['-scxB1', ...opts, ...present.map((p) => join(d.upper, p))]))?.[1] ?? NaN);
  const apparent = await du('--apparent-size');
  if (!(apparent <= PACK_MAX_BYTES)) {
    throw new Error(`its ${present.map((p) => `/${p}`).join(', ')} hold ${(apparent / 1048576).toFixed(1)} MiB, more than ${PACK_MAX_BYTES >> 20} MiB`);
  }
  const bytes = await du();
  const exclude = await notPacked(d.upper, present);
  const tmp = `${d.image}.new`;
  await writeFile(d.packing, `${new Date().toISOString()}\n`, { mode: 0o600 });
  try {
    await rm(tmp, { force: true });
    await run('mkfs.erofs', [...EROFS_OPTS, ...exclude.map((x) => `--exclude-path=${x}`), tmp, d.upper]);
    await fsyncPath(tmp);
    await rename(tmp, d.image);
    await fsyncPath(d.base);
    await mountOwn(d, name);
  } catch (e) {
    if (await isMountPoint(d.own)) await run('umount', [d.own]).catch(() => {});
    await rm(tmp, { force: true });
    await rm(d.image, { force: true });
    await rm(d.packing, { force: true });
    throw e;
  }
  await finishPack(d);
  return { bytes, imageBytes: (await stat(d.image)).blocks * 512 };
}

/** the entries of @upper on the way to @packed that are not packed: mkfs.erofs's --exclude-path list (relative) */
async function notPacked(upper: string, packed: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const n of await readdir(rel ? join(upper, rel) : upper)) {
      const r = rel ? `${rel}/${n}` : n;
      if (packed.includes(r)) continue;
      if (packed.some((p) => p.startsWith(`${r}/`)) && (await lstat(join(upper, r))).isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk('');
  return out;
}

/** the packed files leave the upper (the image, mounted, shows them); the marker goes last */
async function finishPack(d: UnifiedDirs): Promise<void> {
  for (const p of PACKED) await rm(join(d.upper, p), { recursive: true, force: true });
  await rm(d.packing, { force: true });
}

/** a pack a crash interrupted: finished when its image is there and mounts, else undone (the upper still holds everything) */
async function resumePack(d: UnifiedDirs, name: string): Promise<void> {
  await rm(`${d.image}.new`, { force: true });
  if (existsSync(d.image)) {
    await mountOwn(d, name);
    await finishPack(d);
  } else {
    await rm(d.packing, { force: true });
  }
}

/** data and metadata of @path on disk (a file or a directory) */
async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** mkfs.erofs (erofs-utils 1.5): lz4hc in 64 KiB clusters, small files' tails packed, mtimes kept to the nanosecond */
const EROFS_OPTS = ['-zlz4hc', '-C65536', '-Eztailpacking', '--preserve-mtime', '--quiet'];

export interface UnifyCounts {
  /** SHA-256 of the lower layer's tree (names, metadata, contents; no times); null when it cannot be shared */
  treeHash: string | null;
  /** vunify found ROOTDIR/.vctx-layers/TREEHASH and emptied the server's lower (nothing linked) */
  layerExists: boolean;
  /** the lower layer is one another server has (ROOTDIR/.vctx-layers/TREEHASH) */
  layerShared?: boolean;
  files: number;
  newObjects: number;
  linked: number;
  newBytes: number;
  sharedBytes: number;
  moved: number;
  keptLinks: number;
  dupes: number;
  empty: number;
  /** what is never shared, on disk as moved (bytes) and packed into its erofs image; null when not packed (packError says why) */
  own?: { bytes: number; imageBytes: number } | null;
  packError?: string;
  /** the server's disk limit's project id could not be set on its own layers */
  projectError?: string;
}

export interface UnifyResult {
  name: string;
  /** 'unified' now, 'already' (nothing to do), 'pending' (running: at its next start) */
  outcome: 'unified' | 'already' | 'pending';
  counts: UnifyCounts | null;
  elapsedMs: number;
}

/**
 * `vserver-all unify`: every server of @names, the first alone (its layer and
 * objects are then there for the others), the rest two at a time (the walk
 * waits on the disk as much as it hashes); one store lock for the whole run.
 * @each gets each outcome as it comes.
 */
export async function unifyAll(names: readonly string[], paths: VctxPaths,
  each: (name: string, r: UnifyResult | null, e: unknown) => void, workers = 2): Promise<void> {
  if (!names.length) return;
  const store = await lockStore(paths.rootdir, 'unify', names[0]!);
  try {
    const one = async (n: string) => {
      try {
        each(n, await unifyServer(n, paths, { storeLocked: true }), null);
      } catch (e) {
        each(n, null, e);
      }
    };
    await one(names[0]!);
    const rest = names.slice(1);
    await Promise.all(Array.from({ length: Math.min(workers, rest.length) }, async () => {
      for (let n = rest.shift(); n !== undefined; n = rest.shift()) await one(n);
    }));
  } finally {
    await store.release();
  }
}

/**
 * The store's lock (ROOTDIR/.vctx-unified/.lock): one unify, deunify or
 * garbage collection at a time per ROOTDIR.  unify and deunify do not wait
 * (@waitSec 0): a second one is refused in one line, changing nothing.
 */
async function lockStore(rootdir: string, verb: string, name: string, waitSec = 0): Promise<HeldLock> {
  const dir = join(rootdir, '.vctx-unified');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, '.lock');
  try {
    return await acquireLock(file, waitSec);
  } catch {
    throw new LifecycleError('failed', 'lock', `cannot ${verb} '${name}': another unify or deunify works on the store of ${rootdir} (it holds ${file}); try again when it ends`);
  }
}

function knownServer(name: string, paths: VctxPaths): void {
  checkName(name);
  const root = join(paths.rootdir, name);
  const conf = configPath(paths.confdir, name);
  if (!existsSync(conf) && !existsSync(root)) {
    throw new LifecycleError('unknown-server', 'config', `unknown server '${name}' (no ${conf} and no ${root})`);
  }
  if (!existsSync(root) && !isUnified(paths.rootdir, name)) throw new LifecycleError('failed', 'root', `server '${name}' has no tree ${root}; build it first`);
}

/**
 * `vserver NAME unify`: makes the stopped server's tree unified; a running
 * server's is done at its next start (the overlay cannot replace the root
 * its processes run in).  A unified server's second unify does nothing.
 */
export async function unifyServer(name: string, paths: VctxPaths, opts: { storeLocked?: boolean } = {}): Promise<UnifyResult> {
  const t0 = Date.now();
  knownServer(name, paths);
  const files = await ensureRunDir(paths, name);
  const lock = await lockServer(files.lock, 'unify', name);
  let store: HeldLock | null = null;
  try {
    if (!opts.storeLocked) store = await lockStore(paths.rootdir, 'unify', name);
    if (isUnified(paths.rootdir, name)) {
      await mountUnified(paths.rootdir, name);
      return { name, outcome: 'already', counts: null, elapsedMs: Date.now() - t0 };
    }
    const c = await findContext(paths, name);
    if (c && !c.empty) {
      const d = unifiedDirs(paths.rootdir, name);
      await mkdir(join(paths.rootdir, '.vctx-unified'), { recursive: true, mode: 0o700 });
      await writeFile(d.pending, `${new Date().toISOString()}\n`, { mode: 0o600 });
      return { name, outcome: 'pending', counts: null, elapsedMs: Date.now() - t0 };
    }
    const counts = await convert(name, paths);
    return { name, outcome: 'unified', counts, elapsedMs: Date.now() - t0 };
  } finally {
    await store?.release();
    await lock.release();
  }
}

/** start has something to do for @name: a unified tree (to mount) or a unify asked while it ran */
export function unifyWork(rootdir: string, name: string): boolean {
  const d = unifiedDirs(rootdir, name);
  return existsSync(d.pending) || existsSync(d.lower);
}

/** a unify asked while @name ran, done now (start calls it, the server stopped, before its checks) */
export async function unifyPending(name: string, paths: VctxPaths): Promise<UnifyCounts | null> {
  const d = unifiedDirs(paths.rootdir, name);
  if (!existsSync(d.pending)) {
    await mountUnified(paths.rootdir, name);
    return null;
  }
  const files = await ensureRunDir(paths, name);
  const lock = await lockServer(files.lock, 'unify', name);
  let store: HeldLock | null = null;
  try {
    store = await lockStore(paths.rootdir, 'unify', name, LOCK_WAIT_SEC);
    const counts = isUnified(paths.rootdir, name) ? null : await convert(name, paths);
    await rm(d.pending, { force: true });
    await mountUnified(paths.rootdir, name);
    return counts;
  } finally {
    await store?.release();
    await lock.release();
  }
}

/** the conversion of stopped server @name's plain tree (lock held) */
async function convert(name: string, paths: VctxPaths): Promise<UnifyCounts> {
  const root = join(paths.rootdir, name);
  const d = unifiedDirs(paths.rootdir, name);
  const rootSt = await lstat(root).catch(() => null);
  if (!rootSt?.isDirectory()) throw new LifecycleError('failed', 'root', `${root} is not a directory; not unifying '${name}'`);
  const mounted = await mountsBelow(root);
  if (mounted.length) throw new LifecycleError('failed', 'root', `${mounted[mounted.length - 1]} is mounted; unmount it before unifying '${name}'`);
  const users = await processesRootedIn(root);
  if (users.length) throw new LifecycleError('failed', 'root', `process ${users.join(', ')} runs inside ${root}; not unifying '${name}'`);
  // a disk limit's project id (DISK_MAX) tags every file and directory (PROJINHERIT): taken off
  // the whole tree right before it moves, as files that become objects others share must not
  // count for this server (and ext4 refuses a link into a PROJINHERIT directory of another
  // project), then put on the server's own layers (ROOTDIR/.vctx-unified/NAME: what it writes,
  // its image) at the end when its configuration still has DISK_MAX (its limit keeps the id's
  // quota entry, so no other server takes the id meanwhile); else the id is dropped
  const projectId = projectIdOf(root);
  const keepId = projectId >= PROJID_BASE && (await loadConfigFor(paths.confdir, name).then((c) => c.config.diskMax !== null, () => false));
  // "no id" is ROOTDIR's own (an administrator's project below PROJID_BASE, which the store inherits), else 0
  const rootdirId = projectIdOf(paths.rootdir);
  const untagged = rootdirId < PROJID_BASE ? rootdirId : 0;
  // the store: ROOTDIR's own file system, as a hard link needs
  await mkdir(d.store, { recursive: true, mode: 0o700 });
  const storeSt = await lstat(d.store);
  if (!storeSt.isDirectory()) throw new LifecycleError('failed', 'unify', `${d.store} is not a directory; the store must be one`);
  if (storeSt.dev !== rootSt.dev) {
    throw new LifecycleError('failed', 'unify', `the store ${d.store} is on another file system than ${root}; hard links need one: make it a plain directory in ${paths.rootdir}`);
  }
  await mkdir(join(paths.rootdir, '.vctx-unified'), { recursive: true, mode: 0o700 });
  await chmod(join(paths.rootdir, '.vctx-unified'), 0o700);
  if (existsSync(d.base)) { // left by an interrupted unify before its tree moved
    if (await isMountPoint(d.own)) await run('umount', [d.own]);
    await rm(d.base, { recursive: true, force: true });
  }
  await mkdir(d.base, { mode: 0o700 });
  await mkdir(d.upper, { mode: 0o755 });
  await mkdir(d.work, { mode: 0o700 });
  const untag = projectId >= PROJID_BASE ? tagOrWhy(root, untagged) : null;
  if (untag) {
    if (keepId) tagOrWhy(root, projectId);
    await rm(d.base, { recursive: true, force: true });
    throw new LifecycleError('failed', 'unify', `cannot take the disk limit's project id ${projectId} off ${root} before unifying '${name}': ${untag}`);
  }
  await rename(root, d.lower);
  let out: string;
  try {
    await mkdir(root, { mode: rootSt.mode & 0o7777 });
    await chown(root, rootSt.uid, rootSt.gid);
    await chown(d.upper, rootSt.uid, rootSt.gid);
    await chmod(d.upper, rootSt.mode & 0o7777);
    await mkdir(join(paths.rootdir, '.vctx-layers'), { recursive: true, mode: 0o700 });
    out = await run(VUNIFY, ['convert', d.store, d.lower, d.upper, ...NEVER_SHARED.flatMap((k) => ['--keep', k]),
      '--layers', join(paths.rootdir, '.vctx-layers')]);
  } catch (e) {
    // the layers still show the whole tree: back to one plain tree
    await restorePlain(name, paths).catch((e2: unknown) => {
      throw new LifecycleError('failed', 'unify', `unify of '${name}' failed (${errText(e)}), and so did undoing it: ${errText(e2)}; its layers are in ${d.base}`);
    });
    const retag = keepId ? tagOrWhy(root, projectId) : null;
    const id = retag ? ` (but without its disk limit's project id ${projectId} until its next start: ${retag})` : '';
    throw new LifecycleError('failed', 'unify', `unify of '${name}' failed: ${errText(e)}; its tree is as it was${id}`);
  }
  const counts = JSON.parse(out) as UnifyCounts;
  // an emptied lower must become the link (a failure is said); else sharing is a saving, not a must
  counts.layerShared = await shareLayer(paths.rootdir, name, counts.treeHash, counts.layerExists).catch((e: unknown) => {
    if (counts.layerExists) throw new LifecycleError('failed', 'unify', `unify of '${name}': cannot link ${d.lower} to its layer: ${errText(e)}`);
    return false;
  });
  // not packed (no mkfs.erofs, a full disk): the own files stay in the upper, as good but bigger
  counts.own = await packOwn(d, name).catch((e: unknown) => {
    counts.packError = errText(e);
    return null;
  });
  // the merged root's times are the upper's: the root's own again, as the moves and the packing changed them
  await utimes(d.upper, rootSt.atime, rootSt.mtime);
  const tag = keepId ? tagOrWhy(d.base, projectId) : null;
  if (tag) counts.projectError = `its own layers ${d.base} do not carry its disk limit's project id ${projectId} (its next start sets it): ${tag}`;
  await mountUnified(paths.rootdir, name);
  return counts;
}

/**
 * One lower layer for servers whose layers are the same tree (servers of one
 * base): ROOTDIR/.vctx-layers/TREEHASH, and the server's `lower` a symbolic
 * link to it, so the ~800 directories of a Debian base are not kept once a
 * server.  Returns whether another server's layer is used.  Nothing is
 * changed when @treeHash is null (the layer has a file hard-linked with one
 * of the server's own) or on failure.
 */
async function shareLayer(rootdir: string, name: string, treeHash: string | null, emptied: boolean): Promise<boolean> {
  if (!treeHash || !/^[0-9a-f]{64}$/.test(treeHash)) return false;
  const d = unifiedDirs(rootdir, name);
  const layers = join(rootdir, '.vctx-layers');
  await mkdir(layers, { recursive: true, mode: 0o700 });
  const layer = join(layers, treeHash);
  const link = join('..', '..', '.vctx-layers', treeHash);
  if (emptied) {
    // vunify found the layer and left the lower empty (what is never shared moved to the upper)
    await rmdir(d.lower);
    await symlink(link, d.lower);
    return true;
  }
  if (existsSync(layer)) {
    await rename(d.lower, `${d.lower}.drop`);
    await symlink(link, d.lower);
    await rm(`${d.lower}.drop`, { recursive: true, force: true });
    return true;
  }
  await rename(d.lower, layer);
  await symlink(link, d.lower);
  return false;
}

/** the merged tree of @name copied into a plain one at ROOTDIR/NAME; the layers removed (lock held, stopped) */
async function restorePlain(name: string, paths: VctxPaths): Promise<void> {
  const root = join(paths.rootdir, name);
  const d = unifiedDirs(paths.rootdir, name);
  await mountUnified(paths.rootdir, name);
  const projectId = projectIdOf(d.base);
  const stage = join(paths.rootdir, `.${name}.deunify`);
  await rm(stage, { recursive: true, force: true });
  await mkdir(stage, { mode: 0o755 });
  try {
    await run('rsync', ['-aHAXS', '--numeric-ids', '--one-file-system', `${root}/`, `${stage}/`]);
  } catch (e) {
    await rm(stage, { recursive: true, force: true });
    throw e;
  }
  await unmountUnified(paths.rootdir, name);
  await rmdir(root);
  await rename(stage, root);
  // a disk limit's project id goes back on the plain tree (which now counts every file); where
  // the kernel refuses, the next start sets it
  if (projectId >= PROJID_BASE) tagOrWhy(root, projectId);
  await rm(d.base, { recursive: true, force: true });
  await rm(d.pending, { force: true });
  await gcStore(paths.rootdir);
}

/** tags @path's tree with project @id (0: untags); the kernel's refusal as text, null when done */
function tagOrWhy(path: string, id: number): string | null {
  try {
    tagTree(path, id);
    return null;
  } catch (e) {
    return errText(e);
  }
}

/** the project id @path carries; 0 when none or where the file system keeps none */
function projectIdOf(path: string): number {
  try {
    return treeProjectId(path);
  } catch {
    return 0;
  }
}

/** removes the store's objects no server links any more */
export async function gcStore(rootdir: string): Promise<{ removed: number; removedBytes: number; objects: number }> {
  // the shared lower layers no server's `lower` links any more
  const layers = join(rootdir, '.vctx-layers');
  if (existsSync(layers)) {
    const used = new Set<string>();
    const un = join(rootdir, '.vctx-unified');
    for (const n of existsSync(un) ? await readdir(un) : []) {
      const l = await readlink(join(un, n, 'lower')).catch(() => null);
      if (l) used.add(basename(l));
    }
    for (const h of await readdir(layers)) if (!used.has(h)) await rm(join(layers, h), { recursive: true, force: true });
  }
  const store = join(rootdir, '.vctx-store');
  if (!existsSync(store)) return { removed: 0, removedBytes: 0, objects: 0 };
  return JSON.parse(await run(VUNIFY, ['gc', store])) as { removed: number; removedBytes: number; objects: number };
}

export interface DeunifyResult {
  name: string;
  /** 'deunified'; 'not-unified' (nothing to do); 'cancelled' (a pending unify dropped) */
  outcome: 'deunified' | 'not-unified' | 'cancelled';
  elapsedMs: number;
}

/** `vserver NAME deunify`: the stopped server's tree becomes a plain tree of its own again */
export async function deunifyServer(name: string, paths: VctxPaths): Promise<DeunifyResult> {
  const t0 = Date.now();
  knownServer(name, paths);
  const files = await ensureRunDir(paths, name);
  const lock = await lockServer(files.lock, 'deunify', name);
  let store: HeldLock | null = null;
  try {
    store = await lockStore(paths.rootdir, 'deunify', name);
    const d = unifiedDirs(paths.rootdir, name);
    if (!isUnified(paths.rootdir, name)) {
      if (existsSync(d.pending)) {
        await rm(d.pending, { force: true });
        return { name, outcome: 'cancelled', elapsedMs: Date.now() - t0 };
      }
      return { name, outcome: 'not-unified', elapsedMs: Date.now() - t0 };
    }
    const c = await findContext(paths, name);
    if (c && !c.empty) throw new LifecycleError('failed', 'running', `server '${name}' is running; stop it before deunify (vserver ${name} stop)`);
    await restorePlain(name, paths);
    return { name, outcome: 'deunified', elapsedMs: Date.now() - t0 };
  } finally {
    await store?.release();
    await lock.release();
  }
}

/** delete: unmounts and removes a unified server's layers (its objects others share stay) */
export async function removeUnified(rootdir: string, name: string): Promise<void> {
  const d = unifiedDirs(rootdir, name);
  await rm(d.pending, { force: true });
  if (!existsSync(d.base)) return;
  await unmountUnified(rootdir, name);
  const store = await lockStore(rootdir, 'delete', name, LOCK_WAIT_SEC);
  try {
    await rm(d.base, { recursive: true, force: true });
    await gcStore(rootdir);
  } finally {
    await store.release();
  }
}
