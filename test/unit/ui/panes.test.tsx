/**
 * vtop's new panes on the recorded demo session (issue 13): the meters in
 * the header (16 colours and NO_COLOR), the sparklines and memory against
 * its limit in the server list, the logs pane (live, scrollable, escaped),
 * and the key table's new entries in help and --readonly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import chalk from 'chalk';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import { staticDiskUse } from '../../../src/live/disk-use-cache.js';
import { staticHostProbe } from '../../../src/live/host-probe.js';
import { LogTail } from '../../../src/live/log-tail.js';
import { VtopFeed } from '../../../src/live/vtop-feed.js';
import { buildKeymap, helpSections } from '../../../src/ui/keys.js';
import { logLineText, logPane } from '../../../src/views/vtop-logs.js';
import type { HostInfo } from '../../../src/views/vtop-model.js';
import { DEMO, KEY, renderVtop, tick } from './harness.js';

chalk.level = 1;
const G = 1024 ** 3;
const COLOUR_SGR = /\x1b\[(?:[0-9;]*;)?(?:3[0-7]|4[0-7]|9[0-7]|10[0-7]|38|48)(?:;[0-9;]*)?m/;

/** the demo with its host's cores, cache and swap, a clock, and (optionally) where logs are */
async function feedWith(o: { logPath?: (name: string) => string | null; refreshes?: number; cpus?: number[] } = {}) {
  const fx = new FixtureSnapshotSource(DEMO);
  const x = fx.extras;
  let now = 1_000_000;
  const host: HostInfo = { ...(x.host as HostInfo), cpuPercents: o.cpus ?? [80, 35], memFree: 1 * G, swapTotal: 2 * G, swapFree: 1.5 * G };
  const feed = new VtopFeed({
    source: fx, host: staticHostProbe(host), configured: () => x.configured ?? [], diskUse: staticDiskUse(x.diskUse ?? {}),
    users: new Map(Object.entries(x.users ?? {}).map(([k, v]) => [Number(k), v])), now: () => (now += 2000), logPath: o.logPath,
  });
  for (let i = 0; i < (o.refreshes ?? 2); i++) await feed.refresh();
  return feed;
}

test('header: the CPU, memory and swap meters at 80 columns, a meter per core at 200; colours in 16, characters alone under NO_COLOR', async () => {
  const r = await renderVtop({ feed: await feedWith(), columns: 80, rows: 24 });
  assert.match(r.lines()[1]!, /^CPU\[\|+115\.0% of 200%\] Mem\[\|+1\.5G\/4G\] Swp\[\|+ +512M\/2G\]$/);
  assert.match(r.raw().split('\n')[1]!, /\x1b\[32m\|+/, 'the bars are coloured');
  r.unmount();
  const wide = await renderVtop({ feed: await feedWith(), columns: 200, rows: 50, colorMode: 'none' });
  const lines = wide.lines();
  assert.match(lines[1]!, /^0\[\|+ +80\.0%\] 1\[\|+ +35\.0%\]$/, 'one meter per core');
  assert.match(lines[2]!, /^Mem\[\|+:+ +1\.5G\/4G\] Swp\[\|+ +512M\/2G\]$/, 'used | then cache : without colour');
  assert.doesNotMatch(wide.raw(), COLOUR_SGR, 'no colour under NO_COLOR');
  assert.match(lines[3]!, /XID NAME/, 'the server list follows the meters');
  wide.unmount();
});

test('server list: a sparkline of the last minute and memory against its limit when wide; neither at 80 columns', async () => {
  const feed = await feedWith({ refreshes: 6 });
  const r = await renderVtop({ feed, columns: 200, rows: 50 });
  const t = r.text();
  assert.match(t, /MEM\/LIMIT +CPU, last minute/);
  // web: 100 % of one core in every interval, 2 s apart: 5 samples after the first, on a 200 % scale (two cores)
  const web = t.split('\n').find((l) => /^ +2 web /.test(l))!;
  assert.match(web, / 60M\/512M +[▁▂▃▄▅▆▇█]{5}$/, web);
  assert.match(t, /^ +49152 \(ctx 49152\) .* 1M\/- /m, 'no limit: -');
  assert.match(t, /^ +- mail +stopped +…\s*$/m, 'a stopped server has neither');
  r.unmount();
  const narrow = await renderVtop({ feed, columns: 80, rows: 24 });
  assert.doesNotMatch(narrow.text(), /MEM\/LIMIT|last minute|▄/);
  narrow.unmount();
});

test('logs pane (l): the console log of the selected server, following new lines, scrollable, every line escaped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vtop-logs-'));
  try {
    const file = join(dir, 'console.log');
    writeFileSync(file, Array.from({ length: 40 }, (_, i) => `boot line ${i + 1}\n`).join('') + 'evil \x1b[2J\x1b]0;owned\x07 name\ttab\r\n');
    const asked: string[] = [];
    const feed = await feedWith({ logPath: (n) => { asked.push(n); return n === 'web' ? file : null; } });
    const r = await renderVtop({ feed, columns: 100, rows: 30 });
    await r.press(KEY.down, 'l');
    let t = r.text();
    assert.deepEqual([...new Set(asked)], ['web'], 'the log of the selected server is asked for');
    assert.match(t, new RegExp(`web: console log ${file.replace(/[/.]/g, '\\$&')}, lines \\d+-41 of 41, following`));
    assert.match(t, /^evil \\x1b\[2J\\x1b\]0;owned\\x07 name {7}tab$/m, 'escape sequences shown escaped, tabs expanded, the CR dropped');
    assert.doesNotMatch(r.raw(), /\x1b\[2J|\x1b\]0;owned/, 'nothing from the log reaches the terminal raw');
    appendFileSync(file, 'a line written just now\n');
    await feed.refresh();
    await tick(30);
    t = r.text();
    assert.match(t, /^a line written just now$/m, 'a new line shows at the next refresh');
    assert.match(t, /of 42, following/);
    await r.press(KEY.home);
    t = r.text();
    assert.match(t, /lines 1-\d+ of 42;/, 'Home: the start, not following');
    assert.match(t, /^boot line 1$/m);
    await r.press(KEY.down);
    assert.match(r.text(), /^boot line 2$/m);
    await r.press(KEY.end);
    assert.match(r.text(), /of 42, following/);
    await r.press(KEY.esc);
    assert.doesNotMatch(r.text(), /console log/, 'Esc closes it');
    assert.match(r.text(), /web \(xid 2\): 5 processes/);
    // the host has no console log: said, not opened
    await r.press(KEY.home, 'l');
    assert.match(r.lines().at(-1)!, /root server is not a configured server: it has no console log/);
    r.unmount();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('log tail: a file replaced or cut short is read again; a server with no log yet says so', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vtop-tail-'));
  try {
    const file = join(dir, 'console.log');
    let path: string | null = null;
    const tail = new LogTail('web', () => path, 3);
    tail.poll();
    assert.equal(logPane(tail.view(), 'web', 5, 80, null).lines[0], 'web has no console log yet (it has not started here)');
    writeFileSync(file, 'one\ntwo\nthree\nfour\nfive');
    path = file;
    assert.equal(tail.poll(), true);
    assert.deepEqual(tail.view().lines, ['two', 'three', 'four', 'five'], 'the last 3 lines, and the one being written');
    assert.equal(tail.view().dropped, 1);
    assert.equal(tail.poll(), false, 'nothing new');
    writeFileSync(file, 'new boot\n');
    assert.equal(tail.poll(), true);
    assert.deepEqual(tail.view().lines, ['new boot'], 'cut short: read from its start');
    const unknown = new LogTail('nosuch', () => { throw new Error("unknown server 'nosuch'"); });
    unknown.poll();
    assert.match(logPane(unknown.view(), 'nosuch', 5, 80, null).lines[0]!, /cannot read it: unknown server 'nosuch'/);
    assert.equal(logLineText('\u202eevil\x00'), '\\u{202e}evil\\x00', 'the one escaper: bidi and NUL made visible');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the key table: the new keys are in help, and --readonly keeps search, tags and logs but no signal', () => {
  const all = helpSections(buildKeymap({})).flatMap((s) => s.entries.map((e) => `${e.keys} ${e.help}`));
  for (const want of ['/ search processes', 'n next search match', 'Space tag process, next row', 'U untag all',
    "l the server's console log", '\\ filter processes by text', '! next runaway process', 'k signal process(es): choose']) {
    assert.ok(all.includes(want), `help has '${want}'`);
  }
  const ro = buildKeymap({ readonly: true });
  for (const k of ['/', 'n', 'space', 'U', 'l', '\\']) assert.ok(ro.byKey.has(k), `read-only keeps ${k}`);
  for (const k of ['k', 'K']) assert.ok(!ro.byKey.has(k), `read-only has no ${k}`);
});
