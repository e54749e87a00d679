#!/usr/bin/env node
// The command-line tools as one CommonJS file each, dist/NAME.cjs (what
// package.json's bin and setup.sh link), from tsc's output.
//
// Start-up is most of what these commands cost (bench/results/startup.md):
// Node 20 starts a CommonJS file ~6 ms sooner than an ES module (the ESM
// loader is not in its start-up snapshot), and one file spares the module
// resolution and reads of ~20-60 files.  Dynamic import()s stay lazy in the
// bundle (esbuild wraps their modules in functions run on first use), so a
// command evaluates only what its verb needs (zod only when a configuration
// is parsed).  The addon (*.node) stays outside, loaded by absolute path.
// vtop is bundled apart (scripts/bundle-vtop.mjs: ESM, top-level await).
// Run by scripts/build.mjs after tsc.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** the commands: src/cli/NAME.ts -> dist/NAME.cjs */
export const COMMANDS = ['vserver', 'vserver-all', 'vserver-stat', 'vps', 'vpstree', 'vkill', 'vapt', 'vserver-copy', 'vctx-exporter'];

const entries = Object.fromEntries(COMMANDS.map((c) => [c, join(root, 'dist', 'src', 'cli', `${c}.js`)]));
for (const f of Object.values(entries)) {
  if (!existsSync(f)) {
    console.error(`bundle-cli: ${f} is missing: run tsc first (npm run build)`);
    process.exit(1);
  }
}
let esbuild;
try {
  esbuild = await import('esbuild');
} catch (e) {
  console.error(`bundle-cli: esbuild is missing (${String(e.message).split('\n')[0]}); run npm install`);
  process.exit(1);
}
/** import.meta.url in a bundle: its file's URL, made when first read */
const IMPORT_META = { 'import.meta.url': '__vctxImportMeta.url' };
const BANNER = {
  js: "const __vctxImportMeta = { get url() { const url = require('node:url').pathToFileURL(__filename).href; " +
    "Object.defineProperty(this, 'url', { value: url }); return url; } };",
};
try {
  await esbuild.build({
    entryPoints: entries, outdir: join(root, 'dist'), outExtension: { '.js': '.cjs' },
    bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    minify: true, legalComments: 'none', external: ['*.node'],
    // import() of Node's own modules becomes require(): the code-cache loader below
    // compiles a bundle with vm.Script, where a real import() has no loader to call
    supported: { 'dynamic-import': false },
    // the sources are ES modules: import.meta.url is this file's URL here,
    // made on first use (most runs never ask: ~0.1-0.2 ms of each start)
    define: IMPORT_META,
    banner: BANNER,
    logLevel: 'error',
  });
} catch (e) {
  console.error(`bundle-cli: esbuild failed (${String(e.message).split('\n')[0]})`);
  process.exit(1);
}

// `vserver NAME status` and `vserver NAME running`, the verbs scripts run
// most, get a bundle of their own, dist/cjs/vserver-status.js: the same
// src/cli/vserver.ts, with the modules of the other verbs (imported by
// vserver.ts only where those verbs run) left out: 85 KB instead of 157, so
// ~0.5 ms less to read and compile at each status.  dist/vserver.cjs (the
// loader below) runs it only for an argument list of exactly that shape
// (STATUS_ARGS), where vserver.ts reaches no verb left out; any other runs
// the whole bundle.  One process loads one bundle, never both.
const OTHER_VERBS = /\/(actions\/(lifecycle|build|enter|delete|log|templates\/debootstrap-cache)|cli\/build-progress)\.js$/;
const cliVserver = entries.vserver;
const leaveOut = {
  name: 'vserver-status',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (a) => {
      const path = join(a.resolveDir, a.path);
      return a.importer === cliVserver && OTHER_VERBS.test(path) ? { path, namespace: 'left-out' } : undefined;
    });
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, (a) => ({
      contents: `throw new Error(${JSON.stringify(`the status bundle has no ${a.path.slice(root.length + 1)}`)});`, loader: 'js',
    }));
  },
};
try {
  await esbuild.build({
    entryPoints: [cliVserver], outfile: join(root, 'dist', 'vserver-status.cjs'),
    bundle: true, platform: 'node', format: 'cjs', target: 'node20',
    minify: true, legalComments: 'none', external: ['*.node'],
    supported: { 'dynamic-import': false },
    define: IMPORT_META,
    banner: BANNER,
    plugins: [leaveOut],
    logLevel: 'error',
  });
} catch (e) {
  console.error(`bundle-cli: esbuild failed for the status bundle (${String(e.message).split('\n')[0]})`);
  process.exit(1);
}
/** the loader's test for `vserver NAME status [--json]` and `vserver NAME running` (JavaScript source) */
const STATUS_ARGS = `((a) => a.length >= 2 && !a[0].startsWith('-') && (a[1] === 'running' ? a.length === 2 : a[1] === 'status' && (a.length === 2 || (a.length === 3 && a[2] === '--json'))))(process.argv.slice(2))`;
// A big bundle (vserver's and vserver-all's hold zod and the build
// templates: ~0.5 MB) costs V8 ~10 ms to pre-parse at each start, though a
// status runs little of it.  Such a bundle moves to dist/cjs/NAME.js with
// V8's code cache beside it (NAME.js.cache, made here by compiling it), and
// dist/NAME.cjs becomes a loader that compiles it with that cache: the
// parse is skipped.  A cache V8 rejects (another Node) only costs the parse.
// Small bundles start faster without the loader's extra reads.
//
// The cache is made after a run of the command's most frequent path
// (WARM_UP: `vserver nosuch status` in empty temporary directories, with
// a hand-over instead of the kernel), so it also holds the functions that
// path compiles lazily (~2 ms of a status); the loader wraps the source as
// Module.wrap does, by hand: loading node:module costs ~0.7 ms.
const CACHE_ABOVE = 64 * 1024;
const WRAP = ['(function (exports, require, module, __filename, __dirname) { ', '\n});'];
const WARM_UP = { vserver: ['nosuch', 'status'], 'vserver-status': ['nosuch', 'status'] };

/** V8's code cache for @body after running it with @argv (else after compiling it only) */
function codeCache(body, argv) {
  const out = `${body}.cache`;
  const compileOnly = () => writeFileSync(out, new Script(WRAP[0] + readFileSync(body, 'utf8') + WRAP[1], { filename: body }).createCachedData());
  if (!argv) return compileOnly();
  const dir = mkdtempSync(join(tmpdir(), 'vctx-warm-'));
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', VSERVER_CONFDIR: join(dir, 'etc'), VSERVER_ROOTDIR: join(dir, 'vs'), VSERVER_RUNDIR: join(dir, 'run'),
    VCTX_FRONT_KERNEL: JSON.stringify({ cgroupLayout: { v2: join(dir, 'cg'), contexts: join(dir, 'cg', 'vctx'), hybrid: false }, contexts: [] }) };
  const run = `const { readFileSync, writeFileSync } = require('node:fs');
const file = ${JSON.stringify(body)};
const script = new (require('node:vm').Script)(${JSON.stringify(WRAP[0])} + readFileSync(file, 'utf8') + ${JSON.stringify(WRAP[1])}, { filename: file });
process.on('exit', () => writeFileSync(${JSON.stringify(out)}, script.createCachedData()));
process.argv = [process.argv[0], file, ...${JSON.stringify(argv)}];
script.runInThisContext()(exports, require, module, file, require('node:path').dirname(file));`;
  try {
    spawnSync(process.execPath, ['-e', run], { env, stdio: 'ignore', timeout: 20_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (!existsSync(out)) compileOnly();
}
const cjsDir = join(root, 'dist', 'cjs');
rmSync(cjsDir, { recursive: true, force: true });
/** moves dist/@c.cjs's body to dist/cjs/@c.js with its code cache; returns the #! line */
function toCached(c) {
  const f = join(root, 'dist', `${c}.cjs`);
  const text = readFileSync(f, 'utf8');
  const shebang = text.slice(0, text.indexOf('\n'));
  const body = join(cjsDir, `${c}.js`);
  mkdirSync(cjsDir, { recursive: true });
  writeFileSync(body, text.slice(shebang.length)); // the #! line is the loader's (V8 compiles no #! here)
  codeCache(body, WARM_UP[c]);
  return shebang;
}
toCached('vserver-status');
rmSync(join(root, 'dist', 'vserver-status.cjs'));
for (const c of COMMANDS) {
  const f = join(root, 'dist', `${c}.cjs`);
  const text = readFileSync(f, 'utf8');
  // esbuild keeps the entry's #! line first; every command has one
  if (!text.startsWith('#!')) {
    console.error(`bundle-cli: ${f} has no #! line (src/cli/${c}.ts must start with one)`);
    process.exit(1);
  }
  if (text.length > CACHE_ABOVE) {
    const shebang = toCached(c);
    const which = c === 'vserver' ? `${STATUS_ARGS} ? 'vserver-status.js' : 'vserver.js'` : `'${c}.js'`;
    writeFileSync(f, `${shebang}
// ${c}: runs dist/cjs/${c}.js${c === 'vserver' ? ' (or, for NAME status|running, dist/cjs/vserver-status.js)' : ''} with V8's code cache (made by scripts/bundle-cli.mjs)
'use strict';
const { readFileSync } = require('node:fs');
const file = require('node:path').join(__dirname, 'cjs', ${which});
let cachedData;
try {
  cachedData = readFileSync(file + '.cache');
} catch {
  cachedData = undefined;
}
const script = new (require('node:vm').Script)(${JSON.stringify(WRAP[0])} + readFileSync(file, 'utf8') + ${JSON.stringify(WRAP[1])}, { filename: file, cachedData });
script.runInThisContext()(exports, require, module, file, require('node:path').dirname(file));
`);
  }
  chmodSync(f, 0o755);
}
