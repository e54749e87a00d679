/**
 * Unification (issue 14) against the real kernel: three Debian servers
 * built from one debootstrap base (the build's cache, $VCTX_CACHE_DIR or
 * /var/cache/vctx), unified; their disk, the page cache two running ones
 * share, each change of the issue made in one server only, vdu's figures,
 * a second unify, deunify, a unify of a running server, and bad input.
 * Root only; everything lives in a temporary confdir/rootdir/rundir.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, readSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { processesRootedIn } from '../../src/kernel-bridge/pid.js';
import { aptCacheDir } from '../helpers/debian-services.mjs';
import { commandPath, type Command } from '../helpers/commands.js';
import { runCommand, show, type Res } from '../helpers/run.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 100);
const ip = (k: number) => `127.0.0.${octet + k}`;
const A = `una${run}`;
const B = `unb${run}`;
const C = `unc${run}`;
const all = [A, B, C];
let T = '';
let env: NodeJS.ProcessEnv = {};
/** du -x of one plain built server (hard links once), bytes */
let base = 0;

const cli = (cmd: Command, args: string[]): Promise<Res> => runCommand(cmd, args, { env });
const vs = (args: string[]) => cli('vserver', args);
const paths = () => ({ confdir: join(T, 'etc'), rootdir: join(T, 'vs'), rundir: join(T, 'run') });
const rootOf = (n: string) => join(T, 'vs', n);
const upperOf = (n: string) => join(T, 'vs', '.vctx-unified', n, 'upper');
const ownOf = (n: string) => join(T, 'vs', '.vctx-unified', n, 'own');
async function ok(args: string[]): Promise<Res> {
  const r = await vs(args);
  assert.equal(r.code, 0, `vserver ${args.join(' ')}: ${show(r)}`);
  return r;
}
const inside = (n: string, script: string) => ok([n, 'exec', '/bin/sh', '-c', script]);

/** bytes on disk under @dir, hard links counted once, this file system only */
function duBytes(...dirs: string[]): number {
  const r = spawnSync('du', ['-sxcB1', ...dirs], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(/^(\d+)\s+total$/m.exec(r.stdout)![1]);
}
/** vdu's figure for @n's root, KiB */
function vduKiB(n: string): number {
  const r = spawnSync(join(projectRoot, 'kernel/out/vdu'), [rootOf(n)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Number(/\t(\d+)K$/m.exec(r.stdout)![1]);
}
/** a digest of what @n's tree shows under /usr: every name, type, mode, owner, and every file's content */
function treeDigest(n: string): string {
  const r = spawnSync('sh', ['-c', 'cd "$1" && { find usr -xdev -printf "%y %m %U %G %p -> %l\\n" | sort; find usr -xdev -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum', 'sh', rootOf(n)],
    { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split(' ')[0]!;
}
const sha = (file: string) => spawnSync('sha256sum', [file], { encoding: 'utf8' }).stdout.split(' ')[0];
const mounted = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir);

/** a sleep's argument no other process has: this run's */
const secsOf = (k: number) => `${3000 + k}.${octet}${run.length}`;
/** the PID of the process running `sleep SECS` (SECS: secsOf, one per server) */
function sleeperIn(_n: string, secs: string): number | null {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (!/sleep$/.test(argv[0] ?? '') || argv[1] !== secs) continue;
      return Number(d);
    } catch {
      /* gone */
    }
  }
  return null;
}
/** the text mapping of /usr/bin/sleep in @pid: its dev:inode (from /proc/PID/maps) and the PFN of its first page (pagemap) */
function sleepMapping(pid: number): { devIno: string; pfn: bigint } {
  const line = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').find((l) => / 00000000 .* \/usr\/bin\/sleep$/.test(l));
  assert.ok(line, `a mapping of /usr/bin/sleep at offset 0 in ${pid}`);
  const f = line.split(/\s+/);
  const addr = BigInt(`0x${f[0]!.split('-')[0]}`);
  const fd = openSync(`/proc/${pid}/pagemap`, 'r');
  const b = Buffer.alloc(8);
  readSync(fd, b, 0, 8, Number((addr / 4096n) * 8n));
  closeSync(fd);
  const entry = b.readBigUInt64LE();
  assert.ok(entry & (1n << 63n), `the first page of sleep's mapping in ${pid} is present`);
  return { devIno: `${f[3]}:${f[4]}`, pfn: entry & ((1n << 55n) - 1n) };
}
async function until<V>(what: string, fn: () => V | null, ms = 10000): Promise<V> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
/** starts `sleep SECS` inside @n in the background; returns its PID */
async function sleeper(n: string, secs: string): Promise<number> {
  await inside(n, `nohup sleep ${secs} >/dev/null 2>&1 &`);
  return until(`sleep ${secs} in ${n}`, () => sleeperIn(n, secs));
}

describe('unify: three Debian servers from one base share disk and page cache and change on their own', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-un-'));
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
    delete env.NODE_TEST_CONTEXT;
    await ok([A, 'build', '--template', 'debootstrap', '--ip', ip(0)]);
    base = duBytes(rootOf(A));
    const b = await ok([B, 'build', '--template', 'debootstrap', '--ip', ip(1), '--unify']);
    assert.match(b.stdout, new RegExp(`^Server '${B}' unified: \\d+ files linked to existing objects .*, \\d+ new objects`, 'm'));
    await ok([C, 'build', '--template', 'debootstrap', '--ip', ip(2), '--unify']);
  }, { timeout: 600_000 });

  after(async () => {
    for (const n of all) await stop(n, paths(), { timeoutSec: 1 }).catch(() => {});
    for (const n of all) spawnSync('umount', [rootOf(n)]);
    // then the servers' own layers (erofs images) the overlays stood on
    for (const m of await mountsBelow(T)) spawnSync('umount', [m]);
    for (const n of all) await removeTree(rootOf(n)).catch(() => {});
    if (T) await rm(T, { recursive: true, force: true });
  });

  test('unify: the three servers take at most 1.3x one base on disk; each root is an overlay on its own layer', { timeout: 120_000 }, async () => {
    const r = await ok([A, 'unify']);
    assert.match(r.stdout, new RegExp(`^Server '${A}' unified: (\\d+) files linked to existing objects \\(\\d+\\.\\d MiB freed\\), \\d+ new objects`));
    assert.ok(Number(/unified: (\d+) files linked/.exec(r.stdout)![1]) > 1000, r.stdout);
    for (const n of all) assert.ok(mounted(rootOf(n)), `${rootOf(n)} is mounted`);
    const total = duBytes(join(T, 'vs'));
    console.log(`# one base ${(base / 1048576).toFixed(1)} MiB; three unified ${(total / 1048576).toFixed(1)} MiB (${(total / base).toFixed(2)}x)`);
    assert.ok(total <= 1.3 * base, `three unified servers take ${total} bytes, one base ${base}: ${(total / base).toFixed(2)}x > 1.3x`);
    // what is never shared is each server's own: /etc, /var and dpkg's conffiles, packed in its erofs image
    assert.match(r.stdout, / never-shared paths in its own layer \(\d+\.\d MiB packed into \d+\.\d MiB\)/);
    for (const n of all) {
      assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === ownOf(n))?.split(' - ')[1]?.split(' ')[0], 'erofs', `${n}'s own layer is its erofs image, mounted`);
      for (const f of ['etc/hostname', 'var/lib/dpkg/status']) {
        assert.ok(existsSync(join(ownOf(n), f)), `${f} is in ${n}'s own layer`);
        assert.equal(readFileSync(join(ownOf(n), f), 'utf8'), readFileSync(join(rootOf(n), f), 'utf8'), `${n} shows its own ${f}`);
      }
      assert.ok(!existsSync(join(T, 'vs/.vctx-unified', n, 'lower/etc/hostname')), `${n}'s /etc/hostname is not in the shared layer`);
    }
    assert.notEqual(readFileSync(join(rootOf(A), 'etc/hostname'), 'utf8'), readFileSync(join(rootOf(B), 'etc/hostname'), 'utf8'), 'each server its own /etc/hostname');
    assert.ok(!existsSync(join(upperOf(A), 'etc')) && !existsSync(join(upperOf(A), 'var/lib/dpkg')), "A's /etc and dpkg's database left its upper");
    assert.ok(existsSync(join(upperOf(A), 'var/log')), "the rest of A's /var (logs, data) stays in its upper, writable without a copy-up");
    assert.equal(statSync(join(rootOf(A), 'usr/bin/sleep')).nlink >= 2, true, 'a shared binary is a store object');
    assert.equal(statSync(join(rootOf(A), 'usr/bin/sleep')).ino, statSync(join(rootOf(C), 'usr/bin/sleep')).ino, 'one inode in all servers');
    // servers of one base have one lower layer: ROOTDIR/.vctx-layers/TREEHASH
    const layer = (n: string) => readlinkSync(join(T, 'vs/.vctx-unified', n, 'lower'));
    assert.match(layer(A), /^\.\.\/\.\.\/\.vctx-layers\/[0-9a-f]{64}$/);
    assert.equal(layer(B), layer(A));
    assert.equal(layer(C), layer(A));
    assert.match(r.stdout, /, its lower layer one another server has \(/);
  });

  test('unify twice: nothing to do, nothing changed', async () => {
    const objects = () => readdirSync(join(T, 'vs/.vctx-store/objects')).reduce((s, d) => s + readdirSync(join(T, 'vs/.vctx-store/objects', d)).length, 0);
    const before = { objects: objects(), digest: treeDigest(B), own: vduKiB(B) };
    const r = await ok([B, 'unify']);
    assert.equal(r.stdout, `Server '${B}' is already unified: nothing to do\n`);
    assert.deepEqual({ objects: objects(), digest: treeDigest(B), own: vduKiB(B) }, before);
    const all2 = await cli('vserver-all', ['unify']);
    assert.equal(all2.code, 0, show(all2));
    assert.equal(all2.stdout.split('\n').filter((l) => /is already unified: nothing to do$/.test(l)).length, 3, all2.stdout);
  });

  test('two running servers map one host page for the same binary (pagemap PFN); their /proc/PID/maps name the file', { timeout: 120_000 }, async () => {
    await ok([A, 'start']);
    await ok([B, 'start']);
    const aPid = await sleeper(A, secsOf(1));
    const bPid = await sleeper(B, secsOf(2));
    // the host tells which processes run in a unified tree (its overlay): what delete and build --force check
    const inA = await processesRootedIn(rootOf(A));
    assert.ok(inA.includes(aPid) && !inA.includes(bPid), `processes rooted in ${rootOf(A)}: ${inA.join(' ')}; A's sleep ${aPid}, B's ${bPid}`);
    const a = sleepMapping(aPid);
    const b = sleepMapping(bPid);
    console.log(`# ${A}: sleep at ${a.devIno} PFN ${a.pfn}; ${B}: ${b.devIno} PFN ${b.pfn}`);
    assert.ok(a.pfn > 0n, 'root reads PFNs');
    assert.equal(a.pfn, b.pfn, 'the first page of /usr/bin/sleep is one physical page of the page cache in both servers');
    // and it is the store object's page: the host's own read of the object finds it cached (fincore)
    const obj = spawnSync('find', [join(T, 'vs/.vctx-store/objects'), '-samefile', join(T, 'vs/.vctx-unified', A, 'lower/usr/bin/sleep')], { encoding: 'utf8' }).stdout.trim();
    assert.ok(obj, 'sleep is a store object');
    // /proc/PID/maps: each overlay's own device, with the store object's inode number
    const ino = String(statSync(obj).ino);
    assert.equal(a.devIno.split(':')[2], ino, `A's mapping names the store object's inode ${ino}: ${a.devIno}`);
    assert.equal(b.devIno.split(':')[2], ino, `B's mapping names the store object's inode ${ino}: ${b.devIno}`);
    const fc = spawnSync('fincore', ['-nbo', 'RES', obj], { encoding: 'utf8' });
    if (fc.status === 0) assert.ok(Number(fc.stdout.trim()) > 0, `the store object ${obj} is in the page cache: ${fc.stdout}`);
  });

  test('each change in one server (write, replace, delete, dpkg -r, apt-get install --reinstall) succeeds there only', { timeout: 300_000 }, async () => {
    const others = () => [treeDigest(B), treeDigest(C)];
    const before = others();
    const bOwn = vduKiB(B);
    const ownBefore = vduKiB(A);
    // write into a shared file
    const passwdMaster = 'usr/share/base-passwd/passwd.master';
    const old = sha(join(rootOf(B), passwdMaster));
    await inside(A, `echo changed-in-A >> /${passwdMaster}`);
    assert.match(readFileSync(join(rootOf(A), passwdMaster), 'utf8'), /changed-in-A\n$/);
    assert.equal(sha(join(rootOf(B), passwdMaster)), old);
    // replace one (a new file renamed over it)
    await inside(A, 'printf "#!/bin/sh\\necho replaced\\n" > /usr/bin/.new && chmod 755 /usr/bin/.new && mv /usr/bin/.new /usr/bin/tac');
    assert.equal((await inside(A, 'tac')).stdout, 'replaced\n');
    // delete one
    await inside(A, 'rm /usr/bin/nproc');
    assert.ok(!existsSync(join(rootOf(A), 'usr/bin/nproc')));
    // dpkg -r
    await inside(A, 'dpkg -r tzdata >/dev/null');
    assert.ok(!existsSync(join(rootOf(A), 'usr/share/zoneinfo/UTC')), 'tzdata is gone from A');
    // apt-get install --reinstall, from the test's APT cache (no network)
    const deb = readdirSync(aptCacheDir()).find((f) => /^hostname_.*\.deb$/.test(f));
    assert.ok(deb, `a hostname package in ${aptCacheDir()} (the real-server test fills it)`);
    copyFileSync(join(aptCacheDir(), deb), join(rootOf(A), 'tmp', deb));
    const hostnameIno = statSync(join(rootOf(B), 'bin/hostname')).ino;
    await inside(A, `apt-get install -y -q --reinstall /tmp/${deb} >/dev/null 2>&1 || { apt-get install -y -q --reinstall /tmp/${deb}; exit 1; }`);
    assert.equal(statSync(join(rootOf(A), 'bin/hostname')).nlink, 1, "A's reinstalled hostname is its own file");
    assert.equal(statSync(join(rootOf(B), 'bin/hostname')).ino, hostnameIno);
    for (const n of [B, C]) {
      assert.ok(existsSync(join(rootOf(n), 'usr/share/zoneinfo/UTC')) && existsSync(join(rootOf(n), 'usr/bin/nproc')), `${n} still has them`);
    }
    assert.deepEqual(others(), before, 'B and C are byte-identical under /usr to what they were');
    assert.equal(vduKiB(B), bOwn, "B's own use did not change");
    assert.ok(vduKiB(A) > ownBefore, "A's own use grew by what it replaced");
  });

  test('vdu counts what a server wrote, not what it shares; vserver-stat --json shows it', { timeout: 60_000 }, async () => {
    const before = vduKiB(A);
    const bBefore = vduKiB(B);
    await inside(A, 'dd if=/dev/urandom of=/srv/written bs=1M count=4 2>/dev/null && sync');
    const grown = vduKiB(A) - before;
    assert.ok(grown >= 4096 && grown <= 4096 + 8, `vdu of ${A} grew by ${grown} KiB after writing 4096 KiB`);
    assert.equal(vduKiB(B), bBefore);
    assert.ok(vduKiB(B) * 1024 < base / 4, `B's own use (${vduKiB(B)} KiB) is far below one base (${base} bytes): the shared files are not counted`);
    const st = await cli('vserver-stat', ['--json']);
    assert.equal(st.code, 0, show(st));
    const rows = (JSON.parse(st.stdout) as { contexts: { name: string; ownDiskBytes: number | null }[] }).contexts;
    assert.equal(rows.find((r) => r.name === A)?.ownDiskBytes, vduKiB(A) * 1024);
    assert.equal(rows.find((r) => r.name === B)?.ownDiskBytes, vduKiB(B) * 1024);
  });

  test('vserver-copy of a unified server: the copy shares the objects; deleting it leaves the others as they were', { timeout: 180_000 }, async () => {
    const D = `und${run}`;
    const digest = treeDigest(B);
    const links = statSync(join(rootOf(B), 'usr/bin/sleep')).nlink;
    const r = await cli('vserver-copy', [B, D, '--ip', ip(3)]);
    assert.equal(r.code, 0, show(r));
    assert.ok(mounted(rootOf(D)), 'the copy is unified too');
    assert.equal(treeDigest(D), digest, 'the same tree');
    assert.equal(statSync(join(rootOf(D), 'usr/bin/sleep')).ino, statSync(join(rootOf(B), 'usr/bin/sleep')).ino, 'one inode');
    const layer = (n: string) => readlinkSync(join(T, 'vs/.vctx-unified', n, 'lower'));
    assert.equal(layer(D), layer(B), 'the copy has the same lower layer');
    assert.equal(statSync(join(rootOf(B), 'usr/bin/sleep')).nlink, links, 'no new link: the layer is shared');
    const del = await vs([D, 'delete', '--force']);
    assert.equal(del.code, 0, show(del));
    assert.ok(!existsSync(join(T, 'vs/.vctx-unified', D)) && !mounted(rootOf(D)), 'its layers and overlay are gone');
    assert.equal(statSync(join(rootOf(B), 'usr/bin/sleep')).nlink, links);
    assert.ok(existsSync(join(T, 'vs/.vctx-layers', layer(B).split('/').pop()!)), "the layer B uses stays");
    assert.equal(treeDigest(B), digest, 'B is as it was');
  });

  test('deunify: an independent plain tree again, the same files; the other servers keep theirs', { timeout: 180_000 }, async () => {
    const digest = treeDigest(C);
    const r = await ok([C, 'deunify']);
    assert.match(r.stdout, new RegExp(`^Server '${C}' deunified: its tree .* is its own again`));
    assert.ok(!mounted(rootOf(C)), 'no overlay any more');
    assert.ok(!existsSync(join(T, 'vs/.vctx-unified', C)), 'no layers left');
    assert.equal(treeDigest(C), digest, 'the same tree');
    const ls = statSync(join(rootOf(C), 'usr/bin/sleep'));
    assert.equal(ls.nlink, 1, 'its own file');
    assert.notEqual(ls.ino, statSync(join(T, 'vs/.vctx-unified', A, 'lower/usr/bin/sleep')).ino);
    writeFileSync(join(rootOf(C), 'usr/share/base-passwd/group.master'), 'only C\n');
    assert.notEqual(readFileSync(join(rootOf(B), 'usr/share/base-passwd/group.master'), 'utf8'), 'only C\n');
    assert.equal((await vs([C, 'deunify'])).stdout, `Server '${C}' is not unified: nothing to do\n`);
    // a plain server's sleep is another page than the unified servers' one
    await ok([C, 'start']);
    const a = sleepMapping(sleeperIn(A, secsOf(1))!);
    const c = sleepMapping(await sleeper(C, secsOf(3)));
    assert.notEqual(c.pfn, a.pfn, 'a deunified server has its own page');
  });

  test('unify of a running server: "at its next start", and done then', { timeout: 180_000 }, async () => {
    const r = await ok([C, 'unify']);
    assert.equal(r.stdout, `Server '${C}' is running: it will be unified at its next start\n`);
    assert.ok(!mounted(rootOf(C)), 'its running tree is left as it is');
    await stop(C, paths(), { timeoutSec: 5 });
    const s = await ok([C, 'start']);
    assert.match(s.stderr, new RegExp(`'${C}' was unified before this start, as asked while it ran: \\d+ files linked`));
    assert.ok(mounted(rootOf(C)));
    assert.equal((await inside(C, 'cat /etc/hostname')).stdout.trim().length > 0, true);
    await stop(C, paths(), { timeoutSec: 5 });
  });

  test('bad input: an unknown server, a unify while another holds the store; nothing is left half-done', { timeout: 60_000 }, async () => {
    const u = await vs([`nosuch${run}`, 'unify']);
    assert.equal(u.code, 3, show(u));
    assert.match(u.stderr, /^vserver: unknown server 'nosuch\w+' \(no .*\)\n$/);
    // build --force does not replace a unified tree: it says what to do, and the tree stays
    const digest = treeDigest(C);
    const f = await vs([C, 'build', '--force', '--template', 'debootstrap']);
    assert.equal(f.code, 1, show(f));
    assert.equal(f.stderr, `vserver: server '${C}' is unified (${rootOf(C)} is its overlay); build --force does not replace a unified tree: run 'vserver ${C} deunify' (or delete) first\n`);
    assert.equal(treeDigest(C), digest);
    // a pack a crash interrupted (the image made and mounted, the upper not yet emptied, the
    // marker there) is finished at the next mount: the upper loses its copy, the tree is whole
    const hostname = readFileSync(join(rootOf(C), 'etc/hostname'), 'utf8');
    assert.equal(spawnSync('umount', [rootOf(C)]).status, 0);
    assert.equal(spawnSync('cp', ['-a', join(ownOf(C), 'etc'), join(upperOf(C), 'etc')]).status, 0);
    writeFileSync(join(T, 'vs/.vctx-unified', C, 'own.packing'), 'test\n');
    assert.equal(spawnSync('umount', [ownOf(C)]).status, 0);
    assert.equal((await ok([C, 'unify'])).stdout, `Server '${C}' is already unified: nothing to do\n`);
    assert.ok(mounted(rootOf(C)) && mounted(ownOf(C)), 'mounted again');
    assert.ok(!existsSync(join(upperOf(C), 'etc')) && !existsSync(join(T, 'vs/.vctx-unified', C, 'own.packing')), 'the pack finished');
    assert.equal(readFileSync(join(rootOf(C), 'etc/hostname'), 'utf8'), hostname);
    await ok([C, 'deunify']);
    const lockFile = join(T, 'vs/.vctx-unified/.lock');
    const holder = spawn('flock', [lockFile, 'sleep', '30'], { stdio: 'ignore' });
    try {
      await until('the lock held', () => (spawnSync('flock', ['-n', lockFile, 'true']).status !== 0 ? true : null));
      const r = await vs([C, 'unify']);
      assert.equal(r.code, 1, show(r));
      assert.equal(r.stderr, `vserver: cannot unify '${C}': another unify or deunify works on the store of ${join(T, 'vs')} (it holds ${lockFile}); try again when it ends\n`);
      assert.ok(!existsSync(join(T, 'vs/.vctx-unified', C)) && !mounted(rootOf(C)), 'C is plain as it was');
    } finally {
      holder.kill();
    }
  });
});

describe('unify: a store on another file system is refused', { skip: !isRoot && 'needs root' }, () => {
  let U = '';
  after(async () => {
    if (U) {
      spawnSync('umount', [join(U, 'vs/.vctx-store')]);
      await removeTree(join(U, 'vs', `uns${run}`)).catch(() => {});
      await rm(U, { recursive: true, force: true });
    }
  });
  test('one line naming the store; the tree untouched', { timeout: 120_000 }, async () => {
    U = await mkdtemp(join(tmpdir(), 'vctx-uns-'));
    const e: NodeJS.ProcessEnv = { ...process.env, VSERVER_CONFDIR: join(U, 'etc'), VSERVER_ROOTDIR: join(U, 'vs'), VSERVER_RUNDIR: join(U, 'run') };
    delete e.NODE_TEST_CONTEXT;
    const n = `uns${run}`;
    const b = spawnSync(commandPath('vserver'), [n, 'build'], { env: e, encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    mkdirSync(join(U, 'vs/.vctx-store'));
    assert.equal(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'vctx-test', join(U, 'vs/.vctx-store')]).status, 0);
    const r = spawnSync(commandPath('vserver'), [n, 'unify'], { env: e, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, `vserver: the store ${join(U, 'vs/.vctx-store')} is on another file system than ${join(U, 'vs', n)}; hard links need one: make it a plain directory in ${join(U, 'vs')}\n`);
    assert.ok(!existsSync(join(U, 'vs/.vctx-unified', n)) && statSync(join(U, 'vs', n, 'bin')).isDirectory(), 'the tree is as it was');
  });
});
