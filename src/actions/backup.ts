/**
 * `vserver NAME backup FILE`, `vserver NAME restore FILE` and
 * `vserver-copy SRC DEST` on one host: a server's configuration and tree
 * as one archive, or as a second server.
 *
 * The archive is GNU tar (compressed by FILE's suffix: .tar, .tar.gz/.tgz,
 * .tar.xz, .tar.zst) holding
 *   vctx-backup.json   what it is: format 1, the server's name, when, from
 *                      which vctx, whether it ran and how long it was frozen
 *   conf/NAME.conf     the configuration, and conf/NAME.sh, the hook, if any
 *   root/...           the tree: numeric owners, modes, ACLs, every xattr
 *                      (file capabilities and trusted.* included), hard
 *                      links, sparse files, device nodes; the contents of
 *                      every file, shared or not
 * A running server is frozen (its cgroup, cgroup v2's cgroup.freeze) while
 * its tree is read, so the archive is one moment of it: its processes stop
 * for that time and go on afterwards, connections included.  Without
 * freezing (--no-freeze), files written meanwhile may be caught half way.
 *
 * GNU tar and rsync are the field's tools for this (ownership, xattrs, ACLs,
 * hard links and sparse files, numerically); nothing here reimplements
 * them.  Tar strips leading '/' and '..' from member names and defers
 * symlinks that point out of the tree until the end of an extraction, so an
 * archive cannot write outside the restored root.
 */
import { constants, existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { configPath, loadAllServers } from '../config/load.js';
import { formatIssue, formatIssueBare } from '../config/issues.js';
import { setConfigValues } from '../config/edit.js';
import { parseServerConfig } from '../config/parse.js';
import type { VctxPaths } from '../config/paths.js';
import { checkServerRoot } from '../config/index.js';
import { setContextFrozen } from '../kernel-bridge/cgroup.js';
import { projectRoot } from '../kernel-bridge/addon.js';
import { run } from './templates/common.js';
import { removeTree } from './build.js';
import { buildClashes } from './clashes.js';
import { checkName } from './config-load.js';
import { LifecycleError, errText } from './errors.js';
import { hookPath } from './hooks.js';
import { lockServer } from './lock.js';
import { ensureRunDir, findContext } from './runtime.js';
import { isUnified, mountUnified, unifyServer } from './unify.js';
import { lastLine, SSH_FAILED, type SshHost } from './ssh.js';
import { escapeText } from '../kernel-bridge/escape.js';

export const BACKUP_FORMAT = 1;
const META = 'vctx-backup.json';

export interface BackupMeta {
  format: number;
  name: string;
  createdAt: string;
  vctx: string;
  /** the server ran when it was backed up */
  running: boolean;
  /** it was frozen while its tree was read (one moment of it) */
  frozen: boolean;
}

export interface BackupResult {
  file: string;
  bytes: number;
  meta: BackupMeta;
  /** how long the server was frozen (ms); null when it was not */
  frozenMs: number | null;
  warnings: string[];
}

/** tar's options for a server's tree, both ways: everything a root filesystem holds */
const TREE_OPTS = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls', '--sparse'];

/** the compressor tar uses for @file, by its suffix; null for a plain .tar; throws for another suffix */
export function compressorFor(file: string): string | null {
  const f = basename(file);
  if (/\.tar$/.test(f)) return null;
  if (/\.(tar\.gz|tgz)$/.test(f)) return 'gzip';
  if (/\.(tar\.xz|txz)$/.test(f)) return 'xz';
  if (/\.(tar\.zst|tzst)$/.test(f)) return 'zstd';
  throw new LifecycleError('usage', 'options', `'${file}': name the archive .tar, .tar.gz (.tgz), .tar.xz or .tar.zst (its compression)`);
}

/** runs tar (through @compressor when given); rejects with its last error line */
function tar(args: string[], compressor: string | null): Promise<unknown> {
  return run('tar', [...(compressor ? [`--use-compress-program=${compressor}`] : []), ...args]);
}

/** the version of this vctx (package.json's, beside the tree the tools run from) */
async function vctxVersion(): Promise<string> {
  try {
    const v = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version?: string };
    return v.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** the configured, built server @name: its conf, hook (or null) and root; throws unknown-server */
async function serverFiles(name: string, paths: VctxPaths): Promise<{ conf: string; hook: string | null; root: string }> {
  checkName(name);
  const conf = configPath(paths.confdir, name);
  const root = join(paths.rootdir, name);
  if (!existsSync(conf)) throw new LifecycleError('unknown-server', 'config', `unknown server '${name}' (no ${conf})`);
  await mountUnified(paths.rootdir, name); // a unified tree: its overlay, mounted again after a reboot
  const issue = await checkServerRoot(paths.rootdir, name);
  if (issue) throw new LifecycleError('failed', 'root', formatIssue(issue));
  const hook = hookPath(paths.confdir, name);
  return { conf, hook: existsSync(hook) ? hook : null, root };
}

/**
 * Writes server @name to the archive @file (through FILE.partial, so a
 * failed backup leaves no archive); a running server is frozen while its
 * tree is read unless @opts.freeze is false.
 */
export async function backupServer(name: string, file: string, paths: VctxPaths,
  opts: { freeze?: boolean; force?: boolean } = {}): Promise<BackupResult> {
  const { conf, hook, root } = await serverFiles(name, paths);
  const out = resolve(file);
  const compressor = compressorFor(out);
  if (out === root || out.startsWith(root + '/')) {
    throw new LifecycleError('usage', 'options', `'${file}' is inside the server's own tree (${root}); write the archive elsewhere`);
  }
  if (!existsSync(dirname(out))) throw new LifecycleError('usage', 'options', `'${dirname(out)}' does not exist (the archive's directory)`);
  if (existsSync(out) && !opts.force) throw new LifecycleError('failed', 'exists', `'${file}' exists; use --force to replace it`);
  const warnings: string[] = [];
  const files = await ensureRunDir(paths, name);
  // no start or stop meanwhile
  const lock = await lockServer(files.lock, 'back up', name);
  const stage = join(dirname(out), `.${basename(out)}.${process.pid}.stage`);
  const partial = `${out}.${process.pid}.partial`;
  let frozen: number | null = null;
  let frozenMs: number | null = null;
  try {
    const c = await findContext(paths, name);
    const running = !!c && !c.empty;
    await mkdir(join(stage, 'conf'), { recursive: true, mode: 0o700 });
    await writeFile(join(stage, 'conf', `${name}.conf`), await readFile(conf), { mode: 0o600 });
    if (hook) await writeFile(join(stage, 'conf', `${name}.sh`), await readFile(hook), { mode: 0o700 });
    const freeze = running && opts.freeze !== false;
    if (running && !freeze) warnings.push(`'${name}' runs and was not frozen (--no-freeze): files it wrote while the tree was read may be caught half way`);
    const meta: BackupMeta = { format: BACKUP_FORMAT, name, createdAt: new Date().toISOString(), vctx: await vctxVersion(), running, frozen: freeze };
    await writeFile(join(stage, META), JSON.stringify(meta, null, 2) + '\n', { mode: 0o600 });
    let t0 = 0;
    if (freeze) {
      await setContextFrozen(c!.xid, true);
      frozen = c!.xid;
      t0 = Date.now();
    }
    try {
      // one tar: what it is and the configuration (from the stage), then the tree as root/
      await tar(['-c', '-f', partial, ...TREE_OPTS, '--one-file-system', '--transform=s,^\\.$,root,S', '--transform=s,^\\./,root/,S',
        '-C', stage, META, 'conf', '-C', root, '.'], compressor);
    } finally {
      if (frozen !== null) {
        frozenMs = Date.now() - t0;
        await setContextFrozen(frozen, false);
        frozen = null;
      }
    }
    await chmod(partial, 0o600);
    await rename(partial, out);
    return { file: out, bytes: (await stat(out)).size, meta, frozenMs, warnings };
  } catch (e) {
    await rm(partial, { force: true }).catch(() => {});
    throw e instanceof LifecycleError ? e : new LifecycleError('failed', 'backup', `backup of '${name}' failed: ${errText(e)}; no archive was written`);
  } finally {
    if (frozen !== null) await setContextFrozen(frozen, false).catch(() => {});
    await rm(stage, { recursive: true, force: true }).catch(() => {});
    await lock.release();
  }
}

export interface RestoreOptions {
  /** the new IPv4 address (IPROOT's first) */
  ip?: string;
  /** the new IPv6 address (IPROOT's second) */
  ip6?: string;
  allowClash?: boolean;
  /** a server left out of the clash checks (vserver-copy --move: the source, which goes) */
  replacing?: string;
}

export interface RestoreResult {
  name: string;
  root: string;
  conf: string;
  meta: BackupMeta;
  warnings: string[];
}

/** IPROOT of @text with its v4 and/or v6 address replaced; null when IPROOT is unset and nothing is asked */
function rewriteIpRoot(text: string, old: { ip: string | null; ip6: string | null }, opts: RestoreOptions): string {
  if (opts.ip === undefined && opts.ip6 === undefined) return text;
  const v4 = opts.ip ?? old.ip;
  const v6 = opts.ip6 ?? old.ip6;
  if (!v4) throw new LifecycleError('usage', 'options', '--ip6 needs an IPv4 address too (the configuration has none): give --ip');
  return setConfigValues(text, [['IPROOT', v6 ? `${v4} ${v6}` : v4]]);
}

/**
 * /etc/hosts of a copied tree names the server's old address: the lines
 * with it get the new one.  The tree came from an archive or another
 * server, so nothing on the way may be a symlink.
 */
async function rewriteHostsFile(root: string, from: string | null, to: string | null): Promise<void> {
  if (!from || !to || from === to) return;
  const etc = join(root, 'etc');
  const st = await lstat(etc).catch(() => null);
  if (!st?.isDirectory()) return;
  const hosts = join(etc, 'hosts');
  const hs = await lstat(hosts).catch(() => null);
  if (!hs?.isFile()) return;
  const fh = await open(hosts, constants.O_RDWR | constants.O_NOFOLLOW);
  try {
    const text = (await fh.readFile()).toString('utf8');
    const esc = from.replace(/[.:]/g, (c) => `\\${c}`);
    const next = text.replace(new RegExp(`^${esc}(?=[ \\t])`, 'gm'), to);
    if (next !== text) {
      await fh.truncate(0);
      await fh.write(next, 0, 'utf8');
    }
  } finally {
    await fh.close();
  }
}

/**
 * Installs a server tree and configuration as server @name: @confText
 * (with its addresses rewritten as asked, and checked against every other
 * server) and the tree at @tree (a directory on the roots' file system,
 * moved into place).  Nothing is installed when a check fails.
 */
async function installServer(name: string, paths: VctxPaths, confText: string, hookText: Buffer | null, tree: string,
  opts: RestoreOptions): Promise<{ conf: string; root: string; warnings: string[] }> {
  const conf = configPath(paths.confdir, name);
  const root = join(paths.rootdir, name);
  const first = parseServerConfig(confText, { file: conf, name });
  const text = rewriteIpRoot(confText, { ip: first.config?.ip ?? null, ip6: first.config?.ip6 ?? null }, opts);
  const check = parseServerConfig(text, { file: conf, name });
  if (!check.config || check.errors.length) {
    throw new LifecycleError('failed', 'config', `the configuration of the copy has errors: ${check.errors.map(formatIssue).join('; ')}`);
  }
  const others = (await loadAllServers(paths.confdir)).servers.filter((s) => s.name !== opts.replacing);
  const clashes = buildClashes(check.config, others, opts.allowClash ?? false);
  if (clashes.errors.length) throw new LifecycleError('failed', 'clash', clashes.errors.map(formatIssue).join('\n'));
  const warnings = clashes.warnings.map(formatIssueBare);
  await rewriteHostsFile(tree, first.config?.ip ?? null, check.config.ip);
  await rewriteHostsFile(tree, first.config?.ip6 ?? null, check.config.ip6);
  await mkdir(paths.confdir, { recursive: true, mode: 0o755 });
  const confTmp = join(paths.confdir, `.${name}.conf.restore`);
  await writeFile(confTmp, text, { mode: 0o600 });
  await chown(confTmp, 0, 0);
  await rename(tree, root);
  try {
    if (hookText) await writeFile(hookPath(paths.confdir, name), hookText, { mode: 0o700 });
    await rename(confTmp, conf);
  } catch (e) {
    await rename(root, tree).catch(() => {});
    await rm(confTmp, { force: true });
    throw e;
  }
  return { conf, root, warnings };
}

/** refuses a server @name that exists in any form */
function mustBeNew(name: string, paths: VctxPaths): void {
  checkName(name);
  const conf = configPath(paths.confdir, name);
  const root = join(paths.rootdir, name);
  const there = [conf, root].filter((p) => existsSync(p));
  if (there.length) throw new LifecycleError('failed', 'exists', `server '${name}' exists (${there.join(' and ')}); choose another name or delete it first`);
}

/** recreates the server in archive @file as server @name (stopped), with its addresses rewritten as asked */
export async function restoreServer(name: string, file: string, paths: VctxPaths, opts: RestoreOptions = {}): Promise<RestoreResult> {
  mustBeNew(name, paths);
  const src = resolve(file);
  const compressor = compressorFor(src);
  if (!existsSync(src)) throw new LifecycleError('usage', 'options', `'${file}' does not exist`);
  await mkdir(paths.rootdir, { recursive: true, mode: 0o000 });
  const stage = join(paths.rootdir, `.${name}.restore`);
  if (existsSync(stage)) await removeTree(stage);
  await mkdir(stage, { mode: 0o700 });
  try {
    await tar(['-x', '-f', src, '-p', '--same-owner', ...TREE_OPTS, '-C', stage], compressor).catch((e: Error) => {
      throw new LifecycleError('failed', 'restore', `'${file}' could not be unpacked: ${e.message}`);
    });
    let meta: BackupMeta;
    try {
      meta = JSON.parse(await readFile(join(stage, META), 'utf8')) as BackupMeta;
    } catch {
      throw new LifecycleError('failed', 'restore', `'${file}' is not a vctx backup (no ${META}; made by vserver NAME backup?)`);
    }
    if (meta.format !== BACKUP_FORMAT) throw new LifecycleError('failed', 'restore', `'${file}' has backup format ${meta.format}; this vctx reads format ${BACKUP_FORMAT}`);
    const confs = (await readdir(join(stage, 'conf')).catch(() => [] as string[])).filter((f) => f.endsWith('.conf'));
    const rootSt = await lstat(join(stage, 'root')).catch(() => null);
    if (confs.length !== 1 || !rootSt?.isDirectory()) throw new LifecycleError('failed', 'restore', `'${file}' lacks a configuration or a root tree`);
    const old = confs[0]!.slice(0, -'.conf'.length);
    const confText = await readFile(join(stage, 'conf', confs[0]!), 'utf8');
    const hookFile = join(stage, 'conf', `${old}.sh`);
    const hookText = existsSync(hookFile) ? await readFile(hookFile) : null;
    const r = await installServer(name, paths, confText, hookText, join(stage, 'root'), opts);
    return { name, ...r, meta };
  } catch (e) {
    throw e instanceof LifecycleError ? e : new LifecycleError('failed', 'restore', `restore of '${name}' failed: ${errText(e)}; nothing was left behind`);
  } finally {
    await removeTree(stage).catch(() => {});
  }
}

/** runs rsync; rejects with its last error line */
function rsync(args: string[]): Promise<unknown> {
  return run('rsync', args).catch((e: Error) => {
    throw /ENOENT/.test(e.message) ? new Error(`${e.message} (setup.sh installs rsync)`) : e;
  });
}

/** rsync's options for a server's tree: everything a root filesystem holds, hard links kept, numerically */
const RSYNC_TREE = ['-aHAXS', '--numeric-ids', '--one-file-system', '--delete'];

export interface CopyOptions extends RestoreOptions {
  /** the source goes once the copy has started */
  move?: boolean;
  /** seconds the source's init has to shut down (--move of a running server) */
  timeoutSec?: number;
  /** the copy goes to this host (vserver-copy SRC HOST:NAME), over its ssh connection */
  host?: SshHost;
  /** start, stop and delete of servers here (the lifecycle, given by the caller) */
  lifecycle: {
    start(name: string): Promise<void>;
    stop(name: string): Promise<void>;
    remove(name: string): Promise<void>;
  };
  progress?: (line: string) => void;
}

export interface CopyResult {
  name: string;
  /** the host the copy is on (its [USER@]HOST), null for this one */
  host: string | null;
  root: string;
  conf: string;
  /** the source ran during the copy */
  sourceRan: boolean;
  /** how long the source was frozen for the last pass, or (--move) from its stop until the copy ran (ms); null when it was stopped throughout */
  pauseMs: number | null;
  /** the copy was started (and answers: `vserver NAME running`) */
  started: boolean;
  /** --move: the copy was started and the source removed */
  moved: boolean;
  warnings: string[];
}

/**
 * Where a copy goes: this host's roots, or another host's through its own
 * vserver-copy --receive over ssh.  Either way the tree is rsynced into a
 * staging directory beside the roots (ROOTDIR/.NAME.copy) and installed
 * from there through installServer's checks, or the staging directory is
 * removed.
 */
interface CopyTarget {
  /** 'NAME' or 'NAME' on HOST, for messages */
  readonly label: string;
  readonly host: string | null;
  /** refuses a NAME that exists there; makes the staging directory */
  prepare(): Promise<void>;
  /** rsync's arguments that name the staging directory (and how to reach it) */
  rsyncTo(): string[];
  install(confText: string, hookText: Buffer | null, opts: RestoreOptions): Promise<{ conf: string; root: string; warnings: string[] }>;
  /** unifies the installed copy (stopped) with the servers there: their store links what it already holds; resolves to why its own files were not packed, or null */
  unify(): Promise<string | null>;
  /** starts the installed copy; resolves once it answers as running */
  start(): Promise<void>;
  /** removes the staging directory (never an installed server) */
  discard(): Promise<void>;
}

function localTarget(dest: string, paths: VctxPaths, lifecycle: CopyOptions['lifecycle']): CopyTarget {
  const stage = join(paths.rootdir, `.${dest}.copy`);
  return {
    label: `'${dest}'`,
    host: null,
    prepare: () => prepareStage(dest, paths).then(() => undefined),
    rsyncTo: () => [`${stage}/`],
    install: (confText, hookText, opts) => installServer(dest, paths, confText, hookText, stage, opts),
    unify: () => unifyServer(dest, paths).then((r) => r.counts?.packError ?? null),
    start: () => lifecycle.start(dest),
    discard: () => removeTree(stage).catch(() => {}),
  };
}

/** the receiving vserver-copy's answer: one JSON line on stdout */
function receiveAnswer<T>(out: string, what: string): T {
  try {
    return JSON.parse(out.trim().split('\n').pop() ?? '') as T;
  } catch {
    throw new Error(`${what}: the other side's vserver-copy gave no answer (is vctx installed there, with vserver-copy --receive?)`);
  }
}

/** the receiving vserver-copy's one-line error, without its program name */
const theirs = (stderr: string) => lastLine(stderr).replace(/^vserver-copy: /, '');

function remoteTarget(dest: string, ssh: SshHost): CopyTarget {
  const host = escapeText(ssh.dest);
  let stage: string | null = null;
  return {
    label: `'${dest}' on ${host}`,
    host: ssh.dest,
    async prepare() {
      const r = await ssh.run(['vserver-copy', '--receive', 'prepare', dest]);
      if (r.code !== 0) {
        // its own one-line error (unknown name, exists...) with its own exit code
        if (r.code !== SSH_FAILED && r.code <= 3 && theirs(r.stderr)) {
          throw new LifecycleError(r.code === 2 ? 'usage' : 'failed', 'remote', `${host}: ${theirs(r.stderr)}`);
        }
        throw new LifecycleError('failed', 'remote', ssh.failure('vserver-copy --receive prepare', r));
      }
      stage = receiveAnswer<{ stage: string }>(r.stdout, 'prepare').stage;
    },
    rsyncTo: () => ['-e', ssh.rsh(), `${ssh.dest}:${stage}/`],
    async install(confText, hookText, opts) {
      const input = JSON.stringify({ conf: confText, hook: hookText ? hookText.toString('base64') : null, ip: opts.ip, ip6: opts.ip6, allowClash: opts.allowClash ?? false });
      const r = await ssh.run(['vserver-copy', '--receive', 'install', dest], input);
      if (r.code !== 0) {
        stage = null; // the receiving side removed it
        if (r.code !== SSH_FAILED && theirs(r.stderr)) throw new LifecycleError('failed', 'remote', `${host}: ${theirs(r.stderr)}`);
        throw new Error(ssh.failure('vserver-copy --receive install', r));
      }
      stage = null;
      return receiveAnswer<{ conf: string; root: string; warnings: string[] }>(r.stdout, 'install');
    },
    async unify() {
      const line = await ssh.check(`vserver ${dest} unify`, ['vserver', dest, 'unify']);
      return /\(not packed: (.*)\)(?:, its lower layer| \(\d)/.exec(line)?.[1] ?? null;
    },
    async start() {
      await ssh.check(`vserver ${dest} start`, ['vserver', dest, 'start']);
      // the destination answers: its own status
      await ssh.check(`vserver ${dest} running`, ['vserver', dest, 'running']);
    },
    async discard() {
      if (stage === null) return;
      await ssh.run(['vserver-copy', '--receive', 'abort', dest]).catch(() => undefined);
      stage = null;
    },
  };
}

/** the staging directory of a copy to @name here (ROOTDIR/.NAME.copy), fresh; refuses a @name that exists */
async function prepareStage(name: string, paths: VctxPaths): Promise<string> {
  mustBeNew(name, paths);
  await mkdir(paths.rootdir, { recursive: true, mode: 0o000 });
  const stage = join(paths.rootdir, `.${name}.copy`);
  if (existsSync(stage)) await removeTree(stage);
  await mkdir(stage, { mode: 0o755 });
  return stage;
}

/**
 * vserver-copy --receive STEP NAME: the receiving end of a copy from
 * another host, run there over ssh.  `prepare` refuses a NAME that exists
 * and makes the staging directory (its path in one JSON line), which the
 * sender fills with rsync; `install` reads {conf, hook, ip, ip6,
 * allowClash} as JSON on stdin and installs the staged tree as NAME through
 * the checks of a local copy (or removes it); `abort` removes the staging
 * directory.  Each prints one JSON line.
 */
export async function receiveCopy(step: string, name: string, paths: VctxPaths, input: string): Promise<unknown> {
  checkName(name);
  const stage = join(paths.rootdir, `.${name}.copy`);
  if (step === 'prepare') return { stage: await prepareStage(name, paths) };
  if (step === 'abort') {
    if (existsSync(stage)) await removeTree(stage);
    return { removed: stage };
  }
  if (step !== 'install') throw new LifecycleError('usage', 'options', `--receive: unknown step '${escapeText(step)}' (prepare, install or abort)`);
  try {
    if (!existsSync(stage)) throw new LifecycleError('failed', 'copy', `nothing staged for '${name}' (${stage}): the sender's rsync did not run`);
    let req: { conf?: unknown; hook?: unknown; ip?: unknown; ip6?: unknown; allowClash?: unknown };
    try {
      req = JSON.parse(input) as typeof req;
    } catch {
      throw new LifecycleError('usage', 'options', '--receive install: expected one JSON object on stdin');
    }
    if (typeof req.conf !== 'string' || (req.hook !== null && typeof req.hook !== 'string')) {
      throw new LifecycleError('usage', 'options', '--receive install: the JSON needs conf (text) and hook (base64 or null)');
    }
    const opt = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return await installServer(name, paths, req.conf, typeof req.hook === 'string' ? Buffer.from(req.hook, 'base64') : null, stage,
      { ip: opt(req.ip), ip6: opt(req.ip6), allowClash: req.allowClash === true });
  } catch (e) {
    await removeTree(stage).catch(() => {});
    throw e instanceof LifecycleError ? e : new LifecycleError('failed', 'copy', `installing the copy '${name}' failed: ${errText(e)}; nothing was left behind`);
  }
}

/**
 * vserver-copy SRC [HOST:]DEST: the seed's fail-over recipe, here or to
 * another host.  The tree is copied with rsync while SRC runs; then SRC is
 * frozen (a copy) or stopped (--move) for a last delta pass, so DEST is one
 * moment of it.  DEST is installed stopped, with its addresses rewritten as
 * asked.  It is started with --move, and on another host when SRC ran;
 * only once it answers as running is SRC removed (--move).
 */
export async function copyServer(src: string, dest: string, paths: VctxPaths, opts: CopyOptions): Promise<CopyResult> {
  const from = await serverFiles(src, paths);
  checkName(dest);
  const target = opts.host ? remoteTarget(dest, opts.host) : localTarget(dest, paths, opts.lifecycle);
  const say = opts.progress ?? (() => {});
  await target.prepare();
  let pauseMs: number | null = null;
  let pauseStart = 0;
  let sourceRan = false;
  let stopped = false;
  let installed: { conf: string; root: string; warnings: string[] } | null = null;
  const files = await ensureRunDir(paths, src);
  const pass = () => rsync([...RSYNC_TREE, `${from.root}/`, ...target.rsyncTo()]);
  try {
    const c = await findContext(paths, src);
    sourceRan = !!c && !c.empty;
    say(`copying the tree of '${src}' to ${target.label}${sourceRan ? ' while it runs' : ''}`);
    await pass();
    if (sourceRan && c) {
      const t0 = Date.now();
      pauseStart = t0;
      if (opts.move) {
        say(`stopping '${src}' for the last pass`);
        await opts.lifecycle.stop(src);
        stopped = true;
        await pass();
      } else {
        // no start or stop meanwhile, and one moment of the tree
        const lock = await lockServer(files.lock, 'copy', src);
        try {
          await setContextFrozen(c.xid, true);
          try {
            await pass();
          } finally {
            await setContextFrozen(c.xid, false);
          }
        } finally {
          await lock.release();
        }
      }
      pauseMs = Date.now() - t0;
    }
    const confText = await readFile(from.conf, 'utf8');
    const hookText = from.hook ? await readFile(from.hook) : null;
    installed = await target.install(confText, hookText, { ...opts, replacing: opts.move && !opts.host ? src : undefined });
    // the copy of a unified server is unified too, here or there: its files link the objects that
    // store already holds (all of them here; those of a like base on another host)
    if (isUnified(paths.rootdir, src)) {
      say(`unifying ${target.label} (as '${src}' is)`);
      await target.unify().then((notPacked) => {
        if (notPacked) installed!.warnings.push(`${target.label} is unified, its own files not packed: ${notPacked}`);
      }, (e: unknown) => installed!.warnings.push(`${target.label} is a plain copy, not unified: ${errText(e)}`));
    }
  } catch (e) {
    await target.discard();
    let again = '';
    if (stopped) {
      again = await opts.lifecycle.start(src).then(() => ` and '${src}' was started again`, (e2: unknown) => `; '${src}' could not be started again: ${errText(e2)}`);
    }
    if (e instanceof LifecycleError) throw again ? new LifecycleError(e.kind, e.step, `${e.message}; nothing was left of the copy${again}`) : e;
    throw new LifecycleError('failed', 'copy', `copy of '${src}' to ${target.label} failed: ${errText(e)}; nothing was left behind${again}`);
  }
  const warnings = [...installed.warnings];
  const result = { name: dest, host: target.host, root: installed.root, conf: installed.conf, sourceRan, pauseMs, warnings };
  // here, the copy of a running server would take its address: it starts with --move only
  if (!opts.move && !(opts.host && sourceRan)) return { ...result, started: false, moved: false };
  try {
    say(`starting ${target.label}`);
    await target.start();
  } catch (e) {
    if (stopped) {
      await opts.lifecycle.start(src).catch((e2: unknown) => warnings.push(`'${src}' could not be started again: ${errText(e2)}`));
    }
    throw new LifecycleError('failed', 'copy', `the copy ${target.label} did not start (${errText(e)}); '${src}' is kept${stopped ? ' and was started again' : ''}, the copy stays stopped`);
  }
  // a move's downtime: from the source's stop until the copy runs
  if (stopped) pauseMs = Date.now() - pauseStart;
  if (!opts.move) return { ...result, pauseMs, started: true, moved: false };
  say(`removing '${src}'`);
  await opts.lifecycle.remove(src);
  return { ...result, pauseMs, started: true, moved: true };
}
