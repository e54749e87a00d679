/**
 * DISK_MAX against the real kernel, on loop-mounted images in a temporary
 * directory (all unmounted and removed afterwards):
 *  - an ext4 image made with `mkfs.ext4 -O quota,project`, mounted with
 *    prjquota, holds two busybox servers: the one with DISK_MAX gets ENOSPC
 *    (or EDQUOT) writing past it, the other and the host keep writing;
 *    vserver-stat --json shows use against the limit; delete lifts it.
 *    A kernel without ext4 quota support cannot mount such an image: that
 *    test then skips, printing the kernel's reason;
 *  - where the file system has no project quotas (the host's tmp, an ext4
 *    image without the feature, XFS without the mount option) set and start
 *    refuse in one line naming the mount and what it lacks;
 *  - the project-id walk on XFS (which keeps project ids without quotas):
 *    every directory and regular file tagged, symlinks never followed;
 *  - a server cannot move its files out of its project (seccomp refuses
 *    FS_IOC_FSSETXATTR), shown to detect the escape with VCTX_TEST_WEAKEN.
 * Root only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { PROJID_BASE, diskTreeOf, kernelOption, projectQuota, tagTree, treeProjectId } from '../../src/kernel-bridge/quota.js';
import { type Command } from '../helpers/commands.js';
import { runCommand, show } from '../helpers/run.js';
import { chcontext, compileC, removeCompiled } from '../helpers/kernel.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 100);
const ip = (k: number) => `127.0.0.${octet + k}`;
const A = `dqa${run}`;
const B = `dqb${run}`;
const P = `dqp${run}`;
const X = `dqx${run}`;
const H = `dqh${run}`;
let T = '';
let env: NodeJS.ProcessEnv = {};
let probe = '';
const mounts: string[] = [];
/** why the project-quota ext4 image could not be mounted ('' = it was) */
let quotaSkip = '';

const cli = (cmd: Command, args: string[], extraEnv: NodeJS.ProcessEnv = {}) => runCommand(cmd, args, { env: { ...env, ...extraEnv } });
const sh = (cmd: string, args: string[]) => spawnSync(cmd, args, { encoding: 'utf8' });

/** the three directories of servers whose roots are under @rootdir */
const pathsIn = (rootdir: string) => ({ confdir: join(T, 'etc'), rootdir, rundir: join(T, 'run') });
/** the vserver CLI with @rootdir as its roots directory */
const vs = (rootdir: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}) =>
  cli('vserver', ['--rootdir', rootdir, ...args], extraEnv);

/** a loop-mounted image of @mb MiB made by @mkfs, at T/@name; returns the mount point or throws the mount's error */
function mountImage(name: string, mb: number, mkfs: string[], opts: string[]): string {
  const img = join(T, `${name}.img`);
  const mp = join(T, name);
  mkdirSync(mp);
  writeFileSync(img, '');
  assert.equal(sh('truncate', ['-s', `${mb}M`, img]).status, 0);
  const f = sh(mkfs[0]!, [...mkfs.slice(1), img]);
  assert.equal(f.status, 0, `${mkfs.join(' ')}: ${f.stderr}`);
  const m = sh('mount', ['-o', ['loop', ...opts].join(','), img, mp]);
  if (m.status !== 0) throw new Error(m.stderr.trim());
  mounts.push(mp);
  return mp;
}

/** the DISK_MAX line of server @n's configuration */
const diskMaxLine = (n: string) => /^DISK_MAX=.*$/m.exec(readFileSync(join(T, 'etc', `${n}.conf`), 'utf8'))?.[0];

describe('DISK_MAX: per-server disk limits through project quotas', { skip: !isRoot && 'needs root' }, () => {
  let plain = '';
  let xfs = '';
  let quota = '';

  before(() => {
    return (async () => {
      T = await mkdtemp(join(tmpdir(), 'vctx-dq-'));
      env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_RUNDIR: join(T, 'run') };
      delete env.NODE_TEST_CONTEXT;
      probe = compileC('vctx-probe');
      plain = mountImage('plain', 64, ['mkfs.ext4', '-q', '-F'], []);
      xfs = mountImage('xfs', 320, ['mkfs.xfs', '-q', '-f'], []);
      try {
        quota = mountImage('quota', 128, ['mkfs.ext4', '-q', '-F', '-O', 'quota,project'], ['prjquota']);
      } catch (e) {
        const k = kernelOption('CONFIG_QFMT_V2');
        quotaSkip = `an ext4 image with the quota and project features does not mount here (${(e as Error).message})` +
          (k === false ? ': this kernel was built without CONFIG_QFMT_V2, so it has no ext4 quotas at all' : '');
      }
    })();
  }, { timeout: 60_000 });

  after(async () => {
    for (const [n, dir] of [[A, quota], [B, quota], [P, plain], [X, xfs], [H, join(T, 'host')]] as const) {
      if (!dir) continue;
      await stop(n, pathsIn(dir), { timeoutSec: 1 }).catch(() => {});
      await removeTree(join(dir, n)).catch(() => {});
    }
    for (const mp of mounts.reverse()) sh('umount', [mp]);
    if (probe) removeCompiled(probe);
    if (T) await rm(T, { recursive: true, force: true });
  });

  test('the host\'s tmp has no project quotas: set DISK_MAX refuses in one line and changes nothing', { timeout: 60_000 }, async () => {
    const dir = join(T, 'host');
    mkdirSync(dir);
    await build(H, { ip: ip(4) }, pathsIn(dir));
    const r = await vs(dir, [H, 'set', 'DISK_MAX=64M']);
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`DISK_MAX cannot be enforced: ${join(dir, H)} is on \\S+ \\([^)]+\\), which has no project quotas: it lacks `));
    assert.equal(diskMaxLine(H), 'DISK_MAX=""');
  });

  test('ext4 without the project feature: set and start refuse, naming the mount, the feature and the mount option', { timeout: 60_000 }, async () => {
    await build(P, { ip: ip(2) }, pathsIn(plain));
    const r = await vs(plain, [P, 'set', 'DISK_MAX=16M']);
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`${join(plain, P)} is on ${plain} \\(ext4, /dev/loop\\d+\\), which has no project quotas: ` +
      "it lacks the ext4 'project' and 'quota' features \\(tune2fs -O quota,project .*the 'prjquota' mount option"));
    assert.equal(diskMaxLine(P), 'DISK_MAX=""', 'the file is unchanged');
    // the same value written by hand: start refuses before anything runs
    const conf = join(T, 'etc', `${P}.conf`);
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^DISK_MAX=""$/m, 'DISK_MAX="16M"'));
    const s = await vs(plain, [P, 'start']);
    assert.equal(s.code, 1, show(s));
    assert.match(s.stderr, /DISK_MAX cannot be enforced: .* which has no project quotas/);
    const st = await vs(plain, [P, 'status']);
    assert.equal(st.code, 3, `not running: ${show(st)}`);
  });

  test('XFS mounted without prjquota: refused, naming the mount option', { timeout: 60_000 }, async () => {
    await build(X, { ip: ip(3) }, pathsIn(xfs));
    const r = await vs(xfs, [X, 'set', 'DISK_MAX=16M']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, new RegExp(`${join(xfs, X)} is on ${xfs} \\(xfs, /dev/loop\\d+\\), which has no project quotas: it lacks the 'prjquota' mount option`));
  });

  test('the project-id walk (XFS keeps ids without quotas): every directory and file, no symlink followed', () => {
    const root = join(xfs, 'walk');
    const outside = join(xfs, 'outside');
    mkdirSync(join(root, 'a/b/c'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'host\n');
    writeFileSync(join(root, 'a/b/c/deep'), 'x');
    writeFileSync(join(root, 'top'), 'x');
    assert.equal(sh('setfattr', ['-n', 'user.kept', '-v', 'yes', join(root, 'top')]).status, 0, 'a file with an xattr (XFS: HASATTR)');
    symlinkSync(outside, join(root, 'dirlink'));
    symlinkSync(join(outside, 'secret'), join(root, 'a/filelink'));
    assert.equal(sh('mkfifo', [join(root, 'fifo')]).status, 0);
    const id = PROJID_BASE + 4242;
    const st = tagTree(root, id);
    assert.ok(st.tagged >= 6, `tagged ${st.tagged}`);
    for (const p of ['', 'a', 'a/b', 'a/b/c', 'a/b/c/deep', 'top']) {
      const l = sh('lsattr', ['-pd', join(root, p)]).stdout;
      assert.match(l, new RegExp(`^\\s*${id} `), `${p || '/'}: ${l}`);
    }
    assert.match(sh('lsattr', ['-d', join(root, 'a/b')]).stdout, /P/, 'directories inherit (PROJINHERIT)');
    for (const p of [outside, join(outside, 'secret')]) assert.match(sh('lsattr', ['-pd', p]).stdout, /^\s*0 /, `${p} untouched`);
    // what is created later inherits the id
    writeFileSync(join(root, 'a/b/new'), 'x');
    assert.equal(treeProjectId(join(root, 'a/b')), id);
    assert.match(sh('lsattr', ['-p', join(root, 'a/b/new')]).stdout, new RegExp(`^\\s*${id} `));
    // a second walk changes nothing
    assert.equal(tagTree(root, id).tagged, 0);
  });

  test('unify under a disk limit\'s project id (XFS keeps ids without quotas): the shared objects carry none, the server\'s own layers carry it', { timeout: 90_000 }, async () => {
    const U = `dqu${run}`;
    const root = join(xfs, U);
    const own = join(xfs, '.vctx-unified', U);
    const id = PROJID_BASE + 4343;
    const projOf = (p: string) => Number(/^\s*(\d+) /.exec(sh('lsattr', ['-pd', p]).stdout)?.[1] ?? NaN);
    await build(U, { ip: ip(5) }, pathsIn(xfs));
    try {
      // its configuration has DISK_MAX; start would tag the tree so where the file system has quotas
      writeFileSync(join(T, 'etc', `${U}.conf`), `${readFileSync(join(T, 'etc', `${U}.conf`), 'utf8')}DISK_MAX=16M\n`);
      tagTree(root, id);
      // a file hard-linked between the shared part and /etc: the lower layer cannot be shared, so it
      // stays a directory of links into the store inside the own layers' directory
      assert.equal(sh('ln', [join(root, 'bin/busybox'), join(root, 'etc/bb-link')]).status, 0);
      const r = await vs(xfs, [U, 'unify']);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, new RegExp(`^Server '${U}' unified: .* packed into .*\\(\\d+\\.\\d s\\)\\n$`), 'no warning');
      assert.equal(diskTreeOf(root), own, 'DISK_MAX now counts the own layers');
      assert.equal(treeProjectId(own), id);
      for (const p of ['upper', 'work', 'own.erofs']) assert.equal(projOf(join(own, p)), id, `${p} carries the id`);
      const obj = sh('find', [join(xfs, '.vctx-store/objects'), '-type', 'f', '-print', '-quit']).stdout.trim();
      assert.ok(obj, 'an object in the store');
      assert.equal(projOf(obj), 0, `the shared object ${obj} (linked from the lower layer below) carries no id`);
      const layer = join(own, 'lower');
      assert.ok(!lstatSync(layer).isSymbolicLink(), 'the lower layer is the server\'s own directory (not shareable)');
      assert.equal(projOf(join(layer, 'bin')), 0, 'the lower layer carries no id');
      assert.doesNotMatch(sh('lsattr', ['-d', join(layer, 'bin')]).stdout.split(' ')[0]!, /P/, 'nor PROJINHERIT');
      // what the server writes lands in its upper, and inherits the id
      writeFileSync(join(root, 'written'), 'x');
      assert.equal(projOf(join(own, 'upper/written')), id);
      // deunify: a plain tree again, with the id
      const de = await vs(xfs, [U, 'deunify']);
      assert.equal(de.code, 0, show(de));
      assert.equal(treeProjectId(root), id);
      assert.equal(projOf(join(root, 'written')), id);
    } finally {
      const d = await vs(xfs, [U, 'delete', '--force']);
      assert.equal(d.code, 0, show(d));
    }
  });

  test('a server cannot move its files out of its project (FS_IOC_FSSETXATTR refused); weakened, the escape shows', { timeout: 90_000 }, async () => {
    copyFileSync(probe, join(xfs, X, 'bin/vctx-probe'));
    writeFileSync(join(xfs, X, 'mine'), 'x');
    const attempt = ['/bin/vctx-probe', 'projid', '/mine', String(PROJID_BASE + 7)];
    // a real server: started by vserver, the probe run by vserver exec
    const s = await vs(xfs, [X, 'start']);
    assert.equal(s.code, 0, show(s));
    try {
      const r = await vs(xfs, [X, 'exec', ...attempt]);
      assert.match(r.stdout, /^error EPERM$/m, show(r));
    } finally {
      const p = await vs(xfs, [X, 'stop', '--timeout', '1']);
      assert.equal(p.code, 0, show(p));
    }
    assert.match(sh('lsattr', ['-p', join(xfs, X, 'mine')]).stdout, /^\s*0 /, 'the id is unchanged');
    // the same containment (chcontext --secure, what vserver start asks for), once with the switch
    // off (the escape shows: XFS keeps project ids without quotas) and once without (refused)
    for (const [weak, want] of [[true, /^ok$/m], [false, /^error EPERM$/m]] as const) {
      const r = chcontext(['--secure', '--root', join(xfs, X), '--', ...attempt],
        { env: { ...process.env, ...(weak ? { VCTX_TEST_WEAKEN: 'projid' } : {}) }, encoding: 'utf8' });
      assert.match(String(r.stdout), want, `${weak ? 'weakened' : 'normal'}: ${String(r.stdout)} ${String(r.stderr)}`);
    }
    assert.match(sh('lsattr', ['-p', join(xfs, X, 'mine')]).stdout, new RegExp(`^\\s*${PROJID_BASE + 7} `), 'weakened, the id changed');
  });

  test('ext4 with project quotas: the limited server gets ENOSPC, the other and the host keep writing; vserver-stat shows it; delete lifts it',
    { timeout: 180_000 }, async (t) => {
      if (quotaSkip) {
        t.skip(quotaSkip);
        return;
      }
      await build(A, { ip: ip(0) }, pathsIn(quota));
      await build(B, { ip: ip(1) }, pathsIn(quota));
      copyFileSync(probe, join(quota, A, 'bin/vctx-probe'));
      const set = await vs(quota, [A, 'set', 'DISK_MAX=8M']);
      assert.equal(set.code, 0, show(set));
      assert.match(set.stdout, /DISK_MAX: 8388608 bytes on project \d+/);
      const id = treeProjectId(join(quota, A));
      assert.ok(id >= PROJID_BASE, `project id ${id}`);
      for (const n of [A, B]) {
        const s = await vs(quota, [n, 'start']);
        assert.equal(s.code, 0, show(s));
      }
      const dd = (n: string, mb: number) => vs(quota, [n, 'exec', 'dd', 'if=/dev/zero', `of=/fill`, 'bs=1M', `count=${mb}`]);
      const a = await dd(A, 32);
      assert.notEqual(a.code, 0, show(a));
      assert.match(a.stderr, /No space left on device|Disk quota exceeded/, show(a));
      const b = await dd(B, 16);
      assert.equal(b.code, 0, `the other server keeps writing: ${show(b)}`);
      writeFileSync(join(quota, 'host-file'), Buffer.alloc(16 << 20));
      const stat = await cli('vserver-stat', ['--json']);
      assert.equal(stat.code, 0, show(stat));
      const ctxs = (JSON.parse(stat.stdout) as { contexts: Array<{ name: string; disk: { projectId: number; usedBytes: number; limitBytes: number | null } | null }> }).contexts;
      const da = ctxs.find((c) => c.name === A)?.disk;
      assert.ok(da, `A has a disk entry: ${stat.stdout}`);
      assert.equal(da.projectId, id);
      assert.equal(da.limitBytes, 8 << 20);
      assert.ok(da.usedBytes > 6 << 20 && da.usedBytes <= 8 << 20, `used ${da.usedBytes}`);
      assert.equal(ctxs.find((c) => c.name === B)?.disk, null, 'B has no project quota');
      // the server cannot take its file out of the project
      const esc = await vs(quota, [A, 'exec', '/bin/vctx-probe', 'projid', '/fill', '0']);
      assert.match(esc.stdout, /^error EPERM$/m, show(esc));
      // lifted live: the write goes through
      const lift = await vs(quota, [A, 'set', 'DISK_MAX=max']);
      assert.equal(lift.code, 0, show(lift));
      const again = await dd(A, 16);
      assert.equal(again.code, 0, show(again));
      // delete lifts the project's limit; the id's use goes with the tree
      await vs(quota, [A, 'set', 'DISK_MAX=8M']);
      for (const n of [A, B]) assert.equal((await vs(quota, [n, 'stop', '--timeout', '1'])).code, 0);
      const del = await vs(quota, [A, 'delete', '--force']);
      assert.equal(del.code, 0, show(del));
      const left = projectQuota(quota, id);
      assert.deepEqual({ used: left.usedBytes, limit: left.limitBytes }, { used: 0, limit: null });
    });
});
