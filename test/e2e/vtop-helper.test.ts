/**
 * vtop's privileged helper (kernel/out/vtop-helper) on its own, as root
 * against the real kernel and a real busybox server in temporary
 * VSERVER_CONFDIR / ROOTDIR / RUNDIR, spoken to in its line protocol:
 *
 * - whatever the drawing side sends, only well-formed requests of the fixed
 *   set are carried out; everything else is refused with a reply (and a
 *   log line), never a crash;
 * - a kill names exactly the process seen (PID + start time), also inside
 *   a server; a whole context is killed by number;
 * - start / stop / enter run the vserver CLI (which logs them), side by
 *   side with kills: a kill is answered while a stop runs;
 * - every change is in the system log (a stand-in `logger` on PATH);
 * - it refuses to run by hand or without root, ignores SIGINT, exits on
 *   SIGHUP, and when its socket closes it exits after what is under way,
 *   killing nothing and leaving no process.
 *
 * Everything made here is removed when the file ends, also on failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { build } from '../../src/actions/build.js';
import { vserverCliArgv } from '../../src/actions/chcontext-args.js';
import { stopServer } from '../../src/actions/lifecycle.js';
import { HELPER } from '../../src/actions/vtop-actions.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { removeRoot } from '../helpers/busybox-root.js';
import { chcontext, startDaemonContext } from '../helpers/daemon-context.js';
import { sleep, startTimeOf, waitFor } from '../helpers/kernel.js';

const isRoot = process.getuid?.() === 0;
const skipAll = !isRoot ? 'needs root (real contexts)' : !existsSync(HELPER) ? `${HELPER} is not built (make -C kernel)` : false;
if (skipAll) console.log(`# vtop helper e2e skipped: ${skipAll}`);

const NAME = `vh${(process.pid % 10000).toString().padStart(4, '0')}`;
const WHO = 'tester via vtop';
const base = mkdtempSync(join(tmpdir(), 'vctx-vtop-helper-'));
const paths = { confdir: join(base, 'etc'), rootdir: join(base, 'vservers'), rundir: join(base, 'run') };
const logFile = join(base, 'syslog.txt');
const fakeBin = join(base, 'bin');
const source = isRoot ? new NativeSnapshotSource() : null;
const children: ChildProcess[] = [];
const helpers: ChildProcess[] = [];
const contexts: number[] = [];

/** a helper speaking its protocol: send() a line, ask() a request and get its reply */
interface Helper {
  child: ChildProcess;
  socket: Socket;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  send(data: string | Buffer): void;
  /** the reply line to request `id` (without the ID) */
  reply(id: number | string, ms?: number): Promise<string>;
  /** sends "ID REQUEST" with a fresh ID and waits for its reply */
  ask(request: string, ms?: number): Promise<string>;
}

let nextId = 1;

function startHelper(cli: string[] = vserverCliArgv(), flags: string[] = []): Helper {
  const child = spawn(HELPER, [...flags, '--', ...cli], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: {
      ...process.env, VSERVER_CONFDIR: paths.confdir, VSERVER_ROOTDIR: paths.rootdir, VSERVER_RUNDIR: paths.rundir,
      VSERVER_REQUESTED_BY: WHO, PATH: `${fakeBin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`,
    },
  });
  helpers.push(child);
  const socket = child.stdio[3] as Socket;
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: socket }).on('line', (l) => {
    lines.push(l);
    for (const w of waiters.splice(0)) w();
  });
  child.stderr!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const h: Helper = {
    child, socket, lines, exited,
    send: (data) => socket.write(data),
    reply: async (id, ms = 30_000) => {
      const t0 = Date.now();
      for (;;) {
        const l = lines.find((x) => x.startsWith(`${id} `));
        if (l) return l.slice(String(id).length + 1);
        if (Date.now() - t0 > ms) throw new Error(`no reply to ${id} in ${ms} ms; got ${JSON.stringify(lines)}`);
        await new Promise<void>((r) => { waiters.push(r); setTimeout(r, 100); });
      }
    },
    ask: (request, ms) => {
      const id = nextId++;
      socket.write(`${id} ${request}\n`);
      return h.reply(id, ms);
    },
  };
  return h;
}

async function ready(h: Helper): Promise<void> {
  for (let i = 0; i < 100 && !h.lines.includes('ready'); i++) await sleep(50);
  assert.ok(h.lines.includes('ready'), `the helper did not say ready: ${JSON.stringify(h.lines)}`);
}

function victim(): ChildProcess {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

/** the helper's children still running: a vserver command on this file's server, or a logger with its lines */
function helperChildren(): string[] {
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const a = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const cli = a[0] === process.execPath && a.some((x) => /[/]cli[/]vserver\.(js|ts)$/.test(x)) && a.includes(NAME);
      const logger = /(^|\/)logger$/.test(a[0]!) && a.some((x) => x.startsWith(WHO));
      if (cli || logger) out.push(`${d}: ${a.join(' ')}`);
    } catch {
      /* gone */
    }
  }
  return out;
}

const serverContext = () => source!.snapshot().contexts.find((c) => c.name === NAME)?.xid ?? null;
const logLines = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);
const logged = (part: string) => logLines().filter((l) => l.includes(`${WHO}: ${part}`));

let h: Helper;

before(async () => {
  if (skipAll) return;
  for (const d of Object.values(paths)) mkdirSync(d, { recursive: true });
  mkdirSync(fakeBin);
  writeFileSync(join(fakeBin, 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${logFile}\n`);
  chmodSync(join(fakeBin, 'logger'), 0o755);
  await build(NAME, { template: 'busybox', hostname: `${NAME}.e2e` }, paths);
  h = startHelper();
  await ready(h);
});

after(async () => {
  for (const c of [...children, ...helpers]) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await stopServer(NAME, paths, { timeoutSec: 2 }).catch(() => {});
  const left = serverContext();
  if (left !== null) contexts.push(left);
  for (const xid of contexts) {
    try { killContext(xid, 'SIGKILL'); } catch { /* gone */ }
  }
  if (source) await waitFor(() => !source.snapshot().contexts.some((c) => contexts.includes(c.xid)), 10_000, 50);
  if (existsSync(join(paths.rootdir, NAME))) await removeRoot(join(paths.rootdir, NAME)).catch(() => {});
  rmSync(base, { recursive: true, force: true });
});

describe('vtop helper', { skip: skipAll }, () => {
  test('started by hand (no socket as fd 3) or not as root, it says so in one line', () => {
    const byHand = spawnSync(HELPER, ['--', 'true'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(byHand.status, 2);
    assert.match(byHand.stderr, /^vtop-helper: started by vtop only .*\n$/);
    const nobody = spawnSync('runuser', ['-u', 'nobody', '--', HELPER, '--', 'true'], { encoding: 'utf8' });
    assert.equal(nobody.status, 1);
    assert.equal(nobody.stderr, 'vtop-helper: must be run as root\n');
  });

  test('refuses anything outside the fixed set, answers each, sends nothing, logs each', async () => {
    const v = victim();
    await sleep(50);
    const pid = v.pid!;
    const st = startTimeOf(pid)!;
    const before = logged('request from vtop: refused: ').length;
    const bad: [string, RegExp][] = [
      ['exec known', /unknown request type/],
      ['constructor', /unknown request type/],
      ['', /unknown request type/],
      [`kill ${pid} ${st} SIGWINCH`, /only these signals may be sent: SIGHUP .*SIGTERM/],
      [`kill ${pid} ${st} SIGSYS`, /only these signals may be sent/],
      [`kill ${pid} ${st} 9`, /only these signals may be sent/],
      [`kill ${pid} ${st} sigterm`, /only these signals may be sent/],
      [`kill ${pid} ${st}`, /only these signals may be sent/],
      [`kill ${pid} 0 SIGTERM`, /not a start time/],
      [`kill ${pid} ${st}.5 SIGTERM`, /not a start time/],
      [`kill ${pid} 9007199254740992 SIGTERM`, /not a start time/],
      [`kill -1 ${st} SIGTERM`, /not a process ID/],
      [`kill 0 ${st} SIGTERM`, /not a process ID/],
      [`kill 4194305 ${st} SIGTERM`, /not a process ID/],
      [`kill 0x${pid.toString(16)} ${st} SIGTERM`, /not a process ID/],
      [`kill  ${pid} ${st}`, /not a process ID/],
      [`kill  ${pid} ${st} SIGTERM`, /unexpected field/],
      ['kill', /not a process ID/],
      [`kill ${pid} ${st} SIGTERM sudo`, /unexpected field/],
      ['killctx 0 SIGKILL', /context 0 cannot be signalled/],
      ['killctx 1 SIGKILL', /context 1 cannot be signalled/],
      ['killctx 70000 SIGKILL', /not a context number/],
      ['killctx 5 SIGSTOP', /only SIGTERM and SIGKILL/],
      ['killctx 5 SIGKILL 5', /unexpected field/],
      ['start ../etc/passwd', /contains '\/'/],
      ['start -rf', /starts with '-'/],
      ['start .hidden', /starts with '\.'/],
      [`start ${NAME} ${NAME}`, /contains a blank/],
      [`start ${NAME}\x01`, /contains a control character/],
      [`start ${'x'.repeat(65)}`, /has 65 characters/],
      ['stop nosuch', /no server 'nosuch' in /],
      ['enter', /no server name/],
      ['restart ', /the name is empty/],
    ];
    for (const [req, why] of bad) {
      const r = await h.ask(req);
      assert.match(r, /^err refused: /, req);
      assert.match(r, why, req);
    }
    // lines that are not requests at all: answered as request 0, or by their ID when it can be read
    h.send('garbage\n');
    assert.equal(await h.reply(0), 'err refused: not a request');
    h.lines.splice(h.lines.findIndex((l) => l.startsWith('0 ')), 1);
    h.send('007 kill 1 1 SIGTERM\n');
    assert.equal(await h.reply(0), 'err refused: not a request');
    h.send(`991 start ${'y'.repeat(1000)}\n`);
    assert.equal(await h.reply(991), 'err refused: request too long (at most 512 bytes)');
    h.send(Buffer.from(`992 start ${NAME}\0\n`));
    assert.equal(await h.reply(992), 'err refused: not a request');
    h.send(Buffer.concat([Buffer.from('993 start '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]));
    assert.match(await h.reply(993), /^err refused: the name is not valid UTF-8/);
    h.send('994 start a\rb\n');
    assert.match(await h.reply(994), /^err refused: the name contains a blank/);
    assert.ok(await h.ask('killctx 65535 SIGTERM'), 'still answering');

    assert.equal(startTimeOf(pid), st, 'the victim was never signalled');
    assert.equal(h.child.exitCode, null, 'the helper lives');
    const refusals = logged('request from vtop: refused: ');
    assert.equal(refusals.length - before, bad.length + 6, refusals.join('\n'));
    assert.ok(logLines().every((l) => !/[\x00-\x1f]/.test(l)), 'no control character reaches the log');
  });

  test('a kill with a start time that is not the process\'s is "already gone" and sends nothing', async () => {
    const v = victim();
    await sleep(50);
    const st = startTimeOf(v.pid!)!;
    assert.equal(await h.ask(`kill ${v.pid} ${st + 1} SIGKILL`), `err PID ${v.pid} is already gone: nothing sent`);
    await sleep(100);
    assert.equal(startTimeOf(v.pid!), st);
    assert.equal(logged(`kill SIGKILL pid ${v.pid} (start time ${st + 1}) in context ?: failed: PID ${v.pid} is already gone`).length, 1);
  });

  test('a host process is refused without --allow-host-kill, and stays', async () => {
    const v = victim();
    await sleep(50);
    const st = startTimeOf(v.pid!)!;
    assert.equal(await h.ask(`kill ${v.pid} ${st} SIGKILL`),
      `err EPERM: PID ${v.pid} (context 0): process ${v.pid} is the host's (context 0), not a server's: vtop signals servers only unless started with --allow-host-kill`);
    await sleep(100);
    assert.equal(startTimeOf(v.pid!), st, 'the host process lives');
    assert.equal(logged(`kill SIGKILL pid ${v.pid} (start time ${st}) in context 0: failed: EPERM`).length, 1);
  });

  test('with --allow-host-kill a kill with the right PID and start time is delivered and logged', async () => {
    const hk = startHelper(vserverCliArgv(), ['--allow-host-kill']);
    await ready(hk);
    const v = victim();
    await sleep(50);
    const st = startTimeOf(v.pid!)!;
    const exited = new Promise<string | null>((r) => v.once('exit', (_c, sig) => r(sig)));
    assert.equal(await hk.ask(`kill ${v.pid} ${st} SIGTERM`), `ok sent SIGTERM to PID ${v.pid} (context 0)`);
    assert.equal(await exited, 'SIGTERM');
    assert.deepEqual(logged(`kill SIGTERM pid ${v.pid} (start time ${st}) in context 0: ok: sent SIGTERM to PID ${v.pid} (context 0)`).length, 1);
    // and now it is gone
    assert.equal(await hk.ask(`kill ${v.pid} ${st} SIGTERM`), `err PID ${v.pid} is already gone: nothing sent`);
    hk.socket.end();
    assert.deepEqual(await hk.exited, { code: 0, signal: null });
  });

  test('a whole context is killed by number; one that is not running is "already gone"', async () => {
    const xid = startDaemonContext(['--', 'sh', '-c', 'sleep 300 & sleep 300'], contexts);
    assert.ok(await waitFor(() => (source!.snapshot().contexts.find((c) => c.xid === xid)?.nprocs ?? 0) >= 3, 5000, 50), 'the context runs');
    assert.match(await h.ask(`killctx ${xid} SIGKILL`), new RegExp(`^ok sent SIGKILL to \\d+ processes of context ${xid}$`));
    assert.ok(await waitFor(() => !source!.snapshot().contexts.some((c) => c.xid === xid), 10_000, 50), `context ${xid} is gone`);
    assert.equal(logged(`kill SIGKILL every process of context ${xid}: ok: sent SIGKILL`).length, 1);
    assert.equal(await h.ask('killctx 65535 SIGTERM'), 'err context 65535 is already gone: nothing sent');
  });

  test('start, enter and stop run the vserver CLI, logged once each; a kill is answered while a stop runs', async () => {
    assert.equal(await h.ask(`enter ${NAME}`), `err enter ${NAME}: server '${NAME}' is not running`);
    const started = await h.ask(`start ${NAME}`, 60_000);
    const m = new RegExp(`^ok started ${NAME} at context (\\d+)$`).exec(started);
    assert.ok(m, started);
    const xid = Number(m[1]);
    assert.equal(serverContext(), xid, 'the kernel has the context');
    assert.equal(await h.ask(`start ${NAME}`, 60_000), `err server '${NAME}' is already running`);
    // no terminal on the helper's stdin here: the CLI refuses, and says so in the log
    assert.match(await h.ask(`enter ${NAME}`, 60_000), new RegExp(`^err enter ${NAME}: enter needs a terminal on stdin`));

    // a process of the server, killed while the server stops
    const inner = spawn(chcontext, ['--ctx', String(xid), '--', 'sleep', '300'], { stdio: 'ignore' });
    children.push(inner);
    let p: { pid: number; startTime: number } | undefined;
    assert.ok(await waitFor(() => !!(p = source!.snapshot().processes.find((q) => q.xid === xid && /^sleep 300/.test(q.cmdline))), 5000, 50));
    const stopId = nextId++;
    h.send(`${stopId} stop ${NAME}\n`);
    await sleep(100);
    const t0 = Date.now();
    assert.equal(await h.ask(`kill ${p!.pid} ${p!.startTime} SIGKILL`, 5000), `ok sent SIGKILL to PID ${p!.pid} (context ${xid})`);
    const killMs = Date.now() - t0;
    assert.ok(!h.lines.some((l) => l.startsWith(`${stopId} `)), 'the kill was answered before the stop');
    assert.ok(killMs < 1000, `the kill took ${killMs} ms`);
    assert.equal(await h.reply(stopId, 60_000), `ok stopped ${NAME} (context ${xid})`);
    assert.ok(await waitFor(() => serverContext() === null, 10_000, 50), 'the server is gone');
    assert.equal(await h.ask(`stop ${NAME}`, 60_000), `err server '${NAME}' is not running`);

    const log = logLines();
    assert.equal(logged(`start ${NAME}: ok, context ${xid}`).length, 1, log.join('\n'));
    assert.equal(logged(`start ${NAME}: failed: server '${NAME}' is already running`).length, 1, log.join('\n'));
    assert.equal(logged(`stop ${NAME}: ok, context ${xid}`).length, 1, log.join('\n'));
    assert.equal(logged(`stop ${NAME}: failed: server '${NAME}' is not running`).length, 1, log.join('\n'));
    assert.equal(logged(`enter ${NAME}: failed: server '${NAME}' is not running`).length, 1, log.join('\n'));
    assert.equal(logged(`enter ${NAME}: failed: enter needs a terminal on stdin`).length, 1, log.join('\n'));
    assert.equal(logged(`kill SIGKILL pid ${p!.pid} (start time ${p!.startTime}) in context ${xid}: ok`).length, 1, log.join('\n'));
    assert.deepEqual(helperChildren(), [], 'every command the helper ran has ended');
  });

  test('a server verb\'s answer comes from the command\'s status line (VCTX_STATUS_FD), never from its stderr', async () => {
    // a stand-in vserver command: the same words on stderr every time, the outcome on its status fd
    const fake = join(base, 'fake-vserver');
    const mode = join(base, 'fake-mode');
    writeFileSync(fake, `#!/bin/sh
echo "vserver: words on stderr mean nothing" >&2
case "$(cat ${mode})" in
error) printf '%s\\n' '{"exit":1,"error":"the status line: \\"quoted\\", caf\\u00e9 \\ud83d\\ude00","warnings":[]}' >&"$VCTX_STATUS_FD"; exit 1;;
warn) printf '%s\\n' '{"exit":0,"error":null,"warnings":["first warning","second"]}' >&"$VCTX_STATUS_FD"; exit 0;;
silent) exit 4;;
garbage) echo 'vserver: not JSON' >&"$VCTX_STATUS_FD"; exit 1;;
esac
`);
    chmodSync(fake, 0o755);
    const x = startHelper([fake]);
    await ready(x);
    try {
      writeFileSync(mode, 'error');
      assert.equal(await x.ask(`start ${NAME}`), 'err the status line: "quoted", café 😀');
      assert.equal(await x.ask(`enter ${NAME}`), `err enter ${NAME}: the status line: "quoted", café 😀`);
      writeFileSync(mode, 'warn');
      assert.equal(await x.ask(`restart ${NAME}`), `ok restarted ${NAME} (first warning)`);
      writeFileSync(mode, 'silent');
      assert.equal(await x.ask(`stop ${NAME}`), `err vserver ${NAME} stop exited with status 4`);
      writeFileSync(mode, 'garbage');
      assert.equal(await x.ask(`start ${NAME}`), `err vserver ${NAME} start exited with status 1`);
    } finally {
      x.socket.end();
      await x.exited;
    }
  });

  test('SIGINT is ignored, SIGHUP ends it', async () => {
    const x = startHelper();
    await ready(x);
    x.child.kill('SIGINT');
    assert.match(await x.ask('killctx 65535 SIGTERM'), /already gone/, 'still answering after SIGINT');
    x.child.kill('SIGHUP');
    assert.deepEqual(await x.exited, { code: 0, signal: null });
  });

  test('when its socket closes it exits after what is under way, killing nothing, leaving no process', async () => {
    // a running server stays running when the helper goes
    const x = startHelper();
    await ready(x);
    const started = await x.ask(`start ${NAME}`, 60_000);
    const xid = Number(new RegExp(`^ok started ${NAME} at context (\\d+)$`).exec(started)?.[1]);
    assert.ok(xid > 0, started);
    x.socket.end();
    assert.deepEqual(await x.exited, { code: 0, signal: null });
    assert.equal(serverContext(), xid, 'the server still runs');

    // a stop under way is finished before the helper exits
    const before = logged(`stop ${NAME}: ok`).length;
    h.send(`${nextId++} stop ${NAME}\n`);
    await sleep(200);
    h.socket.end();
    assert.deepEqual(await h.exited, { code: 0, signal: null });
    assert.equal(serverContext(), null, 'the stop was carried out before the helper exited');
    assert.equal(logged(`stop ${NAME}: ok`).length, before + 1);
    assert.deepEqual(helperChildren(), [], 'no process of the helper is left');
  });
});
