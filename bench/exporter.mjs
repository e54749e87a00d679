#!/usr/bin/env node
// vctx-exporter's scrape with 100 running busybox servers against a
// node_exporter scrape of the same host, in the same run.
//
// Builds and starts N busybox servers (default 100; template busybox, each
// with its own address 127.0.89.K: network counters, httpd, syslogd) in
// temporary VSERVER_CONFDIR / ROOTDIR / RUNDIR, starts vctx-exporter
// (dist/vctx-exporter.cjs) and Debian's prometheus-node-exporter (its
// default collectors) on loopback ports of its own, then scrapes
// /metrics of each in turn (interleaved, after warm-up), timing each GET
// from request to the last byte, and reads the exporter's own
// vctx_exporter_scrape_duration_seconds.  Writes bench/results/exporter.md
// with medians, 90th percentiles and the ratio.  Both daemons end by
// their PIDs; every server is stopped and deleted, also on failure.
//
//   flock /tmp/vctx-roottests.lock flock /tmp/vctx-bench.lock node bench/exporter.mjs [SERVERS] [SCRAPES]
//
// Needs root and prometheus-node-exporter (scripts/bench.mjs installs it);
// its packaged service is not used (nor left running).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SERVERS = Number(process.argv[2] ?? 100);
const SCRAPES = Number(process.argv[3] ?? 40);
const VCTX_PORT = 19991;
const NODE_PORT = 19992;
const NODE_EXPORTER = '/usr/bin/prometheus-node-exporter';

if (process.getuid?.() !== 0) {
  console.error('exporter benchmark: needs root');
  process.exit(1);
}
for (const f of [join(root, 'dist/vctx-exporter.cjs'), join(root, 'dist/vserver.cjs'), NODE_EXPORTER]) {
  if (!existsSync(f)) {
    console.error(`exporter benchmark: ${f} is missing (npm run build; apt-get install prometheus-node-exporter)`);
    process.exit(1);
  }
}

const T = mkdtempSync(join(tmpdir(), 'vctx-bench-exporter-'));
const env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
const vs = (...a) => spawnSync(process.execPath, [join(root, 'dist/vserver.cjs'), ...a], { env, encoding: 'utf8' });
const names = Array.from({ length: SERVERS }, (_, i) => `bx${String(i + 1).padStart(3, '0')}`);
const daemons = [];
let built = [];
let started = [];

function cleanup() {
  for (const d of daemons) if (d.exitCode === null && d.signalCode === null) d.kill('SIGTERM');
  for (const n of started) vs(n, 'stop', '--timeout', '2');
  for (const n of built) vs(n, 'delete', '--force');
  rmSync(T, { recursive: true, force: true });
}
process.on('SIGINT', () => { cleanup(); process.exit(130); });

function get(port) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, body }));
    });
    req.on('error', reject);
  });
}
async function until(port) {
  for (let i = 0; i < 300; i++) {
    try { if ((await get(port)).status === 200) return; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing answers on 127.0.0.1:${port}`);
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f1 = (x) => x.toFixed(1);

try {
  const t0 = Date.now();
  for (const [i, n] of names.entries()) {
    const r = vs(n, 'build', '--template', 'busybox', '--ip', `127.0.89.${i + 1}`);
    if (r.status !== 0) throw new Error(`build ${n}: ${r.stderr}`);
    built.push(n);
  }
  for (const n of names) {
    const r = vs(n, 'start');
    if (r.status !== 0) throw new Error(`start ${n}: ${r.stderr}`);
    started.push(n);
  }
  console.error(`bench: ${SERVERS} servers built and started in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  const procs = spawnSync('ps', ['-e', '--no-headers'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;

  daemons.push(spawn(process.execPath, [join(root, 'dist/vctx-exporter.cjs'), '--listen', `127.0.0.1:${VCTX_PORT}`, '--confdir', env.VSERVER_CONFDIR], { stdio: 'ignore' }));
  daemons.push(spawn(NODE_EXPORTER, [`--web.listen-address=127.0.0.1:${NODE_PORT}`], { stdio: 'ignore' }));
  await until(VCTX_PORT);
  await until(NODE_PORT);

  // warm-up, then interleaved scrapes
  for (let i = 0; i < 5; i++) { await get(VCTX_PORT); await get(NODE_PORT); }
  const vctx = [];
  const node = [];
  const own = [];
  let vctxBytes = 0;
  let nodeBytes = 0;
  let series = 0;
  for (let i = 0; i < SCRAPES; i++) {
    const a = await get(VCTX_PORT);
    const b = await get(NODE_PORT);
    if (a.status !== 200 || b.status !== 200) throw new Error(`scrape ${i}: ${a.status} / ${b.status}`);
    vctx.push(a.ms);
    node.push(b.ms);
    own.push(Number(/^vctx_exporter_scrape_duration_seconds (\S+)$/m.exec(a.body)[1]) * 1000);
    vctxBytes = a.body.length;
    nodeBytes = b.body.length;
    series = a.body.split('\n').filter((l) => l.startsWith('vctx_server_up{') && / 1$/.test(l)).length;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (series !== SERVERS) throw new Error(`the exporter listed ${series} running servers, not ${SERVERS}`);
  const countLines = (s) => s.split('\n').filter((l) => l && !l.startsWith('#')).length;
  const last = [await get(VCTX_PORT), await get(NODE_PORT)];
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  const out = [
    '# vctx-exporter vs node_exporter: one scrape',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} CPUs (${cpus()[0]?.model.trim()}), Linux ${release()};`,
    `load average ${load}; ${SERVERS} running busybox servers (${procs} processes on the host);`,
    `median of ${SCRAPES} interleaved scrapes after 5 of warm-up. Produced by`,
    '`flock /tmp/vctx-roottests.lock flock /tmp/vctx-bench.lock node bench/exporter.mjs`.',
    '',
    'One scrape: `GET /metrics` on loopback, from the request to the last byte, a new',
    'connection each time (as Prometheus\'s first scrape; it then keeps the connection).',
    'vctx-exporter samples the kernel afresh at each scrape (one host snapshot through the',
    'addon, three cgroup files, the counters and the quota per server); node_exporter',
    '(Debian\'s prometheus-node-exporter 1.5, its default collectors) reads the host\'s own figures.',
    '',
    '| | median | 90th percentile | page |',
    '|---|---:|---:|---:|',
    `| vctx-exporter, ${SERVERS} servers | ${f1(median(vctx))} ms | ${f1(pct(vctx, 90))} ms | ${countLines(last[0].body)} samples, ${(vctxBytes / 1024).toFixed(0)} KiB |`,
    `| (its own vctx_exporter_scrape_duration_seconds) | ${f1(median(own))} ms | ${f1(pct(own, 90))} ms | |`,
    `| node_exporter | ${f1(median(node))} ms | ${f1(pct(node, 90))} ms | ${countLines(last[1].body)} samples, ${(nodeBytes / 1024).toFixed(0)} KiB |`,
    `| ratio (vctx-exporter / node_exporter) | **${(median(vctx) / median(node)).toFixed(2)}x** | ${(pct(vctx, 90) / pct(node, 90)).toFixed(2)}x | |`,
    '',
    `Target: under 50 ms per scrape with 100 servers: ${median(vctx) < 50 ? 'met' : 'NOT met'} (median ${f1(median(vctx))} ms, 90th percentile ${f1(pct(vctx, 90))} ms).`,
    '',
  ];
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  writeFileSync(join(root, 'bench/results/exporter.md'), out.join('\n'));
  console.log(out.join('\n'));
} catch (e) {
  console.error(`exporter benchmark: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
