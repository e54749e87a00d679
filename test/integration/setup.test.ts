/**
 * setup.sh as an installer, as root: installed below a temporary --prefix
 * (so the host's /usr/local install is left alone), the unit checked by
 * systemd-analyze verify as installed, a rerun (an upgrade) while a busybox
 * server runs, and --uninstall: refused while the server runs, then
 * removing every file of the manifest.  The server lives in a temporary
 * confdir/rootdir/rundir.  Setup skips the Debian packages and the build
 * when they are already done; the upgrade rebuilds (a source is touched),
 * so this takes one or two builds (~25 s each).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { stop } from '../../src/actions/stop.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { projectRoot as root } from '../../src/kernel-bridge/addon.js';

const isRoot = process.getuid?.() === 0;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const NAME = `su${(Math.floor(Math.random() * 1e6)).toString(36)}`;
const ENABLED = ['/etc/systemd/system/vservers.service', '/etc/systemd/system/multi-user.target.wants/vservers.service',
  '/etc/systemd/system/vctx-views.service', '/etc/systemd/system/multi-user.target.wants/vctx-views.service'];
const VIEWS = join(root, 'scripts', 'vctx-views');
const DAEMONS = ['lxcfs', 'vctx-netview'];
const pidFile = (d: string) => `/run/vctx-views/${d}.pid`;
const views = (args: string[]) => spawnSync(VIEWS, args, { encoding: 'utf8', timeout: 30_000 });
/** the daemons that answered before the test (started again after it) */
let viewsBefore = '';
/** the PIDs setup started */
const pids: Record<string, string> = {};
let P = '';
let T = '';
let env: NodeJS.ProcessEnv = {};
const paths = () => ({ confdir: join(T, 'etc'), rootdir: join(T, 'vs'), rundir: join(T, 'run') });
const manifest = () => join(P, 'lib', 'vctx', 'installed');

function setup(args: string[]): SpawnSyncReturns<string> {
  return spawnSync('bash', [join(root, 'setup.sh'), '--prefix', P, ...args], { encoding: 'utf8', env, timeout: 600_000 });
}

/** a command as installed below the prefix */
function installed(cmd: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(join(P, 'sbin', cmd), args, { encoding: 'utf8', env, timeout: 60_000 });
}

/** stderr without setup's "==> ..." progress lines */
const messages = (s: string) => s.split('\n').filter((l) => l && !l.includes('==> '));
const entries = () => readFileSync(manifest(), 'utf8').split('\n').filter(Boolean);
const exists = (f: string) => existsSync(f) || lstatSync(f, { throwIfNoEntry: false }) !== undefined;
const pointsIntoPrefix = (l: string) => lstatSync(l, { throwIfNoEntry: false })?.isSymbolicLink() && readlinkSync(l).startsWith(P + '/');

describe('setup.sh: install below a prefix, upgrade with a server running, uninstall', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    P = mkdtempSync(join(tmpdir(), 'vctx-prefix-'));
    T = mkdtempSync(join(tmpdir(), 'vctx-setup-'));
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
    delete env.NODE_TEST_CONTEXT;
    viewsBefore = views(['status']).stdout;
    views(['stop']);
    await build(NAME, {}, paths());
  });

  after(async () => {
    await stop(NAME, paths(), { timeoutSec: 1 }).catch(() => {});
    for (const c of new NativeSnapshotSource().snapshot().contexts.filter((x) => x.name === NAME)) {
      try { killContext(c.xid, 'SIGKILL'); } catch { /* gone */ }
    }
    if (existsSync(manifest())) setup(['--uninstall']);
    for (const l of ENABLED) if (pointsIntoPrefix(l)) rmSync(l);
    for (const m of await mountsBelow(join(T, 'vs', NAME))) spawnSync('umount', ['-l', m]);
    await removeTree(T).catch(() => rmSync(T, { recursive: true, force: true }));
    rmSync(P, { recursive: true, force: true });
    if (/answers/.test(viewsBefore)) views(['start']);
  });

  test('setup --no-demo --prefix DIR links every command, installs its man page and the unit, lists them in the manifest', () => {
    const r = setup(['--no-demo']);
    assert.equal(r.status, 0, r.stderr);
    for (const [name, file] of Object.entries(pkg.bin)) {
      assert.equal(readlinkSync(join(P, 'sbin', name)), join(root, file), name);
      assert.ok(existsSync(join(P, 'share', 'man', 'man8', `${name}.8`)), `${name}.8`);
    }
    // man finds the page in the installed tree (with /usr/local, man's default path has it)
    const m = spawnSync('man', ['-w', 'vserver'], { encoding: 'utf8', env: { ...env, MANPATH: join(P, 'share', 'man') } });
    assert.equal(m.stdout, `${join(P, 'share', 'man', 'man8', 'vserver.8')}\n`, m.stderr);
    const listed = entries();
    for (const f of listed) assert.ok(exists(f.replace(/\/$/, '')), `${f} is listed and exists`);
    assert.ok(listed.includes(join(P, 'sbin', 'vtop')) && listed.includes(join(P, 'lib', 'systemd', 'system', 'vservers.service')));
    assert.ok(listed.includes(manifest()));
    assert.equal(installed('vserver', ['--version']).status, 0);
    // the per-uid counter floors: installed for boot, and in force now (docs/security.md)
    const sysctlFile = join(P, 'lib', 'sysctl.d', '60-vctx.conf');
    assert.ok(listed.includes(sysctlFile), '60-vctx.conf is listed');
    const floors = readFileSync(sysctlFile, 'utf8').split('\n').filter((l) => /^[a-z]/.test(l));
    assert.deepEqual(floors, ['fs.inotify.max_user_instances = 1048576', 'fs.inotify.max_user_watches = 1048576']);
    for (const l of floors) {
      const [key, floor] = l.split(' = ');
      const now = Number(readFileSync(`/proc/sys/${key!.replaceAll('.', '/')}`, 'utf8'));
      assert.ok(now >= Number(floor), `${key} is ${now}, at least ${floor}`);
    }
  });

  test('setup starts lxcfs and vctx-netview detached, in the root cgroups, logged, their PID files in the manifest', () => {
    assert.equal(views(['status']).stdout, 'lxcfs answers\nvctx-netview answers\n');
    for (const d of DAEMONS) {
      assert.ok(entries().includes(pidFile(d)), `${pidFile(d)} is in the manifest`);
      const pid = readFileSync(pidFile(d), 'utf8').trim();
      pids[d] = pid;
      assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8'), `${d}\n`);
      // out of the test's (and any context's) cgroups: every hierarchy's root
      for (const l of readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n')) assert.match(l, /:\/$/, `${d}: ${l}`);
      assert.equal(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[3], pid, `${d} leads its own session`);
      assert.ok(existsSync(`/var/log/vctx/${d}.log`));
    }
  });

  test('the unit is installed, not enabled, and systemd-analyze verify finds no error in it as installed', () => {
    const unit = join(P, 'lib', 'systemd', 'system', 'vservers.service');
    const text = readFileSync(unit, 'utf8');
    assert.match(text, new RegExp(`^ExecStart=${join(P, 'sbin', 'vserver-all')} start$`, 'm'));
    assert.match(text, new RegExp(`^ExecStop=${join(P, 'sbin', 'vserver-all')} stop$`, 'm'));
    for (const l of ENABLED) assert.ok(!pointsIntoPrefix(l), `${l} is not made without --enable-onboot`);
    // its Documentation= man pages are looked up too: in the installed tree
    const views = join(P, 'lib', 'systemd', 'system', 'vctx-views.service');
    assert.match(readFileSync(views, 'utf8'), new RegExp(`^ExecStart=${VIEWS} start$`, 'm'));
    // the template of a named instance's (docs/instances.md), verified as an instance of it
    const tmpl = readFileSync(join(P, 'lib', 'systemd', 'system', 'vservers@.service'), 'utf8');
    assert.match(tmpl, /^Environment=VCTX_INSTANCE=%I$/m);
    assert.match(tmpl, new RegExp(`^ExecStart=${join(P, 'sbin', 'vserver-all')} start$`, 'm'));
    const inst = join(P, 'vservers@tb.service');
    writeFileSync(inst, tmpl);
    const v = spawnSync('systemd-analyze', ['verify', unit, views, inst], { encoding: 'utf8', env: { ...env, MANPATH: join(P, 'share', 'man') } });
    rmSync(inst);
    assert.equal(v.status, 0, v.stderr);
    assert.doesNotMatch(v.stderr, /vservers\.service|vctx-views\.service|vservers@tb\.service/);
  });

  test('rerunning setup (an upgrade) with a server running keeps it running and manageable', () => {
    const start = installed('vserver', [NAME, 'start']);
    assert.equal(start.status, 0, start.stderr);
    const before = installed('vserver', [NAME, 'status']);
    assert.equal(before.status, 0, before.stderr);
    // an upgrade brings new sources: the rebuild replaces the monitor's own binary (chcontext) under it
    const now = new Date();
    utimesSync(join(root, 'kernel', 'tools', 'chcontext', 'main.c'), now, now);
    const r = setup(['--no-demo']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /==> building/);
    const after = installed('vserver', [NAME, 'status']);
    assert.equal(after.status, 0, after.stderr);
    const ctx = (s: string) => /at context '(\d+)'/.exec(s)?.[1];
    assert.equal(ctx(after.stdout), ctx(before.stdout), 'the same context still runs');
    const x = installed('vserver', [NAME, 'exec', 'hostname']);
    assert.equal(x.status, 0, x.stderr);
    assert.equal(x.stdout, `${NAME}\n`);
    // the daemons were not started twice
    for (const d of DAEMONS) assert.equal(readFileSync(pidFile(d), 'utf8').trim(), pids[d], `${d} kept its PID`);
    for (const m of ['/var/lib/lxcfs', '/run/vctx-netview']) {
      assert.equal(spawnSync('findmnt', ['-rn', '-M', m], { encoding: 'utf8' }).stdout.trim().split('\n').length, 1, `one mount at ${m}`);
    }
    for (const d of DAEMONS) assert.ok(entries().includes(pidFile(d)), `${pidFile(d)} is still listed`);
  });

  test('--uninstall refuses while the server runs: exit 1, one line naming it, nothing removed', () => {
    const r = setup(['--uninstall']);
    assert.equal(r.status, 1);
    assert.deepEqual(messages(r.stderr), [`setup.sh: servers are running: ${NAME}; stop them first (vserver-all stop), nothing removed`]);
    for (const f of entries()) assert.ok(exists(f.replace(/\/$/, '')), `${f} is still there`);
  });

  test('--enable-onboot enables the units, vservers.service and vctx-views.service (setup lists the links), and the server still runs', { skip: ENABLED.some(exists) && 'vservers.service is enabled on this host already' }, () => {
    const r = setup(['--no-demo', '--enable-onboot']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /the build is up to date/, 'a rerun with nothing changed does not rebuild');
    for (const l of ENABLED) {
      assert.equal(readlinkSync(l), join(P, 'lib', 'systemd', 'system', basename(l)), l);
      assert.ok(entries().includes(l), `${l} is in the manifest`);
    }
    assert.equal(installed('vserver', [NAME, 'running']).status, 0);
  });

  test('after vserver NAME stop, --uninstall removes every file of the manifest and the directories it made', () => {
    const listed = entries();
    const s = installed('vserver', [NAME, 'stop']);
    assert.equal(s.status, 0, s.stderr);
    assert.equal(installed('vserver', [NAME, 'status']).status, 3);
    const r = setup(['--uninstall']);
    assert.equal(r.status, 0, r.stderr);
    for (const f of listed) assert.ok(!exists(f.replace(/\/$/, '')), `${f} is removed`);
    assert.deepEqual(readdirSync(P), [], 'the prefix is as empty as it was');
    for (const l of ENABLED) assert.ok(!pointsIntoPrefix(l), `${l} is gone`);
    // the daemons setup started are stopped, their mounts gone
    assert.equal(views(['status']).stdout, 'lxcfs down\nvctx-netview down\n');
    for (const d of DAEMONS) {
      // ended: gone, or a zombie its new parent (PID 1) has not reaped yet
      const f = `/proc/${pids[d]}/stat`;
      const stat = existsSync(f) ? readFileSync(f, 'utf8') : '';
      assert.ok(!stat.includes(`(${d})`) || stat.split(') ')[1]!.startsWith('Z'), `${d} ended: ${stat}`);
    }
    // the server's configuration and root are the user's: left
    assert.ok(existsSync(join(T, 'etc', `${NAME}.conf`)) && existsSync(join(T, 'vs', NAME)));
    const again = setup(['--uninstall']);
    assert.equal(again.status, 0, 'nothing left to remove is not an error');
  });
});
