/**
 * Integration tests of the virtual-server lifecycle against the real
 * kernel: `vserver NAME build/start/stop/restart/enter/exec/status/running/
 * delete`, vreboot, concurrency, refusals, hooks, an IP alias on a dummy
 * device, and recovery after a crash.  Root only; everything lives in a
 * temporary confdir/rootdir/rundir, addresses are 127.0.0.x (x chosen per
 * run) and 10.213.x.y on a dummy device made and removed here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { stop } from '../../src/actions/stop.js';
import { readState } from '../../src/actions/runtime.js';
import { contextCgroup } from '../../src/kernel-bridge/cgroup.js';
import { processAlive } from '../../src/kernel-bridge/pid.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { commandPath } from '../helpers/commands.js';
import { httpGet, pathsUnder, runCommand, setConfKeys, until } from '../helpers/run.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 120);
const IP_A = `127.0.0.${octet}`;
const IP_B = `127.0.0.${octet + 1}`;
const A = `lca${run}`;
const B = `lcb${run}`;
const DUMMY = 'vctxtest0';
const names: string[] = [A, B];
let T = '';
let env: NodeJS.ProcessEnv = {};
let dummyMade = false;

const vs = (args: string[], opts: { input?: string } = {}) => runCommand('vserver', args, { env, input: opts.input });

const paths = () => pathsUnder(T);
const confFile = (n: string) => join(T, 'etc', `${n}.conf`);

const setKeys = (n: string, kv: Record<string, string>) => setConfKeys(confFile(n), kv);

async function make(n: string, ip?: string): Promise<void> {
  if (!names.includes(n)) names.push(n);
  await build(n, { ip }, paths());
}

function contextsNamed(n: string) {
  return new NativeSnapshotSource().snapshot().contexts.filter((c) => c.name === n);
}

const fetch = (ip: string, port = 80) => httpGet(ip, '/', port);

function connectRefused(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: ip, port });
    s.setTimeout(2000);
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
    s.on('timeout', () => { s.destroy(); resolve(true); });
  });
}

/** no trace of @n: no context, no cgroup, no mount below its root, no state */
function assertNoTrace(n: string, xid?: number): void {
  assert.deepEqual(contextsNamed(n), [], `no context named ${n}`);
  if (xid !== undefined) assert.equal(existsSync(contextCgroup(xid)!), false, `cgroup of ${xid} removed`);
  assert.equal(readState(paths(), n), null, 'no state file');
  const mnt = spawnSync('findmnt', ['-rn', '-o', 'TARGET'], { encoding: 'utf8' }).stdout;
  assert.ok(!mnt.includes(join(T, 'vs', n)), 'nothing mounted below the root');
}

describe('vserver lifecycle', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-lc-'));
    env = {
      ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run'),
    };
    delete env.NODE_TEST_CONTEXT;
    await make(A, IP_A);
    await make(B, IP_B);
  });

  after(async () => {
    for (const n of names) {
      await stop(n, paths(), { timeoutSec: 1 }).catch(() => {});
      for (const c of contextsNamed(n)) {
        try { killContext(c.xid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    if (dummyMade) spawnSync('ip', ['link', 'del', DUMMY]);
    spawnSync('tmux', ['-L', `vctx${run}`, 'kill-server'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    for (const n of names) {
      for (const m of await mountsBelow(join(T, 'vs', n))) spawnSync('umount', ['-l', m]);
    }
    await removeTree(T).catch(() => rm(T, { recursive: true, force: true }));
  });

  test('both servers start; status and running say so', async () => {
    const a = await vs([A, 'start']);
    assert.equal(a.code, 0, a.stderr);
    const b = await vs([B, 'start']);
    assert.equal(b.code, 0, b.stderr);
    const s = await vs([A, 'status']);
    assert.equal(s.code, 0);
    const xid = readState(paths(), A)!.xid;
    assert.match(s.stdout, new RegExp(`^Vserver '${A}' is running at context '${xid}'\nNumber of processes: \\d+\nUptime: \\d+s\n$`));
    assert.equal((await vs([A, 'running'])).code, 0);
    const again = await vs([A, 'start']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already running/);
  });

  test('each sees only its own processes, with its own host name', async () => {
    const pa = await vs([A, 'exec', 'sh', '-c', 'ls /proc | grep -c "^[0-9]"']);
    assert.equal(pa.code, 0, pa.stderr);
    assert.ok(Number(pa.stdout) < 12, `server A sees ${pa.stdout.trim()} processes`);
    const ps = await vs([A, 'exec', 'ps']);
    assert.ok(!ps.stdout.includes(B), 'no process of B in A');
    assert.equal((await vs([A, 'exec', 'hostname'])).stdout.trim(), A);
    assert.equal((await vs([B, 'exec', 'hostname'])).stdout.trim(), B);
  });

  test('both demo httpd serve port 80 at once, each on its address', async () => {
    assert.match(await until('httpd of A', () => fetch(IP_A).catch(() => null)), new RegExp(A));
    assert.match(await until('httpd of B', () => fetch(IP_B).catch(() => null)), new RegExp(B));
  });

  test("a service on the server's localhost answers inside, not from the host", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    assert.ok(await connectRefused('127.0.0.1', port), 'the port is free on the host');
    const r = await vs([A, 'exec', 'httpd', '-p', `127.0.0.1:${port}`, '-h', '/var/www']);
    assert.equal(r.code, 0, r.stderr);
    const inside = await vs([A, 'exec', 'wget', '-q', '-O', '-', `http://127.0.0.1:${port}/`]);
    assert.equal(inside.code, 0, inside.stderr);
    assert.match(inside.stdout, new RegExp(A));
    assert.ok(await connectRefused('127.0.0.1', port), "unreachable on the host's 127.0.0.1");
  });

  test('exec passes exit codes and stdin', async () => {
    assert.equal((await vs([A, 'exec', 'sh', '-c', 'exit 7'])).code, 7);
    assert.equal((await vs([A, 'exec', '/no/such/command'])).code, 127);
    const cat = await vs([A, 'exec', 'cat'], { input: 'hello inside\n' });
    assert.equal(cat.stdout, 'hello inside\n');
  });

  test('enter gives a shell on a terminal (tmux)', { skip: spawnSync('tmux', ['-V']).status !== 0 && 'no tmux' }, async () => {
    const sock = `vctx${run}`;
    const envs = ['VSERVER_CONFDIR', 'VSERVER_ROOTDIR', 'VSERVER_RUNDIR'].map((k) => `${k}=${env[k]}`).join(' ');
    const cmd = `env ${envs} ${commandPath('vserver')} ${A} enter; echo ENTER-EXIT=$?; sleep 30`;
    assert.equal(spawnSync('tmux', ['-L', sock, 'new-session', '-d', '-s', 'e', '-x', '120', '-y', '30', '-c', projectRoot, cmd]).status, 0);
    const pane = () => spawnSync('tmux', ['-L', sock, 'capture-pane', '-p', '-t', 'e'], { encoding: 'utf8' }).stdout;
    await until('a prompt', () => (/[#$] *$/m.test(pane()) ? true : null), 15000);
    spawnSync('tmux', ['-L', sock, 'send-keys', '-t', 'e', 'echo in-$(hostname)-$((6*7)); exit', 'Enter']);
    const out = await until('the shell to exit', () => (pane().includes('ENTER-EXIT=') ? pane() : null), 15000);
    assert.ok(out.includes(`in-${A}-42`), out);
    assert.match(out, /ENTER-EXIT=0/);
    spawnSync('tmux', ['-L', sock, 'kill-server']);
  });

  test('vreboot restarts only its own server', async () => {
    const a0 = readState(paths(), A)!;
    const b0 = readState(paths(), B)!;
    const r = await vs([B, 'exec', '/sbin/vreboot']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    await until('B to come back with a new PID 1', () => {
      const b = readState(paths(), B);
      return b && b.pid1 !== b0.pid1 && b.xid !== null ? b : null;
    }, 20000);
    assert.equal((await vs([B, 'status'])).code, 0);
    const a1 = readState(paths(), A)!;
    assert.equal(a1.xid, a0.xid);
    assert.equal(a1.pid1, a0.pid1);
    assert.match(await until('httpd of B again', () => fetch(IP_B).catch(() => null)), new RegExp(B));
  });

  test('stop leaves no trace; status says stopped (exit 3)', async () => {
    const xid = readState(paths(), A)!.xid!;
    const r = await vs([A, 'stop']);
    assert.equal(r.code, 0, r.stderr);
    assertNoTrace(A, xid);
    const s = await vs([A, 'status']);
    assert.equal(s.code, 3);
    assert.equal(s.stdout, `Vserver '${A}' is stopped\n`);
    assert.equal((await vs([A, 'running'])).code, 1);
    const again = await vs([A, 'stop']);
    assert.equal(again.code, 3);
    assert.ok(await connectRefused(IP_A, 80));
  });

  test('ten starts at once: one starts, nine say already running', async () => {
    const rs = await Promise.all(Array.from({ length: 10 }, () => vs([A, 'start'])));
    const ok = rs.filter((r) => r.code === 0);
    const busy = rs.filter((r) => r.code === 1 && /already running/.test(r.stderr));
    assert.equal(ok.length, 1, rs.map((r) => `${r.code} ${r.stderr}`).join('\n'));
    assert.equal(busy.length, 9);
    assert.equal(contextsNamed(A).length, 1);
    const xid = readState(paths(), A)!.xid!;
    assert.equal((await vs([A, 'stop'])).code, 0);
    assertNoTrace(A, xid);
  });

  test('restart gives a new context; delete refuses a running server', async () => {
    assert.equal((await vs([A, 'start'])).code, 0);
    const x0 = readState(paths(), A)!;
    const r = await vs([A, 'restart']);
    assert.equal(r.code, 0, r.stderr);
    const x1 = readState(paths(), A)!;
    assert.notEqual(x1.pid1, x0.pid1);
    const d = await vs([A, 'delete', '--force']);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /running/);
    const log = await until('the new boot in the log', async () => {
      const l = await vs([A, 'log']);
      return /Starting httpd/.test(l.stdout) ? l : null;
    });
    assert.equal(log.code, 0);
    assert.equal((await vs([A, 'stop'])).code, 0);
  });

  test('an init that exits at once: reported, nothing left', async () => {
    const n = `lcq${run}`;
    await make(n, `127.0.0.${octet + 2}`);
    setKeys(n, { S_INIT: '/bin/true', S_FLAGS: 'lock' });
    const r = await vs([n, 'start']);
    const s = await vs([n, 'status']);
    assert.equal(s.code, 3, `start: ${r.code} ${r.stderr}; status: ${s.stdout}`);
    // start never exits 0 for a server that is not running afterwards
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /its init \(\/bin\/true\) ended during the boot; last lines of its console: /);
    await until('no context', () => (contextsNamed(n).length === 0 ? true : null), 5000);
    assertNoTrace(n);
  });

  test('processes that ignore SIGTERM: stop escalates to SIGKILL', async () => {
    const n = `lct${run}`;
    await make(n, `127.0.0.${octet + 3}`);
    writeFileSync(join(T, 'vs', n, 'stubborn.sh'), "trap '' TERM\nsleep 1000 &\nwhile :; do sleep 1; done\n", { mode: 0o755 });
    setKeys(n, { S_INIT: '/bin/sh /stubborn.sh', S_FLAGS: 'lock' });
    const r = await vs([n, 'start']);
    assert.equal(r.code, 0, r.stderr);
    const xid = readState(paths(), n)!.xid!;
    const s = await vs([n, 'stop', '--timeout', '1']);
    assert.equal(s.code, 0, s.stderr);
    assert.ok(s.ms < 1000 + 5000 + 4000, `stop took ${s.ms} ms`);
    // it names what it had to end
    assert.match(s.stderr, /^vserver: warning: the shutdown of '.*' did not end within 1 s; SIGTERM then SIGKILL ended \d+ \(vctx-init\), .*\d+ \(sleep\)/m);
    assertNoTrace(n, xid);
  });

  test('private servers cannot be entered but can be stopped', async () => {
    const n = `lcp${run}`;
    await make(n, `127.0.0.${octet + 4}`);
    setKeys(n, { S_FLAGS: 'lock nproc fakeinit private' });
    assert.equal((await vs([n, 'start'])).code, 0);
    const e = await vs([n, 'exec', 'true']);
    assert.equal(e.code, 1);
    assert.match(e.stderr, /private/);
    const xid = readState(paths(), n)!.xid!;
    const s = await vs([n, 'stop']);
    assert.equal(s.code, 0, s.stderr);
    assertNoTrace(n, xid);
  });

  describe('refusals: nothing is started', () => {
    const refuse = async (n: string, kv: Record<string, string>, re: RegExp, code = 1) => {
      // built without an address (build refuses one another server has), then given one
      await make(n);
      setKeys(n, { IPROOT: `127.0.0.${octet + 5}`, ...kv });
      const r = await vs([n, 'start']);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, re);
      assert.deepEqual(contextsNamed(n), []);
      assert.equal(readState(paths(), n), null);
    };
    test('unknown capability', () => refuse(`lcr1${run}`, { S_CAPS: 'CAP_FROBNICATE' }, /S_CAPS/));
    test('refused capability CAP_NET_RAW', () => refuse(`lcr2${run}`, { S_CAPS: 'CAP_NET_RAW' }, /NET_RAW/));
    test('the address of another server that runs', () => refuse(`lcr3${run}`, { IPROOT: IP_B }, new RegExp(`also the address of server '${B}'.*'${B}' is running`)));
    test('an address that is not the host\'s', () => refuse(`lcr4${run}`, { IPROOT: '10.254.253.252' }, /not an address of this host/));
    test('a malformed value is never run', async () => {
      const marker = join(T, 'pwned');
      await refuse(`lcr5${run}`, { S_HOSTNAME: `$(touch ${marker})`, S_NICE: '`touch ' + marker + '`' }, /S_HOSTNAME|S_NICE/);
      assert.equal(existsSync(marker), false);
    });
    test('a configuration writable by others', async () => {
      const n = `lcr6${run}`;
      await make(n);
      chmodSync(confFile(n), 0o666);
      const r = await vs([n, 'start']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /writable by everyone/);
      assert.deepEqual(contextsNamed(n), []);
    });
    test('a root that is a symbolic link', async () => {
      const n = `lcr7${run}`;
      writeFileSync(join(T, 'etc', `${n}.conf`), `IPROOT="127.0.0.${octet + 6}"\nS_INIT="init"\n`, { mode: 0o600 });
      names.push(n);
      mkdirSync(join(T, 'elsewhere'), { recursive: true });
      symlinkSync(join(T, 'elsewhere'), join(T, 'vs', n));
      const r = await vs([n, 'start']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /symbolic link/);
    });
    test('bad names are usage errors', async () => {
      for (const n of ['a/b', '..', 'a b', '-x']) {
        const r = await vs(['--', n, 'start']);
        assert.equal(r.code, 2, `${n}: ${r.stderr}`);
      }
      const u = await vs([`nosuch${run}`, 'status']);
      assert.equal(u.code, 3);
      assert.match(u.stderr, /unknown server/);
    });
  });

  describe('hooks, IP alias and recovery', () => {
    const n = `lch${run}`;
    const ip = `10.213.${octet}.${(octet * 7) % 250 + 2}`;
    before(async () => {
      // a dummy device; where the kernel has no dummy driver, a bridge without
      // ports is just as detached from every real interface
      let r = spawnSync('ip', ['link', 'add', DUMMY, 'type', 'dummy']);
      if (r.status !== 0) r = spawnSync('ip', ['link', 'add', DUMMY, 'type', 'bridge']);
      if (r.status === 0) {
        dummyMade = true;
        spawnSync('ip', ['link', 'set', DUMMY, 'up']);
      }
      await make(n, ip);
      setKeys(n, { IPROOTDEV: DUMMY, IPROOTMASK: '24' });
      writeFileSync(join(T, 'etc', `${n}.sh`),
        `#!/bin/sh\necho "$1 $2 $VSERVER_NAME $VSERVER_IP x$VSERVER_XID" >> ${join(T, 'hook.log')}\n` +
        `[ -e ${join(T, 'fail-pre')} ] && [ "$1" = pre-start ] && exit 4\nexit 0\n`, { mode: 0o755 });
    });
    const addrs = () => spawnSync('ip', ['-4', 'addr', 'show', 'dev', DUMMY], { encoding: 'utf8' }).stdout;

    test('the alias is added at start with a label, removed at stop; hooks run', { skip: !existsSync('/sys/class/net') && 'no net' }, async () => {
      assert.ok(dummyMade, 'dummy interface made');
      const r = await vs([n, 'start']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(addrs().includes(`${ip}/24`), addrs());
      assert.ok(addrs().includes(`${DUMMY}:`), 'labelled');
      assert.match(await until('httpd on the alias', () => fetch(ip).catch(() => null)), new RegExp(n));
      const xid = readState(paths(), n)!.xid!;
      assert.equal((await vs([n, 'stop'])).code, 0);
      assert.ok(!addrs().includes(ip));
      const log = readFileSync(join(T, 'hook.log'), 'utf8');
      assert.match(log, new RegExp(`^pre-start ${n} ${n} ${ip.replace(/\./g, '\\.')} x$`, 'm'));
      assert.match(log, new RegExp(`^post-start ${n} ${n} \\S+ x${xid}$`, 'm'));
      assert.match(log, new RegExp(`^pre-stop ${n} ${n} \\S+ x${xid}$`, 'm'));
      assert.match(log, new RegExp(`^post-stop ${n} ${n} \\S+ x$`, 'm'));
    });

    test('an address already there is not added, and not removed', async () => {
      assert.equal(spawnSync('ip', ['addr', 'add', `${ip}/24`, 'dev', DUMMY]).status, 0);
      assert.equal((await vs([n, 'start'])).code, 0);
      assert.equal((await vs([n, 'stop'])).code, 0);
      assert.ok(addrs().includes(ip), 'still there');
      spawnSync('ip', ['addr', 'del', `${ip}/24`, 'dev', DUMMY]);
    });

    test('a failing pre-start hook aborts the start and leaves nothing', async () => {
      writeFileSync(join(T, 'fail-pre'), '');
      const r = await vs([n, 'start']);
      rm(join(T, 'fail-pre'), { force: true });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /pre-start/);
      assert.ok(!addrs().includes(ip));
      assert.deepEqual(contextsNamed(n), []);
      assert.equal(readState(paths(), n), null);
    });

    test('after a crash (monitor and tool gone), the next status repairs everything', async () => {
      assert.equal((await vs([n, 'start'])).code, 0);
      const st = readState(paths(), n)!;
      const dir = contextCgroup(st.xid!)!;
      process.kill(st.monitor!, 'SIGKILL');
      killContext(st.xid!, 'SIGKILL');
      await until('the context to empty', () => (/^populated 0$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8')) ? true : null), 5000);
      assert.ok(existsSync(dir), 'an empty cgroup is left behind');
      assert.ok(addrs().includes(ip), 'the alias is left behind');
      const s = await vs([n, 'status']);
      assert.equal(s.code, 3, s.stdout + s.stderr);
      assert.ok(!existsSync(contextCgroup(st.xid!)!), 'the empty context was released');
      assert.ok(!addrs().includes(ip), 'the alias was removed');
      assert.equal((await vs([n, 'start'])).code, 0);
      assert.equal((await vs([n, 'stop'])).code, 0);
    });

    test('after a crash, a scan (vserver-stat) never shows the server running and releases its context; the next command removes the alias', async () => {
      assert.equal((await vs([n, 'start'])).code, 0);
      const st = readState(paths(), n)!;
      const dir = contextCgroup(st.xid!)!;
      process.kill(st.monitor!, 'SIGKILL');
      killContext(st.xid!, 'SIGKILL');
      await until('the monitor to die', () => (processAlive(st.monitor) ? null : true), 5000);
      await until('the context to empty', () => (/^populated 0$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8')) ? true : null), 5000);
      assert.deepEqual(contextsNamed(n), [], 'a snapshot shows the dead server');
      assert.ok(!existsSync(dir), 'the scan did not release the empty context');
      const stat = spawnSync(process.execPath, ['--import', 'tsx', join(projectRoot, 'src/cli/vserver-stat.ts'), '--confdir', join(T, 'etc')],
        { env, cwd: projectRoot, encoding: 'utf8' });
      assert.equal(stat.status, 0, stat.stderr);
      assert.doesNotMatch(stat.stdout, new RegExp(` ${n}$`, 'm'));
      const s = await vs([n, 'status']);
      assert.equal(s.code, 3, s.stdout + s.stderr);
      assert.ok(!addrs().includes(ip), 'the alias was removed');
      assert.equal(readState(paths(), n), null);
    });

    test('delete --force removes a stopped server; without a terminal it refuses', async () => {
      const d0 = await vs([n, 'delete']);
      assert.equal(d0.code, 1);
      assert.match(d0.stderr, /--force/);
      const d = await vs([n, 'delete', '--force']);
      assert.equal(d.code, 0, d.stderr);
      assert.equal(existsSync(confFile(n)), false);
      assert.equal(existsSync(join(T, 'vs', n)), false);
    });
  });
});
