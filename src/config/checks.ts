/**
 * The configuration checks that look at the file system: is the server's
 * root a real directory inside the roots directory, is a file that root
 * will act on writable only by root, and what would the server's init
 * really run.  Each returns a ConfigIssue (an error) or null; the caller
 * refuses to go on when it gets one.
 */
// fs.promises loads on first use (node:fs/promises would load at start: ~1 ms;
// its first use loads streams, readline and net: ~8 ms).  checkTrustedFile,
// on every status's path, stats synchronously instead.
import { promises as fsp, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import { configError, type ConfigIssue } from './issues.js';
import type { ServerInit } from './types.js';
import { serverNameProblem } from './name.js';

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function mode(m: number): string {
  return `0${(m & 0o7777).toString(8).padStart(3, '0')}`;
}

export interface RootCheckOptions {
  /** false while building: a root that does not exist yet is fine. @default true */
  mustExist?: boolean;
}

/**
 * The root of server @name is rootsDir/NAME: it must be a directory itself
 * (not a symbolic link, which could point a server at any directory of the
 * host), and really lie inside the roots directory.  The roots directory
 * itself may be a link (e.g. /vservers -> /srv/vservers).
 */
export async function checkServerRoot(rootsDir: string, name: string, opts: RootCheckOptions = {}): Promise<ConfigIssue | null> {
  const mustExist = opts.mustExist ?? true;
  const nameProblem = serverNameProblem(name);
  if (nameProblem) return configError(rootsDir, null, null, name, nameProblem);
  const root = join(rootsDir, name);
  const err = (message: string) => configError(root, null, null, null, message);
  let realRoots: string;
  try {
    realRoots = await fsp.realpath(rootsDir);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      return mustExist ? configError(rootsDir, null, null, null, 'the roots directory does not exist (set --rootdir or VSERVER_ROOTDIR)') : null;
    }
    throw e;
  }
  let st;
  try {
    st = await fsp.lstat(root);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return mustExist ? err(`the server's root directory does not exist; create it with: vserver ${name} build`) : null;
    throw e;
  }
  if (st.isSymbolicLink()) {
    const target = await fsp.readlink(root).catch(() => '?');
    return err(`the server's root is a symbolic link (to ${target}); it must be a real directory inside ${rootsDir}, ` +
      'as a link could point the server at any directory of the host');
  }
  if (!st.isDirectory()) return err(`the server's root is not a directory`);
  const real = await fsp.realpath(root);
  if (!real.startsWith(realRoots + sep) || real === realRoots) {
    return err(`the server's root resolves to ${real}, outside the roots directory ${realRoots}`);
  }
  return null;
}

export interface TrustedFileOptions {
  /** the only owner accepted; tests pass their own uid. @default 0 */
  trustedUid?: number;
  /** what the file is, for the message. @default 'configuration file' */
  what?: string;
}

/**
 * A file root acts on (NAME.conf, the NAME.sh hook) must be changeable by
 * root alone: owned by root, not writable by group or others, and in a
 * directory with the same properties (or sticky), otherwise whoever can
 * write it decides what runs as root.  Missing files are not this check's
 * business (null).
 */
export async function checkTrustedFile(file: string, opts: TrustedFileOptions = {}): Promise<ConfigIssue | null> {
  const uid = opts.trustedUid ?? 0;
  const what = opts.what ?? 'configuration file';
  const who = uid === 0 ? 'root' : `uid ${uid}`;
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return null;
    throw e;
  }
  const err = (message: string) => configError(file, null, null, null, message);
  if (!st.isFile()) return err(`the ${what} is not a regular file`);
  if (st.uid !== uid) {
    return err(`refused: the ${what} is owned by uid ${st.uid}, not ${who}, so someone else can change what runs as root; ` +
      `fix with: chown ${uid === 0 ? 'root:root' : uid} ${file}`);
  }
  if (st.mode & 0o022) {
    return err(`refused: the ${what} is writable by ${st.mode & 0o002 ? 'everyone' : 'its group'} (mode ${mode(st.mode)}), ` +
      `so someone else can change what runs as root; fix with: chmod go-w ${file}`);
  }
  const dir = dirname(realpathSync.native(file));
  const dst = statSync(dir);
  const sticky = (dst.mode & 0o1000) !== 0;
  if (dst.uid !== uid && dst.uid !== 0) {
    return err(`refused: its directory ${dir} is owned by uid ${dst.uid}, not ${who}, so the ${what} can be replaced`);
  }
  if ((dst.mode & 0o022) && !sticky) {
    return err(`refused: its directory ${dir} is writable by others (mode ${mode(dst.mode)}), so the ${what} can be replaced; ` +
      `fix with: chmod go-w ${dir}`);
  }
  return null;
}

/** A path inside a server's root, after following links as the server would see them. */
export interface InnerPath {
  /** the path as seen inside the server, links resolved ('/lib/systemd/systemd') */
  inner: string;
  /** the same path on the host */
  host: string;
  exists: boolean;
}

/**
 * Resolve @path as seen inside the server whose root is @root: symbolic
 * links are followed with absolute targets taken relative to @root and
 * '..' never climbing above it, so nothing outside the root is read.
 */
export async function resolveInRoot(root: string, path: string): Promise<InnerPath> {
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const c = pending.shift()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, c);
    let st;
    try {
      st = await fsp.lstat(host);
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        const inner = '/' + [...done, c, ...pending].join('/');
        return { inner, host: join(root, inner), exists: false };
      }
      throw e;
    }
    if (st.isSymbolicLink()) {
      if (++links > 40) throw Object.assign(new Error(`too many levels of symbolic links in ${path}`), { code: 'ELOOP' });
      const target = await fsp.readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...pending];
      continue;
    }
    done.push(c);
  }
  const inner = '/' + done.join('/');
  return { inner, host: join(root, inner), exists: true };
}

/**
 * What the server's init would run, checked inside its root: the program
 * must exist and be executable, and must not be systemd (CONTRACT: it needs
 * a writable cgroup tree of its own), which Debian's /sbin/init is a link
 * to.  For sysv, the rc script (/etc/init.d/rc or /etc/rc.d/rc) must exist.
 * @file and @line name the S_INIT setting in the message.
 */
export async function checkServerInit(
  root: string, init: ServerInit, file: string, line: number | null,
): Promise<ConfigIssue | null> {
  const value = init.style === 'command' ? init.argv.join(' ') : init.style === 'sysv' ? `sysv:${init.runlevel}` : 'init';
  const err = (message: string) => configError(file, line, 'S_INIT', value, message);
  const candidates = init.style === 'sysv' ? ['/etc/init.d/rc', '/etc/rc.d/rc']
    : init.style === 'init' ? ['/sbin/init'] : [init.argv[0]!];
  for (const c of candidates) {
    const r = await resolveInRoot(root, c);
    if (!r.exists) continue;
    const st = await fsp.stat(r.host);
    if (!st.isFile() || (st.mode & 0o111) === 0) return err(`${c} in the server (${r.inner}) is not an executable file`);
    if (basename(r.inner) === 'systemd') {
      return err(`${c} in the server is systemd (${r.inner}), which cannot be a server's init: it needs a writable ` +
        'cgroup tree of its own and mounts of its own (CAP_SYS_ADMIN), which a server is never given, on hybrid ' +
        "and pure cgroup-v2 hosts alike; install sysvinit-core in the server (S_INIT=init)");
    }
    return null;
  }
  return err(init.style === 'sysv'
    ? 'the server has no rc script (/etc/init.d/rc or /etc/rc.d/rc) to run for S_INIT=sysv; install sysv-rc, or set S_INIT to a command'
    : `${candidates[0]} does not exist in the server`);
}
