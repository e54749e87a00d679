#!/usr/bin/env node
// The downtime of a fail-over move to another host: `vserver-copy SRC
// HOST: --move` of a running busybox server holding 100 MB of data (400
// files of 256 KiB: random, so nothing compresses), as the command prints
// it (the source's stop until the destination answers `vserver NAME
// running` over ssh).  The "hosts" are two vctx instances on this machine,
// each behind an sshd of the bench's own on a loopback address
// (test/helpers/sshd.ts, as the tests); the server is moved back and forth
// between them, so every run moves 100 MB the first pass copies while the
// server runs and the last pass only checks.  Side by side in the same run:
// a move on one host (`vserver-copy SRC DEST --move`: the same steps
// without ssh) and `vserver NAME restart` (the floor: a stop and a start).
//
//   node bench/remote-copy.mjs [--runs N] [--no-write]
//
// Each round takes the three in turn (N rounds, default 5); the report
// gives medians, ranges, the ratios and the load average.  Writes
// bench/results/remote-copy.md.  Needs root, openssh-server (setup.sh),
// rsync and `npm run build`.  Everything lives in temporary directories
// and is removed; the instances' kernel side with scripts/vctx-instance.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// the tests' sshd helper is TypeScript: run again under tsx
if (!process.env.VCTX_BENCH_TSX) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit', cwd: root, env: { ...process.env, VCTX_BENCH_TSX: '1' } });
  process.exit(r.status ?? 1);
}
const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const runs = Math.max(1, Number(opt('--runs', 5)) || 5);
const write = !args.includes('--no-write');
if (process.getuid?.() !== 0) {
  console.error('bench/remote-copy.mjs: run as root');
  process.exit(1);
}
const { startSshd } = await import('../test/helpers/sshd.ts');
const { commandPath } = await import('../test/helpers/commands.ts');

const tag = Math.floor(Math.random() * 1e6).toString(36);
const NAME = `benchrc${tag}`;
const LOCAL2 = `benchrl${tag}`;
const IP = '127.0.0.9';
const inst = { a: `bra${tag}`, b: `brb${tag}` };
const T = mkdtempSync(join(tmpdir(), 'vctx-bench-rc-'));
const dirsOf = (h) => ({ VSERVER_CONFDIR: join(T, h, 'etc'), VSERVER_ROOTDIR: join(T, h, 'vs'), VSERVER_RUNDIR: join(T, h, 'run'), VCTX_INSTANCE: inst[h] });
const envOf = (h) => {
  const e = { ...process.env, ...dirsOf(h) };
  delete e.NODE_EXTRA_CA_CERTS;
  return e;
};
const cmd = (h, c, a) => {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(commandPath(c), a, { env: envOf(h), encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${c} ${a.join(' ')} (on ${h}): exit ${r.status}: ${r.stderr}`);
  return { out: r.stdout, ms };
};
const downtime = (out) => {
  const m = /downtime (\d+\.\d\d) s/.exec(out);
  if (!m) throw new Error(`no downtime in: ${out}`);
  return Number(m[1]) * 1000;
};

const sshd = {};
let where = 'a';
try {
  for (const h of ['a', 'b']) {
    mkdirSync(join(T, h, 'vs'), { recursive: true });
    sshd[h] = await startSshd({ alias: `host${h}`, env: dirsOf(h) });
  }
  const cfg = join(T, 'ssh_config');
  writeFileSync(cfg, readFileSync(sshd.a.sshConfig, 'utf8') + readFileSync(sshd.b.sshConfig, 'utf8'));
  cmd('a', 'vserver', [NAME, 'build', '--ip', IP]);
  const data = join(T, 'a', 'vs', NAME, 'var', 'data');
  mkdirSync(data, { recursive: true });
  for (let i = 0; i < 400; i++) writeFileSync(join(data, `f${i}`), randomBytes(256 * 1024));
  cmd('a', 'vserver', [NAME, 'start']);
  const m = { remote: [], local: [], restart: [], remoteTotal: [] };
  for (let i = 0; i < runs; i++) {
    // to the other host (the command runs where the server is)
    const to = where === 'a' ? 'b' : 'a';
    const r = cmd(where, 'vserver-copy', [NAME, `host${to}:`, '--move', '--ssh-config', cfg]);
    m.remote.push(downtime(r.out));
    m.remoteTotal.push(r.ms);
    where = to;
    // on one host: there and back (one measured)
    const l = cmd(where, 'vserver-copy', [NAME, LOCAL2, '--move']);
    m.local.push(downtime(l.out));
    cmd(where, 'vserver-copy', [LOCAL2, NAME, '--move']);
    m.restart.push(cmd(where, 'vserver', [NAME, 'restart']).ms);
    process.stderr.write(`round ${i + 1}/${runs}: remote ${m.remote.at(-1).toFixed(0)} ms, local ${m.local.at(-1).toFixed(0)} ms, restart ${m.restart.at(-1).toFixed(0)} ms\n`);
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const range = (a) => `${Math.min(...a).toFixed(0)}–${Math.max(...a).toFixed(0)}`;
  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  const lines = [
    '# vserver-copy to another host: the downtime of a fail-over move',
    '',
    `Run ${new Date().toISOString()} on ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Linux ${release()}, load average ${load} (after the run).`,
    `A running busybox server with 100 MB of data (400 random files of 256 KiB), moved between two vctx instances`,
    'each behind its own sshd on a loopback address (ssh and rsync as they are: one ControlMaster connection per',
    'run, rsync -aHAXS --numeric-ids over it). Downtime = what the command prints: from the source\'s stop until',
    'the destination answers `vserver NAME running` over ssh. Side by side in each round: the same move on one',
    'host, and `vserver NAME restart` (a stop and a start: the floor of any move).',
    '',
    `| ${runs} rounds | median | range |`,
    '|---|---|---|',
    `| **remote move downtime** (\`vserver-copy NAME HOST: --move\`) | **${med(m.remote).toFixed(0)} ms** | ${range(m.remote)} ms |`,
    `| the whole remote move (first pass of 100 MB included) | ${med(m.remoteTotal).toFixed(0)} ms | ${range(m.remoteTotal)} ms |`,
    `| local move downtime (\`vserver-copy NAME NAME2 --move\`) | ${med(m.local).toFixed(0)} ms | ${range(m.local)} ms |`,
    `| \`vserver NAME restart\` | ${med(m.restart).toFixed(0)} ms | ${range(m.restart)} ms |`,
    `| ratio remote downtime / restart | **${(med(m.remote) / med(m.restart)).toFixed(2)}x** | |`,
    `| ratio remote / local downtime | ${(med(m.remote) / med(m.local)).toFixed(2)}x | |`,
    '',
    `Target: remote downtime under 2 s: **${med(m.remote) < 2000 ? 'met' : 'not met'}** (${(med(m.remote) / 1000).toFixed(2)} s).`,
    '',
    `Raw (ms): remote ${m.remote.map((x) => x.toFixed(0)).join(', ')}; local ${m.local.map((x) => x.toFixed(0)).join(', ')}; restart ${m.restart.map((x) => x.toFixed(0)).join(', ')}.`,
    '',
  ];
  const text = lines.join('\n');
  process.stdout.write(text);
  if (write) writeFileSync(join(root, 'bench', 'results', 'remote-copy.md'), text);
} finally {
  for (const h of ['a', 'b']) {
    for (const n of [NAME, LOCAL2]) spawnSync(commandPath('vserver'), [n, 'stop', '--if-running'], { env: envOf(h), stdio: 'ignore' });
  }
  for (const h of ['a', 'b']) await sshd[h]?.stop();
  for (const h of ['a', 'b']) {
    for (const n of [NAME, LOCAL2]) spawnSync(commandPath('vserver'), [n, 'delete', '--force'], { env: envOf(h), stdio: 'ignore' });
    spawnSync(join(root, 'scripts', 'vctx-instance'), ['remove', inst[h]], { stdio: 'ignore' });
  }
  spawnSync('rm', ['-rf', '--one-file-system', T]);
}
