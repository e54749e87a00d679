#!/usr/bin/env node
// Context creation to the exec of /bin/true in a busybox root, side by side
// in one hyperfine run (interleaved warm-up, same machine state):
//
//   floor      unshare --pid --fork --ipc --uts --mount chroot ROOT /bin/true
//   bwrap      the same namespaces, ROOT bound as /, its own /proc and /dev
//   lxc        lxc-execute of an equivalent container (rootfs ROOT, host network)
//   vctx       chcontext --silent --secure --root ROOT --ip 127.0.0.9
//              --loopback 127.128.0.9 -- /bin/true  (cgroup, eBPF lock,
//              pivot_root, private /dev, caps, seccomp, Landlock, time ns)
//
// Writes the medians and their ratio to the floor to
// bench/results/context-create.md (and the raw hyperfine JSON beside it).
//
//   node bench/context-create.mjs [--runs N] [--rounds R] [--no-write]
//
// The N runs of each command are split into R rounds (default 5), each one
// hyperfine invocation over all commands: a host whose speed drifts (a
// shared VM) moves every command of a round alike, so each round gives a
// ratio to the floor, and the report gives their median and range.
//
// A second hyperfine run breaks vctx down by option (bare, --root, --secure,
// --ip) to show which step costs what.  A watchdog wakes a vctx-init that
// sits on an unreaped CMD for over 300 ms (the SIGCHLD race fixed in a1853a4:
// CMD exited before the reaper blocked SIGCHLD): it sends SIGCHLD and counts
// it, so a regression cannot hang the benchmark; the count is in the report.
//
// Needs root, hyperfine, bwrap, lxc-execute and kernel/out built (make -C kernel).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const project = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1]) || 200;
const rounds = Math.max(1, Number(args[args.indexOf('--rounds') + 1]) || 5);
const perRound = Math.max(40, Math.ceil(runs / rounds));
const write = !args.includes('--no-write');
const chcontext = join(project, 'kernel', 'out', 'chcontext');

if (process.getuid?.() !== 0) {
  console.error('bench/context-create.mjs: run as root');
  process.exit(1);
}
for (const [what, ok] of [
  ['hyperfine', has('hyperfine')],
  ['bwrap', has('bwrap')],
  ['kernel/out/chcontext (make -C kernel)', existsSync(chcontext)],
]) {
  if (!ok) {
    console.error(`bench/context-create.mjs: ${what} missing`);
    process.exit(1);
  }
}

function has(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}
function out(cmd, argv) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8' });
  return (r.stdout || r.stderr || '').trim();
}

/** a minimal busybox root: the static busybox and its applets as relative links */
function busyboxRoot() {
  const root = mkdtempSync(join(tmpdir(), 'vctx-bench-root-'));
  chmodSync(root, 0o755);
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'root']) mkdirSync(join(root, d));
  copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  for (const a of out('/bin/busybox', ['--list']).split('\n')) {
    if (a && a !== 'busybox') symlinkSync('busybox', join(root, 'bin', a));
  }
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  return root;
}

const root = busyboxRoot();
const lxcName = `vctx-bench-${process.pid}`;
const lxcConf = join(root, '..', `${lxcName}.conf`);
writeFileSync(
  lxcConf,
  [
    `lxc.uts.name = ${lxcName}`,
    `lxc.rootfs.path = dir:${root}`,
    'lxc.net.0.type = none',
    'lxc.mount.auto = proc:rw',
    'lxc.apparmor.profile = unconfined',
    '',
  ].join('\n'),
);

const commands = [
  { label: 'floor: unshare + chroot', cmd: `unshare --pid --fork --ipc --uts --mount chroot ${root} /bin/true` },
  {
    label: 'bwrap',
    cmd: `bwrap --unshare-pid --unshare-ipc --unshare-uts --bind ${root} / --proc /proc --dev /dev /bin/true`,
  },
  { label: 'lxc-execute', cmd: `lxc-execute -n ${lxcName} -f ${lxcConf} -- /bin/true` },
  {
    label: 'vctx: chcontext --secure --root --ip',
    cmd: `${chcontext} --silent --secure --root ${root} --ip 127.0.0.9 --loopback 127.128.0.9 -- /bin/true`,
  },
];

// every command must work before it is timed
const usable = [];
const notes = [];
for (const c of commands) {
  const r = spawnSync('sh', ['-c', c.cmd], { encoding: 'utf8', timeout: 20_000 });
  if (r.status === 0) usable.push(c);
  else notes.push(`${c.label} did not run here (exit ${r.status}): ${(r.stderr || '').trim().split('\n')[0]}`);
}

/** wake a vctx-init (of ours) that has had a zombie child for > 300 ms; returns a stop function */
let rescued = 0;
function watchdog() {
  const seen = new Map();
  const t = setInterval(() => {
    for (const e of readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        if (readFileSync(`/proc/${e}/comm`, 'utf8').trim() !== 'vctx-init') continue;
        const kids = readFileSync(`/proc/${e}/task/${e}/children`, 'utf8').trim().split(' ').filter(Boolean);
        const zombie = kids.some((k) => readFileSync(`/proc/${k}/stat`, 'utf8').split(') ')[1]?.startsWith('Z'));
        if (!zombie) { seen.delete(e); continue; }
        const since = seen.get(e) ?? Date.now();
        seen.set(e, since);
        if (Date.now() - since > 300) {
          process.kill(Number(e), 'SIGCHLD');
          rescued++;
          seen.delete(e);
        }
      } catch { /* gone */ }
    }
  }, 100);
  return () => clearInterval(t);
}

/** one hyperfine invocation over @cmds; returns its results */
async function hyperfine(cmds, n) {
  const json = join(tmpdir(), `vctx-bench-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  const stop = watchdog();
  const code = await new Promise((resolve) => {
    const h = spawn('hyperfine', ['-N', '--warmup', '20', '--runs', String(n), '--export-json', json,
      ...cmds.flatMap((c) => ['-n', c.label, c.cmd])], { stdio: ['ignore', 'inherit', 'inherit'] });
    h.on('exit', resolve);
  });
  stop();
  if (code !== 0) {
    console.error('hyperfine failed');
    process.exit(1);
  }
  const res = JSON.parse(readFileSync(json, 'utf8')).results;
  rmSync(json, { force: true });
  return res;
}

const roundResults = [];
for (let i = 0; i < rounds; i++) roundResults.push(await hyperfine(usable, perRound));
const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
// every round's times pooled per command; each round's median kept for its ratio
const results = usable.map((c) => {
  const of = roundResults.map((rr) => rr.find((r) => r.command === c.label));
  const times = of.flatMap((r) => r.times);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  const stddev = Math.sqrt(times.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, times.length - 1));
  return { command: c.label, times, mean, stddev, median: median(times), roundMedians: of.map((r) => r.median) };
});
const vctxBase = `${chcontext} --silent`;
const breakdown = await hyperfine([
  commands[0],
  { label: 'chcontext (bare: namespaces, cgroup, reaper)', cmd: `${vctxBase} -- /bin/true` },
  { label: '+ --root (pivot_root, /proc, /dev)', cmd: `${vctxBase} --root ${root} -- /bin/true` },
  { label: '+ --secure (sysfs, cgroupfs, masks, caps, seccomp, Landlock)', cmd: `${vctxBase} --secure --root ${root} -- /bin/true` },
  { label: '+ --ip --loopback (eBPF lock)', cmd: `${vctxBase} --secure --root ${root} --ip 127.0.0.9 --loopback 127.128.0.9 -- /bin/true` },
], Math.max(50, Math.floor(runs / 2)));
rmSync(root, { recursive: true, force: true });
rmSync(lxcConf, { force: true });

const floor = results.find((r) => r.command.startsWith('floor'));
const ms = (s) => (s * 1000).toFixed(2);
/** a command's ratio to the floor in each round */
const ratios = (r) => r.roundMedians.map((m, i) => m / floor.roundMedians[i]);
const rows = results.map((r) => {
  const sorted = [...r.times].sort((a, b) => a - b);
  const p90 = sorted[Math.floor(sorted.length * 0.9)];
  const q = ratios(r);
  return `| ${r.command} | ${ms(r.median)} | ${ms(r.mean)} ± ${ms(r.stddev)} | ${ms(p90)} | ${median(q).toFixed(2)}x | ${Math.min(...q).toFixed(2)}–${Math.max(...q).toFixed(2)}x |`;
});
const vctx = results.find((r) => r.command.startsWith('vctx'));
const ratio = vctx ? median(ratios(vctx)) : NaN;

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const report = `# Context creation: from nothing to exec of /bin/true in a busybox root

Generated by \`node bench/context-create.mjs --runs ${runs} --rounds ${rounds}\`: hyperfine -N in
${rounds} rounds, each one invocation over all commands with ${perRound} runs of each after 20 warm-up
runs (${rounds * perRound} runs per command).  "vs floor" is the median of the ${rounds} rounds' ratios
(median to median), beside their range: this VM's speed drifts between rounds, alike for every
command of a round.

- machine: ${cpus().length} x ${cpu}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM
- kernel: Linux ${release()}; cgroups: ${existsSync('/sys/fs/cgroup/unified') ? 'hybrid (cgroup2 at /sys/fs/cgroup/unified, controllers on v1)' : 'cgroup2'}
- tools: ${out('hyperfine', ['--version'])}, bubblewrap ${out('bwrap', ['--version']).replace(/^bubblewrap /, '')}, lxc ${out('lxc-execute', ['--version'])}
- date: ${new Date().toISOString()}

| command | median ms | mean ± σ ms | p90 ms | vs floor | rounds |
|---|---:|---:|---:|---:|---:|
${rows.join('\n')}

What each one does:
- **floor**: \`unshare --pid --fork --ipc --uts --mount chroot ROOT /bin/true\` — namespaces
  and a chroot, nothing else (no /proc, no cgroup, no capability changes).
- **bwrap**: \`bwrap --unshare-pid --unshare-ipc --unshare-uts --bind ROOT / --proc /proc --dev /dev /bin/true\`
  (pivot_root, a new /proc and a minimal /dev; bwrap drops all capabilities).
- **lxc-execute**: \`lxc-execute -n NAME -f CONF -- /bin/true\` with \`lxc.rootfs.path = dir:ROOT\`,
  \`lxc.net.0.type = none\` (host network, like vctx), \`lxc.mount.auto = proc:rw\`; lxc makes
  its cgroups, pivots, mounts /dev and runs its own init (lxc-init).
- **vctx**: \`chcontext --silent --secure --root ROOT --ip 127.0.0.9 --loopback 127.128.0.9 -- /bin/true\`:
  XID allocation, cgroup2 (+ v1 dirs where needed) with metadata xattrs, the eBPF IPv4 lock
  attached to the cgroup, a guard socket, time namespace offsets, PID/IPC/UTS/mount/cgroup
  namespaces, /proc, read-only /sys and cgroupfs, the OCI masked paths, a private /dev with its
  own devpts, pivot_root with the old root detached, Landlock scoping, seccomp, the capability
  ceiling, a reaper as PID 1; then waiting for the cgroup to empty and removing it.
  chcontext is a static PIE (no dynamic loader, no relocations at start).

vctx / floor: **${ratio.toFixed(2)}x** (target ≤ 1.4x).

## Where vctx spends its time (one more run, option by option)

| command | median ms | step adds ms |
|---|---:|---:|
${breakdown.map((r, i) => `| ${r.command} | ${ms(r.median)} | ${i ? ms(r.median - breakdown[i - 1].median) : '-'} |`).join('\n')}

Runs in which vctx-init had to be woken (SIGCHLD race, see the report): ${rescued}.
${notes.length ? `\nNot measured:\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;

console.log(`\n${report}`);
if (write) {
  mkdirSync(join(project, 'bench', 'results'), { recursive: true });
  writeFileSync(join(project, 'bench', 'results', 'context-create.md'), report);
  console.log('written to bench/results/context-create.md');
}
