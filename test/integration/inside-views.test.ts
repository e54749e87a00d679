/**
 * What a server sees of the host, against the real kernel, as root: a
 * busybox server with MEMORY_MAX=512M sees its limit and use in free and
 * /proc/meminfo (lxcfs) and its own uptime (its time namespace); a --secure
 * context with a listener of its own sees that socket and not the host's in
 * /proc/net/tcp and ss (vctx-netview; socket diagnostics refused), so that
 * nginx's postinst check comes out empty; a server started while lxcfs does
 * not run still starts, with one warning line.  The daemons are started
 * with scripts/vctx-views (what setup.sh runs) and the ones this test
 * started are stopped again.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { pathsUnder, runCommand } from '../helpers/run.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const NAME = `iv${run}`;
const VIEWS = join(projectRoot, 'scripts', 'vctx-views');
const CHCONTEXT = join(projectRoot, 'kernel', 'out', 'chcontext');
let T = '';
let env: NodeJS.ProcessEnv = {};
/** the PID files of the daemons this test started (stopped again in after()) */
let ours: string[] = [];

const vs = (args: string[]) => runCommand('vserver', args, { env });

const views = (args: string[]) => spawnSync(VIEWS, args, { encoding: 'utf8', timeout: 30_000 });
const paths = () => pathsUnder(T);

/** the "Mem:" row of free -m: [total, used, free, ...] */
function memRow(free: string): number[] {
  const row = free.split('\n').find((l) => l.startsWith('Mem:'));
  assert.ok(row, free);
  return row.split(/\s+/).slice(1).map(Number);
}

/** kB of @key in a /proc/meminfo text */
function meminfo(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text);
  assert.ok(m, `${key} in ${text}`);
  return Number(m[1]);
}

/** an address:port as /proc/net/tcp writes it (127.0.0.9:80 -> 0900007F:0050) */
function hexAddr(ip: string, port: number): string {
  const b = ip.split('.').map(Number).reverse();
  return `${b.map((x) => x.toString(16).padStart(2, '0')).join('')}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
}

/** the section of @out between "==NAME" and the next "==" line */
function section(out: string, name: string): string {
  const m = new RegExp(`^==${name}\\n([\\s\\S]*?)(?=^==)`, 'm').exec(out);
  assert.ok(m, `section ${name} in ${out}`);
  return m[1] ?? '';
}

describe('inside views: free, uptime, /proc/meminfo and /proc/net show the server', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-iv-'));
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
    delete env.NODE_TEST_CONTEXT;
    const r = views(['start']);
    assert.equal(r.status, 0, r.stderr);
    ours = r.stdout.split('\n').filter(Boolean);
    await build(NAME, {}, paths());
    const conf = join(T, 'etc', `${NAME}.conf`);
    writeFileSync(conf, `${readFileSync(conf, 'utf8')}\nMEMORY_MAX=512M\n`, { mode: 0o600 });
  });

  after(async () => {
    await stop(NAME, paths(), { timeoutSec: 1 }).catch(() => {});
    for (const c of new NativeSnapshotSource().snapshot().contexts.filter((x) => x.name === NAME)) {
      try { killContext(c.xid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const m of await mountsBelow(join(T, 'vs', NAME))) spawnSync('umount', ['-l', m]);
    await removeTree(T).catch(() => {});
    for (const f of ours) views(['stop', f.replace(/^.*\//, '').replace(/\.pid$/, '')]);
  });

  test('vserver NAME start with lxcfs and vctx-netview running: no warning; /proc/meminfo and free -m show the 512 MB limit; /proc/uptime counts from the start', async () => {
    const s = await vs([NAME, 'start']);
    assert.equal(s.code, 0, s.stderr);
    assert.doesNotMatch(s.stderr, /inside views/);
    const mi = await vs([NAME, 'exec', 'cat', '/proc/meminfo']);
    assert.equal(meminfo(mi.stdout, 'MemTotal'), 512 * 1024, mi.stdout);
    // busybox's free takes the total from sysinfo(2), which no file system
    // changes; its "available" column is /proc/meminfo's
    const free = await vs([NAME, 'exec', 'free', '-m']);
    assert.equal(free.code, 0, free.stderr);
    assert.ok(memRow(free.stdout)[5]! <= 512, free.stdout);
    const up = await vs([NAME, 'exec', 'cat', '/proc/uptime']);
    const inside = Number(up.stdout.split(' ')[0]);
    const host = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    assert.ok(inside >= 0 && inside < 60, `uptime inside right after start: ${up.stdout}`);
    assert.ok(inside < host, `the server's uptime (${inside}) is not the host's (${host})`);
    // its /proc/net is vctx-netview's: the host's sockets (this test's own, at least) are not listed
    const tcp = await vs([NAME, 'exec', 'cat', '/proc/net/tcp', '/proc/net/tcp6', '/proc/net/unix']);
    assert.equal(tcp.code, 0, tcp.stderr);
    assert.match(tcp.stdout, /^\s+sl\s+local_address/);
    const mine = readFileSync('/proc/net/unix', 'utf8').split('\n').length;
    assert.ok(tcp.stdout.split('\n').length < mine, 'fewer sockets than the host has');
    assert.equal((await vs([NAME, 'exec', 'readlink', '/proc/net'])).stdout, '/dev/vctx/net\n');
  });

  test("procps's free -m, uptime and top in a --secure context with a 512 MB limit: 512 MB total, up 0 min", () => {
    const r = spawnSync(CHCONTEXT, ['--secure', '--silent', '--accounting', '--memory', String(512 * 1024 * 1024), '--',
      'sh', '-c', 'echo ==free; free -m; echo ==uptime; uptime; echo ==top; top -b -n 1 | head -5; echo ==end'],
    { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(memRow(section(r.stdout, 'free'))[0], 512, r.stdout);
    assert.match(section(r.stdout, 'uptime'), / up 0 min,/);
    assert.match(section(r.stdout, 'top'), /^MiB Mem :\s+512\.0 total,/m);
  });

  test("/proc/loadavg inside counts the server's tasks, not the host's", async () => {
    // lxcfs answers the first read of a cgroup with zeros and tracks it from then on
    await vs([NAME, 'exec', 'cat', '/proc/loadavg']);
    await new Promise((r) => setTimeout(r, 6000));
    const la = (await vs([NAME, 'exec', 'cat', '/proc/loadavg'])).stdout;
    const tasks = Number(/^[\d.]+ [\d.]+ [\d.]+ \d+\/(\d+) /.exec(la)?.[1]);
    const ps = await vs([NAME, 'exec', 'ps']);
    const mine = ps.stdout.trim().split('\n').length - 1;
    assert.ok(tasks >= 1 && tasks <= mine + 2, `loadavg ${la.trim()}: ${tasks} tasks, the server has ${mine} processes`);
  });

  test("/proc/meminfo inside follows the server's use: 40 MB written to its /dev/shm take 40 MB of its MemFree", async () => {
    const before = (await vs([NAME, 'exec', 'cat', '/proc/meminfo'])).stdout;
    assert.equal(meminfo(before, 'MemTotal'), 512 * 1024);
    const dd = await vs([NAME, 'exec', 'dd', 'if=/dev/zero', 'of=/dev/shm/fill', 'bs=1M', 'count=40']);
    assert.equal(dd.code, 0, dd.stderr);
    const filled = (await vs([NAME, 'exec', 'cat', '/proc/meminfo'])).stdout;
    await vs([NAME, 'exec', 'rm', '/dev/shm/fill']);
    const drop = meminfo(before, 'MemFree') - meminfo(filled, 'MemFree');
    assert.ok(drop >= 38 * 1024 && drop < 200 * 1024, `MemFree fell by ${drop} kB`);
    assert.ok(meminfo(filled, 'Shmem') >= 38 * 1024, `Shmem: ${meminfo(filled, 'Shmem')} kB`);
  });

  test("a --secure context's /proc/net/tcp and ss list its own listener, not the host's; nginx's postinst check comes out empty", async () => {
    const o = 100 + Math.floor(Math.random() * 100);
    const hostIp = `127.0.0.${o}`;
    const ctxIp = `127.0.0.${o + 1}`;
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const ctxPort = hostPort + 1;
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(hostPort, hostIp, r));
    try {
      assert.match(readFileSync('/proc/net/tcp', 'utf8'), new RegExp(hexAddr(hostIp, hostPort)), 'the host sees its listener');
      const script = [
        `python3 -c 'import socket,time;s=socket.socket();s.bind(("${ctxIp}",${ctxPort}));s.listen();time.sleep(30)' &`,
        `for i in $(seq 100); do grep -q ${hexAddr(ctxIp, ctxPort)} /proc/net/tcp && break; sleep 0.1; done`,
        'echo ==tcp; cat /proc/net/tcp',
        'echo ==ss; ss -nlt 2>&1',
        `echo ==check; ss -nlt 'sport = ${hostPort}' 2>/dev/null | grep -v ^State`,
        'echo ==end; kill $!',
      ].join('\n');
      const r = spawnSync(CHCONTEXT, ['--secure', '--silent', '--', 'sh', '-c', script], { encoding: 'utf8', timeout: 60_000 });
      const tcp = section(r.stdout, 'tcp');
      assert.match(tcp, new RegExp(` ${hexAddr(ctxIp, ctxPort)} `), tcp);
      assert.doesNotMatch(tcp, new RegExp(hexAddr(hostIp, hostPort)), tcp);
      const ss = section(r.stdout, 'ss');
      assert.match(ss, new RegExp(`${ctxIp.replace(/\./g, '\\.')}:${ctxPort}\\b`), ss);
      assert.doesNotMatch(ss, new RegExp(`:${hostPort}\\b`), ss);
      // socket diagnostics are refused; ss falls back to /proc/net
      assert.match(ss, /Cannot open netlink socket: Operation not permitted/);
      assert.equal(section(r.stdout, 'check'), '', 'nothing listens on the port inside, as nginx postinst asks');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('a server started while lxcfs does not run still starts, with one warning line; free shows the host then', async (t) => {
    await vs([NAME, 'stop']);
    const was = views(['status']).stdout;
    views(['stop', 'lxcfs']);
    try {
      if (/lxcfs answers/.test(views(['status']).stdout)) {
        t.skip('an lxcfs that vctx-views did not start (the distribution\'s unit) serves /var/lib/lxcfs');
        return;
      }
      const s = await vs([NAME, 'start']);
      assert.equal(s.code, 0, s.stderr);
      const lines = s.stderr.split('\n').filter((l) => /inside views/.test(l));
      assert.equal(lines.length, 1, s.stderr);
      assert.match(lines[0] ?? '', new RegExp(`'${NAME}' started without its inside views: lxcfs \\(free, top: the host's memory and load\\) does not run on the host; start it with: .*scripts/vctx-views start, then restart the server$`));
      const free = await vs([NAME, 'exec', 'free', '-m']);
      assert.equal(free.code, 0, free.stderr);
      assert.notEqual(memRow(free.stdout)[0], 512, 'without lxcfs the host\'s memory shows');
      await vs([NAME, 'stop']);
    } finally {
      if (/lxcfs answers/.test(was)) views(['start']);
    }
  });
});
