import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildContextTrees } from '../../../src/views/tree.js';
import { decodeCaps, detailLines } from '../../../src/views/vtop-detail.js';
import { buildProcRows, DEFAULT_PROC_VIEW, formatProcLine, procColumns } from '../../../src/views/vtop-procs.js';
import { buildServerRows, formatServerLine, runawayKeys, serverColumns } from '../../../src/views/vtop-servers.js';
import { computeLayout } from '../../../src/views/vtop-layout.js';
import { frameToJson } from '../../../src/views/vtop-json.js';
import { demoFeed, renderVtop } from './harness.js';

test('server rows: host first, running by XID, stopped configured servers, disk … while unknown', async () => {
  const f = (await demoFeed(2)).getFrame()!;
  const rows = buildServerRows(f, runawayKeys(f));
  assert.deepEqual(rows.map((r) => r.key), ['x:0', 'x:2', 'x:3', 'x:49152', 'n:backup', 'n:mail']);
  assert.equal(rows[0]!.label, 'root server');
  assert.equal(rows[3]!.label, '(ctx 49152)');
  const cols = serverColumns(80);
  for (const r of rows) assert.equal([...formatServerLine(r, cols)].length, cols.reduce((s, c) => s + c.at + 1, -1));
  assert.match(formatServerLine(rows[5]!, cols), /mail\s+stopped.*…$/);
  assert.equal(Math.round(rows[1]!.cpu!), 100, 'web: % of one core from the cgroup counter');
});

test('process rows: tree order, sorts, filter keeps ancestors', async () => {
  const f = (await demoFeed(2)).getFrame()!;
  const roots = buildContextTrees(f.snapshot).get(2)!;
  const inp = { roots, cpu: f.cpu, users: f.users, runaways: new Set<string>(), clockTicks: 100 };
  const tree = buildProcRows(inp, DEFAULT_PROC_VIEW);
  assert.deepEqual(tree.map((r) => r.pid), [2301, 2310, 2311, 2345, 2400]);
  assert.equal(tree[2]!.branch, '│  └─ ');
  const byCpu = buildProcRows(inp, { ...DEFAULT_PROC_VIEW, tree: false, sort: 'cpu' });
  assert.equal(byCpu[0]!.pid, 2345);
  const byMem = buildProcRows(inp, { ...DEFAULT_PROC_VIEW, tree: false, sort: 'mem' });
  assert.equal(byMem[0]!.pid, 2310);
  const byName = buildProcRows(inp, { ...DEFAULT_PROC_VIEW, tree: false, sort: 'name' });
  assert.deepEqual(byName.map((r) => r.comm), ['burn', 'cronjob', 'httpd', 'httpd', 'init']);
  const inv = buildProcRows(inp, { ...DEFAULT_PROC_VIEW, tree: false, sort: 'pid', invert: true });
  assert.equal(inv[0]!.pid, 2400);
  const filtered = buildProcRows(inp, { ...DEFAULT_PROC_VIEW, filter: 'www' });
  assert.deepEqual(filtered.map((r) => [r.pid, r.context]), [[2301, true], [2310, false], [2311, false]]);
  const cols = procColumns(80);
  for (const r of tree) assert.ok([...formatProcLine(r, cols)].length <= 80);
});

test('capabilities decode by name, kept vs dropped; detail lines fit the width', async () => {
  const caps = decodeCaps('0x' + ((1n << 41n) - 1n).toString(16));
  assert.equal(caps.kept.length, 41);
  assert.equal(caps.dropped.length, 0);
  const web = decodeCaps('0x200005fb');
  assert.ok(web.kept.includes('CHOWN') && web.kept.includes('AUDIT_WRITE'));
  assert.ok(web.dropped.includes('SYS_ADMIN') && web.dropped.includes('NET_RAW'));
  const f = (await demoFeed(2)).getFrame()!;
  const db = buildServerRows(f, new Set()).find((r) => r.name === 'db')!;
  const lines = detailLines(db, 60, '/etc/vservers');
  for (const l of lines) assert.ok([...l.text].length <= 60, l.text);
  const text = lines.map((l) => l.text).join('\n');
  assert.match(text, /memory +cgroup mem 470M of 512M \(92%\) +OOM kills 1/);
  assert.match(text, /RSS sum 453M/);
  assert.match(text, /pids +4 of 5 \(80%\).*forks refused 3/);
  assert.match(text, /IP lock +10\.0\.0\.3/);
  assert.match(text, /caps kept \(12\).*IPC_LOCK/s);
  assert.match(text, /config +\/etc\/vservers\/db\.conf/);
});

test('the detail pane shows disk use against DISK_MAX (project quota), or the use alone without a limit', async () => {
  const f = (await demoFeed(2)).getFrame()!;
  const db = buildServerRows(f, new Set()).find((r) => r.name === 'db')!;
  assert.doesNotMatch(detailLines(db, 60, '/etc/vservers').map((l) => l.text).join('\n'), /^disk {5}/m);
  const limited = { ...db, diskQuota: { projectId: 100003, usedBytes: 900 * 1024 ** 2, limitBytes: 1024 ** 3 } };
  const lines = detailLines(limited, 80, '/etc/vservers');
  const line = lines.find((l) => l.text.startsWith('disk     '))!;
  assert.equal(line.text, 'disk     900M of 1G (88%)   [project 100003]');
  assert.equal(line.tone, 'warn');
  const free = { ...db, diskQuota: { projectId: 100003, usedBytes: 5 * 1024 ** 2, limitBytes: null } };
  assert.match(detailLines(free, 80, '/etc/vservers').map((l) => l.text).join('\n'), /^disk +5M, no limit +\[project 100003\]$/m);
});

test('a server with an IPv6 address: the detail pane shows it after the IPv4 one, the JSON has ip6 (null without)', async () => {
  const f = (await demoFeed(2)).getFrame()!;
  const rows = buildServerRows(f, new Set());
  const db = rows.find((r) => r.name === 'db')!;
  const v6 = { ...db, ip6: 'fd00::3', context: { ...db.context!, ip6: 'fd00::3' } };
  assert.match(detailLines(v6, 60, '/etc/vservers').map((l) => l.text).join('\n'), /IP lock +10\.0\.0\.3 fd00::3/);
  assert.doesNotMatch(detailLines(db, 60, '/etc/vservers').map((l) => l.text).join('\n'), /fd00/);
  const json = frameToJson(f, rows.map((r) => (r.name === 'db' ? v6 : r)), () => []);
  const j = json.servers.find((s) => s.name === 'db')!;
  assert.deepEqual([j.ip, j.ip6], ['10.0.0.3', 'fd00::3']);
  assert.equal(json.servers.find((s) => s.name === 'web')!.ip6, null);
});

test('layout: what each part of the screen gets (worked out by hand, not by the layout code)', () => {
  // a frame is rows - 1 lines: the header (2 lines from 16 frame lines on, else 1), the server
  // table's header, its rows (at most 40 % of what the 4 fixed lines leave, at least 2 when there
  // are that many servers), the process title and column header, the process rows, the status line
  const cases: [rows: number, cols: number, servers: number, want: { header: number; servers: number; procs: number }][] = [
    [24, 80, 6, { header: 2, servers: 6, procs: 11 }],
    [24, 80, 60, { header: 2, servers: 6, procs: 11 }],
    [24, 80, 1, { header: 2, servers: 1, procs: 16 }],
    [10, 40, 3, { header: 1, servers: 2, procs: 2 }],
    [50, 200, 2, { header: 2, servers: 2, procs: 41 }],
    [50, 200, 60, { header: 2, servers: 17, procs: 26 }],
    [12, 80, 30, { header: 1, servers: 2, procs: 4 }],
    [16, 80, 30, { header: 1, servers: 4, procs: 6 }],
    [17, 80, 30, { header: 2, servers: 4, procs: 6 }],
  ];
  for (const [r, c, n, want] of cases) {
    const l = computeLayout(r, c, n);
    assert.deepEqual(l, { width: c, height: r - 1, ...want, tooSmall: false }, `${r}x${c} with ${n} servers`);
  }
  assert.equal(computeLayout(8, 30, 3).tooSmall, true);
  assert.equal(computeLayout(9, 80, 3).tooSmall, true);
  assert.equal(computeLayout(10, 39, 3).tooSmall, true);
});

test('layout: the drawn frame is one line shorter than the terminal and nothing falls off it', async () => {
  for (const [r, c] of [[24, 80], [10, 40], [12, 80], [16, 80], [17, 80], [15, 60], [50, 200]] as const) {
    const v = await renderVtop({ rows: r, columns: c });
    try {
      const lines = v.lines();
      assert.equal(lines.length, r - 1, `${r}x${c}: ${lines.length} lines`);
      assert.match(lines[0]!, /^vhost1 /, `${r}x${c}: the header comes first`);
      assert.ok(lines.some((l) => /XID +NAME/.test(l)), `${r}x${c}: server table header`);
      assert.ok(lines.some((l) => /PID .*COMMAND/.test(l)), `${r}x${c}: process column header`);
      assert.match(lines[lines.length - 1]!, /\? help/, `${r}x${c}: the status line is the last line`);
      // the process pane is as tall as the layout says (with 6 server rows: the demo's host and 5 servers)
      const procRows = lines.slice(lines.findIndex((l) => /PID .*COMMAND/.test(l)) + 1, -1);
      assert.equal(procRows.length, computeLayout(r, c, 6).procs, `${r}x${c}: process rows`);
    } finally {
      v.unmount();
    }
  }
});
