#!/usr/bin/env node
// vserver-stat end to end (the compiled CLI, a fresh node process each run)
// against `ps -e`, which reads the same /proc.  Runs the two in turn
// (A B A B ...) after a warm-up, so a drift in the machine's speed hits both,
// and writes the medians and the pair-by-pair ratio to
// bench/results/vserver-stat.md.
//
//   node bench/vserver-stat.mjs [--runs N] [--extra N[,N...]] [--no-write]
//
// --extra starts that many extra `sleep` processes (in a process group of
// the script's own, killed afterwards) to measure a busier host; each
// number is one section of the report.
//
// Needs root (vserver-stat refuses other users), the addon and dist/ built
// (npm run build).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cliPath = join(root, 'dist', 'src', 'cli', 'vserver-stat.js');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 30;
const write = !args.includes('--no-write');
const extraArg = args.includes('--extra') ? args[args.indexOf('--extra') + 1] ?? '0' : '0';
const extras = extraArg.split(',').map(Number).filter((n) => Number.isInteger(n) && n >= 0);

if (process.getuid?.() !== 0) {
  console.error('bench/vserver-stat.mjs: run as root (vserver-stat refuses other users)');
  process.exit(1);
}
if (!existsSync(cliPath)) {
  console.error(`bench/vserver-stat.mjs: ${cliPath} missing; run npm run build`);
  process.exit(1);
}

// run the command as a user does: the file itself, through its shebang
chmodSync(cliPath, 0o755);
const A = { label: 'vserver-stat', file: cliPath, argv: [] };
const B = { label: 'ps -e', file: 'ps', argv: ['-e'] };

/** one whole-process run: wall milliseconds, and its exit status checked */
function once(cmd) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd.file, cmd.argv, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    console.error(`${cmd.label} failed (exit ${r.status}): ${r.stderr}`);
    process.exit(1);
  }
  return { ms, out: r.stdout.toString() };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** starts n extra `sleep` processes in a process group of their own; returns its id */
function startExtra(n) {
  if (n <= 0) return null;
  const child = spawn('sh', ['-c', `i=0; while [ $i -lt ${n} ]; do sleep 3600 & i=$((i+1)); done; echo ready; wait`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return child;
}

async function waitReady(child) {
  if (!child) return;
  await new Promise((resolve) => child.stdout.once('data', resolve));
}

function stopExtra(child) {
  if (!child) return;
  try {
    process.kill(-child.pid, 'SIGKILL'); // the group this script created
  } catch {
    /* already gone */
  }
}

/** measures one host size: returns the report section */
function measure(extra) {
  // warm-up: page cache, the kernel's dentries for /proc
  for (let i = 0; i < 3; i++) {
    once(A);
    once(B);
  }
  const a = [];
  const b = [];
  const ratio = [];
  let sample = '';
  for (let i = 0; i < runs; i++) {
    const ra = once(A);
    const rb = once(B);
    a.push(ra.ms);
    b.push(rb.ms);
    ratio.push(ra.ms / rb.ms);
    sample = ra.out;
  }
  const procs = once(B).out.split('\n').filter(Boolean).length - 1;
  const contexts = sample.split('\n').filter(Boolean).length - 1;
  const fmt = (x) => x.toFixed(1);
  const row = (label, xs) => `| ${label} | ${fmt(Math.min(...xs))} | ${fmt(median(xs))} | ${fmt(Math.max(...xs))} |`;
  return {
    procs,
    ratio: median(ratio),
    text: `## ${procs} processes (${extra} extra sleeps), ${contexts} contexts

| command | min ms | median ms | max ms |
| --- | --- | --- | --- |
${row(A.label, a)}
${row(B.label, b)}

Ratio vserver-stat / ps -e, pair by pair: min ${Math.min(...ratio).toFixed(2)}, median **${median(ratio).toFixed(2)}**,
max ${Math.max(...ratio).toFixed(2)} (below 1: vserver-stat is faster).
`,
  };
}

const sections = [];
for (const n of extras) {
  const group = startExtra(n);
  try {
    await waitReady(group);
    sections.push(measure(n));
  } finally {
    stopExtra(group);
  }
  process.stderr.write(`measured with ${n} extra processes\n`);
}

const report = `# vserver-stat vs ps -e

Whole-process wall time of \`vserver-stat\` (compiled: \`dist/src/cli/vserver-stat.js\` run through its shebang, a fresh
node each run) and of \`ps -e\`, which reads the same /proc, run in turn (A B A B ...) ${runs} times each
after 3 warm-up pairs, at each host size. Host: ${cpus().length} CPUs, Linux ${release()}, node ${process.version}.
Produced by \`node bench/vserver-stat.mjs --extra ${extras.join(',')}\` on ${new Date().toISOString().slice(0, 10)}.

| processes | median ratio vserver-stat / ps -e |
| --- | --- |
${sections.map((s) => `| ${s.procs} | ${s.ratio.toFixed(2)} |`).join('\n')}

${sections.map((s) => s.text).join('\n')}`;

process.stdout.write(report);
if (write) {
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  writeFileSync(join(root, 'bench', 'results', 'vserver-stat.md'), report);
}
