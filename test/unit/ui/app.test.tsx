import { test } from 'node:test';
import assert from 'node:assert/strict';
import chalk from 'chalk';
import { buildKeymap, DEFAULT_BINDINGS, keyFor, lookup } from '../../../src/ui/keys.js';
import { EscapeCoalescingStdin, splitKeys } from '../../../src/ui/escape-coalescing-stdin.js';
import { renderOnce, onceJson } from '../../../src/ui/once.js';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import { staticHostProbe } from '../../../src/live/host-probe.js';
import { stepInterval, VtopFeed } from '../../../src/live/vtop-feed.js';
import { RecordingActions } from '../../../src/actions/vtop-port.js';
import { VtopApp } from '../../../src/ui/app.js';
import { DEMO, demoFeed, demoSnapshots, KEY, listSource, renderVtop, tick } from './harness.js';

chalk.level = 1; // as on a 16-colour terminal, so colour (or its absence) is visible in frames

const SGR = /\x1b\[[0-9;]*m/g;
const COLOUR_SGR = /\x1b\[(?:[0-9;]*;)?(?:3[0-7]|4[0-7]|9[0-7]|10[0-7]|38|48)(?:;[0-9;]*)?m/;

test('80x24: every view fits (no line wider than 80, at most 23 lines)', async () => {
  const r = await renderVtop({ columns: 80, rows: 24 });
  const check = (what: string) => {
    const lines = r.lines();
    assert.ok(lines.length <= 23, `${what}: ${lines.length} lines`);
    for (const l of lines) assert.ok([...l].length <= 80, `${what}: ${l.length} > 80: ${l}`);
  };
  check('main');
  assert.match(r.text(), /^vhost1 +up 3d01h23 +servers 3 running, 2 stopped/m, 'the top line drops the kernel and load first');
  assert.match(r.lines()[1]!, /^CPU\[\|+ *115\.0% of 200%\] Mem\[\|+ +1\.5G\/4G\] Swp\[ +0\/0\]$/, 'one CPU meter of all cores at 80 columns');
  assert.match(r.text(), /CPU% = % of one core over 2\.0s/);
  await r.press(KEY.down, 'd');
  check('detail');
  assert.match(r.text(), /caps kept \(11\)/);
  await r.press('d', '?');
  check('help');
  await r.press('x', 'k');
  check('confirm');
  r.unmount();
});

test('resize: adapts from 120x40 to 80x24 and 40x10', async () => {
  const r = await renderVtop({ columns: 120, rows: 40 });
  assert.match(r.text(), /VSZ/);
  for (const [c, rows] of [[80, 24], [40, 10]] as const) {
    r.stdout.resize(c, rows);
    await tick(30);
    const lines = r.lines();
    assert.ok(lines.length <= rows - 1, `${c}x${rows}: ${lines.length} lines`);
    for (const l of lines) assert.ok([...l].length <= c, `${c}x${rows}: ${l}`);
  }
  r.unmount();
});

test('help overlay is generated from the key table', async () => {
  const r = await renderVtop({ columns: 160, rows: 50 });
  await r.press('?');
  const t = r.text();
  for (const b of DEFAULT_BINDINGS) assert.ok(t.includes(b.help), `help lists '${b.help}'`);
  await r.press('q');
  assert.doesNotMatch(r.text(), /this help/, 'any key closes help (q does not quit from it)');
  r.unmount();
});

test('readonly: no action in help, and action keys do nothing', async () => {
  const r = await renderVtop({ readonly: true, columns: 160, rows: 50 });
  await r.press('?');
  for (const b of DEFAULT_BINDINGS.filter((x) => x.changes)) assert.ok(!r.text().includes(b.help), b.help);
  await r.press('x', KEY.down, KEY.tab, 'k', 'K', 'y', 's', 'S', 'r', 'e', 'x', 'X', 'y', KEY.enter);
  assert.equal(r.actions.calls.length, 0);
  assert.match(r.text(), /\[read-only: no actions\]/);
  r.unmount();
});

test('sorting: P puts the spinning process first, N back to PID order', async () => {
  const r = await renderVtop({ columns: 100, rows: 30 });
  await r.press(KEY.down, KEY.tab, 'P', 't');
  const rows = () => r.lines().filter((l) => /^\s*!?\s+\d+ +(\d+|-) /.test(l) && !/running|stopped|host/.test(l));
  assert.match(rows()[0]!, /2345 .*while :; do :; done/);
  await r.press('N');
  assert.match(rows()[0]!, /2301 /);
  await r.press('M');
  assert.match(rows()[0]!, /2310 /);
  r.unmount();
});

test('filtering: \\ narrows the tree, Esc clears', async () => {
  const r = await renderVtop({ columns: 100, rows: 30 });
  await r.press(KEY.down, '\\', 'h', 't', 't', 'p', 'd', KEY.enter);
  const t = r.text();
  assert.match(t, /filter "httpd"/);
  assert.match(t, /2310 /);
  assert.doesNotMatch(t, /while :; do/);
  await r.press(KEY.esc);
  await tick(150);
  assert.match(r.text(), /while :; do/);
  r.unmount();
});

test('confirm dialog defaults to Cancel; kill sends exactly {pid, startTime}', async () => {
  const r = await renderVtop({ columns: 100, rows: 30 });
  await r.press(KEY.down, KEY.tab, KEY.down, KEY.down, KEY.down, 'K');
  assert.match(r.text(), /Send SIGKILL to process 2345\?/);
  await r.press(KEY.enter);
  assert.equal(r.actions.calls.length, 0, 'Enter on the default button cancels');
  assert.match(r.text(), /cancelled/);
  await r.press('k', KEY.esc);
  await tick(150);
  assert.equal(r.actions.calls.length, 0, 'Esc cancels the chooser');
  await r.press('K', KEY.right, KEY.enter);
  assert.deepEqual(r.actions.calls, [{ type: 'kill', pid: 2345, startTime: 25_000_000, signal: 'SIGKILL' }]);
  await r.press('k', 'y');
  assert.deepEqual(r.actions.calls[1], { type: 'kill', pid: 2345, startTime: 25_000_000, signal: 'SIGTERM' });
  r.unmount();
});

test('signal chooser (k): SIGTERM preselected, one key sends it; the arrows choose another', async () => {
  const r = await renderVtop({ columns: 100, rows: 30 });
  await r.press(KEY.down, KEY.tab, KEY.down, KEY.down, KEY.down, 'k');
  const t = r.text();
  assert.match(t, /Send a signal to process 2345:/);
  assert.match(t, /PID 2345 \(40 inside\) in web \(xid 2\)/);
  assert.match(t, /^> 15 SIGTERM +terminate: ask to end\s*$/m, 'SIGTERM under the cursor');
  assert.match(t, /^ {3}1 SIGHUP /m);
  assert.match(t, /^ {2}10 SIGUSR1 +user-defined 1$/m);
  assert.match(r.raw(), /\x1b\[7m\x1b\[1m> 15 SIGTERM|\x1b\[1m\x1b\[7m> 15 SIGTERM/, 'the choice is inverse');
  await r.press(KEY.enter);
  assert.deepEqual(r.actions.calls, [{ type: 'kill', pid: 2345, startTime: 25_000_000, signal: 'SIGTERM' }], 'Enter sends SIGTERM');
  await r.press('k', KEY.up, KEY.up);
  assert.match(r.text(), /^> 10 SIGUSR1/m);
  await r.press(KEY.enter);
  assert.deepEqual(r.actions.calls[1], { type: 'kill', pid: 2345, startTime: 25_000_000, signal: 'SIGUSR1' });
  await r.press('k', KEY.down, 'n');
  await tick(100);
  assert.equal(r.actions.calls.length, 2, 'n cancels');
  r.unmount();
});

test('tagging: Space tags and moves down; k then Enter signals every tagged process in one request; U untags', async () => {
  const r = await renderVtop({ columns: 100, rows: 30 });
  await r.press(KEY.down, KEY.tab, KEY.down, KEY.down, ' ', ' ');
  let t = r.text();
  assert.match(t, /^\*\s+2311 .*\n\*\s+2345 /m, 'the tagged rows are marked *');
  assert.match(t, /2 tagged/, 'the title counts them');
  assert.match(r.raw(), /\x1b\[33m\*\s+2311|\x1b\[1m\x1b\[33m\*\s+2311/, 'and in the tag colour');
  await r.press(' ');
  await r.press(KEY.up, ' ');
  t = r.text();
  assert.match(t, /3 tagged|2 tagged/);
  await r.press('U');
  assert.doesNotMatch(r.text(), /^\*|\d tagged/m, 'U untags all');
  // tag two, then one chooser for both
  await r.press(KEY.home, KEY.down, ' ', KEY.down, KEY.down, ' ');
  const tagged = r.lines().filter((l) => /^\*/.test(l)).map((l) => Number(/^\*\s+(\d+)/.exec(l)![1]));
  assert.equal(tagged.length, 2, r.text());
  await r.press('k');
  assert.match(r.text(), /Send a signal to 2 tagged processes:/);
  await r.press(KEY.enter);
  await tick(50);
  // one confirm; the helper gets one kill per process, each by PID and start time
  assert.deepEqual(r.actions.calls.map((c) => (c.type === 'kill' ? [c.pid, c.signal] : c.type)).sort(), tagged.sort().map((p) => [p, 'SIGTERM']));
  assert.match(r.lines().at(-1)!, /sent SIGTERM to 2 processes/);
  assert.doesNotMatch(r.text(), /^\*/m, 'the tags go once sent');
  r.unmount();
});

test('search: / jumps to the first match as it is typed, n to the next, wrapping; the filter is untouched', async () => {
  const r = await renderVtop({ columns: 100, rows: 30 });
  await r.press(KEY.down, '/', 'h', 't', 't', 'p', 'd');
  assert.match(r.lines().at(-1)!, /\/ search: httpd█/);
  await r.press(KEY.enter);
  const sel = () => /\x1b\[7m[ !*]\s+(\d+)/.exec(r.raw())?.[1];
  const first = sel();
  assert.ok(first, 'a process is selected');
  assert.match(r.text(), new RegExp(`^\\s+${first} .*httpd`, 'm'));
  assert.match(r.text(), /while :; do/, 'search does not narrow the list');
  await r.press('n');
  const second = sel();
  assert.notEqual(second, first, 'n moves to the next match');
  assert.match(r.text(), new RegExp(`^\\s+${second} .*httpd`, 'm'));
  await r.press('n');
  await r.press('/', 'z', 'z', 'z', KEY.enter, 'n');
  assert.match(r.lines().at(-1)!, /no process matches "zzz"/);
  r.unmount();
});

test('server actions: stop/restart/start confirm, host is never mass-killed, backspace/esc/ctrl-b do nothing', async () => {
  const r = await renderVtop({ columns: 100, rows: 30 });
  await r.press('x');
  assert.match(r.text(), /refusing to signal every process of the host/);
  await r.press(KEY.backspace, KEY.esc, '\x02', '\x01', '\x0b');
  await tick(150);
  await r.press(KEY.down, 'S', 'y', 'r', 'y', 'X', 'y', 'e');
  await r.press(KEY.end, 's', 'y');
  assert.deepEqual(r.actions.calls, [
    { type: 'stop', name: 'web' }, { type: 'restart', name: 'web' }, { type: 'killContext', xid: 2, signal: 'SIGKILL' },
    { type: 'enter', name: 'web' }, { type: 'start', name: 'mail' },
  ]);
  r.unmount();
});

test('runaway: highlighted only after N hot intervals; ! jumps to it', async () => {
  const snaps = demoSnapshots();
  const feed = await demoFeed(2, listSource(snaps));
  const r = await renderVtop({ feed, columns: 100, rows: 30 });
  assert.doesNotMatch(r.text(), /^!/m, 'one hot interval is not a runaway');
  await feed.refresh();
  await feed.refresh(); // three hot intervals
  await tick(30);
  assert.match(r.text(), /^!\s+2 web/m, 'the server row is marked');
  await r.press('!');
  assert.match(r.text(), /runaway: PID 2345 burn in web/);
  assert.match(r.text(), /^!\s+2345 /m);
  assert.match(r.raw(), /\x1b\[7m!\s+2345/, 'selected (inverse)');
  r.unmount();
});

test('NO_COLOR mode has no colour escape; the 16-colour mode has colours', async () => {
  const mono = await renderVtop({ colorMode: 'none' });
  await mono.press(KEY.down, 'd');
  assert.doesNotMatch(mono.raw(), COLOUR_SGR);
  mono.unmount();
  const col = await renderVtop({ colorMode: '16' });
  assert.match(col.raw(), COLOUR_SGR);
  const codes = [...col.raw().matchAll(/\x1b\[([0-9;]*)m/g)].map((m) => m[1]!);
  assert.ok(codes.every((c) => !/38;|48;/.test(c)), '16 colours only');
  col.unmount();
});

test('control characters in process names never reach the terminal raw', async () => {
  const snaps = demoSnapshots().slice(0, 2).map((s) => ({
    ...s, processes: s.processes.map((p) => (p.pid === 3050 ? { ...p, comm: 'x\x1b[2J\x07', cmdline: 'evil \x1b]0;pwn\x07 \x9b31m \r\n' } : p)),
  }));
  const feed = await demoFeed(2, listSource(snaps));
  const r = await renderVtop({ feed, columns: 120, rows: 30 });
  await r.press(KEY.down, KEY.down, KEY.tab);
  const raw = r.raw().replace(SGR, '');
  assert.doesNotMatch(raw, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, 'only newlines and colour codes');
  assert.match(r.text(), /evil \\x1b\]0;pwn\\x07 \\u\{9b\}31m \\x0d\\x0a/);
  // the recorded fixture's already-escaped text stays as the scanner wrote it
  const once = renderOnce((await demoFeed(2)).getFrame()!, { width: 120 }).replace(SGR, '');
  assert.ok(once.includes('printf \\x1b]0;pwned\\x07\\x1b[2J \\x9b31m'));
  assert.doesNotMatch(once, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  r.unmount();
});

test('+/- change the interval (minimum 0.5 s); q quits', async () => {
  let quit = false;
  const r = await renderVtop({ props: { onQuit: () => { quit = true; } } });
  await r.press('-');
  assert.equal(r.feed.intervalMs, 3000);
  for (let i = 0; i < 6; i++) await r.press('+');
  assert.equal(r.feed.intervalMs, 500);
  await r.press('q');
  assert.equal(quit, true);
  r.unmount();
});

test('once: text shares the dashboard views; JSON carries the same figures', async () => {
  const f = (await demoFeed(2)).getFrame()!;
  const text = renderOnce(f, { width: 80 }).replace(SGR, '');
  for (const l of text.split('\n')) assert.ok([...l].length <= 80, l);
  assert.match(text, /XID NAME +STATE/);
  assert.match(text, /web \(xid 2\): 5 processes; CPU% = % of one core over 2\.0s/);
  const j = onceJson(f);
  assert.equal(j.cpuPercentOf, 'one core');
  const web = j.servers.find((s) => s.name === 'web')!;
  assert.equal(web.processList.find((p) => p.pid === 2345)!.cpuPercent, 99);
  assert.equal(j.servers.find((s) => s.name === 'mail')!.diskBytes, null);
});

test('escape sequences split over a slow link are reassembled; a lone Esc still arrives', async () => {
  const chunks: string[] = [];
  const inner = Object.assign(new (await import('node:events')).EventEmitter(), { isTTY: true, setRawMode() {}, ref() {}, unref() {} });
  const s = new EscapeCoalescingStdin(inner, 40);
  s.on('readable', () => { let c; while ((c = s.read()) !== null) chunks.push(c); });
  s.setRawMode(true);
  inner.emit('data', Buffer.from('\x1b'));
  await tick(20);
  inner.emit('data', Buffer.from('['));
  await tick(20);
  inner.emit('data', Buffer.from('Bk'));
  assert.deepEqual(chunks, ['\x1b[B', 'k']);
  inner.emit('data', Buffer.from('\x1b'));
  await tick(60);
  assert.deepEqual(chunks, ['\x1b[B', 'k', '\x1b']);
  s.setRawMode(false);
});

test('one read is split into keys; only a bracketed paste stays whole', () => {
  assert.deepEqual(splitKeys('jjk').keys, ['j', 'j', 'k']);
  assert.deepEqual(splitKeys('\x1b[Bk\x1bOA\x1b[5~\x1bx\x1b\x1b[A€😀\r').keys,
    ['\x1b[B', 'k', '\x1bOA', '\x1b[5~', '\x1bx', '\x1b\x1b[A', '€', '😀', '\r']);
  assert.deepEqual(splitKeys('\x1b[[A\x1b[1;5C').keys, ['\x1b[[A', '\x1b[1;5C']);
  assert.deepEqual(splitKeys('a\x1b[200~kill -9\r\x1b[201~b').keys, ['a', 'kill -9', 'b']);
  const open = splitKeys('q\x1b[200~kkk');
  assert.deepEqual([open.keys, open.rest, open.inPaste], [['q'], '\x1b[200~kkk', true]);
  const tail = splitKeys('j\x1b[1;');
  assert.deepEqual([tail.keys, tail.rest, tail.inPaste], [['j'], '\x1b[1;', false]);
});

test('a bracketed paste split over reads is one input, and never keys', async () => {
  const chunks: string[] = [];
  const inner = Object.assign(new (await import('node:events')).EventEmitter(), { isTTY: true, setRawMode() {}, ref() {}, unref() {} });
  const s = new EscapeCoalescingStdin(inner, 40);
  s.on('readable', () => { let c; while ((c = s.read()) !== null) chunks.push(c); });
  s.setRawMode(true);
  inner.emit('data', Buffer.from('j\x1b[200~kk'));
  await tick(60);
  assert.deepEqual(chunks, ['j'], 'an open paste waits for its end');
  inner.emit('data', Buffer.from('y\x1b[20'));
  inner.emit('data', Buffer.from('1~k'));
  assert.deepEqual(chunks, ['j', 'kky', 'k']);
  s.setRawMode(false);
});

// j/k as vi users bind them (k is kill by default)
const VI = { down: ['down', 'j'], up: ['up', 'k'], kill: 'z' };

test('keys arriving in one read: "jjk" moves down twice and up once', async () => {
  const stepped = async (...keys: string[]) => {
    const one = await renderVtop({ tty: true, overrides: VI, columns: 100, rows: 30 });
    await one.press(...keys);
    const t = one.text();
    one.unmount();
    return t;
  };
  const down1 = await stepped(KEY.down);
  const down3 = await stepped(KEY.down, KEY.down, KEY.down);
  assert.notEqual(down1, down3);
  const r = await renderVtop({ tty: true, overrides: VI, columns: 100, rows: 30 });
  await r.read('jjk');
  assert.equal(r.text(), down1, 'down, down, up: one row down');
  await r.read('jj');
  assert.equal(r.text(), down3, 'and two more');
  r.unmount();
});

test('an arrow sequence and a letter in one read are two keys', async () => {
  const r = await renderVtop({ tty: true, columns: 100, rows: 30 });
  await r.read(KEY.down + KEY.tab + KEY.down + KEY.down + KEY.down + 'k');
  assert.match(r.text(), /Send a signal to process 2345:/);
  await r.read(KEY.esc);
  await tick(80);
  await r.read(KEY.down + 'd');
  assert.match(r.text(), /caps kept/);
  r.unmount();
});

test('key overrides drive dispatch and help', async () => {
  const km = buildKeymap({ overrides: { kill: 'z' } });
  assert.equal(lookup(km, 'z'), 'kill', 'z kills');
  assert.equal(lookup(km, 'k'), undefined, 'k no longer does');
  assert.equal(keyFor(km, 'kill'), 'z');
  assert.equal(lookup(km, 'K'), 'killHard', 'the other bindings stay');
  const r = await renderVtop({ overrides: { kill: 'z' }, columns: 100, rows: 30 });
  await r.press(KEY.down, KEY.tab, 'k');
  assert.doesNotMatch(r.text(), /Send a signal/);
  await r.press('z');
  assert.match(r.text(), /Send a signal to process 2301:/);
  await r.press(KEY.esc);
  await tick(150);
  await r.press('?');
  assert.match(r.text(), /z +signal process\(es\): choose/);
  r.unmount();
});

test('a quick stat-only first snapshot: the first frame is partial (users and commands …), the full one follows at once', async () => {
  const snaps = demoSnapshots();
  const lite = { ...snaps[0]!, processes: snaps[0]!.processes.map((p) => ({ ...p, uid: 0, innerPid: null, cmdline: '' })) };
  const fx = new FixtureSnapshotSource(DEMO);
  const feed = new VtopFeed({
    source: listSource(snaps.slice(1)), quickFirst: () => lite, host: staticHostProbe(fx.extras.host),
    configured: () => fx.extras.configured ?? [], users: new Map([[0, 'root'], [33, 'www-data']]),
  });
  const first = await feed.refresh();
  assert.equal(first.partial, true);
  const r = await renderVtop({ feed, columns: 120, rows: 30 });
  await r.press(KEY.down, KEY.tab);
  assert.match(r.text(), /^\s+2301 +- +… +S .* init …\s*$/m, 'user and command not read yet');
  assert.doesNotMatch(r.text(), /\/sbin\/init/);
  await feed.refresh();
  await tick(30);
  assert.equal(feed.getFrame()!.partial, undefined);
  assert.match(r.text(), /^\s+2301 .* root +S .*\/sbin\/init/m);
  r.unmount();
  // started, the feed takes the full snapshot right after the partial frame, not an interval later
  const live = new VtopFeed({ source: listSource(snaps.slice(1)), quickFirst: () => lite, host: staticHostProbe(fx.extras.host),
    configured: () => [], intervalMs: 30_000 });
  live.start();
  await tick(50);
  live.stop();
  assert.equal(live.getFrame()!.seq, 2);
  assert.equal(live.getFrame()!.partial, undefined);
});

test('after a handover (enter), a new mount on the same terminal reads keys again', async () => {
  // the terminal as Node has it: a stream that stops reading when paused (as a tty.ReadStream does)
  const { PassThrough } = await import('node:stream');
  const raw: boolean[] = [];
  const term = Object.assign(new PassThrough(), { isTTY: true, ref() {}, unref() {}, setRawMode: (m: boolean) => raw.push(m) });
  const feed = await demoFeed();
  const mount = async () => {
    const stdout = new (await import('./harness.js')).FakeStdout(100, 30);
    const stdin = new EscapeCoalescingStdin(term, 40);
    let quit = false;
    const inst = (await import('ink')).render(
      <VtopApp store={feed} actions={new RecordingActions()} keymap={buildKeymap({})} stepInterval={stepInterval}
        onQuit={() => { quit = true; }} />,
      { stdout: stdout as unknown as NodeJS.WriteStream, stdin: stdin as unknown as NodeJS.ReadStream, debug: true, exitOnCtrlC: true, patchConsole: false },
    );
    await tick();
    const screen = () => [...stdout.frames].reverse().find((f) => f.includes('vhost1') || f.includes('this help')) ?? '';
    return { inst, screen, quit: () => quit };
  };
  const first = await mount();
  term.write('?');
  await tick(30);
  assert.match(first.screen(), /this help/, 'keys reach the first mount');
  // the shell takes the terminal: the UI unmounts (raw mode off, the stream stops reading)
  first.inst.unmount();
  first.inst.cleanup();
  assert.deepEqual(raw, [true, false], 'raw mode on for vtop, off for the shell');
  assert.equal(term.isPaused(), true, 'vtop does not read the terminal while the shell has it');
  // back: a fresh mount on the same terminal
  const second = await mount();
  assert.deepEqual(raw, [true, false, true], 'raw mode on again');
  term.write('?');
  await tick(30);
  assert.match(second.screen(), /this help/, 'keys reach the mount after the handover');
  term.write('x');
  await tick(30);
  term.write('q');
  await tick(30);
  assert.equal(second.quit(), true, 'q quits after the handover');
  second.inst.cleanup();
});
