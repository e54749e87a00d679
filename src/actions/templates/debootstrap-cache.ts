/**
 * The debootstrap cache: the pristine result of a debootstrap run (the tree
 * before the template makes it a server) is kept as one tar file per set
 * of inputs, outside any checkout:
 *
 *     $VCTX_CACHE_DIR/debootstrap/SUITE-ARCH-HASH.tar   (default /var/cache/vctx)
 *     $VCTX_CACHE_DIR/debootstrap/SUITE-ARCH-HASH.json  (what HASH stands for)
 *
 * HASH covers everything that changes the result: debootstrap's arguments
 * (suite, mirror, variant, included packages, components, keyring file),
 * the keyring's contents, the architecture and debootstrap's version.  A
 * later build with the same inputs unpacks the tar (seconds) instead of
 * running debootstrap (about a minute); an entry older than
 * CACHE_MAX_AGE_DAYS, or `--refresh-cache`, is made anew.  An entry is
 * written under a temporary name and renamed into place when complete, so
 * an interrupted fill never leaves a half entry (its temporary file goes
 * with the next fill).  The cache is root's: directory 0700, entries 0600.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { run, TemplateError, type TemplateContext } from './common.js';

/** the default cache directory (CONTRACT "Paths") */
export const DEFAULT_CACHE_DIR = '/var/cache/vctx';
/** the environment variable that moves it */
export const CACHE_DIR_ENV = 'VCTX_CACHE_DIR';
/** an entry older than this is made anew */
export const CACHE_MAX_AGE_DAYS = 7;

/** how a debootstrap build uses the cache */
export interface BootstrapCache {
  /** the cache directory (entries in DIR/debootstrap/) */
  readonly dir: string;
  /** ignore a fresh entry: run debootstrap and replace it */
  readonly refresh?: boolean;
  /** @default CACHE_MAX_AGE_DAYS */
  readonly maxAgeDays?: number;
}

/** the cache directory: the variable when set and not empty, else the default */
export function cacheDirFrom(env: Record<string, string | undefined> = process.env): string {
  const e = env[CACHE_DIR_ENV];
  return e !== undefined && e !== '' ? resolve(e) : DEFAULT_CACHE_DIR;
}

/** every input of a debootstrap run that changes its result */
export interface BootstrapKey {
  /** debootstrap's arguments without the target directory */
  readonly args: readonly string[];
  readonly arch: string;
  readonly debootstrapVersion: string;
  /** sha256 of the --keyring file, when one is given */
  readonly keyringSha256: string | null;
}

/** SUITE-ARCH-HASH: the entry's file name without .tar */
export function cacheEntryName(suite: string, key: BootstrapKey): string {
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return `${suite}-${key.arch}-${hash}`;
}

/** is an entry written at @mtimeMs still good at @nowMs? */
export function cacheEntryFresh(mtimeMs: number, nowMs: number, maxAgeDays = CACHE_MAX_AGE_DAYS): boolean {
  return nowMs - mtimeMs < maxAgeDays * 86_400_000;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

function days(ms: number): string {
  const d = ms / 86_400_000;
  return d < 1 ? `${Math.max(0, Math.round(d * 24))} h` : `${d.toFixed(1)} days`;
}

async function bootstrapKey(program: string, args: readonly string[], root: string): Promise<BootstrapKey> {
  const arch = (await run('dpkg', ['--print-architecture']).catch(() => process.arch)).trim();
  const version = (await run(program, ['--version']).catch(() => 'unknown')).trim();
  const keyring = args.find((a) => a.startsWith('--keyring='))?.slice('--keyring='.length);
  const keyringSha256 = keyring
    ? createHash('sha256').update(await readFile(keyring).catch(() => Buffer.from(''))).digest('hex')
    : null;
  return { args: args.filter((a) => a !== root), arch, debootstrapVersion: version, keyringSha256 };
}

/** tar options that keep what a root file system needs: owners by number, modes, xattrs (file capabilities), ACLs */
const TAR_KEEP = ['--numeric-owner', '--xattrs', '--xattrs-include=*', '--acls'];

/** temporary files of fills that are over: a dead process's, or older than a day */
async function removeStaleFills(dir: string): Promise<void> {
  for (const n of await readdir(dir).catch(() => [] as string[])) {
    const m = /^\..*\.(\d+)\.tmp$/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch (e) {
      alive = (e as NodeJS.ErrnoException).code === 'EPERM';
    }
    const old = await stat(join(dir, n)).then((s) => Date.now() - s.mtimeMs > 86_400_000, () => false);
    if (!alive || old) await rm(join(dir, n), { force: true }).catch(() => {});
  }
}

/** empty @root (a failed unpack), keeping the directory itself */
async function emptyDir(root: string): Promise<void> {
  for (const n of await readdir(root)) await rm(join(root, n), { recursive: true, force: true });
}

/**
 * Populates ctx.root as `PROGRAM ARGS` would (ARGS name ctx.root as the
 * target), from the cache when it holds a fresh entry for these inputs,
 * else by running debootstrap and keeping its result there.  Progress
 * lines say which happened.  Without @cache, debootstrap simply runs.
 */
export async function bootstrapWithCache(
  ctx: TemplateContext, program: string, args: readonly string[], cache: BootstrapCache | undefined,
): Promise<void> {
  const say = (detail: string) => ctx.progress({ step: 'debootstrap', detail });
  const runDebootstrap = async () => {
    say(`debootstrap ${args.join(' ')}`);
    try {
      await run(program, args, { onLine: (l) => say(l) });
    } catch (e) {
      throw new TemplateError('debootstrap', (e as Error).message);
    }
  };
  if (!cache) return runDebootstrap();

  const suite = args.filter((a) => !a.startsWith('-'))[0] ?? 'debian';
  const key = await bootstrapKey(program, args, ctx.root);
  const dir = join(cache.dir, 'debootstrap');
  const name = cacheEntryName(suite, key);
  const entry = join(dir, `${name}.tar`);
  const st = await stat(entry).catch(() => null);
  const fresh = st !== null && cacheEntryFresh(st.mtimeMs, Date.now(), cache.maxAgeDays);

  if (st && fresh && !cache.refresh) {
    say(`cache hit: unpacking ${entry} (${mib(st.size)}, made ${days(Date.now() - st.mtimeMs)} ago) instead of running debootstrap`);
    try {
      await run('tar', ['--extract', '--file', entry, '--directory', ctx.root, '--same-owner', '--preserve-permissions', ...TAR_KEEP]);
      return;
    } catch (e) {
      say(`the cache entry could not be unpacked (${(e as Error).message}); removing it and running debootstrap`);
      await rm(entry, { force: true }).catch(() => {});
      await emptyDir(ctx.root);
    }
  } else {
    const why = !st ? 'no cache entry for these inputs'
      : cache.refresh ? '--refresh-cache'
        : `the cache entry is ${days(Date.now() - st.mtimeMs)} old (made anew after ${cache.maxAgeDays ?? CACHE_MAX_AGE_DAYS} days)`;
    say(`cache miss (${why}): running debootstrap, then keeping its result in ${entry}`);
  }
  await runDebootstrap();

  const tmp = join(dir, `.${name}.tar.${process.pid}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    await removeStaleFills(dir);
    await run('tar', ['--create', '--file', tmp, '--directory', ctx.root, '--one-file-system', ...TAR_KEEP, '.']);
    await chmod(tmp, 0o600);
    await writeFile(join(dir, `${name}.json`), JSON.stringify({ ...key, suite, made: new Date().toISOString() }, null, 1) + '\n', { mode: 0o600 });
    await rename(tmp, entry);
    const size = (await stat(entry)).size;
    say(`kept in the cache: ${entry} (${mib(size)})`);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    const msg = `the debootstrap cache ${dir} was not filled (${(e as Error).message}); the next build runs debootstrap again`;
    say(msg);
    ctx.warn?.(msg);
  }
}

/** every entry of the cache under @cacheDir, with its size (for people and tests) */
export async function cacheEntries(cacheDir: string): Promise<Array<{ file: string; bytes: number; mtimeMs: number }>> {
  const dir = join(cacheDir, 'debootstrap');
  if (!existsSync(dir)) return [];
  const out: Array<{ file: string; bytes: number; mtimeMs: number }> = [];
  for (const n of (await readdir(dir)).sort()) {
    if (!n.endsWith('.tar') || n.startsWith('.')) continue;
    const s = await stat(join(dir, n)).catch(() => null);
    if (s) out.push({ file: join(dir, n), bytes: s.size, mtimeMs: s.mtimeMs });
  }
  return out;
}
