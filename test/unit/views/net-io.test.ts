/**
 * Per-server network and disk I/O (issue 13) on the demo recording: the
 * server list's NET IN/OUT and IO R/W columns, the detail pane's lines, and
 * `vtop --once --json`'s fields.  web counts its traffic and sums its I/O
 * over its processes, db reads its cgroup's io.stat, the anonymous context
 * 49152 has no network lock (not counted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import { detailLines } from '../../../src/views/vtop-detail.js';
import { frameToJson } from '../../../src/views/vtop-json.js';
import { buildServerRows, formatBytePair, formatServerLine, serverColumns } from '../../../src/views/vtop-servers.js';
import { DEMO, demoFeed, listSource, renderVtop, tick } from '../ui/harness.js';

const rowsOf = async (refreshes = 2) => {
  const f = (await demoFeed(refreshes)).getFrame()!;
  return { f, rows: buildServerRows(f, new Set()) };
};

test('server rows carry each context\'s network and disk I/O figures; the host and stopped servers none', async () => {
  const { rows } = await rowsOf(2);
  const by = (k: string) => rows.find((r) => r.key === k)!;
  // the second refresh shows snapshot 1
  assert.deepEqual(by('x:2').net, { inBytes: 5_000_000 + 1_048_576, outBytes: 80_000_000 + 12_582_912, inPackets: 9_800, outPackets: 69_000 });
  assert.deepEqual(by('x:2').io, { readBytes: 2_097_152, writeBytes: 10_485_760 + 65_536, source: 'live processes' });
  assert.equal(by('x:3').io!.source, 'io.stat');
  assert.equal(by('x:49152').net, null, 'no network lock: not counted');
  assert.deepEqual(by('x:49152').io, { readBytes: 0, writeBytes: 0, source: 'live processes' });
  for (const k of ['x:0', 'n:mail']) assert.deepEqual([by(k).net, by(k).io], [null, null], k);
});

test('the list: 80 columns as before; NET IN/OUT from 92 columns, IO R/W from 104; every line exactly the width of its columns', async () => {
  const ids = (w: number) => serverColumns(w).map((c) => c.id);
  assert.deepEqual(ids(80), ['mark', 'xid', 'name', 'state', 'proc', 'cpu', 'rss', 'uptime', 'ip', 'disk']);
  assert.deepEqual(ids(92).filter((i) => i === 'net' || i === 'io'), ['net']);
  assert.deepEqual(ids(104).filter((i) => i === 'net' || i === 'io' || i === 'vsz'), ['net', 'io']);
  assert.ok(ids(120).includes('vsz'));
  const { rows } = await rowsOf(2);
  const cols = serverColumns(120);
  const line = (k: string) => formatServerLine(rows.find((r) => r.key === k)!, cols);
  for (const r of rows) assert.equal([...formatServerLine(r, cols)].length, cols.reduce((s, c) => s + c.at + 1, -1));
  assert.match(line('x:2'), / 5\.7M\/88\.2M +2M\/10M$/, 'web: in/out, then read/written');
  assert.match(line('x:49152'), / +- +0\/0$/, 'not counted: -');
  assert.doesNotMatch(line('n:mail'), /[-\/]\d|\d\//, 'stopped: blank');
});

test('formatBytePair: formatMemory\'s units, tenths dropped when both do not fit the column', () => {
  assert.equal(formatBytePair(1_048_576, 1_258_291), '1M/1.1M', 'tenths truncated, as vserver-stat');
  assert.equal(formatBytePair(0, 286), '0/286');
  assert.equal(formatBytePair(1_023_900, 1_023_900), '999.8K/999.8K'.replace(/\.\d/g, ''));
  assert.ok(formatBytePair(1_023_900, 1_023_900).length <= 11);
});

test('detail pane: bytes and packets in and out, disk I/O read and written with where it comes from', async () => {
  const { rows } = await rowsOf(2);
  const text = (k: string) => detailLines(rows.find((r) => r.key === k)!, 100, '/etc/vservers').map((l) => l.text).join('\n');
  assert.match(text('x:2'), /network +in 5\.7M \(9800 packets\) +out 88\.2M \(69000 packets\)/);
  assert.match(text('x:2'), /disk io +read 2M +written 10M +\[live processes only: \/proc\/PID\/io\]/);
  assert.match(text('x:3'), /disk io .*\[io\.stat\]/);
  assert.match(text('x:49152'), /network +not counted \(no network lock, or not readable: it needs root\)/);
  for (const l of detailLines(rows.find((r) => r.key === 'x:2')!, 40, '/etc/vservers')) assert.ok([...l.text].length <= 40, l.text);
});

test('--once --json: netIn/Out bytes and packets, ioRead/Write bytes and ioSource; null where not counted or not running', async () => {
  const { f, rows } = await rowsOf(2);
  const j = frameToJson(f, rows, () => []);
  const s = (n: number | null) => j.servers.find((x) => x.xid === n)!;
  const pick = (x: ReturnType<typeof s>) => [x.netInBytes, x.netOutBytes, x.netInPackets, x.netOutPackets, x.ioReadBytes, x.ioWriteBytes, x.ioSource];
  assert.deepEqual(pick(s(2)), [6_048_576, 92_582_912, 9_800, 69_000, 2_097_152, 10_551_296, 'live processes']);
  assert.equal(s(3).ioSource, 'io.stat');
  assert.deepEqual(pick(s(49152)), [null, null, null, null, 0, 0, 'live processes']);
  assert.deepEqual(pick(s(0)), [null, null, null, null, null, null, null]);
  assert.deepEqual(pick(j.servers.find((x) => x.name === 'mail')!), [null, null, null, null, null, null, null]);
});

test('recordings made before the counters (no net or io fields) still replay: the figures are null', async () => {
  const demo = JSON.parse(readFileSync(DEMO, 'utf8')) as { snapshots: Record<string, unknown>[] };
  const old = demo.snapshots.map((snap) => ({
    ...snap,
    contexts: (snap['contexts'] as Record<string, unknown>[]).map((c) => {
      const o = { ...c };
      for (const k of ['netRxBytes', 'netRxPackets', 'netTxBytes', 'netTxPackets', 'ioReadBytes', 'ioWriteBytes', 'ioSource']) delete o[k];
      return o;
    }),
  }));
  const feed = await demoFeed(2, listSource(old as never));
  const web = buildServerRows(feed.getFrame()!, new Set()).find((r) => r.key === 'x:2')!;
  assert.deepEqual([web.net, web.io], [null, null]);
  const bad = join(mkdtempSync(join(tmpdir(), 'vctx-netio-')), 'bad.json');
  writeFileSync(bad, JSON.stringify({ ...demo.snapshots[0], contexts: [{ ...(demo.snapshots[0]!['contexts'] as object[])[0], netRxBytes: -1 }] }));
  assert.throws(() => new FixtureSnapshotSource(bad), /contexts\.0\.netRxBytes/);
  rmSync(dirname(bad), { recursive: true });
});

test('vtop at 120x30 shows the columns; d opens the detail pane with the figures', async () => {
  const r = await renderVtop({ columns: 120, rows: 30 });
  assert.match(r.text(), /NET IN\/OUT +IO R\/W/);
  assert.match(r.text(), /web .* 5\.7M\/88\.2M +2M\/10M/);
  await r.press('\x1b[B', 'd');
  await tick(20);
  assert.match(r.text(), /network +in 5\.7M \(9800 packets\)/);
  r.unmount();
});
