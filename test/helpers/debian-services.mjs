/**
 * The services of issue 11's real Debian server, installed inside a running
 * debootstrap server with the distribution's own tools (`apt-get update`,
 * `apt-get install -y`), and a cache of the packages they bring so that a
 * second run does not download them again.
 *
 * The cache keeps the server's /var/cache/apt/archives/*.deb in
 * CACHE/test-apt/ (CACHE: $VCTX_CACHE_DIR, else /var/cache/vctx, as the
 * debootstrap cache of `vserver build`): they are copied into the server
 * before `apt-get install` and back after it.  apt still fetches the
 * package lists from the mirror and checks every cached package against
 * them (size and SHA256): a stale or damaged one is fetched again, and a
 * cold (empty) cache only means everything is downloaded.
 *
 * Plain JavaScript so that bench/real-server.mjs shares it with
 * test/integration/real-server.test.ts (types: debian-services.d.mts).
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** what the issue installs, with its stock configuration */
export const SERVICES = ['nginx', 'openssh-server', 'postgresql', 'cron'];
/** what the checks run inside besides: `curl http://127.0.0.1/` */
export const CHECK_TOOLS = ['curl'];

/** where the packages are kept between runs */
export function aptCacheDir() {
  return join(process.env.VCTX_CACHE_DIR || '/var/cache/vctx', 'test-apt');
}

const debs = (dir) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.deb')) : []);

/** copies the cached packages into the server's APT archive; returns how many */
export function aptCacheIn(root, cache = aptCacheDir()) {
  const archives = join(root, 'var/cache/apt/archives');
  mkdirSync(join(archives, 'partial'), { recursive: true });
  let n = 0;
  for (const f of debs(cache)) {
    copyFileSync(join(cache, f), join(archives, f));
    n++;
  }
  return n;
}

/**
 * Makes the cache the server's APT archive: new packages copied in (through
 * a temporary name, so a cut-off copy is never taken for a package), the
 * ones the server no longer has (older versions) removed.  Returns the
 * number of packages and their bytes.
 */
export function aptCacheOut(root, cache = aptCacheDir()) {
  const archives = join(root, 'var/cache/apt/archives');
  mkdirSync(cache, { recursive: true, mode: 0o755 });
  const have = new Set(debs(archives));
  let bytes = 0;
  for (const f of have) {
    const src = join(archives, f);
    const dst = join(cache, f);
    const size = statSync(src).size;
    bytes += size;
    if (existsSync(dst) && statSync(dst).size === size) continue;
    copyFileSync(src, `${dst}.part`);
    renameSync(`${dst}.part`, dst);
  }
  for (const f of readdirSync(cache)) if (!have.has(f)) rmSync(join(cache, f), { force: true });
  return { count: have.size, bytes };
}

/** a shell line that runs @script inside with a clean environment (the caller's is not the server's) */
export function insideArgv(script) {
  return ['/usr/bin/env', '-i', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'HOME=/root', 'LANG=C.UTF-8', 'DEBIAN_FRONTEND=noninteractive', '/bin/sh', '-c', script];
}

export const APT_UPDATE = 'apt-get update -q';
export const aptInstall = (pkgs = [...SERVICES, ...CHECK_TOOLS]) =>
  `apt-get install -y -q -o Dpkg::Use-Pty=0 ${pkgs.join(' ')}`;

/**
 * Installs the services inside the running server @root through @exec
 * (runs a shell script inside, resolves to { code, stdout, stderr }),
 * using and refreshing the package cache.  Throws naming the step that
 * failed.  Returns the seconds each phase took and what the cache held.
 */
export async function installServices(root, exec, opts = {}) {
  const log = opts.log ?? (() => {});
  const t0 = Date.now();
  const cached = aptCacheIn(root);
  log(`apt cache ${aptCacheDir()}: ${cached} packages copied in`);
  let updateSec = 0;
  let installSec = 0;
  try {
    const u = await exec(APT_UPDATE, opts.updateMs ?? 300_000);
    updateSec = (Date.now() - t0) / 1000;
    // apt-get update exits 0 when indexes failed to download (W: lines)
    if (u.code !== 0 || /^[WE]: Failed to fetch/m.test(u.stderr + u.stdout)) {
      throw new Error(`step 'apt-get update' inside failed (exit ${u.code}; the mirror must be reachable through NAT=yes):\n${tail(u.stdout + u.stderr)}`);
    }
    const t1 = Date.now();
    const i = await exec(aptInstall(), opts.installMs ?? 1_200_000);
    installSec = (Date.now() - t1) / 1000;
    if (i.code !== 0) throw new Error(`step '${aptInstall()}' inside failed (exit ${i.code}):\n${tail(i.stdout + i.stderr)}`);
    const fetched = /^Fetched ([^\n]+)/m.exec(i.stdout)?.[1] ?? 'nothing (all packages from the cache)';
    log(`apt-get install fetched ${fetched}`);
  } finally {
    const out = aptCacheOut(root);
    log(`apt cache: ${out.count} packages (${(out.bytes / 1048576).toFixed(0)} MiB) kept for the next run`);
  }
  return { cached, updateSec, installSec };
}

function tail(text, lines = 25) {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
