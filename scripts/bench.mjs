#!/usr/bin/env node
// Runs the side-by-side benchmarks in bench/ one after the other (each writes
// its table to bench/results/).  `node scripts/bench.mjs snapshot vtop` runs
// only those.  Needs root, and peers installed: hyperfine, bwrap, lxc, htop,
// prometheus-node-exporter (installed here when missing).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const peers = ['hyperfine', 'bubblewrap', 'lxc', 'htop', 'prometheus-node-exporter'];
const missing = peers.filter((p) => spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' }).stdout?.includes('install ok installed') !== true);
if (missing.length) {
  console.error(`bench: installing ${missing.join(' ')}`);
  const r = spawnSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (r.status !== 0) process.exit(1);
}
const all = readdirSync(join(root, 'bench')).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4)).sort();
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : all;
for (const name of wanted) {
  if (!all.includes(name)) {
    console.error(`bench: no bench/${name}.mjs (have: ${all.join(' ')})`);
    process.exit(2);
  }
  console.error(`\n==> bench/${name}.mjs`);
  const r = spawnSync(process.execPath, [join(root, 'bench', `${name}.mjs`)], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
