/**
 * Per-server network and disk I/O end to end (issue 13), as a user sees
 * them: two busybox servers built and started in temporary VSERVER_CONFDIR
 * / VSERVER_ROOTDIR / VSERVER_RUNDIR, vtop in tmux at 120x40 (where the
 * NET IN/OUT and IO R/W columns show) and `vtop --once --json`.
 *
 * - 1 MiB leaves server A for server B (busybox nc, A to B's address on
 *   the shared stack): A's bytes out and B's bytes in each read between 1
 *   and 1.2 MiB, in vtop's list and detail pane and in --once --json, and
 *   again after vtop restarts (the counters are the kernel's, not vtop's);
 * - a server writes 8 MiB with fsync: its written bytes grow by 8 MiB
 *   (summed over its live processes: this host has no io controller);
 * - a restarted server counts from zero, and a stopped one's counters are
 *   gone from the kernel's map (libvctx's one release path).
 *
 * Everything made here (tmux sessions on a private tmux server, servers,
 * processes, directories) is removed at the end, also on failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from '../../src/actions/build.js';
import { startServer, stopServer } from '../../src/actions/lifecycle.js';
import { projectRoot, toolsDir } from '../../src/kernel-bridge/addon.js';
import { netCounters } from '../../src/kernel-bridge/context.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { removeRoot } from '../helpers/busybox-root.js';
import { inCtx, sleep, waitFor } from '../helpers/kernel.js';
import { Tmux, type Session } from './tmux.js';
import { ensureVtopBundle, vtopBundle } from './vtop-bundle.js';

const isRoot = process.getuid?.() === 0;
const chcontext = join(toolsDir, 'chcontext');
const skipAll = !isRoot ? 'needs root (real servers)' : !existsSync(chcontext) ? `${chcontext} is not built (make -C kernel)` : false;
if (skipAll) console.log(`# vtop network and I/O e2e skipped: ${skipAll}`);

const MiB = 1024 * 1024;
const tag = (process.pid % 1000).toString().padStart(3, '0');
const octet = 100 + (process.pid % 100);
const A = `e2e${tag}neta`;
const B = `e2e${tag}netb`;
const ipA = `127.0.81.${octet}`;
const ipB = `127.0.82.${octet}`;
const PORT = 9000 + (process.pid % 500);

const base = mkdtempSync(join(tmpdir(), 'vctx-netio-e2e-'));
const paths = { confdir: join(base, 'etc'), rootdir: join(base, 'vservers'), rundir: join(base, 'run') };
const tmux = new Tmux();
const contexts = new Set<number>();
const children: ChildProcess[] = [];
const source = isRoot ? new NativeSnapshotSource() : null;
const xids = { a: 0, b: 0 };

const vtopEnv = () => ({
  VSERVER_CONFDIR: paths.confdir, VSERVER_ROOTDIR: paths.rootdir, VSERVER_RUNDIR: paths.rundir,
  PATH: process.env['PATH'] ?? '/usr/bin:/bin', TERM: 'xterm-256color', LANG: 'C.UTF-8', HOME: '/root',
});

interface JsonServer {
  xid: number | null; name: string; state: string;
  netInBytes: number | null; netOutBytes: number | null; netInPackets: number | null; netOutPackets: number | null;
  ioReadBytes: number | null; ioWriteBytes: number | null; ioSource: string | null;
}

/** `vtop --once --json`, the bundle as installed */
function onceJson(): JsonServer[] {
  const r = spawnSync(process.execPath, [vtopBundle, '--once', '--json'], {
    encoding: 'utf8', env: { ...process.env, ...vtopEnv() }, cwd: projectRoot, timeout: 30_000, maxBuffer: 256 * MiB,
  });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { servers: JsonServer[] }).servers;
}

/** vtop in a fresh tmux session of 120x40; resolves when both servers are listed */
async function openVtop(name: string): Promise<Session> {
  const s = tmux.start({ name, cols: 120, rows: 40, argv: [process.execPath, vtopBundle, '--interval', '1'], env: vtopEnv(), cwd: projectRoot });
  await s.waitFor((scr) => scr.includes(A) && scr.includes(B) && /NET IN\/OUT +IO R\/W/.test(scr), 30_000, 'both servers with the NET and IO columns');
  return s;
}

/** the NET IN/OUT and IO R/W cells of a server's row: [in, out, read, written] as shown ([] until both show) */
function cells(screen: string, name: string): string[] {
  const line = screen.split('\n').find((l) => new RegExp(`^\\S?\\s*\\d+ ${name}\\s`).test(l)) ?? '';
  return /(\S+)\/(\S+)\s+(\S+)\/(\S+)\s*$/.exec(line)?.slice(1) ?? [];
}

/** the title line of the process pane names the selected server */
const selectedServer = (screen: string) => /^(\S+)(?: \(xid (\d+)\))?: \d+ process/m.exec(screen);

/** moves the server selection down until `name` is selected (each step waits for the screen to follow) */
async function selectServer(s: Session, name: string): Promise<void> {
  await s.keys('Left', 'Home');
  await sleep(200);
  for (let i = 0; i < 60; i++) {
    const before = selectedServer(s.capture());
    if (before?.[1] === name) return;
    await s.keys('Down');
    for (let t = 0; t < 30 && selectedServer(s.capture())?.[0] === before?.[0]; t++) await sleep(50);
  }
  throw new Error(`could not select ${name}:\n${s.capture()}`);
}

/** what formatMemory shows for 1 to 1.2 MiB: 1M or 1.1M (tenths truncated) */
const ONE_MIB_SHOWN = /^1(\.1)?M$/;
const inRange = (n: number | null) => n !== null && n >= MiB && n <= 1.2 * MiB;

/** A's out and B's in, as vtop's list and detail pane show them */
async function checkVtop(name: string): Promise<void> {
  const s = await openVtop(name);
  const scr = await s.waitFor((x) => ONE_MIB_SHOWN.test(cells(x, A)[1] ?? '') && ONE_MIB_SHOWN.test(cells(x, B)[0] ?? ''), 15_000, 'A out and B in at 1 MiB');
  assert.match(cells(scr, A)[1]!, ONE_MIB_SHOWN, `${A} out`);
  assert.match(cells(scr, B)[0]!, ONE_MIB_SHOWN, `${B} in`);
  // the detail pane of A
  await selectServer(s, A);
  await s.keys('d');
  const d = await s.waitFor(/network +in \S+ \(\d+ packets\) +out \S+ \(\d+ packets\)/, 10_000, 'the detail pane');
  const m = /network +in \S+ \(\d+ packets\) +out (\S+) \((\d+) packets\)/.exec(d)!;
  assert.match(m[1]!, ONE_MIB_SHOWN, `the detail pane of ${A}: out ${m[1]}`);
  assert.ok(Number(m[2]) >= 2, 'packets are counted');
  assert.match(d, /disk io +read \S+ +written \S+ +\[live processes only: \/proc\/PID\/io\]/);
  await s.keys('q');
  tmux.kill(s.name);
}

before(async () => {
  if (skipAll) return;
  ensureVtopBundle();
  for (const d of Object.values(paths)) mkdirSync(d, { recursive: true, mode: 0o755 });
  await build(A, { template: 'busybox', ip: ipA, hostname: `${A}.e2e` }, paths);
  await build(B, { template: 'busybox', ip: ipB, hostname: `${B}.e2e` }, paths);
  for (const [k, n] of [['a', A], ['b', B]] as const) {
    const st = await startServer(n, paths);
    xids[k] = st.xid;
    contexts.add(st.xid);
  }
});

after(async () => {
  tmux.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const n of [A, B]) await stopServer(n, paths, { timeoutSec: 2 }).catch(() => {});
  if (source) for (const c of source.snapshot().contexts) if (c.name === A || c.name === B) contexts.add(c.xid);
  for (const xid of contexts) {
    try { killContext(xid, 'SIGKILL'); } catch { /* gone */ }
  }
  if (source) await waitFor(() => !source.snapshot().contexts.some((c) => contexts.has(c.xid)), 10_000, 50);
  for (const n of [A, B]) if (existsSync(join(paths.rootdir, n))) await removeRoot(join(paths.rootdir, n)).catch(() => {});
  rmSync(base, { recursive: true, force: true });
});

describe('per-server network and disk I/O against real servers', { skip: skipAll }, () => {
  test('1 MiB from A to B: A out and B in read 1 to 1.2 MiB in vtop and --once --json, again after vtop restarts', async () => {
    const before = onceJson();
    const a0 = before.find((s) => s.name === A)!;
    const b0 = before.find((s) => s.name === B)!;
    assert.ok(a0.netOutBytes !== null && b0.netInBytes !== null, 'both servers are counted');
    assert.ok(a0.netOutBytes < 64 * 1024 && b0.netInBytes < 64 * 1024, `quiet before: ${a0.netOutBytes} out, ${b0.netInBytes} in`);
    // B listens (its stdin stays open: nc closes its half when stdin ends, and A's nc stops at that
    // end); A sends 1 MiB to B's address, closes its half, and exits when B's nc has read it all
    const listener = spawn(chcontext, ['--ctx', String(xids.b), '--', '/bin/sh', '-c', `sleep 20 | nc -l -p ${PORT} > /dev/null`], { stdio: 'ignore' });
    children.push(listener);
    await sleep(500);
    const send = inCtx(xids.a, `dd if=/dev/zero bs=1024 count=1024 2>/dev/null | nc ${ipB} ${PORT}`, { timeout: 30_000 });
    assert.equal(send.status, 0, `nc in ${A}: ${send.stderr}`);

    const viaJson = () => {
      const j = onceJson();
      const a = j.find((s) => s.name === A)!;
      const b = j.find((s) => s.name === B)!;
      assert.ok(inRange(a.netOutBytes), `${A} out: ${a.netOutBytes} bytes`);
      assert.ok(inRange(b.netInBytes), `${B} in: ${b.netInBytes} bytes`);
      assert.ok(a.netOutPackets! >= 2 && b.netInPackets! >= 2, 'packets counted');
      // what the other way carried: acknowledgements only
      assert.ok(a.netInBytes! < 128 * 1024 && b.netOutBytes! < 128 * 1024, `acks: ${a.netInBytes} in A, ${b.netOutBytes} out of B`);
      return [a.netOutBytes, b.netInBytes];
    };
    const first = viaJson();
    await checkVtop(`vtop-net-${tag}-1`);
    // vtop again: the counts live in the kernel's pinned map, not in vtop
    await checkVtop(`vtop-net-${tag}-2`);
    assert.deepEqual(viaJson(), first, 'nothing else moved, nothing was lost across vtop runs');
    // the bridge reads the same map: the server's own entry
    assert.equal(netCounters(xids.a)!.txBytes, first[0]);
  });

  test('a server writes 8 MiB with fsync: its written bytes grow by 8 MiB (live processes), in --once --json and vtop', async () => {
    const w0 = onceJson().find((s) => s.name === A)!;
    assert.equal(w0.ioSource, 'live processes', 'no io controller on this host: summed over its processes');
    const r = inCtx(xids.a, 'dd if=/dev/zero of=/ioprobe bs=1048576 count=8 conv=fsync 2>/dev/null && rm -f /ioprobe', { timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const w1 = onceJson().find((s) => s.name === A)!;
    const grew = w1.ioWriteBytes! - w0.ioWriteBytes!;
    assert.ok(grew >= 8 * MiB && grew < 9 * MiB, `written grew by ${grew} bytes`);
    const s = await openVtop(`vtop-io-${tag}`);
    const written = (x: string) => /^(\d+(?:\.\d)?)M$/.exec(cells(x, A)[3] ?? '')?.[1];
    await s.waitFor((x) => Number(written(x) ?? 0) >= 8, 15_000, `${A} written at 8M or more`);
    await s.keys('q');
    tmux.kill(s.name);
  });

  test('a restarted server counts from zero; a stopped one\'s counters are gone from the kernel', async () => {
    assert.ok(netCounters(xids.b)!.rxBytes >= MiB);
    await stopServer(B, paths, { timeoutSec: 5 });
    assert.equal(netCounters(xids.b), null, 'the release removed its entry');
    const st = await startServer(B, paths);
    contexts.add(st.xid);
    xids.b = st.xid;
    const b = onceJson().find((s) => s.name === B)!;
    assert.equal(b.xid, st.xid);
    assert.ok(b.netInBytes !== null && b.netInBytes < 64 * 1024, `from zero: ${b.netInBytes}`);
  });
});
