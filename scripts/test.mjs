#!/usr/bin/env node
// Runs every test: unit (no root, recorded fixtures), then integration and
// e2e (root, real contexts).  `node scripts/test.mjs unit` runs one group.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const groups = process.argv.slice(2).length ? process.argv.slice(2) : ['unit', 'integration', 'e2e'];

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

const files = groups.flatMap((g) => find(join(root, 'test', g)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
// The eBPF programs of the IPv4 lock are loaded once and pinned in bpffs for
// every later context; a test run that loaded them removes them again when
// no context is left (attached programs live on until their cgroup goes).
const pins = '/sys/fs/bpf/vctx';
const pinsBefore = existsSync(pins);

// Integration tests share the host's cgroups, addresses and bpffs: one file at a time.
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1',
  '--test-reporter=spec', ...files], { cwd: root, stdio: 'inherit', env: { ...process.env, FORCE_COLOR: '0' } });

if (!pinsBefore && existsSync(pins)) {
  const cg = ['/sys/fs/cgroup/unified/vctx', '/sys/fs/cgroup/vctx'].find((d) => existsSync(d));
  const contexts = cg ? readdirSync(cg).filter((n) => /^\d+$/.test(n) && n !== '1') : [];
  if (contexts.length === 0) rmSync(pins, { recursive: true, force: true });
}
process.exit(r.status ?? 1);
