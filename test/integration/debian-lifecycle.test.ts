/**
 * Start, stop, reboot and halt of a real Debian server (the debootstrap
 * template: sysvinit as PID 1) against the real kernel, and a start whose
 * init ends during the boot.  Root only; the Debian root is bootstrapped
 * from the host's Debian mirror (as CI does), and cron plus a small rc
 * service that leaves a trace of its start and stop are installed into it
 * from the host (chroot apt-get, with a policy-rc.d that is removed again).
 * Everything lives in a temporary confdir/rootdir/rundir.  The full
 * services test (nginx, sshd, PostgreSQL, apt inside) is real-server's.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { readState } from '../../src/actions/runtime.js';
import { contextCgroup, cgroupPids } from '../../src/kernel-bridge/cgroup.js';
import { procStat } from '../../src/kernel-bridge/pid.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { pathsUnder, runCommand, setConfKeys, show, until as untilMs } from '../helpers/run.js';
import { compileC, removeCompiled } from '../helpers/kernel.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 120);
const DEB = `deb${run}`;
const BB = `dbb${run}`;
const names = [DEB, BB];
let T = '';
let env: NodeJS.ProcessEnv = {};
let probe = '';

const vs = (args: string[]) => runCommand('vserver', args, { env });

const paths = () => pathsUnder(T);
const confFile = (n: string) => join(T, 'etc', `${n}.conf`);
const rootOf = (n: string) => join(T, 'vs', n);
const TRACE = '/var/log/vctx-trace';

const setKeys = (n: string, kv: Record<string, string>) => setConfKeys(confFile(n), kv);
/** a Debian server is slow to come and go: 30 s unless told */
const until = <T>(what: string, fn: () => Promise<T | null> | T | null, ms = 30000) => untilMs(what, fn, ms);

function contextsNamed(n: string) {
  return new NativeSnapshotSource().snapshot().contexts.filter((c) => c.name === n);
}

/** the comms of the processes in @n's context ([] when not running) */
function comms(n: string): string[] {
  const st = readState(paths(), n);
  const cg = st?.xid ? contextCgroup(st.xid) : null;
  if (!cg || !existsSync(cg)) return [];
  return cgroupPids(cg).map((p) => procStat(p)?.comm ?? '?');
}

/** nothing of @n: no context, cgroup, state, index entry, reboot socket, mounts */
function assertNoTrace(n: string, xid?: number): void {
  assert.deepEqual(contextsNamed(n), [], `no context named ${n}`);
  if (xid !== undefined) assert.equal(existsSync(contextCgroup(xid)!), false, `cgroup of ${xid} removed`);
  assert.equal(readState(paths(), n), null, 'no state file');
  assert.equal(existsSync(join(T, 'run', '.index', n)), false, 'no index entry');
  assert.equal(existsSync(join(T, 'run', n, 'reboot.sock')), false, 'no reboot socket');
  if (xid !== undefined) assert.equal(existsSync(`/run/vctx/guard/${xid}.sock`), false, 'no guard socket');
  const mnt = spawnSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' }).stdout;
  assert.ok(!mnt.includes(rootOf(n)), 'nothing mounted below the root');
}

const traceLines = () => (existsSync(join(rootOf(DEB), TRACE)) ? readFileSync(join(rootOf(DEB), TRACE), 'utf8').trim().split('\n') : []);

/** an rc service that writes "start" and "stop" lines, in runlevels 2-5 and stopped in 0, 1, 6 */
const traceScript = `#!/bin/sh
### BEGIN INIT INFO
# Provides:          vctx-trace
# Required-Start:    $remote_fs
# Required-Stop:     $remote_fs
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: leaves a trace of the rc scripts (vctx test)
### END INIT INFO
case "$1" in
  start|stop) echo "$1 $(cat /proc/1/comm)" >> ${TRACE} ;;
esac
exit 0
`;

/** chroot @root apt-get install @pkgs from the mirror, no service started meanwhile */
function aptInstall(root: string, pkgs: string[]): void {
  const policy = join(root, 'usr/sbin/policy-rc.d');
  writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  mkdirSync(join(root, 'proc'), { recursive: true });
  const m = spawnSync('mount', ['-t', 'proc', 'proc', join(root, 'proc')]);
  assert.equal(m.status, 0, String(m.stderr));
  try {
    const e = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    for (const args of [['apt-get', 'update'], ['apt-get', 'install', '-y', '--no-install-recommends', ...pkgs]]) {
      const r = spawnSync('chroot', [root, ...args], { env: e, encoding: 'utf8', timeout: 600_000 });
      assert.equal(r.status, 0, `${args.join(' ')}: ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
    }
  } finally {
    spawnSync('umount', [join(root, 'proc')]);
    rmSync(policy, { force: true });
  }
}

describe('a Debian server: sysvinit as PID 1, its own shutdown, reboot and halt inside', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-deb-'));
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
    delete env.NODE_TEST_CONTEXT;
    await build(DEB, { template: 'debootstrap', ip: `127.0.0.${octet}` }, paths());
    const root = rootOf(DEB);
    aptInstall(root, ['cron']);
    writeFileSync(join(root, 'etc/init.d/vctx-trace'), traceScript, { mode: 0o755 });
    const u = spawnSync('chroot', [root, 'update-rc.d', 'vctx-trace', 'defaults'], { encoding: 'utf8' });
    assert.equal(u.status, 0, u.stderr);
    // a probe of the kernel's reboot(2) and kexec rules, static (no library needed)
    probe = compileC('bootprobe', `#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/reboot.h>
int main(void) {
  long k1 = syscall(SYS_kexec_load, 0, 0, 0, 0); int e1 = errno;
  long k2 = syscall(SYS_kexec_file_load, -1, -1, 0, "", 0); int e2 = errno;
  long r = syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, 0); int e3 = errno;
  printf("kexec_load=%ld:%s kexec_file_load=%ld:%s reboot_cad_off=%ld:%s\\n", k1, strerrorname_np(e1), k2, strerrorname_np(e2), r, strerrorname_np(e3));
  return 0;
}
`);
    copyFileSync(probe, join(root, 'usr/local/sbin/bootprobe'));
    await build(BB, { ip: `127.0.0.${octet + 1}` }, paths());
  }, { timeout: 900_000 });

  after(async () => {
    for (const n of names) {
      await stop(n, paths(), { timeoutSec: 1 }).catch(() => {});
      for (const c of contextsNamed(n)) {
        try { killContext(c.xid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const n of names) await removeTree(rootOf(n)).catch(() => {});
    if (probe) removeCompiled(probe);
    if (T) await rm(T, { recursive: true, force: true });
  });

  test('start brings it up and keeps it up: sysvinit is PID 1, the runlevel 2 services run', { timeout: 120_000 }, async () => {
    const r = await vs([DEB, 'start']);
    assert.equal(r.code, 0, show(r));
    const st = readState(paths(), DEB)!;
    assert.equal(procStat(st.pid1!)?.comm, 'init');
    // the rc scripts of the boot ran to their end before start returned
    assert.deepEqual(traceLines(), ['start init']);
    const names = comms(DEB);
    assert.ok(names.includes('cron'), names.join(' '));
    assert.ok(!names.some((c) => c === 'rc' || c === 'rcS'), `boot scripts left: ${names.join(' ')}`);
    // and it stays up
    await new Promise((res) => setTimeout(res, 1500));
    const s = await vs([DEB, 'status']);
    assert.equal(s.code, 0, show(s));
    assert.ok(comms(DEB).includes('cron'));
  });

  test('inside: CAP_SYS_BOOT is held, kexec is refused, reboot(2) commands other than restart/halt fail', async () => {
    const r = await vs([DEB, 'exec', '/usr/local/sbin/bootprobe']);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.trim(), 'kexec_load=-1:EPERM kexec_file_load=-1:EPERM reboot_cad_off=-1:EINVAL');
    const caps = await vs([DEB, 'exec', 'grep', 'CapEff', '/proc/self/status']);
    assert.ok((BigInt(`0x${caps.stdout.trim().split(/\s+/)[1]}`) >> 22n) & 1n, caps.stdout);
  });

  test('stop runs the distribution\'s shutdown (rc 0) and ends with the init\'s reboot(2)', { timeout: 60_000 }, async () => {
    const xid = readState(paths(), DEB)!.xid!;
    const t0 = Date.now();
    const r = await stop(DEB, paths());
    const ms = Date.now() - t0;
    console.log(`# stop of the Debian server (cron, the trace service): ${ms} ms`);
    assert.equal(r.how, 'shutdown');
    assert.deepEqual(r.killed, []);
    assert.deepEqual(traceLines(), ['start init', 'stop init']);
    assertNoTrace(DEB, xid);
    assert.match(readFileSync(join(T, 'run', DEB, 'console.log'), 'utf8'), /Will now halt/);
  });

  test('reboot inside restarts it through the host', { timeout: 120_000 }, async () => {
    const r = await vs([DEB, 'start']);
    assert.equal(r.code, 0, show(r));
    const before = readState(paths(), DEB)!;
    const e = await vs([DEB, 'exec', '/sbin/reboot']);
    assert.equal(e.code, 0, show(e));
    const after = await until('the server running again at a new context', () => {
      const st = readState(paths(), DEB);
      return st && st.xid !== before.xid && st.pid1 && comms(DEB).includes('cron') ? st : null;
    }, 60_000);
    assert.equal(existsSync(contextCgroup(before.xid!)!), false, 'the old context is released');
    assert.equal(procStat(after.pid1!)?.comm, 'init');
    // rc 6 stopped the service, the new boot started it
    await until('the new boot\'s trace', () => (traceLines().length >= 5 ? true : null));
    assert.deepEqual(traceLines(), ['start init', 'stop init', 'start init', 'stop init', 'start init']);
  });

  test('halt inside stops it cleanly: no context, address, state or index entry left', { timeout: 60_000 }, async () => {
    const xid = readState(paths(), DEB)!.xid!;
    const e = await vs([DEB, 'exec', '/sbin/halt']);
    assert.equal(e.code, 0, show(e));
    await until('the halted server settled', () => (readState(paths(), DEB) === null && !existsSync(contextCgroup(xid)!) ? true : null));
    assertNoTrace(DEB, xid);
    assert.equal(traceLines().at(-1), 'stop init');
    const s = await vs([DEB, 'status']);
    assert.equal(s.code, 3, show(s));
  });

  test('a server built before (S_INIT=sysv:2) still starts while its services keep it up, and stops', { timeout: 60_000 }, async () => {
    setKeys(DEB, { S_INIT: 'sysv:2', S_FLAGS: 'lock nproc' });
    try {
      const r = await vs([DEB, 'start']);
      assert.equal(r.code, 0, show(r));
      assert.ok(comms(DEB).includes('cron'));
      const xid = readState(paths(), DEB)!.xid!;
      const s = await stop(DEB, paths());
      assert.equal(s.how, 'shutdown');
      assertNoTrace(DEB, xid);
    } finally {
      setKeys(DEB, { S_INIT: 'init', S_FLAGS: 'lock nproc fakeinit' });
    }
  });

  test('an init that ends during the boot fails the start with the console\'s last lines, and leaves nothing', { timeout: 60_000 }, async () => {
    // an init that runs its boot script (1 s), then exits
    const root = rootOf(BB);
    writeFileSync(join(root, 'etc/init.d/rcS'), '#!/bin/sh\necho "vctx-test: the boot runs"\nsleep 1\n', { mode: 0o755 });
    rmSync(join(root, 'sbin/init'), { force: true });
    writeFileSync(join(root, 'sbin/init'), '#!/bin/sh\n/etc/init.d/rcS\necho "vctx-test: this init gives up"\nexit 3\n', { mode: 0o755 });
    setKeys(BB, { S_INIT: 'init' });
    const r = await vs([BB, 'start']);
    assert.equal(r.code, 1, show(r));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /cannot start '.*': its init \(\/sbin\/init\) ended during the boot; last lines of its console: .*vctx-test: the boot runs \| vctx-test: this init gives up/);
    assertNoTrace(BB);
    const s = await vs([BB, 'status']);
    assert.equal(s.code, 3, show(s));
  });

  test('systemd as the init is refused at start with the reason', async () => {
    const root = rootOf(BB);
    mkdirSync(join(root, 'lib/systemd'), { recursive: true });
    writeFileSync(join(root, 'lib/systemd/systemd'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    rmSync(join(root, 'sbin/init'), { force: true });
    symlinkSync('/lib/systemd/systemd', join(root, 'sbin/init'));
    chmodSync(join(root, 'lib/systemd/systemd'), 0o755);
    setKeys(BB, { S_INIT: 'init' });
    const r = await vs([BB, 'start']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /S_INIT.*\/sbin\/init in the server is systemd \(\/lib\/systemd\/systemd\), which cannot be a server's init/);
    assertNoTrace(BB);
  });
});
