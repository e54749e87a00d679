#!/usr/bin/env node
// Runs every test: unit (no root, recorded fixtures), then integration,
// e2e and security (root, real contexts; security is the attack suite).  `node scripts/test.mjs unit` runs one group,
// `node scripts/test.mjs test/integration/chbind.test.ts` one file.
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, statSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const groups = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'e2e', 'security'];

function find(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (/\.test\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

// a group (unit, integration, e2e, or a folder below test/) or a test file
const files = groups.flatMap((g) => {
  const p = existsSync(g) ? g : join(root, 'test', g);
  return statSync(p, { throwIfNoEntry: false })?.isFile() ? [p] : find(p);
});
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// The eBPF programs of the IPv4 lock are loaded once and pinned in bpffs for
// every later context; a test run that loaded them removes them again when
// no context is left (attached programs live on until their cgroup goes).
const pins = '/sys/fs/bpf/vctx';
const pinsBefore = existsSync(pins);

// Some tests run tools and vtop as an unprivileged user (nobody), which must
// reach the tree: a checkout below a private directory (mktemp -d is 0700)
// gets search permission (o+x, not read) on its ancestors for the run, and
// its modes back afterwards.
const opened = [];
if (process.getuid?.() === 0) {
  for (let d = root; ; d = dirname(d)) {
    const mode = statSync(d).mode & 0o7777;
    if (!(mode & 0o001)) {
      chmodSync(d, mode | 0o001);
      opened.push([d, mode]);
    }
    if (dirname(d) === d) break;
  }
  if (opened.length) console.error(`test: o+x for the run on ${opened.map(([d]) => d).join(', ')} (unprivileged tests reach the tree)`);
}

// Integration tests share the host's cgroups, addresses and bpffs: one file at a time.
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1',
  '--test-reporter=spec', ...files], { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });

// Monitors release their contexts a moment after the last test: wait for that,
// and name any context a test left behind.
const cg = ['/sys/fs/cgroup/unified/vctx', '/sys/fs/cgroup/vctx'].find((d) => existsSync(d));
const contextsLeft = () => (cg ? readdirSync(cg).filter((n) => /^\d+$/.test(n) && n !== '1') : []);
let left = contextsLeft();
for (let i = 0; i < 50 && left.length; i++) {
  spawnSync('sleep', ['0.1']);
  left = contextsLeft();
}
// a named instance's tree (docs/instances.md) with contexts in it: left behind too
if (cg) {
  for (const t of readdirSync(dirname(cg)).filter((n) => n.startsWith('vctx@'))) {
    const inst = readdirSync(join(dirname(cg), t)).filter((n) => /^\d+$/.test(n) && n !== '1');
    if (inst.length) console.error(`test run left contexts behind: ${inst.join(' ')} (in ${join(dirname(cg), t)})`);
  }
}
if (left.length) console.error(`test run left contexts behind: ${left.join(' ')} (in ${cg})`);
else if (!pinsBefore && existsSync(pins)) rmSync(pins, { recursive: true, force: true });
for (const [d, mode] of opened) chmodSync(d, mode);
process.exit(r.status ?? 1);
