/**
 * The copy template: the seed's `vserver XX build`,
 *
 *     cp -ax /sbin /bin /etc /usr /var /dev /lib .
 *     mkdir proc tmp home
 *     chmod 1777 tmp
 *
 * done as one tar stream from / into the root (hard links, modes, owners,
 * ACLs and extended attributes kept; one file system only, as `cp -x`;
 * the usrmerge links /bin -> usr/bin copied as links), minus what a server
 * must not share with the host:
 *
 *  - SSH host keys (new ones are made when ssh-keygen is there), the
 *    machine id (a new one is written), the random seeds;
 *  - password hashes: /etc/shadow and /etc/gshadow are copied with every
 *    password replaced by '*' (the account locked) and their '-' backups are
 *    left out; the server's admin sets passwords inside (`vserver NAME enter`
 *    needs none);
 *  - the contents of /var/log (its directories are kept, empty), the APT
 *    caches and package lists, /var/tmp, mail, crontabs, the host's
 *    container stores, and the vserver configuration, roots and runtime
 *    directories themselves;
 *  - /dev, /proc, /sys, /run and /tmp: created empty.
 *
 * The data flows through this process so that progress can be counted.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  hostPathInRoot, inRoot, installVreboot, makeDirs, newMachineId, run, writeHostnameFiles, writeRootFile,
  TemplateError, type TemplateContext, type TemplateResult,
} from './common.js';

/** what the seed copies, plus the other library directories of a modern system */
export const COPY_DIRS: readonly string[] = ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32', '/usr', '/etc', '/var'];

/** members left out of the tar stream (anchored wildcards, relative to /) */
export const COPY_EXCLUDES: readonly string[] = [
  'etc/ssh/ssh_host_*',
  'etc/machine-id',
  'etc/shadow-',
  'etc/gshadow-',
  'etc/vservers',
  'var/log/*',
  'var/cache/apt/*.bin',
  'var/cache/apt/archives/*.deb',
  'var/cache/apt/archives/partial/*',
  'var/lib/apt/lists/*_*',
  'var/lib/apt/lists/partial/*',
  'var/tmp/*',
  'var/mail/*',
  'var/spool/mail/*',
  'var/spool/cron/crontabs/*',
  'var/lib/systemd/random-seed',
  'var/lib/urandom/random-seed',
  'var/lib/docker',
  'var/lib/containerd',
  'var/lib/lxc',
  'var/lib/lxcfs',
  'var/lib/machines',
  'var/run/*',
  'var/lock/*',
];

/** directories a copied server gets empty, with their modes */
const EMPTY_DIRS: ReadonlyArray<readonly [string, number]> = [
  ['/proc', 0o555], ['/sys', 0o555], ['/dev', 0o755], ['/run', 0o755],
  ['/tmp', 0o1777], ['/var/tmp', 0o1777], ['/home', 0o755], ['/root', 0o700],
];

export interface CopyOptions {
  /**
   * host paths to copy instead of COPY_DIRS (absolute; deeper paths allowed,
   * e.g. '/usr/bin/true'): a limited copy for tests
   */
  readonly paths?: readonly string[];
  /** the host's root ('/' but for tests of the template itself) */
  readonly hostRoot?: string;
}

/** how often the copy reports its counts (the CLI decides what to print) */
const PROGRESS_EVERY_MS = 500;

/** tar -c | (count) | tar -x */
async function tarCopy(ctx: TemplateContext, hostRoot: string, members: string[], excludes: string[]): Promise<number> {
  const common = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'];
  const create = ['--create', '--file=-', '--directory', hostRoot, '--one-file-system', '--sparse',
    '--warning=no-file-ignored', ...common, '--anchored', '--wildcards',
    ...excludes.map((e) => `--exclude=${e}`), '--', ...members];
  const extract = ['--extract', '--file=-', '--directory', ctx.root, '--preserve-permissions',
    '--same-owner', ...common];
  const src = spawn('tar', create, { stdio: ['ignore', 'pipe', 'pipe'] });
  // --verbose: the extracting tar names each member on its stdout, one line each: the file count
  const dst = spawn('tar', ['--verbose', ...extract], { stdio: ['pipe', 'pipe', 'pipe'] });
  let files = 0;
  dst.stdout!.on('data', (c: Buffer) => {
    for (let i = c.indexOf(10); i >= 0; i = c.indexOf(10, i + 1)) files++;
  });
  const errs: Record<string, string> = { create: '', extract: '' };
  const onErr = (which: string) => (c: Buffer) => {
    const text = c.toString();
    errs[which] = (errs[which] + text).slice(-4000);
    // tar's warnings (a file on another file system, a socket) are worth seeing
    for (const l of text.split('\n')) if (l.trim()) ctx.progress({ step: 'copy', detail: l.trim() });
  };
  src.stderr.on('data', onErr('create'));
  dst.stderr.on('data', onErr('extract'));
  const exited = (p: ReturnType<typeof spawn>) => new Promise<number | string>((res) => {
    p.on('error', (e) => res(e.message));
    p.on('close', (code, sig) => res(sig ?? code ?? 1));
  });
  const srcDone = exited(src);
  const dstDone = exited(dst);

  const t0 = Date.now();
  let bytes = 0;
  let nextAt = t0 + PROGRESS_EVERY_MS;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      const now = Date.now();
      if (now >= nextAt) {
        nextAt = now + PROGRESS_EVERY_MS;
        ctx.progress({ step: 'copy', detail: 'copying', bytes, files, elapsedMs: now - t0 });
      }
      cb(null, chunk);
    },
  });
  let pipeErr: Error | null = null;
  await pipeline(src.stdout!, counter, dst.stdin!).catch((e: Error) => { pipeErr = e; });
  const [sc, dc] = await Promise.all([srcDone, dstDone]);
  // the first error tar gave, not its closing "Exiting with failure status"
  const last = (s: string | undefined) => (s ?? '').trim().split('\n')
    .filter((l) => l && !/Exiting with failure status|Error is not recoverable/.test(l))[0] ?? (s ?? '').trim();
  // exit 1 of GNU tar's create means "some files changed while read": a live system
  if (sc !== 0 && sc !== 1) throw new Error(`reading the host with tar failed (${sc}): ${last(errs.create)}`);
  if (dc !== 0) throw new Error(`writing ${ctx.root} with tar failed (${dc}): ${last(errs.extract) || (pipeErr as Error | null)?.message || ''}`);
  ctx.progress({ step: 'copy', detail: 'copied', bytes, files, elapsedMs: Date.now() - t0, final: true });
  return bytes;
}

/** recreate the directory tree of host dir (modes and owners, no files) inside root */
async function copyDirTree(hostDir: string, dest: string): Promise<void> {
  const st = await lstat(hostDir).catch(() => null);
  if (!st?.isDirectory()) return;
  await mkdir(dest, { recursive: true });
  await chown(dest, st.uid, st.gid);
  await chmod(dest, st.mode & 0o7777);
  for (const e of await readdir(hostDir, { withFileTypes: true })) {
    if (e.isDirectory()) await copyDirTree(join(hostDir, e.name), join(dest, e.name));
  }
}

/** every password of a shadow/gshadow file replaced by '*' (locked, no hash) */
export function lockPasswords(text: string): string {
  return text.split('\n').map((line) => {
    const f = line.split(':');
    if (f.length < 2 || line.startsWith('#')) return line;
    f[1] = '*';
    return f.join(':');
  }).join('\n');
}

async function lockShadowFiles(root: string): Promise<void> {
  for (const f of ['/etc/shadow', '/etc/gshadow']) {
    const p = await hostPathInRoot(root, f);
    const st = await lstat(p).catch(() => null);
    if (!st?.isFile()) continue;
    await writeFile(p, lockPasswords(await readFile(p, 'utf8')));
    await chown(p, st.uid, st.gid);
    await chmod(p, st.mode & 0o7777);
  }
}

/** a symbolic link inside root that points nowhere inside it (or at the host) */
async function isDanglingInRoot(root: string, p: string): Promise<boolean> {
  const st = await lstat(p).catch(() => null);
  if (!st) return true;
  if (!st.isSymbolicLink()) return false;
  const target = await readlink(p);
  if (target.startsWith('/')) return !existsSync(join(root, target));
  return !existsSync(resolve(p, '..', target));
}

/** populate ctx.root with a copy of the host */
export async function buildCopy(ctx: TemplateContext, opts: CopyOptions = {}): Promise<TemplateResult> {
  const hostRoot = opts.hostRoot ?? '/';
  const { root } = ctx;
  const wanted = opts.paths ?? COPY_DIRS;
  const members: string[] = [];
  for (const p of wanted) {
    if (!p.startsWith('/')) throw new TemplateError('copy', `copy path '${p}' is not absolute`);
    // through the links of its directory (/lib/x/libc.so.6 is /usr/lib/x/libc.so.6 on usrmerge)
    const full = join(hostRoot, p);
    const dir = await realpath(dirname(full)).catch(() => null);
    if (!dir) continue;
    const rel = relative(await realpath(hostRoot), join(dir, basename(full)));
    if (rel === '' || rel.startsWith('..')) throw new TemplateError('copy', `copy path '${p}' is not below ${hostRoot}`);
    if (!members.includes(rel) && await lstat(join(hostRoot, rel)).then(() => true, () => false)) members.push(rel);
  }
  if (members.length === 0) throw new TemplateError('copy', `none of ${wanted.join(' ')} exists on the host`);

  // the vserver directories themselves, wherever they are
  const excludes = [...COPY_EXCLUDES];
  for (const h of ctx.hostExcludes) {
    const rel = relative(hostRoot, resolve(h));
    if (rel !== '' && !rel.startsWith('..')) excludes.push(rel);
  }

  ctx.progress({ step: 'copy', detail: `copying ${members.map((m) => '/' + m).join(' ')} from the host` });
  try {
    await tarCopy(ctx, hostRoot, members, excludes);
  } catch (e) {
    throw new TemplateError('copy', (e as Error).message);
  }

  ctx.progress({ step: 'copy', detail: 'setting up what a server must not share with the host' });
  await makeDirs(root, EMPTY_DIRS);
  if (members.includes('var')) await copyDirTree(join(hostRoot, 'var/log'), await hostPathInRoot(root, '/var/log'));
  await lockShadowFiles(root);
  if (existsSync(join(hostRoot, 'etc/machine-id')) && existsSync(inRoot(root, '/etc'))) {
    const id = newMachineId();
    await writeRootFile(root, '/etc/machine-id', id, 0o444);
    const dbus = await hostPathInRoot(root, '/var/lib/dbus/machine-id');
    if ((await lstat(dbus).catch(() => null))?.isFile()) await writeRootFile(root, '/var/lib/dbus/machine-id', id, 0o444);
  }
  if (existsSync(inRoot(root, '/etc'))) {
    await writeHostnameFiles(ctx);
    if (existsSync(inRoot(root, '/etc/mailname'))) await writeRootFile(root, '/etc/mailname', ctx.hostname + '\n');
    if (existsSync(inRoot(root, '/etc/fstab'))) {
      await writeRootFile(root, '/etc/fstab', '# a virtual server mounts nothing itself: its file systems come from the host\n');
    }
    // resolv.conf is often a bind mount or a link into /run: the server gets its content
    const resolvConf = inRoot(root, '/etc/resolv.conf');
    const hostResolv = join(hostRoot, 'etc/resolv.conf');
    if (await isDanglingInRoot(root, resolvConf) && existsSync(hostResolv)) {
      await writeRootFile(root, '/etc/resolv.conf', await readFile(hostResolv));
    }
    const sshd = inRoot(root, '/etc/ssh/sshd_config');
    if (existsSync(sshd) && existsSync('/usr/bin/ssh-keygen')) {
      ctx.progress({ step: 'copy', detail: 'generating SSH host keys of the server' });
      await run('/usr/bin/ssh-keygen', ['-A', '-f', root]);
    }
  }

  ctx.progress({ step: 'vreboot', detail: 'installing /sbin/vreboot and /sbin/vhalt' });
  await installVreboot(root, { withLibraries: !(await hasLibc(root)) });

  const rc = ['/etc/init.d/rc', '/etc/rc.d/rc'].some((p) => existsSync(inRoot(root, p)));
  // a copy of a systemd host has no rc scripts to run: the server starts empty, to be entered
  return rc
    ? { flags: [], init: 'sysv:2' }
    : { flags: [], init: '/bin/sleep infinity' };
}

/** does root have a C library a dynamic vreboot could use */
async function hasLibc(root: string): Promise<boolean> {
  for (const d of ['/lib', '/lib64', '/usr/lib']) {
    const p = inRoot(root, d);
    const st = await stat(p).catch(() => null);
    if (!st?.isDirectory()) continue;
    const out = await run('find', [p + '/', '-maxdepth', '2', '-name', 'libc.so.6', '-print', '-quit']).catch(() => '');
    if (out.trim()) return true;
  }
  return false;
}
