/**
 * One source of truth for the commands printed by two paths: `vps` prints
 * its common case in C (kernel/tools/vps.c) and the rest through Node
 * (src/cli/vps.ts, src/views/vps.ts); `vserver NAME status|running` of a
 * server that runs is answered in C (kernel/tools/vserver.c), the rest by
 * Node (src/cli/vserver.ts); both from the tables in
 * kernel/tables/vctx-tables.json ("render").  Each test runs both paths on
 * the same host state and compares stdout, stderr and the exit status
 * byte for byte; VCTX_VPS_RENDER=node and VCTX_VSERVER_RENDER=node make
 * the fronts hand everything to Node.  The C path is proven to be C: it
 * runs with a NODE_OPTIONS that no Node survives.
 *
 * ps's output is made the same for both runs by a stand-in `ps` first in
 * PATH that prints a fixed listing (the real PIDs of the contexts made
 * here, of the host and of none), and by the real ps with a fixed PID list.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnContext } from '../helpers/daemon-context.js';
import { commandPath } from '../helpers/commands.js';
import { build, removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';

const isRoot = process.getuid?.() === 0;
/** a Node started with this fails at once: the C path must not start one */
const NO_NODE = '--require=/nonexistent/vctx-no-node-here.js';

interface Ctx {
  child: ChildProcess;
  xid: number;
  /** the PID of its `sleep 300` */
  sleep: number;
}
const made: Ctx[] = [];

function cgroupProcs(xid: number): number[] {
  const mounts = spawnSync('findmnt', ['-n', '-o', 'TARGET', '-t', 'cgroup2'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const m of mounts) {
    const f = join(m, 'vctx', String(xid), 'cgroup.procs');
    if (existsSync(f)) return readFileSync(f, 'utf8').split('\n').filter(Boolean).map(Number);
  }
  return [];
}

/** `chcontext ARGS -- sleep 300`: its XID and the sleep's host PID */
async function makeContext(args: string[]): Promise<Ctx> {
  const { child, xid } = await spawnContext(args, ['sleep', '300']);
  const ctx: Ctx = { child, xid, sleep: 0 };
  made.push(ctx);
  for (let i = 0; i < 100 && !ctx.sleep; i++) {
    for (const pid of cgroupProcs(xid)) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8') === 'sleep\n') ctx.sleep = pid;
      } catch {
        /* gone */
      }
    }
    if (!ctx.sleep) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(ctx.sleep, `no sleep in context ${xid}`);
  return ctx;
}

async function destroy(c: Ctx): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  const exited = new Promise((r) => c.child.once('exit', r));
  if (c.sleep) {
    try {
      process.kill(c.sleep, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const t = setTimeout(() => c.child.pid && c.child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(t);
}

type Run = Pick<SpawnSyncReturns<string>, 'status' | 'stdout' | 'stderr'>;

function vps(args: string[], env: NodeJS.ProcessEnv): Run {
  const r = spawnSync(commandPath('vps'), args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** vps ARGS by both paths: they agree byte for byte, and the C one ran no Node */
function bothPaths(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const viaC = vps(args, { ...env, NODE_OPTIONS: NO_NODE });
  const viaNode = vps(args, { ...env, VCTX_VPS_RENDER: 'node' });
  assert.deepEqual(viaC, viaNode, `vps ${args.join(' ')}: the C path and the Node path differ`);
  return viaC;
}

describe('vps: the C path and the Node path print the same', { skip: isRoot ? undefined : 'needs root (vps refuses other users)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vctx-native-render-'));
  const bin = join(dir, 'bin');
  const confdir = join(dir, 'conf');
  const listing = join(dir, 'listing');
  const fakeEnv = { PATH: `${bin}:${process.env.PATH}`, VSERVER_CONFDIR: confdir };
  const name = `nr-${process.pid}`;
  // a static context with no name of its own: vps names it from NAME.conf's
  // S_CONTEXT, a file name with an escape sequence and a 4-byte character
  const staticXid = 45000 + (process.pid % 4000);
  const hostile = `h\x1b[31m\u{1F600}\\${process.pid}`;
  let named: Ctx;
  let anon: Ctx;

  /** the stand-in ps prints @text and exits @code */
  function fakePs(text: string | Buffer, code = 0): void {
    writeFileSync(listing, text);
    writeFileSync(join(bin, 'ps'), `#!/bin/sh\ncat ${JSON.stringify(listing)}\nexit ${code}\n`, { mode: 0o755 });
  }

  before(async () => {
    spawnSync('mkdir', ['-p', bin, confdir]);
    writeFileSync(join(confdir, `${hostile}.conf`), `# hostile\nS_CONTEXT="${staticXid}"  # static\n`);
    writeFileSync(join(confdir, 'other.conf'), 'S_CONTEXT=7\n');
    named = await makeContext(['--name', name]);
    anon = await makeContext(['--ctx', String(staticXid)]);
  });

  after(async () => {
    for (const c of made) await destroy(c);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a listing of the host, a named context, a context named by its NAME.conf, and a PID that is gone', () => {
    const gone = spawnSync('true').pid!;
    fakePs([
      '  PID TTY      STAT   TIME COMMAND',
      '    1 ?        Ss     0:01 /sbin/init',
      `${String(named.sleep).padStart(5)} ?        S      0:00 sleep 300`,
      `${String(anon.sleep).padStart(5)} ?        S      0:00 sleep 300`,
      `${String(gone).padStart(5)} ?        Z      0:00 [gone]`,
      '',
      'not a row at all',
      '',
    ].join('\n'));
    const r = bothPaths(['ax'], fakeEnv);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '  PID CONTEXT             TTY      STAT   TIME COMMAND');
    assert.equal(lines[1], '    1     0 MAIN          ?        Ss     0:01 /sbin/init');
    assert.equal(lines[2], `${String(named.sleep).padStart(5)} ${`${String(named.xid).padStart(5)} ${name}`.padEnd(20)}?        S      0:00 sleep 300`);
    // escaped (\x1b, \\), the 4-byte character kept; longer than 20: one space follows
    assert.equal(lines[3], `${String(anon.sleep).padStart(5)} ${String(staticXid).padStart(5)} h\\x1b[31m\u{1F600}\\\\${process.pid} ?        S      0:00 sleep 300`);
    assert.equal(lines[4], `${String(gone).padStart(5)}   ERR               ?        Z      0:00 [gone]`);
    assert.equal(lines[5], '');
    assert.equal(lines[6], 'not a row at all');
  });

  test('rows out of line: a wide PID, the PID by its column index, a short row; no trailing newline; ps\'s exit status', () => {
    fakePs([
      '    PPID   PID COMMAND',
      `       0     1 init`,
      `       1 ${named.sleep} sleep`,
      `  1 ${named.sleep}`,
      '       1',
      `       1  1234567890123456789 huge`,
      `       1     x nothing`,
    ].join('\n'), 3);
    const r = bothPaths(['-o', 'ppid,pid,comm'], fakeEnv);
    assert.equal(r.status, 3);
    assert.equal(r.stdout.split('\n')[0], '    PPID   PID CONTEXT             COMMAND');
    assert.ok(!r.stdout.endsWith('\n'));
  });

  test('a header ending at PID, a header alone, and no PID column (one line, exit 1, nothing on stdout)', () => {
    fakePs(`  PID\n    1\n${String(named.sleep).padStart(5)}\n`);
    const a = bothPaths(['-o', 'pid'], fakeEnv);
    assert.equal(a.stdout, `  PID CONTEXT             \n    1     0 MAIN          \n${String(named.sleep).padStart(5)} ${`${String(named.xid).padStart(5)} ${name}`.padEnd(20)}\n`);
    fakePs('  PID CMD\n');
    assert.equal(bothPaths(['-o', 'pid,cmd'], fakeEnv).stdout, '  PID CONTEXT             CMD\n');
    fakePs('CMD\ninit\n');
    const none = bothPaths(['-o', 'cmd'], fakeEnv);
    assert.deepEqual(none, { status: 1, stdout: '', stderr: 'vps: no PID column in the ps output (ask ps for one, e.g. -o pid,...)\n' });
    fakePs('', 1);
    assert.deepEqual(bothPaths(['-p', '999999999'], fakeEnv), { status: 1, stdout: '', stderr: '' });
  });

  test('output that is not ASCII is printed by Node (it decodes it), the same with or without the switch', () => {
    // é, and a byte that is no UTF-8 (Node reads U+FFFD)
    fakePs(Buffer.concat([Buffer.from('  PID COMMAND\n    1 init \u00e9'), Buffer.from([0xff, 0x0a])]));
    const viaFront = vps(['ax'], fakeEnv);
    assert.deepEqual(viaFront, vps(['ax'], { ...fakeEnv, VCTX_VPS_RENDER: 'node' }));
    assert.equal(viaFront.stdout, '  PID CONTEXT             COMMAND\n    1     0 MAIN          init \u00e9\ufffd\n');
    // and it is Node: with a Node that cannot start, this fails
    assert.notEqual(vps(['ax'], { ...fakeEnv, NODE_OPTIONS: NO_NODE }).status, 0);
  });

  test('the real ps, on a fixed PID list, with the configuration directory of the host', () => {
    const pids = [1, named.sleep, anon.sleep, named.child.pid!].join(',');
    const r = bothPaths(['-o', 'pid,ppid,user,comm', '-p', pids]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter(Boolean).length, 5, r.stdout);
    assert.match(r.stdout, new RegExp(`^\\s*${named.sleep}\\s+${named.xid} ${name}\\s`, 'm'));
  });
});

describe('vserver NAME status and running: the C path and the Node path print the same', { skip: isRoot ? undefined : 'needs root' }, () => {
  const run = Math.floor(Math.random() * 1e6).toString(36);
  const NAME = `nrs${run}`;
  const IP = `127.0.0.${100 + Math.floor(Math.random() * 120)}`;
  let T = '';
  let env: NodeJS.ProcessEnv = {};
  const paths = () => ({ confdir: join(T, 'etc'), rootdir: join(T, 'vs'), rundir: join(T, 'run') });

  function vs(args: string[], extra: NodeJS.ProcessEnv = {}): Run {
    const r = spawnSync(commandPath('vserver'), args, { encoding: 'utf8', timeout: 60_000, env: { ...env, ...extra } });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }
  const viaC = (args: string[]) => vs(args, { NODE_OPTIONS: NO_NODE });
  const viaNode = (args: string[]) => vs(args, { VCTX_VSERVER_RENDER: 'node' });

  /**
   * both paths, @first (the C path, or the front choosing) before and after Node: retried while a
   * second of uptime ticks between the two runs of @first
   */
  function bothPaths(args: string[], first: (a: string[]) => Run = viaC): Run {
    for (let i = 0; ; i++) {
      const before = first(args);
      const node = viaNode(args);
      const after = first(args);
      if (JSON.stringify(before) !== JSON.stringify(after) && i < 5) continue;
      assert.deepEqual(before, after, `vserver ${args.join(' ')}: the C path answered twice otherwise`);
      assert.deepEqual(before, node, `vserver ${args.join(' ')}: the C path and the Node path differ`);
      return before;
    }
  }

  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-nrs-'));
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
    delete env.NODE_TEST_CONTEXT;
    delete env.NODE_OPTIONS;
    await build(NAME, { ip: IP }, paths());
    const r = vs([NAME, 'start']);
    assert.equal(r.status, 0, r.stderr);
  });

  after(async () => {
    await stop(NAME, paths(), { timeoutSec: 1 }).catch(() => {});
    for (const m of await mountsBelow(join(T, 'vs', NAME))) spawnSync('umount', ['-l', m]);
    await removeTree(T).catch(() => rm(T, { recursive: true, force: true }));
  });

  test('a running server: status (after Node judged its NAME.conf once) and running, by both paths', () => {
    // the first status is Node's (no verdict kept yet): it keeps one
    assert.notEqual(viaC([NAME, 'status']).status, 0);
    const first = vs([NAME, 'status']);
    assert.equal(first.status, 0, first.stderr);
    const s = bothPaths([NAME, 'status']);
    const xid = (JSON.parse(readFileSync(join(T, 'run', NAME, 'state.json'), 'utf8')) as { xid: number }).xid;
    assert.match(s.stdout, new RegExp(`^Vserver '${NAME}' is running at context '${xid}'\nNumber of processes: [1-9]\\d*\nUptime: \\d+s\n$`));
    assert.deepEqual(bothPaths([NAME, 'running']), { status: 0, stdout: '', stderr: '' });
  });

  test('the uptime by its largest unit: seconds, minutes, hours, days (state.json\'s start moved back)', () => {
    const stateFile = join(T, 'run', NAME, 'state.json');
    const original = readFileSync(stateFile, 'utf8');
    try {
      for (const [ago, shape] of [[65, /^Uptime: 1m 0[5-9]s$/m], [3 * 3600 + 4 * 60 + 5, /^Uptime: 3h 04m 0[5-9]s$/m],
        [2 * 86400 + 3 * 3600 + 4 * 60, /^Uptime: 2d 03h 04m$/m]] as const) {
        const st = JSON.parse(original) as { startedAt: number };
        st.startedAt = Date.now() - ago * 1000;
        writeFileSync(stateFile, JSON.stringify(st) + '\n', { mode: 0o600 });
        assert.match(bothPaths([NAME, 'status']).stdout, shape);
      }
    } finally {
      writeFileSync(stateFile, original, { mode: 0o600 });
    }
  });

  test('a NAME.conf changed since Node judged it, or a bad one: Node answers (and warns), the same either way', () => {
    const conf = join(T, 'etc', `${NAME}.conf`);
    const original = readFileSync(conf, 'utf8');
    try {
      writeFileSync(conf, `${original}# changed\n`, { mode: 0o600 });
      assert.notEqual(viaC([NAME, 'status']).status, 0, 'the C path answered for a text Node has not judged');
      bothPaths([NAME, 'status'], vs);
      writeFileSync(conf, `${original}S_NICE="abc"\n`, { mode: 0o600 });
      const bad = vs([NAME, 'status']);
      assert.equal(bad.status, 0);
      assert.match(bad.stderr, /S_NICE/);
      bothPaths([NAME, 'status'], vs);
      assert.notEqual(viaC([NAME, 'status']).status, 0, 'the C path answered for a text with an error');
    } finally {
      writeFileSync(conf, original, { mode: 0o600 });
    }
  });

  test('a bad name, an unknown server, other argument shapes: Node answers, the same either way', () => {
    for (const args of [['bad/name', 'status'], [`nosuch${run}`, 'status'], [`nosuch${run}`, 'running'], [NAME, 'status', '--json'].slice(0, 2), ['-x', 'status']]) {
      bothPaths(args, vs);
    }
    assert.equal(vs([`nosuch${run}`, 'status']).status, 3);
  });

  test('stopped: status says so (exit 3) and running is exit 1, the same either way', async () => {
    await stop(NAME, paths(), { timeoutSec: 5 });
    const s = vs([NAME, 'status']);
    assert.deepEqual(s, { status: 3, stdout: `Vserver '${NAME}' is stopped\n`, stderr: '' });
    assert.deepEqual(s, viaNode([NAME, 'status']));
    assert.deepEqual(vs([NAME, 'running']), viaNode([NAME, 'running']));
    assert.equal(vs([NAME, 'running']).status, 1);
  });
});
