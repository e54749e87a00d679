/**
 * The Debian package (scripts/build-deb.sh, debhelper): built from this
 * checkout, installed with apt-get into a fresh Debian root (the
 * debootstrap template's bookworm, from its cache; no Node in it), and run
 * there from the installed paths: `vserver-stat --help` and `vtop --once`
 * on the package's own Node.  Root only: the root is a chroot with its own
 * mount namespace (unshare -m), so nothing it mounts outlives a command.
 * apt-get reaches Debian's mirror for the package's dependencies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';

const isRoot = process.getuid?.() === 0;
const NAME = `pkg${(Math.floor(Math.random() * 1e6)).toString(36)}`;
let T = '';
let root = '';
let deb = '';

/** runs @cmd in the chroot, in a mount namespace of its own with /proc (and, with @sys, /sys and /dev) */
function inRoot(cmd: string[], opts: { sys?: boolean; timeout?: number } = {}) {
  const mounts = [`mount -t proc proc "$R/proc"`, ...(opts.sys ? [`mount --rbind /sys "$R/sys"`, `mount --rbind /dev "$R/dev"`] : [])];
  const script = `set -e; ${mounts.join('; ')}; exec chroot "$R" "$@"`;
  return spawnSync('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', ...cmd], {
    encoding: 'utf8', timeout: opts.timeout ?? 600_000,
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', R: root, DEBIAN_FRONTEND: 'noninteractive', LANG: 'C.UTF-8', TERM: 'xterm' },
  });
}
const show = (r: ReturnType<typeof spawnSync>) => `exit ${r.status} ${r.error ?? ''}\nstdout: ${String(r.stdout).slice(-3000)}\nstderr: ${String(r.stderr).slice(-3000)}`;

describe('the Debian package: built with debhelper, installed by apt-get into a fresh Debian root, run there', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-pkg-'));
    const b = spawnSync(join(projectRoot, 'scripts', 'build-deb.sh'), ['--out', T], { encoding: 'utf8', timeout: 600_000 });
    assert.equal(b.status, 0, show(b));
    deb = b.stdout.trim();
    assert.match(basename(deb), /^vctx_\d+\.\d+\.\d+_[a-z0-9]+\.deb$/);
    await build(NAME, { template: 'debootstrap' }, { confdir: join(T, 'etc'), rootdir: join(T, 'vs'), rundir: join(T, 'run') });
    root = join(T, 'vs', NAME);
    copyFileSync(deb, join(root, 'tmp', basename(deb)));
    // no service of a dependency starts in the chroot
    writeFileSync(join(root, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  }, { timeout: 1_200_000 });

  after(async () => {
    if (root) await removeTree(root).catch(() => {});
    if (T) await rm(T, { recursive: true, force: true });
  });

  test('the package holds the commands, man pages, units, the addon and its own Node', () => {
    const c = spawnSync('dpkg-deb', ['-c', deb], { encoding: 'utf8' });
    assert.equal(c.status, 0, c.stderr);
    for (const f of ['./usr/sbin/vserver', './usr/sbin/vtop', './usr/sbin/vserver-stat', './usr/lib/vctx/node/bin/node',
      './usr/lib/vctx/build/Release/vctx.node', './usr/lib/vctx/kernel/out/chcontext', './usr/lib/vctx/dist/vtop.mjs',
      './usr/share/man/man8/vserver.8.gz', './lib/systemd/system/vservers.service', './lib/systemd/system/vctx-views.service',
      './usr/sbin/vctx-exporter', './lib/systemd/system/vctx-exporter.service', './usr/share/vctx/vctx-alerts.rules.yml']) {
      assert.ok(c.stdout.split('\n').some((l) => l.endsWith(` ${f}`) || l.includes(` ${f} -> `)), `${f} in the package`);
    }
    const i = spawnSync('dpkg-deb', ['-f', deb, 'Depends'], { encoding: 'utf8' });
    assert.match(i.stdout, /libbpf1/, 'the shared libraries it links are dependencies (dh_shlibdeps)');
    assert.doesNotMatch(i.stdout, /nodejs/, 'no nodejs dependency: Node is inside');
  });

  test('apt-get installs it with its dependencies into the fresh root, which has no Node of its own', { timeout: 900_000 }, () => {
    assert.equal(existsSync(join(root, 'usr/bin/node')), false, 'the root has no node');
    const u = inRoot(['apt-get', 'update', '-q']);
    assert.equal(u.status, 0, show(u));
    const r = inRoot(['apt-get', 'install', '-y', '-q', '--no-install-recommends', `/tmp/${basename(deb)}`]);
    assert.equal(r.status, 0, show(r));
    const s = inRoot(['dpkg-query', '-W', '-f', '${Status} ${Version}', 'vctx']);
    assert.match(s.stdout, /^install ok installed \d+\.\d+\.\d+$/, show(s));
    assert.equal(existsSync(join(root, 'usr/bin/node')), false, 'still no system node: the package brought its own');
    // the units are installed, not enabled
    assert.deepEqual(readdirSync(join(root, 'etc/systemd/system')).filter((d) => d.endsWith('.wants'))
      .flatMap((d) => readdirSync(join(root, 'etc/systemd/system', d))).filter((u) => /vserver|vctx/.test(u)), []);
  });

  test('vserver-stat --help and vtop --once run from the installed paths on the package\'s Node', { timeout: 120_000 }, () => {
    const h = inRoot(['/usr/sbin/vserver-stat', '--help']);
    assert.equal(h.status, 0, show(h));
    assert.match(h.stdout, /^Usage: vserver-stat/);
    const v = inRoot(['/usr/sbin/vserver', '--version']);
    assert.equal(v.status, 0, show(v));
    assert.match(v.stdout, /^vserver \(vctx\) \d+\.\d+\.\d+\n$/);
    const o = inRoot(['/usr/sbin/vtop', '--once'], { sys: true });
    assert.equal(o.status, 0, show(o));
    assert.match(o.stdout, /root server/, 'vtop --once shows the host');
    assert.match(o.stdout, /\bCPU\b/);
    const m = inRoot(['/usr/sbin/vtop', '--version']);
    assert.match(m.stdout, /^vtop \(vctx\) /, show(m));
  });
});
