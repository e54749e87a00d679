#!/usr/bin/env node
// The host snapshot against ps and top on the same processes.
//
// For 1,000 and 5,000 sleeping processes spread over 4 contexts
// (kernel/out/chcontext), it measures one full snapshot through the native
// addon in-process (median of many calls on a warm scanner, plus the first
// call of a fresh process), then `ps -eo pid,ppid,user,stat,rss,vsz,time,comm`
// and `top -b -n 1` with hyperfine, and writes the ratios to
// bench/results/snapshot.md.  Every context and process it makes is killed
// before it exits, also on failure or Ctrl-C.
//
//   node bench/snapshot.mjs [--sizes 1000,5000] [--iterations 40] [--runs 10]
//
// Needs root, hyperfine and perl.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '1000,5000' },
    iterations: { type: 'string', default: '40' },
    runs: { type: 'string', default: '10' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const iterations = Number(values.iterations);
const runs = Number(values.runs);
if (sizes.some((n) => !Number.isInteger(n) || n < 4 || n > 20000) || !(iterations > 0) || !(runs > 0)) {
  console.error('usage: snapshot.mjs [--sizes N,N] [--iterations N] [--runs N]');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('bench/snapshot.mjs: run as root (the snapshot reads every process and the contexts\' cgroups)');
  process.exit(1);
}
for (const tool of ['hyperfine', 'perl', 'ps', 'top']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench/snapshot.mjs: ${tool} is missing`);
    process.exit(1);
  }
}

const addonPath = process.env.VCTX_ADDON ?? join(root, 'build', 'Release', 'vctx.node');
const addon = createRequire(import.meta.url)(addonPath);
const chcontext = join(root, 'kernel', 'out', 'chcontext');
const tmp = mkdtempSync(join(tmpdir(), 'vctx-bench-'));
const contexts = [];

function cleanup() {
  for (const xid of contexts.splice(0)) {
    try { addon.killContext(xid, 9); } catch { /* already gone */ }
  }
}
process.on('SIGINT', () => { cleanup(); process.exit(130); });
process.on('exit', () => { cleanup(); rmSync(tmp, { recursive: true, force: true }); });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** a context whose perl forks `count` children that sleep; returns its XID */
function farmContext(count) {
  const out = join(tmp, `ctx-${contexts.length}.out`);
  const fd = openSync(out, 'w');
  const perl = `$0 = "sleeper"; for (1..${count}) { my $p = fork; die "fork: $!" unless defined $p;` +
    ` if (!$p) { sleep 100000; exit 0 } } sleep 100000`;
  const r = spawnSync(chcontext, ['--daemon', '--silent', 'perl', '-e', perl], {
    stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: 30_000,
  });
  closeSync(fd);
  const xid = Number(readFileSync(out, 'utf8').trim().split(/\s+/)[0]);
  if (r.status !== 0 || !(xid > 1)) throw new Error(`chcontext failed: ${r.stderr}`);
  contexts.push(xid);
  return xid;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** hyperfine median and range in ms of a command (no shell) */
function hyperfine(cmd) {
  const json = join(tmp, 'hf.json');
  const r = spawnSync('hyperfine', ['-N', '--warmup', '2', '--runs', String(runs), '--export-json', json,
    '--output=null', cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`hyperfine ${cmd}: ${r.stderr}`);
  const res = JSON.parse(readFileSync(json, 'utf8')).results[0];
  return { median: res.median * 1e3, min: res.min * 1e3, max: res.max * 1e3 };
}

/** first snapshot of a fresh process (empty caches), ms, median of 5 */
function coldSnapshot() {
  const code = `const a = require(${JSON.stringify(addonPath)}); const t = process.hrtime.bigint();` +
    ` a.snapshot(); console.log(Number(process.hrtime.bigint() - t) / 1e6);`;
  const xs = [];
  for (let i = 0; i < 5; i++) {
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cold snapshot: ${r.stderr}`);
    xs.push(Number(r.stdout.trim()));
  }
  return median(xs);
}

const rows = [];
for (const n of sizes) {
  const per = Math.floor(n / 4);
  const xids = [0, 1, 2, 3].map((i) => farmContext(i < 3 ? per : n - 3 * per));
  // wait until every context holds its processes (+ init and the perl parent)
  let snap;
  for (let t0 = Date.now(); ; await sleep(200)) {
    snap = addon.snapshot();
    const inside = snap.contexts.filter((c) => xids.includes(c.xid)).reduce((s, c) => s + c.nprocs, 0);
    if (inside >= n + 8) break;
    if (Date.now() - t0 > 60_000) throw new Error(`only ${inside} of ${n + 8} processes came up`);
  }
  await sleep(500);
  const total = addon.snapshot().processes.length;

  // in-process: the warm scanner, as vtop refreshes
  for (let i = 0; i < 3; i++) addon.snapshot();
  const times = [];
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    addon.snapshot();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  const warm = median(times);
  const cold = coldSnapshot();
  const ps = hyperfine('ps -eo pid,ppid,user,stat,rss,vsz,time,comm');
  const top = hyperfine('top -b -n 1');
  rows.push({ n, total, warm, warmMin: Math.min(...times), warmMax: Math.max(...times), cold, ps, top });
  console.log(`${n} sleepers (${total} processes): snapshot ${warm.toFixed(1)} ms (cold ${cold.toFixed(1)} ms),` +
    ` ps ${ps.median.toFixed(1)} ms, top ${top.median.toFixed(1)} ms, snapshot/ps ${(warm / ps.median).toFixed(3)}`);

  for (const xid of xids) addon.killContext(xid, 9);
  contexts.splice(0);
  for (let t0 = Date.now(); Date.now() - t0 < 30_000; await sleep(200)) {
    if (!addon.snapshot().contexts.some((c) => xids.includes(c.xid))) break;
  }
}

const f = (x) => x.toFixed(1);
const r3 = (x) => x.toFixed(3);
const md = [
  '# Host snapshot vs ps and top',
  '',
  `Measured by \`node bench/snapshot.mjs\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} CPUs ` +
  `(${cpus()[0]?.model ?? 'unknown'}), Linux ${readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ` +
  `Node ${process.version}.`,
  '',
  'Sleeping processes spread over 4 contexts (chcontext, perl fork farms), on top of the host\'s own.',
  '*snapshot* is one full `snapshot()` through the native addon in the same process: every process',
  '(pid, ppid, XID, inner PID, state, comm, threads, times, VSZ, RSS, uid, nice, cmdline) and every',
  'context with its cgroup figures, as JS objects; median of ' + iterations + ' calls on a warm scanner',
  '(steady state: one /proc/PID/stat read per process).  *cold* is the first snapshot of a fresh process',
  '(also reads /proc/PID/status and /proc/PID/cmdline of every process; median of 5).',
  `ps and top are whole processes timed by hyperfine (median of ${runs} runs after 2 warm-ups).`,
  '',
  '| sleepers | processes | snapshot ms (min–max) | cold ms | ps ms (min–max) | top -b -n 1 ms (min–max) | snapshot/ps | snapshot/top | cold/ps |',
  '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.n} | ${r.total} | ${f(r.warm)} (${f(r.warmMin)}–${f(r.warmMax)}) | ${f(r.cold)} | ` +
    `${f(r.ps.median)} (${f(r.ps.min)}–${f(r.ps.max)}) | ${f(r.top.median)} (${f(r.top.min)}–${f(r.top.max)}) | ` +
    `${r3(r.warm / r.ps.median)} | ${r3(r.warm / r.top.median)} | ${r3(r.cold / r.ps.median)} |`),
  '',
  'Target: snapshot/ps at most 0.3 at 5,000 processes.',
  '',
];
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', 'snapshot.md'), md.join('\n'));
console.log(`wrote bench/results/snapshot.md`);
