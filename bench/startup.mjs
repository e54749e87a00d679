#!/usr/bin/env node
// Start-up of the commands, side by side in one run: `node -e 0` (Node's own
// start, the floor of any command in Node), `vserver-stat`, `vps -e`,
// `vserver NAME status` (a running busybox server in temporary directories)
// and `ps -e`, on the host as it is and with 2,000 extra sleeping processes.
// Each command runs as installed: the C front that setup.sh links (vps and
// vserver NAME status print in C there; the report says which path each took).
//
//   node bench/startup.mjs [--runs N] [--rounds R] [--extra N[,N...]] [--no-write]
//
// Every host size is measured in R rounds (default 5), each one hyperfine -N
// invocation over all commands with N runs of each (default 30) after 5
// warm-up runs: a host whose speed drifts (a shared VM) moves every command
// of a round alike, so each round gives its ratios (median to median) and
// the report gives their median and range.  Writes bench/results/startup.md.
//
// NODE_EXTRA_CA_CERTS is removed from the environment of every command, as
// the commands' #! line removes it for themselves: with it, Node reads and
// parses the CA bundle at start (~40 ms here), and `node -e 0` would be a
// floor no command pays.
//
// Needs root, hyperfine, busybox and `npm run build` (the bundles).  The
// extra processes are `sleep` in a process group of their own, killed
// afterwards; the server is stopped and deleted.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const runs = Number(opt('--runs', 30)) || 30;
const rounds = Math.max(1, Number(opt('--rounds', 5)) || 5);
const extras = String(opt('--extra', '0,2000')).split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 0);
const write = !args.includes('--no-write');
const NAME = 'benchstartup';
const IP = '127.0.0.7';

const bin = (c) => join(root, 'dist', `${c}.cjs`);
if (process.getuid?.() !== 0) {
  console.error('bench/startup.mjs: run as root (the commands refuse other users)');
  process.exit(1);
}
for (const [what, ok] of [
  ['hyperfine', spawnSync('sh', ['-c', 'command -v hyperfine'], { stdio: 'ignore' }).status === 0],
  ['dist/*.cjs and the C fronts kernel/out/{vps,vserver-stat,vserver} (npm run build)', ['vserver', 'vserver-stat', 'vps'].every((c) => existsSync(bin(c))) &&
    ['vps', 'vserver-stat', 'vserver'].every((c) => existsSync(join(root, 'kernel', 'out', c)))],
]) {
  if (!ok) {
    console.error(`bench/startup.mjs: ${what} missing`);
    process.exit(1);
  }
}

const T = mkdtempSync(join(tmpdir(), 'vctx-bench-startup-'));
chmodSync(T, 0o755);
const env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
delete env.NODE_EXTRA_CA_CERTS;

function vserver(...a) {
  const r = spawnSync(bin('vserver'), a, { env, encoding: 'utf8' });
  if (r.status !== 0 && a[1] !== 'status') throw new Error(`vserver ${a.join(' ')}: ${r.stderr}`);
  return r;
}

const commands = [
  { label: 'node -e 0', cmd: 'node -e 0' },
  { label: 'vserver-stat', cmd: join(root, 'kernel', 'out', 'vserver-stat') },
  { label: 'vps -e', cmd: `${join(root, 'kernel', 'out', 'vps')} -e` },
  { label: `vserver ${NAME} status`, cmd: `${join(root, 'kernel', 'out', 'vserver')} ${NAME} status` },
  { label: 'ps -e', cmd: 'ps -e' },
];

/** one hyperfine invocation over every command; returns its results by label */
async function hyperfine(n) {
  const json = join(T, `round-${Math.random().toString(36).slice(2)}.json`);
  const code = await new Promise((resolve) => {
    const h = spawn('hyperfine', ['-N', '--warmup', '5', '--runs', String(n), '--export-json', json,
      ...commands.flatMap((c) => ['-n', c.label, c.cmd])], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    h.stderr.on('data', (b) => (err += b));
    h.on('exit', (c) => resolve(c === 0 ? 0 : `${c}: ${err.trim()}`));
  });
  if (code !== 0) throw new Error(`hyperfine failed (exit ${code})`);
  const res = JSON.parse(readFileSync(json, 'utf8')).results;
  rmSync(json, { force: true });
  return new Map(res.map((r) => [r.command, r]));
}

/** starts n `sleep 3600` in a process group of their own; resolves when all run */
async function startExtra(n) {
  if (n <= 0) return null;
  const child = spawn('sh', ['-c', `i=0; while [ $i -lt ${n} ]; do sleep 3600 & i=$((i+1)); done; echo ready; wait`], {
    detached: true, stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return child;
}
/** kills the group and waits (up to 10 s) until it is gone, so the next measurement, or test, has the host back */
async function stopExtra(child) {
  if (!child) return;
  const exited = new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', resolve)));
  try {
    process.kill(-child.pid, 'SIGKILL'); // the group this script created
  } catch {
    return; // gone
  }
  await exited;
  // the sleeps, orphaned, are reaped by init: wait until none of the group is left
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(-child.pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const fmtRatio = (q) => `**${median(q).toFixed(2)}x** (${Math.min(...q).toFixed(2)}–${Math.max(...q).toFixed(2)})`;

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const loadAtStart = loadavg();
const sections = [];
const summary = [];
try {
  vserver(NAME, 'build', '--ip', IP);
  vserver(NAME, 'start');
  vserver(NAME, 'status'); // Node judges NAME.conf once and keeps its verdict: later statuses are C's
  // which path each front takes here: with a Node that cannot start, only the C path answers
  const noNode = { ...env, NODE_OPTIONS: '--require=/nonexistent/vctx-bench-no-node.js' };
  for (const c of commands.filter((x) => x.cmd.includes('kernel/out/'))) {
    const [file, ...a] = c.cmd.split(' ');
    c.path = spawnSync(file, a, { env: noNode, stdio: 'ignore' }).status === 0 ? 'C' : 'Node';
  }
  for (const n of extras) {
    const group = await startExtra(n);
    let perRound;
    let procs;
    try {
      procs = spawnSync('ps', ['-e'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length - 1;
      perRound = [];
      for (let i = 0; i < rounds; i++) perRound.push(await hyperfine(runs));
    } finally {
      await stopExtra(group);
    }
    const of = (label) => perRound.map((m) => m.get(label));
    const node = of('node -e 0');
    const ps = of('ps -e');
    const ms = (s) => (s * 1000).toFixed(1);
    const rows = commands.map(({ label }) => {
      const rs = of(label);
      const times = rs.flatMap((r) => r.times);
      const vsNode = rs.map((r, i) => r.median / node[i].median);
      const vsPs = rs.map((r, i) => r.median / ps[i].median);
      return { label, median: median(times), vsNode, vsPs };
    });
    const row = (label) => rows.find((r) => r.label === label);
    summary.push({ n, procs, row });
    sections.push(`## ${n ? `${n} extra sleeping processes` : 'The host as it is'} (about ${procs} processes)

| command | median ms | vs \`node -e 0\` (rounds) | vs \`ps -e\` (rounds) |
|---|---:|---:|---:|
${rows.map((r) => `| ${r.label} | ${ms(r.median)} | ${fmtRatio(r.vsNode)} | ${fmtRatio(r.vsPs)} |`).join('\n')}
`);
    process.stderr.write(`measured with ${n} extra processes\n`);
  }
} finally {
  spawnSync(bin('vserver'), [NAME, 'stop'], { env, stdio: 'ignore' });
  spawnSync(bin('vserver'), [NAME, 'delete', '--force'], { env, stdio: 'ignore' });
  rmSync(T, { recursive: true, force: true });
}

const status = `vserver ${NAME} status`;
const idle = summary.find((s) => s.n === 0);
const busy = summary.find((s) => s.n === 2000) ?? summary[summary.length - 1];
const targets = [
  idle && `- on the host as it is, vs \`node -e 0\` (target ≤ 1.2x): vserver-stat ${fmtRatio(idle.row('vserver-stat').vsNode)}, ` +
    `vps -e ${fmtRatio(idle.row('vps -e').vsNode)}, vserver NAME status ${fmtRatio(idle.row(status).vsNode)}`,
  busy && busy.n > 0 && `- at ${busy.procs} processes, vserver-stat vs \`ps -e\` (target ≤ 0.8x): ${fmtRatio(busy.row('vserver-stat').vsPs)}`,
].filter(Boolean);

const report = `# Start-up: the commands against \`node -e 0\` and \`ps -e\`

Generated by \`node bench/startup.mjs --runs ${runs} --rounds ${rounds} --extra ${extras.join(',')}\`: at each host size
${rounds} rounds, each one \`hyperfine -N\` invocation over all five commands with ${runs} runs of each after 5
warm-up runs.  A ratio is the median of the ${rounds} rounds' ratios (median to median), with their
range: this VM's speed drifts between rounds, alike for every command of a round.

- host: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, Linux ${release()}, node ${process.version}
- ${spawnSync('hyperfine', ['--version'], { encoding: 'utf8' }).stdout.trim()}; date ${new Date().toISOString()}
- load average (1, 5, 15 min) at the start ${loadAtStart}, at the end ${loadavg()} (other work on this 2-CPU host moves every figure)
- the commands as installed, their C fronts (kernel/tools/NAME.c): \`kernel/out/vserver ${NAME} status\`
  (answers in C for a running server whose NAME.conf Node judged valid before, else execs node with
  \`dist/vserver.cjs\`; path taken here: ${commands[3].path}), \`kernel/out/vps -e\` (runs ps as the
  spectator, scans and prints in C; Node with \`dist/vps.cjs\` for --json and rare cases; path taken
  here: ${commands[2].path}) and \`kernel/out/vserver-stat\` (takes the snapshot while node starts with
  \`dist/vserver-stat.cjs\`, and hands it over as JSON); the C paths print from the same tables as
  the TypeScript (kernel/tables/vctx-tables.json, test/integration/native-render.test.ts); the
  server is a busybox one (\`vserver ${NAME} build\`, started) in temporary directories
- every command runs without NODE_EXTRA_CA_CERTS (the commands drop it; with it \`node -e 0\` reads
  the CA bundle, ~40 ms here, and would be a floor no command pays)

Targets (issue 9):
${targets.join('\n')}

${sections.join('\n')}`;

console.log(`\n${report}`);
if (write) {
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'startup.md'), report);
  console.log('written to bench/results/startup.md');
}
