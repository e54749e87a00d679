#!/usr/bin/env node
// One build: libvctx + eBPF objects + C tools (make), the node-addon-api
// addon (node-gyp), the TypeScript (tsc), the bundles (esbuild) and the man
// pages (help2man, scripts/man.mjs).  Run by `npm install`.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  console.error(`vctx needs Node.js 20 or newer (this is ${process.version}); see https://nodejs.org or Debian's nodejs package from bookworm-backports`);
  process.exit(1);
}

function run(cmd, args, what) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${what} failed (${cmd} ${args.join(' ')})`);
    process.exit(1);
  }
}

for (const tool of ['make', 'clang', 'gcc']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`build: ${tool} is missing; run ./setup.sh (it installs what Debian must provide)`);
    process.exit(1);
  }
}
// vctx-netview (kernel/tools/vctx-netview.c) is a FUSE daemon: libfuse3's headers
if (spawnSync('sh', ['-c', 'pkg-config --exists fuse3']).status !== 0) {
  console.error('build: libfuse3-dev (and pkg-config) is missing; run ./setup.sh (it installs what Debian must provide)');
  process.exit(1);
}
// the tables C and TypeScript share (kernel/tables/vctx-tables.json): the
// header for make, src/generated/tables.ts for tsc
run(process.execPath, [join(root, 'scripts', 'gen-tables.mjs')], 'the shared tables');
run('make', ['-s', '-C', 'kernel', `-j${Math.max(2, 2)}`], 'the C library, tools and eBPF objects');
const gyp = join(root, 'node_modules', '.bin', 'node-gyp');
run(existsSync(gyp) ? gyp : 'node-gyp', ['rebuild', '--silent'], 'the node addon');
const tsc = join(root, 'node_modules', '.bin', 'tsc');
if (existsSync(tsc)) run(tsc, ['-p', 'tsconfig.json'], 'the TypeScript build');

// the commands as one file each (scripts/bundle-cli.mjs), vtop as one file
// (scripts/bundle-vtop.mjs): they start in a fraction of the time
run(process.execPath, [join(root, 'scripts', 'bundle-cli.mjs')], "the commands' bundles");
run(process.execPath, [join(root, 'scripts', 'bundle-vtop.mjs')], "vtop's bundle");

// the man pages, from each command's --help (scripts/man.mjs: help2man)
run(process.execPath, [join(root, 'scripts', 'man.mjs')], 'the man pages');
