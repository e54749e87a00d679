// vkill: signal parsing (util-vserver's str2sig cases) and PID resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import { parseSignal, planKill, signalName } from '../../../src/cli/vkill-plan.js';

const signalCases: [string, number | null][] = [
  ['0', 0],
  ['1', 1],
  ['10', 10],
  ['9', 9],
  ['64', 64],
  ['65', null],
  ['SIGHUP', 1],
  ['HUP', 1],
  ['hup', 1],
  ['SIGCHLD', 17],
  ['CHLD', 17],
  ['TERM', 15],
  ['SIGKILL', 9],
  ['STOP', 19],
  ['x', null],
  ['1 0', null],
  ['', null],
  ['-9', null],
  ['SIG', null],
  ['constructor', null],
  ['__proto__', null],
];

for (const [arg, want] of signalCases) {
  test(`parseSignal('${arg}') = ${want}`, () => {
    assert.equal(parseSignal(arg), want);
  });
}

test('signalName', () => {
  assert.equal(signalName(15), 'SIGTERM');
  assert.equal(signalName(6), 'SIGABRT');
  assert.equal(signalName(29), 'SIGIO');
  assert.equal(signalName(0), '0');
  assert.equal(signalName(40), '40');
});

const snap = new FixtureSnapshotSource(join(import.meta.dirname, '../../fixtures/observe/host.json')).snapshot();

test('host PIDs resolve to the exact process (start time included)', () => {
  const [t] = planKill(snap, null, [401]);
  assert.ok(t && t.proc);
  assert.equal(t.proc.xid, 2);
  assert.equal(t.proc.startTime, 5_000_100);
});

test('a host PID not in the snapshot: the clear message', () => {
  const [t] = planKill(snap, null, [4242]);
  assert.ok(t && t.proc === null);
  assert.equal(t.reason, '(pid 4242): No such process');
});

test('--xid: PIDs as seen inside the context', () => {
  const ts = planKill(snap, 2, [1, 7, 8, 401]);
  assert.deepEqual(ts.map((t) => (t.proc ? t.proc.pid : null)), [400, 401, 402, null]);
  const miss = ts[3]!;
  assert.ok(miss.proc === null);
  assert.equal(miss.reason, '(pid 401 in context 2): No such process');
});

test('--xid 0 and 1 use host PIDs (they share the host PID namespace)', () => {
  assert.equal(planKill(snap, 0, [100])[0]!.proc?.pid, 100);
  assert.equal(planKill(snap, 0, [401])[0]!.proc, null); // lives in context 2
  assert.equal(planKill(snap, 1, [500])[0]!.proc?.pid, 500);
});

test('inner PID 1 of two contexts never mixes', () => {
  assert.equal(planKill(snap, 3, [1])[0]!.proc?.pid, 600);
  assert.equal(planKill(snap, 4, [1])[0]!.proc?.pid, 700);
  assert.equal(planKill(snap, 49152, [1])[0]!.proc?.pid, 300);
});
