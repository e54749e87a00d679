/**
 * vctx-exporter against the real thing (issue 15), as root: a busybox
 * server with a hostile name (`ex"},a{b="\` + a tag) serving its page on
 * a loopback address with DISK_MAX=32M (its ROOTDIR is a loop-mounted ext4
 * image with project quotas), a second server configured with ONBOOT=yes
 * and left stopped, both in temporary VSERVER_CONFDIR / ROOTDIR / RUNDIR.
 *
 * The exporter runs straight from the build (the host has no systemd as
 * PID 1) with what its unit leaves it: setpriv with the unit's
 * CapabilityBoundingSet and no_new_privs.  Debian's Prometheus (package
 * prometheus, installed by setup.sh) runs as a second daemon of the test's
 * own, on a loopback port with a temporary configuration and storage,
 * scraping the exporter every second and loading the shipped alert rules.
 * Through Prometheus's HTTP API the test checks that the running server's
 * series are there under its name, that its traffic counter grows after
 * 50 requests to its httpd, and that the ONBOOT alert is pending for the
 * stopped server.  `promtool check metrics` reads a real scrape, and the
 * exporter's error paths (a bad --listen, a port in use) give one line.
 * The server cannot read the page on its 127.0.0.1 (docs/security.md).
 * Both daemons end by their PIDs; the servers are stopped and removed.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build, removeTree } from '../../src/actions/build.js';
import { startServer, stopServer } from '../../src/actions/lifecycle.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { kernelOption } from '../../src/kernel-bridge/quota.js';
import { inCtx } from '../helpers/kernel.js';

const isRoot = process.getuid?.() === 0;
const exporterBin = join(projectRoot, 'dist', 'vctx-exporter.cjs');
const has = (cmd: string) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
const skipAll = !isRoot ? 'needs root (real servers)'
  : !existsSync(exporterBin) ? `${exporterBin} is not built (npm run build)`
  : !has('prometheus') || !has('promtool') ? 'Debian\'s prometheus is not installed (setup.sh installs it)'
  : false;
if (skipAll) console.log(`# exporter and Prometheus test skipped: ${skipAll}`);

const tag = (process.pid % 1000).toString().padStart(3, '0');
const NAME = `ex"},a{b="\\${tag}`;
const BOOT = `exboot${tag}`;
const octet = 100 + (process.pid % 100);
const IP = `127.0.87.${octet}`;
const EXPORTER_PORT = 19100 + (process.pid % 400);
const PROM_PORT = 19600 + (process.pid % 400);

const base = mkdtempSync(join(tmpdir(), 'vctx-exporter-it-'));
const paths = { confdir: join(base, 'etc'), rootdir: join(base, 'vservers'), rundir: join(base, 'run') };
const daemons: ChildProcess[] = [];
let xid = 0;
let exporterErr = '';
/** why the disk figures cannot be shown here ('' when the quota image mounted) */
let quotaSkip = '';
let mounted = false;

/** the unit's bounding set, as setpriv writes it: -all,+sys_admin,... */
function unitCaps(): string {
  const line = /^CapabilityBoundingSet=(.*)$/m.exec(readFileSync(join(projectRoot, 'scripts', 'vctx-exporter.service'), 'utf8'))![1]!;
  return ['-all', ...line.trim().split(/\s+/).map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
  });
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined> | T | null | undefined, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Prometheus's instant query: [labels, value] per series */
async function query(q: string): Promise<[Record<string, string>, number][]> {
  const r = await httpGet(`http://127.0.0.1:${PROM_PORT}/api/v1/query?query=${encodeURIComponent(q)}`);
  const j = JSON.parse(r.body) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  assert.equal(j.status, 'success', r.body);
  return j.data.result.map((x) => [x.metric, Number(x.value[1])]);
}

/** the server's series in Prometheus: its name matched exactly (a PromQL string escapes " and \) */
const sel = (metric: string) => `${metric}{job="vctx",name=${JSON.stringify(NAME)}}`;

function startDaemon(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  daemons.push(c);
  return c;
}

before(async () => {
  if (skipAll) return;
  for (const d of Object.values(paths)) mkdirSync(d, { recursive: true, mode: 0o755 });
  // the roots on an ext4 image with project quotas, for DISK_MAX (as test/integration/disk-limit.test.ts)
  const img = join(base, 'roots.img');
  spawnSync('truncate', ['-s', '128M', img]);
  const mk = spawnSync('mkfs.ext4', ['-q', '-F', '-O', 'quota,project', img], { encoding: 'utf8' });
  const mnt = mk.status === 0 ? spawnSync('mount', ['-o', 'loop,prjquota', img, paths.rootdir], { encoding: 'utf8' }) : mk;
  if (mnt.status === 0) mounted = true;
  else {
    quotaSkip = `an ext4 image with project quotas cannot be made or mounted here (${String(mnt.stderr).trim().split('\n')[0]})` +
      (kernelOption('CONFIG_QFMT_V2') === false ? ': this kernel was built without CONFIG_QFMT_V2, so it has no ext4 quotas at all' : '');
  }
  await build(NAME, { template: 'busybox', ip: IP, hostname: `ex${tag}.test` }, paths);
  writeFileSync(join(paths.rootdir, NAME, 'var', 'www', 'index.html'), `<p>exporter test ${tag}</p>\n${'x'.repeat(4000)}\n`);
  if (mounted) appendFileSync(join(paths.confdir, `${NAME}.conf`), 'DISK_MAX=32M\n');
  await build(BOOT, { template: 'busybox' }, paths);
  appendFileSync(join(paths.confdir, `${BOOT}.conf`), 'ONBOOT=yes\n');
  xid = (await startServer(NAME, paths)).xid;
  await until('the server\'s page', () => httpGet(`http://${IP}/`).then((r) => r.status === 200 && r.body.includes(`exporter test ${tag}`)));

  const exporter = startDaemon('setpriv', [`--bounding-set=${unitCaps()}`, '--inh-caps=-all', '--no-new-privs', '--',
    process.execPath, exporterBin, '--listen', `127.0.0.1:${EXPORTER_PORT}`, '--confdir', paths.confdir]);
  exporter.stderr!.setEncoding('utf8').on('data', (d: string) => (exporterErr += d));
  await until('the exporter', () => httpGet(`http://127.0.0.1:${EXPORTER_PORT}/metrics`).then((r) => r.status === 200), 20_000);

  const config = join(base, 'prometheus.yml');
  writeFileSync(config, [
    'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
    'rule_files:', `  - ${join(projectRoot, 'scripts', 'vctx-alerts.rules.yml')}`,
    'scrape_configs:', '  - job_name: vctx', '    static_configs:', `      - targets: ['127.0.0.1:${EXPORTER_PORT}']`, '',
  ].join('\n'));
  startDaemon('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(base, 'tsdb')}`,
    `--web.listen-address=127.0.0.1:${PROM_PORT}`, '--log.level=warn']);
}, { timeout: 180_000 });

after(async () => {
  for (const d of daemons) {
    if (d.pid !== undefined && d.exitCode === null && d.signalCode === null) {
      d.kill('SIGTERM');
      await new Promise((r) => { d.once('exit', r); setTimeout(r, 10_000); });
      if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
    }
  }
  if (!skipAll) {
    await stopServer(NAME, paths, { timeoutSec: 2 }).catch(() => {});
    for (const c of new NativeSnapshotSource().snapshot().contexts) {
      if (c.xid === xid) try { killContext(c.xid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const n of [NAME, BOOT]) if (existsSync(join(paths.rootdir, n))) await removeTree(join(paths.rootdir, n)).catch(() => {});
    if (mounted) spawnSync('umount', [paths.rootdir]);
  }
  rmSync(base, { recursive: true, force: true });
});

describe('vctx-exporter scraped by a real Prometheus', { skip: skipAll }, () => {
  test('the exporter runs with the unit\'s capabilities only and serves every family for the server', async () => {
    const r = await httpGet(`http://127.0.0.1:${EXPORTER_PORT}/metrics`);
    assert.equal(r.status, 200);
    const esc = NAME.replace(/[\\"]/g, (c) => `\\${c}`);
    const mine = r.body.split('\n').filter((l) => l.includes(`{name="${esc}",xid="${xid}"`)).map((l) => /^\w+/.exec(l)![0]);
    for (const f of ['up', 'start_time_seconds', 'cpu_seconds_total', 'memory_bytes', 'memory_peak_bytes', 'pids', 'pids_limit', 'processes',
      'oom_kills_total', 'network_receive_bytes_total', 'network_receive_packets_total', 'network_transmit_bytes_total',
      'network_transmit_packets_total', 'io_read_bytes_total', 'io_written_bytes_total']) {
      assert.ok(mine.includes(`vctx_server_${f}`), `vctx_server_${f} for the server:\n${r.body}`);
    }
    assert.match(r.body, new RegExp(`^vctx_server_up\\{name="${BOOT}",xid=""\\} 0$`, 'm'));
    assert.match(r.body, new RegExp(`^vctx_server_onboot\\{name="${BOOT}"\\} 1$`, 'm'));
    assert.ok(!exporterErr.includes('error'), exporterErr);
  });

  test('the server\'s disk use and its DISK_MAX: 32 MiB, from its tree\'s project quota', async (t) => {
    if (quotaSkip) {
      console.log(`# disk figures not checked: ${quotaSkip}`);
      t.skip(quotaSkip);
      return;
    }
    const r = await httpGet(`http://127.0.0.1:${EXPORTER_PORT}/metrics`);
    const esc = NAME.replace(/[\\"]/g, (c) => `\\${c}`);
    const value = (m: string) => new RegExp(`^${m}\\{name="${esc.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')}",xid="${xid}"\\} (\\S+)$`, 'm').exec(r.body)?.[1];
    assert.equal(value('vctx_server_disk_limit_bytes'), String(32 * 1024 * 1024), r.body);
    const used = Number(value('vctx_server_disk_used_bytes'));
    assert.ok(used > 100 * 1024 && used < 32 * 1024 * 1024, `used ${used} bytes (a busybox root)`);
  });

  test('promtool check metrics passes on a real scrape', async () => {
    const r = await httpGet(`http://127.0.0.1:${EXPORTER_PORT}/metrics`);
    const c = spawnSync('promtool', ['check', 'metrics'], { input: r.body, encoding: 'utf8' });
    assert.equal(c.status, 0, c.stdout + c.stderr);
    assert.equal((c.stdout + c.stderr).trim(), '');
  });

  test('Prometheus has the running server\'s series under its exact (hostile) name and XID', { timeout: 60_000 }, async () => {
    const up = await until('the server in Prometheus', async () => {
      const v = await query(sel('vctx_server_up'));
      return v.length ? v : null;
    });
    assert.deepEqual(up.map(([m, v]) => [m['name'], m['xid'], v]), [[NAME, String(xid), 1]]);
    const mem = await query(sel('vctx_server_memory_bytes'));
    assert.equal(mem.length, 1);
    assert.ok(mem[0]![1] > 0, `memory ${mem[0]![1]}`);
    // nothing else took the name apart: one server, one up series with its name
    const all = await query('count by (name) (vctx_server_up{job="vctx"})');
    assert.ok(all.every(([m]) => m['name'] === NAME || !m['name']!.startsWith('ex"')), JSON.stringify(all));
  });

  test('after 50 requests to the server\'s httpd its traffic counters grow in Prometheus', { timeout: 90_000 }, async () => {
    const read = async (m: string) => (await query(sel(m)))[0]?.[1] ?? null;
    const tx0 = await until('the transmit counter', () => read('vctx_server_network_transmit_bytes_total'));
    const rx0 = (await read('vctx_server_network_receive_packets_total')) ?? 0;
    for (let i = 0; i < 50; i++) {
      const r = await httpGet(`http://${IP}/`);
      assert.equal(r.status, 200);
    }
    // 50 pages of 4 kB went out of the server
    const tx1 = await until('the transmit counter to grow by 200 kB', async () => {
      const v = await read('vctx_server_network_transmit_bytes_total');
      return v !== null && v - tx0 >= 50 * 4000 ? v : null;
    }, 30_000);
    assert.ok(tx1 - tx0 < 50 * 4000 * 3, `grew by ${tx1 - tx0} bytes`);
    const rx1 = await read('vctx_server_network_receive_packets_total');
    assert.ok(rx1 !== null && rx1 - rx0 >= 50, `received packets grew by ${rx1! - rx0}`);
    // and the exporter answered every scrape
    assert.deepEqual((await query('up{job="vctx"}')).map(([, v]) => v), [1]);
  });

  test('the shipped alert rules load in Prometheus; the ONBOOT server that is stopped has its alert pending', { timeout: 60_000 }, async () => {
    const rules = JSON.parse((await httpGet(`http://127.0.0.1:${PROM_PORT}/api/v1/rules`)).body) as { data: { groups: { rules: { name: string; health: string }[] }[] } };
    const loaded = rules.data.groups.flatMap((g) => g.rules);
    assert.deepEqual(loaded.map((r) => r.name).sort(), ['VctxExporterDown', 'VctxOnbootServerDown', 'VctxServerDiskNearLimit',
      'VctxServerMemoryNearLimit', 'VctxServerOomKills', 'VctxServerPidsNearLimit', 'VctxServerRunaway']);
    const alert = await until('the ONBOOT alert', async () => {
      const j = JSON.parse((await httpGet(`http://127.0.0.1:${PROM_PORT}/api/v1/alerts`)).body) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
      return j.data.alerts.find((a) => a.labels['alertname'] === 'VctxOnbootServerDown') ?? null;
    });
    assert.equal(alert.labels['name'], BOOT);
    assert.equal(alert.state, 'pending');
    for (const r of loaded) assert.notEqual(r.health, 'err', r.name);
  });

  test('a server cannot read the exporter on the host\'s loopback: its 127.0.0.1 is its own', () => {
    const r = inCtx(xid, `wget -q -T 3 -O - http://127.0.0.1:${EXPORTER_PORT}/metrics; echo "exit $?"`, { encoding: 'utf8', timeout: 20_000 });
    assert.doesNotMatch(String(r.stdout), /vctx_server_up/, 'no page inside the server');
    assert.match(String(r.stdout), /exit [1-9]/, `wget failed inside: ${String(r.stdout)} ${String(r.stderr)}`);
  });

  test('errors: a bad --listen is a usage error (exit 2), a port in use a failure (exit 1), each one line', () => {
    const bad = spawnSync(process.execPath, [exporterBin, '--listen', 'localhost:99999'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(bad.status, 2);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /^vctx-exporter: --listen 'localhost:99999': port 99999 is not from 1 to 65535; try 'vctx-exporter --help'\n$/);
    const inUse = spawnSync(process.execPath, [exporterBin, '--listen', `127.0.0.1:${EXPORTER_PORT}`, '--confdir', paths.confdir], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(inUse.status, 1);
    assert.equal(inUse.stderr, `vctx-exporter: cannot listen on 127.0.0.1:${EXPORTER_PORT}: the address is in use\n`);
  });
});
