#!/usr/bin/env node
// Unification benchmark (issue 14): ten Debian servers built from one
// debootstrap base (`vserver build --template debootstrap`, from the
// build's cache), then
//   - disk: du -x (hard links once) of one base, of the ten before, and
//     after `vserver-all unify`, with where each server's own bytes are;
//   - time: `vserver-all unify` against util-linux `hardlink`, `rdfind` and
//     `jdupes` on the same ten trees in the same run: each tool gets a
//     fresh `cp -a` of the ten built trees (written just before, so in the
//     page cache for all), timed alone, its disk afterwards measured;
//   - page cache: the ten servers running (each its init and a `sleep`), the
//     distinct physical pages of every file mapping of their processes
//     (pagemap PFNs: a page shared by two servers counts once), plain
//     trees against unified ones.
// Writes bench/results/unify.md.  Root only; temporary directories and
// 127.0.0.(150+N) only.  Run it under `flock /tmp/vctx-bench.lock`.
//
//   node bench/unify.mjs [SERVERS]     (default 10)
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: node bench/unify.mjs [SERVERS]   (as root; SERVERS 2-40, default 10; writes bench/results/unify.md)';
if (process.argv.slice(2).some((a) => a === '--help' || a === '-h')) {
  console.log(USAGE);
  process.exit(0);
}
const N = Number(process.argv[2] ?? 10);
if (process.argv.length > 3 || !Number.isInteger(N) || N < 2 || N > 40) {
  console.error(`unify benchmark: bad arguments: ${process.argv.slice(2).join(' ')}\n${USAGE}`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('unify benchmark: needs root');
  process.exit(1);
}
for (const t of ['hardlink', 'rdfind', 'jdupes']) {
  if (spawnSync(t, ['--help'], { stdio: 'ignore' }).error) {
    console.error(`unify benchmark: ${t} is not installed (apt-get install util-linux rdfind jdupes; setup.sh --bench-deps does)`);
    process.exit(1);
  }
}
const VSERVER = join(root, 'kernel/out/vserver');
const VSERVER_ALL = join(root, 'dist/vserver-all.cjs');
const T = mkdtempSync(join(tmpdir(), 'vctx-bench-unify-'));
const names = Array.from({ length: N }, (_, i) => `bu${i}`);
const say = (l) => process.stderr.write(`unify: ${l}\n`);
const MiB = (b) => `${(b / 1048576).toFixed(1)} MiB`;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0 && !opts.mayFail) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${(r.stderr || r.error?.message || '').slice(-2000)}`);
  return r;
}
const dirsOf = (set) => ({ confdir: join(T, set, 'etc'), rootdir: join(T, set, 'vs'), rundir: join(T, set, 'run') });
const envOf = (set) => {
  const d = dirsOf(set);
  return { ...process.env, VSERVER_CONFDIR: d.confdir, VSERVER_ROOTDIR: d.rootdir, VSERVER_RUNDIR: d.rundir };
};
const vs = (set, ...a) => sh(VSERVER, a, { env: envOf(set) });
function du(...dirs) {
  const out = sh('du', ['-sxcB1', ...dirs]).stdout;
  return Number(/^(\d+)\s+total$/m.exec(out)[1]);
}
const timed = (fn) => {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
};

/** a fresh copy of the built set: configuration and trees */
function copySet(to) {
  const from = dirsOf('p');
  const d = dirsOf(to);
  sh('mkdir', ['-p', d.confdir, d.rootdir, d.rundir]);
  sh('chmod', ['000', d.rootdir]);
  for (const f of readdirSync(from.confdir)) cpSync(join(from.confdir, f), join(d.confdir, f), { preserveTimestamps: true });
  sh('cp', ['-a', ...names.map((n) => join(from.rootdir, n)), d.rootdir]);
  sh('sync', []);
  return d;
}

/** distinct resident physical pages (4 KiB) of the file mappings of @pids */
function filePages(pids) {
  const pfns = new Set();
  const b = Buffer.alloc(8 * 512);
  for (const pid of pids) {
    let maps = '';
    try {
      maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
    } catch {
      continue;
    }
    const fd = openSync(`/proc/${pid}/pagemap`, 'r');
    for (const line of maps.split('\n')) {
      const f = line.split(/\s+/);
      if (!f[5] || !f[5].startsWith('/') || f[4] === '0') continue; // file mappings only
      const [lo, hi] = f[0].split('-').map((x) => BigInt(`0x${x}`));
      for (let p = lo / 4096n; p < hi / 4096n; p += 512n) {
        const n = Number(hi / 4096n - p < 512n ? hi / 4096n - p : 512n);
        readSync(fd, b, 0, n * 8, Number(p * 8n));
        for (let i = 0; i < n; i++) {
          const e = b.readBigUInt64LE(i * 8);
          if (e & (1n << 63n)) pfns.add(e & ((1n << 55n) - 1n));
        }
      }
    }
    closeSync(fd);
  }
  return pfns.size;
}
/** the PIDs of running server @name (its context's cgroup, recursively) */
function pidsOf(set, name) {
  const j = JSON.parse(sh(join(root, 'kernel/out/vserver-stat'), ['--json'], { env: envOf(set) }).stdout);
  const c = j.contexts.find((x) => x.name === name);
  if (!c?.cgroup?.path) return [];
  const base = c.cgroup.path.startsWith('/sys/') ? c.cgroup.path : join('/sys/fs/cgroup', c.cgroup.path);
  return sh('sh', ['-c', 'find "$1" -name cgroup.procs -exec cat {} +', 'sh', base]).stdout.split('\n').filter(Boolean).map(Number);
}
/** starts the @set's servers, each with a sleep besides its init; the file pages their processes map; stops them */
function pageCache(set) {
  const pids = [];
  try {
    for (const n of names) {
      vs(set, n, 'start');
      vs(set, n, 'exec', '/bin/sh', '-c', 'nohup sleep 600 >/dev/null 2>&1 &');
    }
    for (const n of names) pids.push(...pidsOf(set, n));
    return { pages: filePages(pids), processes: pids.length };
  } finally {
    for (const n of names) sh(VSERVER, [n, 'stop', '--timeout', '2'], { env: envOf(set), mayFail: true });
  }
}

const res = {};
const load0 = loadavg().map((x) => x.toFixed(2)).join(' ');
try {
  say(`building ${N} servers from the debootstrap cache`);
  const buildT = timed(() => {
    names.forEach((n, i) => vs('p', n, 'build', '--template', 'debootstrap', '--ip', `127.0.0.${150 + i}`));
  });
  res.build = buildT;
  const P = dirsOf('p');
  res.base = du(join(P.rootdir, names[0]));
  res.before = du(...names.map((n) => join(P.rootdir, n)));
  const breakdown = (dir) => Object.fromEntries(['usr', 'etc', 'var'].map((d) => [d, du(join(dir, d))]));
  res.baseParts = breakdown(join(P.rootdir, names[0]));
  say(`page cache of ${N} plain servers`);
  res.pcBefore = pageCache('p');

  const tools = [
    ['hardlink', (d) => ['hardlink', ['-q', '-X', d.rootdir]]],
    ['rdfind', (d) => ['rdfind', ['-makehardlinks', 'true', '-checksum', 'sha256', '-outputname', join(T, 'rdfind.txt'), d.rootdir]]],
    ['jdupes', (d) => ['jdupes', ['-r', '-L', '-p', '-q', d.rootdir]]],
    ['vctx', (d) => [VSERVER_ALL, ['--confdir', d.confdir, '--rootdir', d.rootdir, '--rundir', d.rundir, 'unify']]],
  ];
  res.tools = {};
  for (const [name, argv] of tools) {
    say(`${name}: copying the ${N} trees`);
    const d = copySet(name);
    const [cmd, args] = argv(d);
    const secs = timed(() => sh(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] }));
    const disk = du(d.rootdir);
    res.tools[name] = { secs, disk };
    say(`${name}: ${secs.toFixed(2)} s, ${MiB(disk)}`);
    if (name === 'vctx') {
      const un = join(d.rootdir, '.vctx-unified');
      res.own = du(...names.map((n) => join(un, n, 'upper')), ...names.map((n) => join(un, n, 'own.erofs')));
      res.ownImage = du(join(un, names[1], 'own.erofs'));
      res.store = du(join(d.rootdir, '.vctx-store'));
      // the layers' own bytes: what they add to the store (du counts a hard link once, where first seen)
      const layers = join(d.rootdir, '.vctx-layers');
      res.layers = existsSync(layers) ? readdirSync(layers).length : 0;
      res.lower = du(join(d.rootdir, '.vctx-store'), ...(res.layers ? [layers] : []), ...names.map((n) => join(un, n, 'lower'))) - res.store;
      // what is never shared, as it took on disk before its packing (the plain set's same server)
      res.upperParts = Object.fromEntries(['etc', 'var', 'var/lib/dpkg', 'var/cache/debconf', 'var/log'].map((x) => [x, du(join(P.rootdir, names[1], x))]));
      res.lowerOne = du(join(d.rootdir, '.vctx-store'), join(un, names[1], 'lower/')) - res.store;
      say(`page cache of ${N} unified servers`);
      res.pcAfter = pageCache(name);
    } else {
      rmSync(join(T, name), { recursive: true, force: true });
    }
  }
} finally {
  for (const set of ['p', 'hardlink', 'rdfind', 'jdupes', 'vctx']) {
    for (const n of names) sh('umount', [join(T, set, 'vs', n)], { mayFail: true, stdio: 'ignore' });
    for (const n of names) sh('umount', [join(T, set, 'vs', '.vctx-unified', n, 'own')], { mayFail: true, stdio: 'ignore' });
  }
  sh('rm', ['-rf', '--one-file-system', T], { mayFail: true });
}

const load1 = loadavg().map((x) => x.toFixed(2)).join(' ');
const r = res;
const x = (b) => `${(b / r.base).toFixed(2)}x`;
const vt = r.tools.vctx.secs;
const rows = Object.entries(r.tools).map(([k, v]) => `| ${k === 'vctx' ? '`vserver-all unify`' : `\`${k}\``} | ${v.secs.toFixed(2)} s | ${k === 'vctx' ? '1.00' : (v.secs / vt).toFixed(2)} | ${MiB(v.disk)} | ${x(v.disk)} |`);
const page = (p) => MiB(p.pages * 4096);
const md = `# Unification: ${N} Debian servers from one base

Run ${new Date().toISOString()} on ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), Linux ${release()};
load average ${load0} before, ${load1} after (the host is shared: times are noisy, ratios in one run).
Produced by \`flock /tmp/vctx-bench.lock node bench/unify.mjs ${N}\` (as root).

The servers: \`vserver NAME build --template debootstrap\` ×${N} (Debian bookworm minbase + sysvinit,
from the build's cache; APT's .debs and lists dropped by the template, as Debian's images do), ${r.build.toFixed(1)} s.
Disk is \`du -sxB1\` (hard links counted once, this file system only).

## Disk

| | bytes | × one base |
|---|---:|---:|
| one base (one built server) | ${MiB(r.base)} | 1.00x |
| ${N} servers, plain | ${MiB(r.before)} | ${x(r.before)} |
| ${N} servers, unified (store + layers) | ${MiB(r.tools.vctx.disk)} | ${x(r.tools.vctx.disk)} |

One base: /usr ${MiB(r.baseParts.usr)}, /etc ${MiB(r.baseParts.etc)}, /var ${MiB(r.baseParts.var)}.
After unify: the store ${MiB(r.store)}; the ${N} servers' own layers (own.erofs: /etc, dpkg's and debconf's
databases, packed; upper: the rest of /var, /home, /root, /srv ...) ${MiB(r.own)} together; their
read-only layers (lower: directories, symlinks, empty files, files that stay a server's own; the links
into the store cost nothing more) ${MiB(r.lower)} together: ${r.layers} layer${r.layers === 1 ? '' : 's'} in ROOTDIR/.vctx-layers
(servers whose layers are the same tree share one).
One server's never-shared files as a plain tree holds them: /etc ${MiB(r.upperParts.etc)}, /var ${MiB(r.upperParts.var)} (of which
/var/lib/dpkg ${MiB(r.upperParts['var/lib/dpkg'])}, /var/cache/debconf ${MiB(r.upperParts['var/cache/debconf'])},
/var/log ${MiB(r.upperParts['var/log'])}): ~1,100 small files, a 4 KiB block each at least on ext4; /etc, /var/lib/dpkg
and /var/cache/debconf packed into its own erofs image (lz4hc, 64 KiB clusters, tails packed): ${MiB(r.ownImage)}.  One lower layer ${MiB(r.lowerOne)} (its directories: 4 KiB each).

Target: ${N} servers ≤ 1.2x one base.  Result: **${x(r.tools.vctx.disk)}**: ${r.tools.vctx.disk <= 1.2 * r.base ? 'met' : 'NOT met'}.
Per further server: ${MiB((r.tools.vctx.disk - r.base) / (N - 1))} (one base plus ${N - 1} of them; nothing under /etc or /var is
shared between servers: each has its own image).

## Time (the same ${N} trees, a fresh \`cp -a\` each)

| tool | time | × vctx | disk after | × one base |
|---|---:|---:|---:|---:|
${rows.join('\n')}

\`hardlink -X\` (util-linux: same content, mode, owner, mtime and xattrs), \`rdfind -makehardlinks true
-checksum sha256\` (content only), \`jdupes -r -L -p\` (content, permissions and owner, byte-compared)
link equal files of the whole trees, /etc and /var included, in place: no server could then change
one of them without changing it in every server.  \`vserver-all unify\` hashes (SHA-256 of content,
mode, owner and xattrs, kernel/tools/vunify.c), links into the store, moves what is never shared into
each server's own layer, packs that into the server's erofs image (mkfs.erofs) and mounts the overlays.

## Page cache (${N} running servers: each its init and a \`sleep\`)

| | processes | distinct resident file pages |
|---|---:|---:|
| plain trees | ${r.pcBefore.processes} | ${page(r.pcBefore)} |
| unified | ${r.pcAfter.processes} | ${page(r.pcAfter)} |

Counted from /proc/PID/maps and /proc/PID/pagemap: the physical frames behind every file mapping of
the servers' processes, each frame once.  Unified servers map the store's one inode of each binary
and library, so ${N} servers hold one copy in the page cache.
`;
writeFileSync(join(root, 'bench/results/unify.md'), md);
process.stdout.write(md);
