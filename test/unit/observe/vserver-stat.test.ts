// vserver-stat: golden output on a recorded snapshot, column positions,
// sums, names, JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import type { Snapshot } from '../../../src/kernel-bridge/types.js';
import { contextNames } from '../../../src/views/names.js';
import {
  computeStatRows,
  formatStatRow,
  formatStatTable,
  STAT_HEADER,
  statJson,
  type StatRow,
} from '../../../src/views/vserver-stat.js';

const dir = join(import.meta.dirname, '../../fixtures/observe');
const load = (): Snapshot => new FixtureSnapshotSource(join(dir, 'host.json')).snapshot();

test('header is byte for byte util-vserver', () => {
  assert.equal(STAT_HEADER, 'CTX   PROC    VSZ    RSS  userTIME   sysTIME    UPTIME NAME');
});

test('golden table of the recorded host', () => {
  const s = load();
  const out = formatStatTable(computeStatRows(s, contextNames(s)));
  assert.equal(out, readFileSync(join(dir, 'vserver-stat.golden'), 'utf8'));
});

test('row 0 computed by hand: sums of utime+cutime, stime+cstime, uptime since the oldest process', () => {
  const s = load();
  const rows = computeStatRows(s, contextNames(s));
  const r0 = rows.find((r) => r.xid === 0)!;
  assert.equal(r0.processes, 5);
  assert.equal(r0.vsz, 195_000_000);
  assert.equal(r0.rss, 25_000_000);
  assert.equal(r0.userMs, (150 + 10000 + 20 + 5 + 100) * 10);
  assert.equal(r0.sysMs, (250 + 5000 + 123 + 30 + 3 + 50) * 10);
  assert.equal(r0.uptimeMs, 100_000_500 - 10);
  assert.equal(formatStatRow(r0), '0        5 185.9M  23.8M   1m42s75   0m54s56   1d03h46 root server');
});

const base: StatRow = {
  xid: 0,
  name: 'root server',
  processes: 0,
  vsz: 0,
  rss: 0,
  userMs: 0,
  sysMs: 0,
  uptimeMs: 0,
  context: null,
};

/** [description, row fields, [column, text] pairs that must sit exactly there] */
const positionCases: [string, Partial<StatRow>, [number, string][]][] = [
  ['XID left-aligned at column 0', { xid: 49152 }, [[0, '49152 ']]],
  ['PROC right-aligned ending at column 10', { processes: 7 }, [[9, '7 ']]],
  ['PROC of 5 digits', { xid: 65535, processes: 12345 }, [[0, '6553512345 ']]],
  ['VSZ in columns 10-16', { vsz: 1536 }, [[10, '   1.5K ']]],
  ['VSZ bytes keep the blank suffix', { vsz: 286 }, [[10, '   286  ']]],
  ['RSS in columns 17-23', { rss: 999 * 1024 + 1023 }, [[17, ' 999.9K ']]],
  ['userTIME ends at column 34', { userMs: 754_320 }, [[26, '12m34s32 ']]],
  ['sysTIME ends at column 44', { sysMs: 3_600_000 }, [[37, '1h00m00 ']]],
  ['UPTIME ends at column 54', { uptimeMs: 86_400_000 }, [[47, '1d00h00 ']]],
  ['a 10-character time fills its field', { uptimeMs: 1000 * 86_400_000 * 50 }, [[44, '136y360d00 ']]],
  ['NAME from column 55', { name: 'web' }, [[54, ' web']]],
  ['NAME cut to 20 characters', { name: 'abcdefghijklmnopqrstuvwxyz' }, [[55, 'abcdefghijklmnopqrst']]],
  ['NAME escaped for the terminal', { name: 'evil\x1b[2J' }, [[55, 'evil\\x1b[2J']]],
];

for (const [what, fields, checks] of positionCases) {
  test(`column positions: ${what}`, () => {
    const line = formatStatRow({ ...base, ...fields });
    for (const [col, text] of checks) {
      assert.equal(line.slice(col, col + text.length), text, `line: ${JSON.stringify(line)}`);
    }
  });
}

test('a long name ends the line after 20 characters', () => {
  const line = formatStatRow({ ...base, name: 'a-server-name-longer-than-twenty' });
  assert.equal(line.length, 75);
});

test('an anonymous context shows no name (util-vserver)', () => {
  const line = formatStatRow({ ...base, xid: 49152, name: '' });
  assert.equal(line.length, 55);
});

test('every line of the golden table has its fields at the header positions', () => {
  const s = load();
  const lines = formatStatTable(computeStatRows(s, contextNames(s))).split('\n').filter(Boolean);
  const header = lines[0]!;
  const ends = ['PROC', 'VSZ', 'RSS', 'userTIME', 'sysTIME', 'UPTIME'].map((h) => header.indexOf(h) + h.length);
  assert.deepEqual(ends, [10, 17, 24, 34, 44, 54]); // exclusive ends: VSZ is columns 10-16, RSS 17-23
  for (const l of lines.slice(1)) {
    assert.equal(l[10], ' ', l);
    for (const e of [34, 44, 54]) assert.equal(l[e], ' ', `column ${e} of ${JSON.stringify(l)}`);
    assert.notEqual(l[33], ' ', l);
    assert.notEqual(l[43], ' ', l);
    assert.notEqual(l[53], ' ', l);
  }
});

test('the excluded PID (vserver-stat itself) is left out of the sums', () => {
  const s = load();
  const all = computeStatRows(s, contextNames(s)).find((r) => r.xid === 0)!;
  const without = computeStatRows(s, contextNames(s), { excludePid: 200 }).find((r) => r.xid === 0)!;
  assert.equal(without.processes, all.processes - 1);
  assert.equal(without.vsz, all.vsz - 10_000_000);
});

test('a context the process scan missed still gets a row from its cgroup', () => {
  const s = load();
  const snap: Snapshot = { ...s, processes: s.processes.filter((p) => p.xid !== 2) };
  const row = computeStatRows(snap, contextNames(snap)).find((r) => r.xid === 2)!;
  assert.equal(row.processes, 3);
  assert.equal(row.name, 'web');
  // created at boot + 50 000 s, snapshot at 100 000.5 s after boot
  assert.equal(row.uptimeMs, 50_000_500);
});

test('rows are ordered by XID', () => {
  const s = load();
  const xids = computeStatRows(s, contextNames(s)).map((r) => r.xid);
  assert.deepEqual(xids, [0, 1, 2, 3, 4, 49152]);
});

test('--json carries the cgroup figures, names raw', () => {
  const s = load();
  const doc = statJson(computeStatRows(s, contextNames(s)));
  const web = doc.contexts.find((c) => c.xid === 2)!;
  assert.deepEqual(web.cgroup, {
    path: '/sys/fs/cgroup/unified/vctx/2',
    memoryBytes: 64_000_000,
    memorySource: 'cgroup2',
    memoryMax: null,
    cpuUsec: 712_000_000,
    cpuSource: 'cgroup2',
    pids: 3,
    pidsMax: null,
    pidsEvents: 0,
    oomKills: 0,
  });
  assert.equal(doc.contexts.find((c) => c.xid === 0)!.cgroup, null);
  assert.equal(web.disk, null, 'no project quota read: null');
  assert.equal(doc.contexts.find((c) => c.xid === 4)!.name, 'tab\tname');
  assert.equal(doc.contexts.find((c) => c.xid === 49152)!.cgroup!.memorySource, 'cgroup1');
  assert.deepEqual(Object.keys(web), ['xid', 'name', 'processes', 'vszBytes', 'rssBytes', 'userMs', 'sysMs', 'uptimeMs', 'cgroup', 'disk', 'ownDiskBytes']);
});

test('recorded real hosts (test/fixtures/snapshots): every row at the fixed columns', () => {
  const snapDir = join(dir, '..', 'snapshots');
  let files: string[] = [];
  try {
    files = readdirSync(snapDir).filter((f) => f.endsWith('.json'));
  } catch {
    /* none recorded yet */
  }
  for (const f of files) {
    const src = new FixtureSnapshotSource(join(snapDir, f));
    for (let i = 0; i < src.length; i++) {
      const s = src.snapshot();
      const rows = computeStatRows(s, contextNames(s));
      const seen = new Set(s.processes.map((p) => p.xid));
      const summed = rows.filter((r) => seen.has(r.xid)).reduce((n, r) => n + r.processes, 0);
      assert.equal(summed, s.processes.length, f);
      for (const line of formatStatTable(rows).split('\n').filter(Boolean).slice(1)) {
        assert.match(line.slice(0, 55), /^\d+ +\d+ +\S+ +\S+ +\S+ +\S+ +\S+ $/, `${f}: ${line}`);
      }
    }
  }
});

test('--json shows a tree\'s use against its DISK_MAX (the project quota the CLI read), null for the others', () => {
  const s = load();
  const disk = { projectId: 100000, usedBytes: 7_340_032, limitBytes: 8_388_608, inodes: 42 };
  const doc = statJson(computeStatRows(s, contextNames(s)), new Map([[2, disk], [3, null]]));
  assert.deepEqual(doc.contexts.find((c) => c.xid === 2)!.disk, disk);
  assert.equal(doc.contexts.find((c) => c.xid === 3)!.disk, null);
  assert.equal(doc.contexts.find((c) => c.xid === 0)!.disk, null);
});

test('--json shows each server\'s own disk use (vdu: a unified server\'s own layer), null when unknown', () => {
  const s = load();
  const doc = statJson(computeStatRows(s, contextNames(s)), new Map(), new Map([[2, 6_668_288], [3, null]]));
  assert.equal(doc.contexts.find((c) => c.xid === 2)!.ownDiskBytes, 6_668_288);
  assert.equal(doc.contexts.find((c) => c.xid === 3)!.ownDiskBytes, null);
  assert.equal(doc.contexts.find((c) => c.xid === 0)!.ownDiskBytes, null);
});
