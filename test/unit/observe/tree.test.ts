// Process trees grouped by context, and vpstree's drawing of them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import type { ProcessInfo, Snapshot } from '../../../src/kernel-bridge/types.js';
import { contextNames } from '../../../src/views/names.js';
import { buildContextTrees, flattenTree } from '../../../src/views/tree.js';
import {
  ASCII_GLYPHS,
  drawTrees,
  formatVpstree,
  processLabel,
  vpstreeJson,
} from '../../../src/views/vpstree.js';

const dir = join(import.meta.dirname, '../../fixtures/observe');
const load = (): Snapshot => new FixtureSnapshotSource(join(dir, 'host.json')).snapshot();

function proc(pid: number, ppid: number, xid: number, extra: Partial<ProcessInfo> = {}): ProcessInfo {
  return {
    pid, ppid, xid, innerPid: null, state: 'S', comm: `p${pid}`, threads: 1, startTime: pid,
    utime: 0, stime: 0, cutime: 0, cstime: 0, vsz: 0, rss: 0, uid: 0, nice: 0, cmdline: `cmd${pid}`, ...extra,
  };
}

function snapOf(processes: ProcessInfo[], pid1: Record<number, number> = {}): Snapshot {
  const base = load();
  return {
    ...base,
    processes,
    contexts: base.contexts.map((c) => ({ ...c, pid1: pid1[c.xid] ?? 0 })),
  };
}

test('one entry per XID, ascending, roots are the topmost processes of each context', () => {
  const trees = buildContextTrees(load());
  assert.deepEqual([...trees.keys()], [0, 1, 2, 3, 4, 49152]);
  assert.deepEqual(trees.get(0)!.map((n) => n.proc.pid), [1, 2]);
  // the chcontext'ed context is rooted at its init even though its parent (bash) is on the host
  assert.deepEqual(trees.get(49152)!.map((n) => n.proc.pid), [300]);
  assert.deepEqual(trees.get(1)!.map((n) => n.proc.pid), [500]);
});

test('children stay in their context; depth counts from the context root', () => {
  const trees = buildContextTrees(load());
  const host = flattenTree(trees.get(0)!);
  assert.deepEqual(host.map((n) => [n.proc.pid, n.depth]), [[1, 0], [100, 1], [200, 2], [2, 0], [3, 1]]);
  const web = flattenTree(trees.get(2)!);
  assert.deepEqual(web.map((n) => [n.proc.pid, n.depth]), [[400, 0], [401, 1], [402, 2]]);
  // 300 is bash's child on the host but not in bash's tree
  assert.ok(!host.some((n) => n.proc.pid === 300));
});

test("the context's PID 1 comes first among its roots, then by PID", () => {
  const s = snapOf(
    [proc(10, 1, 2), proc(30, 1, 2), proc(20, 1, 2), proc(21, 20, 2), proc(11, 10, 2)],
    { 2: 30 },
  );
  const roots = buildContextTrees(s).get(2)!;
  assert.deepEqual(roots.map((n) => n.proc.pid), [30, 10, 20]);
});

test('children ordered by PID; flattenTree is pre-order', () => {
  const s = snapOf([proc(1, 0, 0), proc(9, 1, 0), proc(5, 1, 0), proc(7, 5, 0), proc(6, 5, 0), proc(8, 9, 0)]);
  const flat = flattenTree(buildContextTrees(s).get(0)!);
  assert.deepEqual(flat.map((n) => n.proc.pid), [1, 5, 6, 7, 9, 8]);
  assert.deepEqual(flat.map((n) => n.depth), [0, 1, 2, 2, 1, 2]);
});

test('a process that is its own parent, or whose parent is gone, is a root', () => {
  const s = snapOf([proc(4, 4, 0), proc(6, 999, 0)]);
  assert.deepEqual(buildContextTrees(s).get(0)!.map((n) => n.proc.pid), [4, 6]);
});

test('a deep chain builds and flattens without recursion limits', () => {
  const n = 50_000;
  const ps: ProcessInfo[] = [];
  for (let i = 1; i <= n; i++) ps.push(proc(i, i - 1, 0));
  const flat = flattenTree(buildContextTrees(snapOf(ps)).get(0)!);
  assert.equal(flat.length, n);
  assert.equal(flat[n - 1]!.depth, n - 1);
  assert.equal(drawTrees(buildContextTrees(snapOf(ps.slice(0, 2000)), ).get(0)!).length, 2000);
});

test('flattenTree of nothing is nothing', () => {
  assert.deepEqual(flattenTree([]), []);
  assert.equal(buildContextTrees(snapOf([])).size, 0);
});

test('golden vpstree (box drawing)', () => {
  const s = load();
  assert.equal(formatVpstree(buildContextTrees(s), contextNames(s)), readFileSync(join(dir, 'vpstree.golden'), 'utf8'));
});

test('golden vpstree (ASCII)', () => {
  const s = load();
  assert.equal(
    formatVpstree(buildContextTrees(s), contextNames(s), { glyphs: ASCII_GLYPHS }),
    readFileSync(join(dir, 'vpstree-ascii.golden'), 'utf8'),
  );
});

const labelCases: [Partial<ProcessInfo>, string][] = [
  [{ pid: 1, innerPid: null, cmdline: '/sbin/init' }, '1 /sbin/init'],
  [{ pid: 400, innerPid: 1, cmdline: 'init [3]' }, '400 [1] init [3]'],
  [{ pid: 77, innerPid: 77, cmdline: 'same' }, '77 same'],
  [{ pid: 3, cmdline: '', comm: 'kworker/0:0' }, '3 [kworker/0:0]'],
];
for (const [fields, want] of labelCases) {
  test(`processLabel -> '${want}'`, () => {
    assert.equal(processLabel(proc(fields.pid ?? 1, 0, 0, fields)), want);
  });
}

test('lines are cut to the given width', () => {
  const s = load();
  const out = formatVpstree(buildContextTrees(s), contextNames(s), { width: 12 });
  for (const l of out.split('\n')) assert.ok(l.length <= 12, l);
});

test('--json nests children and keeps names raw', () => {
  const s = load();
  const doc = vpstreeJson(buildContextTrees(s), contextNames(s));
  assert.deepEqual(doc.contexts.map((c) => [c.xid, c.name]), [
    [0, 'root server'], [1, 'monitoring server'], [2, 'web'],
    [3, 'a-server-name-longer-than-twenty'], [4, 'tab\tname'], [49152, ''],
  ]);
  const web = doc.contexts[2]!.trees[0]!;
  assert.equal(web.pid, 400);
  assert.equal(web.innerPid, 1);
  assert.equal(web.children[0]!.children[0]!.pid, 402);
});
