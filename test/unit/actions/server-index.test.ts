/**
 * The public index of running servers (src/actions/server-index.ts): what
 * start publishes for users other than root, and how a reader believes an
 * entry only for a context the kernel confirms.  Files in a temporary
 * directory; snapshots from the recorded demo.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyServerIndex, indexDir, publishServer, readServerIndex, unpublishServer, type PublishedServer,
} from '../../../src/actions/server-index.js';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import type { Snapshot } from '../../../src/kernel-bridge/types.js';
import { staticHostProbe } from '../../../src/live/host-probe.js';
import { VtopFeed } from '../../../src/live/vtop-feed.js';
import { buildServerRows } from '../../../src/views/vtop-servers.js';
import { DEMO, demoSnapshots, listSource } from '../ui/harness.js';

const entry = (o: Partial<PublishedServer> = {}): PublishedServer => ({
  name: 'web', xid: 2, state: 'running', ip: '10.0.0.2', ip6: null, cgroupIno: '4711', startedAt: 1_767_000_000_000, ...o,
});

test('an entry carries the IPv6 address too; an entry of an older version (no ip6) still reads', async () => {
  const rundir = mkdtempSync(join(tmpdir(), 'vctx-index-'));
  const paths = { confdir: join(rundir, 'etc'), rootdir: join(rundir, 'roots'), rundir };
  await publishServer(paths, entry({ ip6: 'fd00::2' }));
  assert.equal(JSON.parse(readFileSync(join(indexDir(rundir), 'web'), 'utf8')).ip6, 'fd00::2');
  writeFileSync(join(indexDir(rundir), 'old'), JSON.stringify({ name: 'old', xid: 5, state: 'running', ip: '10.0.0.5', cgroupIno: '5', startedAt: 1 }));
  assert.deepEqual(readServerIndex(rundir).map((e) => [e.name, e.ip, e.ip6 ?? null]), [['old', '10.0.0.5', null], ['web', '10.0.0.2', 'fd00::2']]);
});

test('start publishes a world-readable entry atomically; stop removes it; bad entries are skipped', async () => {
  const rundir = mkdtempSync(join(tmpdir(), 'vctx-index-'));
  const paths = { confdir: join(rundir, 'etc'), rootdir: join(rundir, 'roots'), rundir };
  const old = process.umask(0o077);
  try {
    await publishServer(paths, entry());
    await publishServer(paths, entry({ name: 'db', xid: 3, ip: null }));
    assert.equal(statSync(indexDir(rundir)).mode & 0o777, 0o755, 'the directory is world-readable whatever the umask');
    assert.equal(statSync(join(indexDir(rundir), 'web')).mode & 0o777, 0o644, 'and so is each entry');
    assert.deepEqual(readdirSync(indexDir(rundir)).sort(), ['db', 'web'], 'no temporary file is left');
    assert.deepEqual(JSON.parse(readFileSync(join(indexDir(rundir), 'web'), 'utf8')), entry());
    await publishServer(paths, entry({ xid: 9, cgroupIno: '99' }));
    assert.deepEqual(readServerIndex(rundir).map((e) => [e.name, e.xid]), [['db', 3], ['web', 9]], 'a new start replaces the entry');
    // what a reader skips: not JSON, a name that is not the file's, a temporary file, a bad XID
    writeFileSync(join(indexDir(rundir), 'junk'), '{');
    writeFileSync(join(indexDir(rundir), 'other'), JSON.stringify(entry({ name: 'mail' })));
    writeFileSync(join(indexDir(rundir), '.web.123.tmp'), JSON.stringify(entry()));
    writeFileSync(join(indexDir(rundir), 'bad'), JSON.stringify(entry({ name: 'bad', xid: 1 })));
    assert.deepEqual(readServerIndex(rundir).map((e) => e.name), ['db', 'web']);
    await unpublishServer(paths, 'web');
    await unpublishServer(paths, 'never-started');
    assert.deepEqual(readServerIndex(rundir).map((e) => e.name), ['db']);
    assert.deepEqual(readServerIndex(join(rundir, 'missing')), [], 'no index: nothing');
  } finally {
    process.umask(old);
    rmSync(rundir, { recursive: true, force: true });
  }
});

/** the demo as a user other than root sees it: the kernel's contexts without names or addresses */
function anonymous(s: Snapshot): Snapshot {
  return { ...s, contexts: s.contexts.map((c) => ({ ...c, name: '', ip: null })) };
}

test('an entry names a context only when the kernel confirms it: same XID, same cgroup, processes in it', () => {
  const snap = anonymous(demoSnapshots()[0]!);
  const ino = (dir: string) => (dir.endsWith('/web') ? '4711' : dir.endsWith('/db') ? '4712' : null);
  const named = applyServerIndex(snap, [entry(), entry({ name: 'db', xid: 3, ip: '10.0.0.3', cgroupIno: '4712' })], ino);
  assert.deepEqual(named.contexts.map((c) => [c.xid, c.name, c.ip]), [[2, 'web', '10.0.0.2'], [3, 'db', '10.0.0.3'], [49152, '', null]]);
  // stale: killed with kill -9 (its context gone, or gone and its XID reused by another context, or left empty)
  assert.equal(applyServerIndex(snap, [entry({ xid: 7 })], ino).contexts.find((c) => c.xid === 7), undefined);
  assert.equal(applyServerIndex(snap, [entry({ cgroupIno: '1' })], ino).contexts.find((c) => c.xid === 2)!.name, '', 'another cgroup under the XID');
  const empty = { ...snap, processes: snap.processes.filter((p) => p.xid !== 2), contexts: snap.contexts.map((c) => (c.xid === 2 ? { ...c, nprocs: 0 } : c)) };
  assert.equal(applyServerIndex(empty, [entry()], ino).contexts.find((c) => c.xid === 2)!.name, '', 'an empty context');
  // what the kernel names itself (root reads the attribute) is never overridden
  const rootView = demoSnapshots()[0]!;
  assert.equal(applyServerIndex(rootView, [entry({ name: 'mail' })], ino), rootView);
});

test('read by another user: each running server once, by name; a stale entry shows the server stopped', async () => {
  const fx = new FixtureSnapshotSource(DEMO);
  const ino = (dir: string) => (dir.endsWith('/web') ? '4711' : null);
  // web runs; backup was killed with kill -9 and its entry stayed behind (XID 4: no such context)
  const index = [entry(), entry({ name: 'backup', xid: 4, cgroupIno: '4713' })];
  const feed = new VtopFeed({
    source: listSource(demoSnapshots().map(anonymous)), host: staticHostProbe(fx.extras.host),
    configured: () => fx.extras.configured ?? [], annotate: (s) => applyServerIndex(s, index, ino),
  });
  await feed.refresh();
  const rows = buildServerRows(await feed.refresh(), new Set());
  const web = rows.filter((r) => r.name === 'web' || r.xid === 2);
  assert.deepEqual(web.map((r) => [r.label, r.state, r.xid, r.ip]), [['web', 'running', 2, '10.0.0.2']], 'web once, running, with its name');
  assert.deepEqual(rows.filter((r) => r.name === 'backup').map((r) => [r.state, r.xid]), [['stopped', null]], 'the stale entry: stopped');
  // db has no entry (started before the index existed): anonymous, and its configured name stays stopped
  assert.ok(rows.some((r) => r.label === '(ctx 3)' && r.state === 'running'));
});
