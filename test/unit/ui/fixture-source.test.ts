import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixtureError, FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import { DEMO } from './harness.js';

test('replays one snapshot per call, looping with time moving forward', () => {
  const s = new FixtureSnapshotSource(DEMO);
  assert.equal(s.live, false);
  const n = s.length;
  const seen = Array.from({ length: n * 2 + 1 }, () => s.snapshot());
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.takenAt > seen[i - 1]!.takenAt, `takenAt increases at ${i}`);
  assert.deepEqual(seen[n]!.processes, seen[0]!.processes);
  assert.equal(s.extras.host?.hostname, 'vhost1');
  assert.deepEqual(s.extras.configured, ['backup', 'db', 'mail', 'web']);
});

test('a directory, a plain snapshot and an array are accepted; bad files are named with the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vtop-fx-'));
  try {
    const demo = JSON.parse(readFileSync(DEMO, 'utf8')) as { snapshots: unknown[] };
    writeFileSync(join(dir, 'a.json'), JSON.stringify(demo.snapshots[0]));
    writeFileSync(join(dir, 'b.json'), JSON.stringify(demo.snapshots.slice(1, 3)));
    assert.equal(new FixtureSnapshotSource(dir).length, 3);
    const bad = structuredClone(demo.snapshots[0]) as { processes: { pid: unknown }[] };
    bad.processes[2]!.pid = 'x';
    writeFileSync(join(dir, 'c.json'), JSON.stringify(bad));
    assert.throws(() => new FixtureSnapshotSource(dir), (e: unknown) =>
      e instanceof FixtureError && e.message.includes('c.json') && e.message.includes('processes.2.pid'));
    assert.throws(() => new FixtureSnapshotSource(join(dir, 'none')), /no such fixture/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
