/**
 * vtop end to end, as a user runs it: in tmux (120x40 and 80x24), as root,
 * against real servers this file builds (busybox template) and starts in
 * temporary VSERVER_CONFDIR / VSERVER_ROOTDIR / VSERVER_RUNDIR.
 *
 * - a process spinning the CPU inside a server is found and killed with one
 *   key (k and Enter in the signal chooser, K and confirm): gone from the
 *   kernel and from the screen;
 * - two spinning processes tagged (Space) are killed with one confirm;
 * - the signal chooser sends the signal chosen (SIGUSR1, which a process
 *   inside traps and reports); search (/) finds the process;
 * - the logs pane (l) shows a line the server has just written to its
 *   console;
 * - start (s) and stop (S) a server from the UI;
 * - enter (e) a server, run hostname, exit: the dashboard is back and reads
 *   keys (twice), the terminal raw for vtop, cooked for the shell and after;
 * - --once and --once --json list the server with its XID and IP;
 * - as nobody, vtop is read-only, says why, and lists each server once by
 *   its name (from the public index start and stop keep); a server killed
 *   with kill -9 shows as stopped;
 * - vtop itself runs in context 1 under a seccomp filter; its helper in
 *   context 0 without one, and goes away with vtop;
 * - every change is in the system log (a stand-in `logger` on PATH records
 *   the lines; this host may have no syslog daemon).
 *
 * Everything made here (tmux sessions on a private tmux server, contexts,
 * processes, directories) is removed at the end, also on failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from '../../src/actions/build.js';
import { startServer, stopServer } from '../../src/actions/lifecycle.js';
import { projectRoot, toolsDir } from '../../src/kernel-bridge/addon.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { readServerIndex } from '../../src/actions/server-index.js';
import { removeRoot } from '../helpers/busybox-root.js';
import { Tmux, type Session } from './tmux.js';
import { ensureVtopBundle, vtopBundle } from './vtop-bundle.js';
import { sleep, startTimeOf, waitFor } from '../helpers/kernel.js';

const isRoot = process.getuid?.() === 0;
const chcontext = join(toolsDir, 'chcontext');
const skipAll = !isRoot ? 'needs root (real contexts)' : !existsSync(chcontext) ? `${chcontext} is not built (make -C kernel)` : false;
if (skipAll) console.log(`# vtop e2e skipped: ${skipAll}`);

const tag = (process.pid % 1000).toString().padStart(3, '0');
const octet = 100 + (process.pid % 100);
const RUNNING = `e2e${tag}web`;
const STOPPED = `e2e${tag}off`;

const base = mkdtempSync(join(tmpdir(), 'vctx-vtop-e2e-'));
const paths = { confdir: join(base, 'etc'), rootdir: join(base, 'vservers'), rundir: join(base, 'run') };
const logFile = join(base, 'syslog.txt');
const fakeBin = join(base, 'bin');
const tmux = new Tmux();
const contexts = new Set<number>();
const children: ChildProcess[] = [];
const source = isRoot ? new NativeSnapshotSource() : null;
let server = { xid: 0, pid1: 0 };

// vtop as installed: the bundle (rebuilt in before() when a source is newer); the sources under tsx once, for --once --json
const vtopArgv = (...args: string[]) => [process.execPath, vtopBundle, ...args];
const vtopSourceArgv = (...args: string[]) => [process.execPath, '--import', 'tsx', join(projectRoot, 'src', 'cli', 'vtop.ts'), ...args];
const vtopEnv = () => ({
  VSERVER_CONFDIR: paths.confdir, VSERVER_ROOTDIR: paths.rootdir, VSERVER_RUNDIR: paths.rundir,
  PATH: `${fakeBin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, TERM: 'xterm-256color', LANG: 'C.UTF-8', HOME: '/root',
});

/** `yes > /dev/null` inside context xid; resolves with its PID and start time once it runs */
async function spinner(xid: number, not: readonly number[] = []): Promise<{ pid: number; startTime: number }> {
  const c = spawn(chcontext, ['--ctx', String(xid), '--', 'sh', '-c', 'yes > /dev/null'], { stdio: 'ignore' });
  children.push(c);
  for (let i = 0; i < 100; i++) {
    const p = source!.snapshot().processes.find((q) => q.xid === xid && /\byes\b/.test(q.cmdline) && q.state === 'R' && !not.includes(q.pid));
    if (p) return { pid: p.pid, startTime: p.startTime };
    await sleep(100);
  }
  throw new Error(`no spinning yes in context ${xid}`);
}

/** the PIDs of vtop's children (its helper) */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

/** the command line of pid, '' when it is gone (vtop's children come and go: vdu runs) */
function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return '';
  }
}

const cgroupOf = (pid: number) => readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? '';
const seccompOf = (pid: number) => /^Seccomp:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];

/** vtop in a fresh tmux session; resolves when the dashboard is drawn */
async function openVtop(name: string, cols: number, rows: number, args: string[] = ['--interval', '1']): Promise<Session> {
  const s = tmux.start({ name, cols, rows, argv: vtopArgv(...args), env: vtopEnv(), cwd: projectRoot });
  await s.waitFor(/root server/, 30_000, 'the server list');
  return s;
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

/** the system log lines written so far */
const logLines = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').split('\n').filter(Boolean) : []);

before(async () => {
  if (skipAll) return;
  ensureVtopBundle();
  for (const d of Object.values(paths)) mkdirSync(d, { recursive: true, mode: 0o755 });
  // as /etc/vservers and /run/vservers are: other users may look (tests run vtop as nobody)
  chmodSync(base, 0o711);
  mkdirSync(fakeBin);
  writeFileSync(join(fakeBin, 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${logFile}\n`);
  chmodSync(join(fakeBin, 'logger'), 0o755);
  await build(RUNNING, { template: 'busybox', ip: `127.0.77.${octet}`, hostname: `${RUNNING}.e2e` }, paths);
  await build(STOPPED, { template: 'busybox', ip: `127.0.78.${octet}`, hostname: `${STOPPED}.e2e` }, paths);
  // started as `vserver NAME start` does
  const st = await startServer(RUNNING, paths);
  server = { xid: st.xid, pid1: st.pid1 };
  contexts.add(st.xid);
});

after(async () => {
  tmux.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const n of [RUNNING, STOPPED]) await stopServer(n, paths, { timeoutSec: 2 }).catch(() => {});
  // whatever is left (servers started from the UI are found by name)
  if (source) {
    for (const c of source.snapshot().contexts) if (c.name === RUNNING || c.name === STOPPED) contexts.add(c.xid);
  }
  for (const xid of contexts) {
    try { killContext(xid, 'SIGKILL'); } catch { /* gone */ }
  }
  if (source) await waitFor(() => !source.snapshot().contexts.some((c) => contexts.has(c.xid)), 10_000, 50);
  for (const n of [RUNNING, STOPPED]) {
    if (existsSync(join(paths.rootdir, n))) await removeRoot(join(paths.rootdir, n)).catch(() => {});
  }
  rmSync(base, { recursive: true, force: true });
});

describe('vtop against real servers', { skip: skipAll }, () => {
  for (const [cols, rows, key, signal] of [[120, 40, 'k', 'SIGTERM'], [80, 24, 'K', 'SIGKILL']] as const) {
    test(`${cols}x${rows}: a spinning process is killed with one key (${key}) and is gone from the kernel and the screen`, async () => {
      const spin = await spinner(server.xid);
      const s = await openVtop(`vtop-kill-${tag}-${cols}`, cols, rows);
      await selectServer(s, RUNNING);
      // the processes of the server, as a flat list by CPU: the spinner on top
      // one key at a time, each waiting for its effect (keys that arrive together count as a paste: ignored)
      await s.keys('Right', 't');
      await s.waitFor(/processes, list, by PID/, 10_000, 'the flat list');
      await s.keys('P');
      const top = await s.waitFor((scr) => {
        const lines = scr.split('\n');
        const h = lines.findIndex((l) => /^\s+PID\s+INNER/.test(l));
        return h >= 0 && new RegExp(`^\\S?\\s*${spin.pid}\\s`).test(lines[h + 1] ?? '');
      }, 15_000, `PID ${spin.pid} on top of the CPU-sorted list`);
      assert.match(top, /list, by CPU%/);
      await s.keys(key);
      if (key === 'k') {
        // the signal chooser: SIGTERM under the cursor, Enter sends it
        const chooser = await s.waitFor(new RegExp(`Send a signal to process ${spin.pid}:`), 5000, 'the signal chooser');
        assert.match(chooser, /^> 15 SIGTERM/m, 'SIGTERM preselected');
        assert.equal(startTimeOf(spin.pid), spin.startTime, 'nothing was sent before the choice');
        await s.keys('Enter');
      } else {
        const dialog = await s.waitFor(new RegExp(`Send ${signal} to process ${spin.pid}\\?`), 5000, 'the confirm dialog');
        assert.match(dialog, /Cancel/, 'the dialog offers Cancel (the default)');
        assert.equal(startTimeOf(spin.pid), spin.startTime, 'nothing was sent before the confirmation');
        await s.keys('y');
      }
      assert.ok(await waitFor(() => startTimeOf(spin.pid) !== spin.startTime, 5000, 50), `PID ${spin.pid} is gone from the kernel`);
      const after = await s.waitFor(new RegExp(`sent ${signal} to PID ${spin.pid} \\(context ${server.xid}\\)`), 5000, 'the status line');
      await s.waitFor((scr) => !new RegExp(`^\\S?\\s*${spin.pid}\\s`, 'm').test(scr), 5000, `PID ${spin.pid} gone from the screen`);
      assert.match(after.split('\n')[0]!, /every 1\.0s/, 'the frame fits the terminal: the header is still on the first line');
      assert.ok(logLines().some((l) => l.includes(`via vtop: kill ${signal} pid ${spin.pid}`) && l.includes(`context ${server.xid}`) && l.includes(': ok')),
        `the system log has the kill: ${logLines().join(' | ')}`);
      await s.keys('q');
      tmux.kill(s.name);
    });
  }

  test('tagging: two spinning processes tagged with Space are killed with one confirm, both gone from the kernel', async () => {
    const one = await spinner(server.xid);
    const spins = [one, await spinner(server.xid, [one.pid])];
    const s = await openVtop(`vtop-tag-${tag}`, 120, 40);
    await selectServer(s, RUNNING);
    await s.keys('Right', 't');
    await s.waitFor(/processes, list, by PID/, 10_000, 'the flat list');
    await s.keys('P');
    // both spinners on the first two rows of the CPU-sorted list
    await s.waitFor((scr) => {
      const lines = scr.split('\n');
      const h = lines.findIndex((l) => /^\s+PID\s+INNER/.test(l));
      const top = [lines[h + 1] ?? '', lines[h + 2] ?? ''].map((l) => Number(/^\S?\s*(\d+)\s/.exec(l)?.[1]));
      return h >= 0 && spins.every((p) => top.includes(p.pid));
    }, 15_000, 'both spinners on top');
    await s.keys('Home', 'Space');
    await s.waitFor(/1 tagged/, 5000, 'one tagged');
    await s.keys('Space');
    const tagged = await s.waitFor(/2 tagged/, 5000, 'two tagged');
    const marked = tagged.split('\n').filter((l) => /^\*\s+\d+ /.test(l)).map((l) => Number(/^\*\s+(\d+)/.exec(l)![1]));
    assert.deepEqual(marked.sort(), spins.map((p) => p.pid).sort(), `the two spinners are marked *:\n${tagged}`);
    await s.keys('k');
    await s.waitFor(/Send a signal to 2 tagged processes:/, 5000, 'one chooser for both');
    for (const p of spins) assert.equal(startTimeOf(p.pid), p.startTime, 'nothing sent yet');
    await s.keys('Enter');
    for (const p of spins) {
      assert.ok(await waitFor(() => startTimeOf(p.pid) !== p.startTime, 5000, 50), `PID ${p.pid} is gone from the kernel`);
    }
    await s.waitFor(/sent SIGTERM to 2 processes/, 5000, 'the status line');
    for (const p of spins) {
      assert.ok(logLines().some((l) => l.includes(`via vtop: kill SIGTERM pid ${p.pid}`) && l.includes(': ok')), `the system log has PID ${p.pid}`);
    }
    await s.keys('q');
    tmux.kill(s.name);
  });

  test('the signal chooser sends the signal chosen: a process that traps SIGUSR1 reports it; / finds the process', async () => {
    // inside the server: a shell that says so on its stdout (a pipe to this test) when SIGUSR1 comes
    const c = spawn(chcontext, ['--ctx', String(server.xid), '--', 'sh', '-c', 'trap "echo got-usr1" USR1; echo ready; while :; do sleep 1; done', 'usr1trap'],
      { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(c);
    let out = '';
    c.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
    assert.ok(await waitFor(() => out.includes('ready'), 10_000, 50), 'the trapping shell runs');
    const trap = source!.snapshot().processes.find((q) => q.xid === server.xid && q.cmdline.includes('got-usr1'))!;
    assert.ok(trap, 'found in the kernel');
    const s = await openVtop(`vtop-sig-${tag}`, 120, 40);
    await selectServer(s, RUNNING);
    await s.keys('Right', 't');
    await s.waitFor(/processes, list, by PID/, 10_000, 'the flat list');
    await s.keys('/');
    await s.waitFor(/\/ search: /, 5000, 'the search prompt');
    s.type('got-usr1');
    await s.waitFor(/\/ search: got-usr1/, 5000, 'the search text');
    await s.keys('Enter');
    await s.keys('k');
    await s.waitFor(new RegExp(`Send a signal to process ${trap.pid}:`), 5000, 'the chooser for the process found');
    // from SIGTERM up to SIGUSR1 (the table's order: ... SIGUSR1 SIGUSR2 SIGTERM)
    await s.keys('Up');
    await s.waitFor(/^> 12 SIGUSR2/m, 5000, 'SIGUSR2 under the cursor');
    await s.keys('Up');
    await s.waitFor(/^> 10 SIGUSR1/m, 5000, 'SIGUSR1 under the cursor');
    assert.equal(out.includes('got-usr1'), false, 'nothing sent yet');
    await s.keys('Enter');
    assert.ok(await waitFor(() => out.includes('got-usr1'), 5000, 50), `the process trapped SIGUSR1: ${out}`);
    assert.equal(startTimeOf(trap.pid), trap.startTime, 'and lives on');
    await s.waitFor(new RegExp(`sent SIGUSR1 to PID ${trap.pid}`), 5000, 'the status line');
    assert.ok(logLines().some((l) => l.includes(`via vtop: kill SIGUSR1 pid ${trap.pid}`)), 'the system log has it');
    await s.keys('q');
    tmux.kill(s.name);
    c.kill('SIGKILL');
  });

  test('l shows the selected server\'s console log, with a line the server has just written', async () => {
    const s = await openVtop(`vtop-log-${tag}`, 120, 40);
    await selectServer(s, RUNNING);
    await s.keys('l');
    await s.waitFor(new RegExp(`${RUNNING}: console log .*console\\.log`), 10_000, 'the logs pane');
    const mark = `hello-from-inside-${tag}-${Date.now() % 100000}`;
    // written inside the server, to its console (its init's output)
    const w = spawnSync(chcontext, ['--ctx', String(server.xid), '--', 'sh', '-c', `echo ${mark} > /dev/console`], { encoding: 'utf8' });
    assert.equal(w.status, 0, w.stderr);
    const shown = await s.waitFor(new RegExp(`^${mark}$`, 'm'), 10_000, 'the line in the pane');
    assert.match(shown, /following/);
    await s.keys('Escape');
    await s.waitFor((scr) => !/console log/.test(scr), 5000, 'the pane closes');
    await s.keys('q');
    tmux.kill(s.name);
  });

  test('vtop runs in context 1 under seccomp, its helper in context 0; the helper goes when vtop quits', async () => {
    const s = await openVtop(`vtop-conf-${tag}`, 120, 40);
    const pid = s.pid();
    assert.equal(cgroupOf(pid), '/vctx/1', 'vtop is in the spectator context');
    assert.equal(seccompOf(pid), '2', 'vtop has a seccomp filter');
    const helpers = childrenOf(pid).filter((c) => cmdlineOf(c).includes('vtop-helper'));
    assert.equal(helpers.length, 1, 'one privileged helper');
    const helper = helpers[0]!;
    assert.notEqual(cgroupOf(helper), '/vctx/1', 'the helper stays in context 0');
    assert.equal(seccompOf(helper), '0', 'the helper has no filter');
    const rssKiB = Number(/^VmRSS:\s*(\d+)/m.exec(readFileSync(`/proc/${helper}/status`, 'utf8'))?.[1]);
    assert.ok(rssKiB < 8 * 1024, `the helper is small (RSS ${rssKiB} KiB)`);
    // the spectator cannot signal: vtop's confinement (Seccomp 2 above) is the bridge's spectate(), which a
    // node process here takes the same way vtop does; under it, a kill(2) of vtop's own helper is refused
    const spectator = [
      `import { spectate } from ${JSON.stringify(join(projectRoot, 'src', 'kernel-bridge', 'context.ts'))};`,
      `spectate();`,
      `try { process.kill(${helper}, 'SIGTERM'); console.log('sent'); } catch (e) { console.log(e.code); }`,
    ].join('\n');
    const k = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', spectator], { encoding: 'utf8', cwd: projectRoot });
    assert.equal(k.stdout, 'EPERM\n', `a kill of the helper from under vtop's filter fails: ${k.stdout}${k.stderr}`);
    assert.ok(existsSync(`/proc/${helper}`), 'the helper lives');
    assert.ok(!s.dead(), 'vtop lives');
    await s.keys('q');
    assert.ok(await waitFor(() => s.dead(), 10_000, 50), 'vtop quit');
    assert.ok(await waitFor(() => !existsSync(`/proc/${helper}`), 5000, 50), 'the helper exited with vtop');
    tmux.kill(s.name);
  });

  test('a process of the spectator context cannot signal anything outside itself', () => {
    // what vtop's filter means, through the same tool: chcontext --ctx 1 runs CMD as a spectator
    const victim = spawn('sleep', ['300'], { stdio: 'ignore' });
    children.push(victim);
    const r = spawnSync(chcontext, ['--ctx', '1', '--', 'kill', '-TERM', String(victim.pid)], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, 'kill from context 1 fails');
    assert.equal(startTimeOf(victim.pid!) !== 0, true, 'the victim lives');
    victim.kill('SIGKILL');
  });

  test('e enters the server: hostname inside, exit, and the dashboard is back and reads keys; twice', async () => {
    // vtop under sh, which shows the terminal's modes once vtop is gone
    const s = tmux.start({
      name: `vtop-enter-${tag}`, cols: 120, rows: 40, env: vtopEnv(), cwd: projectRoot,
      argv: ['sh', '-c', '"$@"; echo "vtop exited with $?"; stty -a; exec sleep 600', 'sh', ...vtopArgv('--interval', '1')],
    });
    await s.waitFor(/root server/, 30_000, 'the server list');
    const tty = s.tty();
    // the terminal's line discipline as stty reports it: vtop's raw mode, or a shell's cooked one
    const modes = () => {
      const r = spawnSync('stty', ['-F', tty, '-a'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return { icanon: /(^|\s)icanon\b/.test(r.stdout), echo: /(^|\s)echo\b/.test(r.stdout) };
    };
    assert.deepEqual(modes(), { icanon: false, echo: false }, 'vtop reads the terminal raw');
    await selectServer(s, RUNNING);
    for (const round of [1, 2]) {
      await s.keys('e');
      await s.waitFor((scr) => !/XID NAME/.test(scr) && /[#$] ?$/m.test(scr), 15_000, 'a shell prompt');
      s.type(`hostname; stty -a | grep -o -- '-*icanon' ; echo marker-$((6*${round}))\n`);
      const inside = await s.waitFor(new RegExp(`marker-${6 * round}\\b`), 10_000, 'the shell output');
      assert.match(inside, new RegExp(`^${RUNNING}\\.e2e\\s*$`, 'm'), 'hostname inside is the server\'s');
      assert.match(inside, /^icanon\s*$/m, 'the shell has a cooked terminal');
      s.type('exit\n');
      const back = await s.waitFor(/root server/, 15_000, 'the dashboard again');
      assert.doesNotMatch(back, /marker-/, 'the shell output is gone');
      assert.equal(selectedServer(back)?.[1], RUNNING, 'the selection is restored');
      assert.match(back, new RegExp(`back from ${RUNNING}`), 'the status line says where vtop came back from');
      assert.deepEqual(modes(), { icanon: false, echo: false }, `round ${round}: raw again for vtop`);
      // the keyboard works: ? opens the help, any key closes it, d opens the details of the selected server
      await s.keys('?');
      await s.waitFor(/Any key closes|any other key closes/, 5000, `round ${round}: ? opens the help after enter`);
      await s.keys('x');
      await s.waitFor(/root server/, 5000, `round ${round}: a key closes the help`);
      await s.keys('d');
      await s.waitFor(/caps kept/, 5000, `round ${round}: d opens the details`);
      await s.keys('Escape');
      await s.waitFor((scr) => !/caps kept/.test(scr), 5000, `round ${round}: Esc closes the details`);
    }
    assert.equal(logLines().filter((l) => l.includes(`via vtop: enter ${RUNNING}: ok`)).length, 2, 'the system log has both enters');
    // Ctrl-C quits as q does, and the terminal is the shell's again (cooked, echoing)
    await s.keys('C-c');
    const after = await s.waitFor(/vtop exited with \d+/, 10_000, 'Ctrl-C quits vtop after enter');
    assert.match(after, /vtop exited with 0/);
    assert.match(after, /(^|\s)icanon\s/m, 'the terminal is cooked again after vtop');
    assert.match(after, /(^|\s)echo\s/m, 'and echoes again');
    tmux.kill(s.name);
  });

  test('s starts and S stops a server from the UI', async () => {
    const s = await openVtop(`vtop-life-${tag}`, 120, 40);
    await selectServer(s, STOPPED);
    await s.keys('s');
    await s.waitFor(new RegExp(`Start server ${STOPPED}\\?`), 5000, 'the start dialog');
    await s.keys('y');
    const started = await s.waitFor(new RegExp(`started ${STOPPED} at context (\\d+)`), 60_000, 'started');
    const xid = Number(new RegExp(`started ${STOPPED} at context (\\d+)`).exec(started)![1]);
    contexts.add(xid);
    assert.ok(source!.snapshot().contexts.some((c) => c.xid === xid && c.name === STOPPED), 'the kernel has the context');
    assert.deepEqual(readServerIndex(paths.rundir).filter((e) => e.name === STOPPED).map((e) => [e.xid, e.ip]),
      [[xid, `127.0.78.${octet}`]], 'start published it for other users');
    await s.waitFor((scr) => selectedServer(scr)?.[2] === String(xid), 10_000, 'the row running');
    await s.keys('S');
    await s.waitFor(new RegExp(`Stop server ${STOPPED} \\(xid ${xid}\\)\\?`), 5000, 'the stop dialog');
    await s.keys('y');
    await s.waitFor(new RegExp(`stopped ${STOPPED}`), 60_000, 'stopped');
    assert.ok(await waitFor(() => !source!.snapshot().contexts.some((c) => c.xid === xid), 10_000, 50), 'the context is gone');
    assert.ok(!readServerIndex(paths.rundir).some((e) => e.name === STOPPED), 'stop took it out of the public index');
    const log = logLines();
    assert.ok(log.some((l) => l.includes(`via vtop: start ${STOPPED}: ok`)), 'start logged');
    assert.ok(log.some((l) => l.includes(`via vtop: stop ${STOPPED}: ok`)), 'stop logged');
    await s.keys('q');
    tmux.kill(s.name);
  });

  for (const [how, argv] of [['the bundle', vtopArgv], ['the sources', vtopSourceArgv]] as const) test(`--once and --once --json list the server with its XID and IP (${how})`, () => {
    const env = { ...process.env, ...vtopEnv(), COLUMNS: '160' };
    // every process of the host is in the JSON: over spawnSync's default 1 MiB with a few thousand
    const opts = { encoding: 'utf8' as const, env, cwd: projectRoot, timeout: 30_000, maxBuffer: 256 * 1024 * 1024 };
    const text = spawnSync(argv('--once')[0]!, argv('--once').slice(1), opts);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^\\S?\\s*${server.xid} ${RUNNING}\\s.*\\s127\\.0\\.77\\.${octet}\\b`, 'm'));
    const js = spawnSync(argv('--once', '--json')[0]!, argv('--once', '--json').slice(1), opts);
    assert.equal(js.status, 0, js.stderr);
    const data = JSON.parse(js.stdout) as { live: boolean; servers: { xid: number | null; name: string; ip: string | null; state: string; processes: number }[] };
    assert.equal(data.live, true);
    const row = data.servers.find((x) => x.name === RUNNING);
    assert.ok(row, `${RUNNING} in the JSON`);
    assert.equal(row.xid, server.xid);
    assert.equal(row.ip, `127.0.77.${octet}`);
    assert.equal(row.state, 'running');
    assert.ok(row.processes >= 2);
    const off = data.servers.find((x) => x.name === STOPPED);
    assert.equal(off?.state, 'stopped', 'a configured, stopped server is listed too');
  });

  test('as nobody, vtop is read-only, says why, and lists each server once by name with no action to offer', async () => {
    const s = tmux.start({
      name: `vtop-nobody-${tag}`, cols: 120, rows: 40, cwd: projectRoot, env: vtopEnv(),
      argv: ['runuser', '-u', 'nobody', '--', 'env', `PATH=${vtopEnv().PATH}`, ...vtopArgv('--interval', '1')],
    });
    const scr = await s.waitFor(new RegExp(`${RUNNING} +running`), 30_000, 'the running server by name');
    assert.match(scr.split('\n')[0]!, /\[read-only: not run as root\]/, 'the header says read-only, and why');
    const lines = scr.split('\n');
    const rows = (re: RegExp) => lines.filter((l) => re.test(l));
    assert.deepEqual(rows(new RegExp(`\\b${RUNNING}\\b`)).filter((l) => !/processes/.test(l)).length, 1, `${RUNNING} once:\n${scr}`);
    assert.match(rows(new RegExp(`\\b${RUNNING}\\b`))[0]!, new RegExp(`^\\s*${server.xid} ${RUNNING} +running .*127\\.0\\.77\\.${octet}\\b`));
    assert.deepEqual(rows(new RegExp(`\\(ctx ${server.xid}\\)`)), [], 'never also as an anonymous context');
    assert.deepEqual(rows(new RegExp(`\\b${STOPPED}\\b`)).map((l) => /stopped/.test(l)), [true], `${STOPPED} once, stopped`);
    const hints = lines.filter((l) => l.trim()).at(-1)!;
    assert.match(hints, /\? help/);
    assert.doesNotMatch(hints, /kill|start|stop|restart/, 'no action in the key hints');
    // the details offer nothing either
    await selectServer(s, STOPPED);
    await s.keys('d');
    const det = await s.waitFor(new RegExp(`${STOPPED} +stopped\\s*$`, 'm'), 5000, 'the details of the stopped server');
    assert.match(det, /not running/);
    assert.doesNotMatch(det, /start it|start key/, 'no hint to start it');
    await s.keys('Escape');
    const spin = await spinner(server.xid);
    await s.keys('Right', 'k', 'K', 'x', 's', 'S', 'r', 'e');
    await sleep(500);
    assert.doesNotMatch(s.capture(), /Send SIG|Start server|Stop server|Restart server/, 'no changing key opens a dialog');
    const vtop = childrenOf(s.pid()); // runuser's child
    assert.equal(vtop.length, 1);
    assert.deepEqual(childrenOf(vtop[0]!).filter((c) => cmdlineOf(c).includes('vtop-helper')), [], 'no helper');
    assert.equal(startTimeOf(spin.pid), spin.startTime, 'nothing was signalled');
    await s.keys('q');
    tmux.kill(s.name);
  });

  test('a server killed with kill -9 is shown stopped to other users, never running; its next command drops the stale entry', async () => {
    const st = await startServer(STOPPED, paths);
    contexts.add(st.xid);
    assert.ok(readServerIndex(paths.rundir).some((e) => e.name === STOPPED && e.xid === st.xid));
    const asNobody = () => {
      const r = spawnSync('runuser', ['-u', 'nobody', '--', ...vtopArgv('--once', '--json')], {
        encoding: 'utf8', cwd: projectRoot, env: { ...process.env, ...vtopEnv() }, timeout: 30_000, maxBuffer: 256 * 1024 * 1024,
      });
      assert.equal(r.status, 0, r.stderr);
      return (JSON.parse(r.stdout) as { servers: { xid: number | null; name: string; label: string; state: string }[] }).servers;
    };
    assert.deepEqual(asNobody().filter((x) => x.name === STOPPED || x.xid === st.xid).map((x) => [x.name, x.state, x.xid]),
      [[STOPPED, 'running', st.xid]], 'running, once, by name');
    killContext(st.xid, 'SIGKILL');
    assert.ok(await waitFor(() => !source!.snapshot().contexts.some((c) => c.xid === st.xid && c.nprocs > 0), 10_000, 50), 'the server is dead');
    assert.ok(readServerIndex(paths.rundir).some((e) => e.name === STOPPED), 'its entry is still there (nobody removed it)');
    assert.deepEqual(asNobody().filter((x) => x.name === STOPPED || x.xid === st.xid).map((x) => [x.name, x.state]),
      [[STOPPED, 'stopped']], 'other users see it stopped');
    await stopServer(STOPPED, paths, { timeoutSec: 2 }).catch(() => {});
    assert.ok(!readServerIndex(paths.rundir).some((e) => e.name === STOPPED), 'the next command on the server dropped the stale entry');
  });
});
