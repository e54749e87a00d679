/**
 * vtop's day-one defects (issue 9), pinned on the recorded demo session
 * (test/fixtures/vtop/demo.json) at the 80x24 every terminal has:
 * - a server list longer than its window says how much it hides and
 *   scrolls to the selection;
 * - the read-only tag (with its reason) and the help are never cut off,
 *   and a read-only view offers no action;
 * - every memory figure says which it is (RSS sum vs cgroup mem), in the
 *   table, the detail pane, --once text and JSON;
 * - every CPU figure, the host's too, is % of one core;
 * - a context with no process left is never a running server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import type { Snapshot } from '../../../src/kernel-bridge/types.js';
import { staticDiskUse } from '../../../src/live/disk-use-cache.js';
import { cpuTimes } from '../../../src/kernel-bridge/host.js';
import * as hostProbe from '../../../src/live/host-probe.js';
import { staticHostProbe } from '../../../src/live/host-probe.js';
import { DEFAULT_BINDINGS } from '../../../src/ui/keys.js';
import { onceJson, renderOnce } from '../../../src/ui/once.js';
import { VtopFeed } from '../../../src/live/vtop-feed.js';
import { buildServerRows } from '../../../src/views/vtop-servers.js';
import { DEMO, demoSnapshots, KEY, listSource, renderVtop } from './harness.js';

/** a feed over the demo recording with more configured servers than 80x24 has rows for */
async function crowdedFeed(extra: number): Promise<VtopFeed> {
  const fx = new FixtureSnapshotSource(DEMO);
  const x = fx.extras;
  const names = [...(x.configured ?? []), ...Array.from({ length: extra }, (_, i) => `spare${String(i + 1).padStart(2, '0')}`)];
  const feed = new VtopFeed({ source: fx, host: staticHostProbe(x.host), configured: () => names, diskUse: staticDiskUse(x.diskUse ?? {}) });
  await feed.refresh();
  await feed.refresh();
  return feed;
}

/** the server list's data lines of a screen (between the column header and the process title) */
function serverLines(lines: string[]): string[] {
  const head = lines.findIndex((l) => /^\s+XID NAME/.test(l));
  const end = lines.findIndex((l, i) => i > head && /\(xid \d+\): \d+ processes|^\S.*: \d+ processes/.test(l));
  return lines.slice(head + 1, end < 0 ? undefined : end);
}

test('80x24: a server list longer than its window says how many rows it hides, and scrolls to the selection', async () => {
  const r = await renderVtop({ feed: await crowdedFeed(10), columns: 80, rows: 24 });
  // 6 servers of the demo + 10 spares + the host: 16 rows for a window of 6 lines
  let rows = serverLines(r.lines());
  assert.equal(rows.length, 6, rows.join('\n'));
  assert.match(rows[5]!, /^\s+↓ 11 more below\s*$/, 'the last line counts what is hidden');
  await r.press('G');
  rows = serverLines(r.lines());
  assert.match(rows.join('\n'), /spare10 +stopped/, 'End selects the last server and the list scrolls to it');
  assert.match(r.text(), /spare10: 0 processes/, 'it is the selected one');
  assert.match(rows[rows.length - 1]!, /^\s+↑ 11 more above\s*$/);
  await r.press('g', KEY.down, KEY.down, KEY.down, KEY.down, KEY.down);
  rows = serverLines(r.lines());
  assert.match(rows[rows.length - 1]!, /^\s+↑ 1 more above {2}↓ 10 more below\s*$/);
  assert.match(rows.join('\n'), /mail +stopped/, 'the sixth row (mail) is on screen');
  r.unmount();
});

test('80x24: the read-only tag with its reason and the key hints are whole, on a replay with a long host line', async () => {
  const r = await renderVtop({ readonly: true, columns: 80, rows: 24, props: { readonlyReason: 'not run as root' } });
  const [one] = r.lines();
  assert.match(one!, /\[read-only: not run as root\]$/, one);
  assert.match(one!, /\[replay\]/);
  const status = r.lines().at(-1)!;
  assert.doesNotMatch(status, /…/, status);
  assert.match(status, /\? help {2}q quit/);
  assert.doesNotMatch(status, /kill|start|stop|restart/, 'a read-only view offers no action');
  r.unmount();
  const rw = await renderVtop({ columns: 80, rows: 24 });
  const hint = rw.lines().at(-1)!;
  assert.doesNotMatch(hint, /…/, `no hint is cut: ${hint}`);
  assert.match(hint, /k\/K kill {2}s\/S\/r start\/stop\/restart/);
  rw.unmount();
});

test('80x24: the help shows every key and its whole text, none cut off; Space turns pages where there are several', async () => {
  for (const [columns, rows] of [[80, 24], [60, 16], [40, 10]] as const) {
    for (const readonly of [false, true]) {
      const r = await renderVtop({ readonly, columns, rows });
      await r.press('?');
      const seen: string[] = [];
      for (let page = 0; page < 10; page++) {
        const lines = r.lines();
        for (const l of lines.slice(2, -1)) {
          assert.ok([...l].length <= columns, `${columns}x${rows}: ${l}`);
          assert.doesNotMatch(l, /…/, `${columns}x${rows}${readonly ? ' read-only' : ''}: nothing is cut: ${l}`);
        }
        seen.push(...lines);
        const m = /Page (\d+)\/(\d+)/.exec(r.text());
        if (!m || m[1] === m[2]) break;
        await r.press(' ');
      }
      const text = seen.join('\n').replace(/\s+/g, ' ');
      for (const b of DEFAULT_BINDINGS.filter((x) => !readonly || !x.changes)) {
        assert.ok(text.includes(b.help), `${columns}x${rows}${readonly ? ' read-only' : ''}: help has '${b.help}'`);
      }
      if (readonly) {
        for (const b of DEFAULT_BINDINGS.filter((x) => x.changes)) assert.ok(!text.includes(b.help), `read-only help has no '${b.help}'`);
      }
      await r.press('q');
      assert.doesNotMatch(r.text(), /Any key closes|Page \d/, 'a key closes the help');
      r.unmount();
    }
  }
  // at 80x24 the whole help is one page
  const r = await renderVtop({ columns: 80, rows: 24 });
  await r.press('?');
  assert.match(r.text(), /Any key closes/);
  r.unmount();
});

test('memory: the list\'s "RSS sum" and the cgroup\'s "cgroup mem" are named as such in the table, details, --once text and JSON', async () => {
  const r = await renderVtop({ columns: 80, rows: 24 });
  assert.match(r.lines()[2]!, /\bRSS sum\b/, 'the table header names the sum');
  await r.press(KEY.down, 'd');
  const detail = r.text();
  assert.match(detail, /memory +cgroup mem 60M of 512M \(12%\) +\[memory\.usage_in_bytes\]/, 'the cgroup figure and where it is read');
  assert.match(detail, /RSS sum 48M \(its processes' RSS/, 'and the table\'s figure, under the same name');
  assert.match(r.text(), /^ +2 web +running +5 +100 +48M /m, 'the same 48M as the table row');
  r.unmount();

  const f = (await crowdedFeed(0)).getFrame()!;
  const text = renderOnce(f, { width: 100 });
  assert.match(text.split('\n')[2]!, /\bRSS sum\b/, '--once text names it the same way');
  const j = onceJson(f);
  const web = j.servers.find((s) => s.name === 'web')!;
  assert.equal(web.rssSumBytes, 48 << 20);
  assert.equal(web.cgroupMemoryBytes, 60 << 20);
  assert.equal(web.cgroupMemoryMax, 512 << 20);
  assert.ok(!('rssBytes' in web) && !('memoryBytes' in web), 'no field name that could mean either');
  assert.equal(j.servers.find((s) => s.name === 'mail')!.cgroupMemoryBytes, null, 'a stopped server has no cgroup');
  // where no memory controller is present the scan's figure is the RSS sum again: no cgroup figure then
  const noCtl = demoSnapshots().map((s) => ({ ...s, contexts: s.contexts.map((c) => ({ ...c, memorySource: 'sum' as const })) }));
  const fx = new FixtureSnapshotSource(DEMO);
  const feed = new VtopFeed({ source: listSource(noCtl), host: staticHostProbe(fx.extras.host), configured: () => [] });
  await feed.refresh();
  const g = await feed.refresh();
  assert.equal(onceJson(g).servers.find((s) => s.name === 'web')!.cgroupMemoryBytes, null);
  const webRow = buildServerRows(g, new Set()).find((x) => x.name === 'web')!;
  const { detailLines } = await import('../../../src/views/vtop-detail.js');
  const lines = detailLines(webRow, 80, '/etc/vservers').map((l) => l.text).join('\n');
  assert.match(lines, /memory +no cgroup mem \(no memory controller\)/);
  assert.match(lines, /RSS sum 48M/);
});

test('CPU: the host\'s figure is % of one core like every other, in the header and --once --json', async () => {
  // the conversion of /proc/stat's all-CPU counters (looked up here: it did not exist before the fix)
  const { hostCpuPercent } = hostProbe;
  assert.equal(typeof hostCpuPercent, 'function', 'the host probe converts to % of one core');
  const a = cpuTimes('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\ncpu1 50 0 50 400 0 0 0 0 0 0\n');
  const b = cpuTimes('cpu  250 0 200 950 0 0 0 0 0 0\n');
  // 250 of 400 jiffies busy on 2 CPUs: 62.5 % of all = 125 % of one core
  assert.equal(hostCpuPercent(a, b, 2), 125);
  assert.equal(hostCpuPercent(a, { busy: 10_000, total: 1400 }, 2), 200, 'never more than every core');
  assert.equal(hostCpuPercent(null, b, 2), undefined);

  const f = (await crowdedFeed(0)).getFrame()!;
  const j = onceJson(f);
  assert.equal(j.cpuPercentOf, 'one core');
  assert.equal(j.host.cpuPercent, 115, 'the demo host: 115 % of one core (2 cores: up to 200)');
  const r = await renderVtop({ columns: 80, rows: 24 });
  // the header's CPU meter: the bar and the figure, % of one core of the host's 200
  assert.match(r.lines()[1]!, /^CPU\[\|+ *115\.0% of 200%\]/);
  r.unmount();
});

test('a context with no process left is never listed as a running server', async () => {
  // the demo's web (xid 2) with its processes gone and its cgroup left: what a killed tool leaves
  const snaps: Snapshot[] = demoSnapshots().map((s) => ({
    ...s,
    processes: s.processes.filter((p) => p.xid !== 2 && p.xid !== 49152),
    contexts: s.contexts.map((c) => (c.xid === 2 || c.xid === 49152 ? { ...c, nprocs: 0 } : c)),
  }));
  const fx = new FixtureSnapshotSource(DEMO);
  const feed = new VtopFeed({ source: listSource(snaps), host: staticHostProbe(fx.extras.host), configured: () => fx.extras.configured ?? [] });
  await feed.refresh();
  const f = await feed.refresh();
  const rows = buildServerRows(f, new Set());
  assert.deepEqual(rows.filter((x) => x.name === 'web').map((x) => [x.state, x.xid]), [['stopped', null]], 'web is a stopped configured server');
  assert.ok(!rows.some((x) => x.xid === 2 || x.xid === 49152), 'the empty contexts are not listed');
  assert.ok(!rows.some((x) => x.state === 'running' && x.nprocs === 0));
  const j = onceJson(f);
  assert.equal(j.servers.find((s) => s.name === 'web')!.state, 'stopped');
  const r = await renderVtop({ feed, columns: 80, rows: 24 });
  assert.doesNotMatch(r.text(), /running +0 /, r.text());
  assert.match(r.lines()[0]!, /servers 1 running, 3 stopped/);
  r.unmount();
});
