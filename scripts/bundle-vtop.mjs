#!/usr/bin/env node
// vtop as one file, dist/vtop.mjs (the `vtop` command), from tsc's output.
//
// One esbuild bundle spares vtop the module resolution and CommonJS parsing
// of Ink's ~100 files at start-up (~0.7 s before the first frame) and keeps
// less code in memory.  The addon (*.node) stays outside, loaded by absolute
// path; Ink's optional devtools import becomes an empty module; React's
// production build is chosen here.  The privileged helper is a C program
// (kernel/out/vtop-helper); for start/stop/restart/enter it runs tsc's
// dist/src/cli/vserver.js.
// Run by scripts/build.mjs after tsc.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// --entry FILE --outfile FILE bundle something else the same way (profiling)
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
};
const entry = arg('--entry', join(root, 'dist', 'src', 'cli', 'vtop.js'));
const outfile = arg('--outfile', join(root, 'dist', 'vtop.mjs'));
if (!existsSync(entry)) {
  console.error(`bundle-vtop: ${entry} is missing: run tsc first (npm run build)`);
  process.exit(1);
}
let esbuild;
try {
  esbuild = await import('esbuild');
} catch (e) {
  console.error(`bundle-vtop: esbuild is missing (${String(e.message).split('\n')[0]}); run npm install`);
  process.exit(1);
}
const noDevtools = {
  name: 'no-react-devtools',
  setup(b) {
    b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'vctx-empty' }));
    b.onLoad({ filter: /.*/, namespace: 'vctx-empty' }, () => ({ contents: 'export default {};', loader: 'js' }));
  },
};
// Ink measures and tokenises every line of the screen again on every frame
// (Output.get: ~40 ms per 200x50 frame); most lines are the same as in the
// frame before.  Its pure helpers are memoized across frames here (by line
// text, a bounded cache): widest-line, and ansi-tokenize's tokenize and
// styledCharsFromTokens (whose results Ink only reads).
// The cache is src/ui/memo.ts (two generations of lines: the last few screens).
const LRU = `import { memo } from ${JSON.stringify(join(root, 'dist', 'src', 'ui', 'memo.js'))};`;
const MEMO = {
  'widest-line': (real) => `import real from ${JSON.stringify(real)};
${LRU}
const widths = memo(256);
export default function widestLine(s) {
  return widths(s, () => real(s));
}`,
  '@alcalzone/ansi-tokenize': (real) => `import * as real from ${JSON.stringify(real)};
export * from ${JSON.stringify(real)};
${LRU}
const tokens = memo(128);
const chars = new WeakMap();
export function tokenize(s, endChar) {
  return endChar !== undefined ? real.tokenize(s, endChar) : tokens(s, () => real.tokenize(s));
}
export function styledCharsFromTokens(t) {
  let v = chars.get(t);
  if (v === undefined) chars.set(t, (v = real.styledCharsFromTokens(t)));
  return v;
}`,
};
const memoInk = {
  name: 'memo-ink-helpers',
  setup(b) {
    b.onResolve({ filter: /^(widest-line|@alcalzone\/ansi-tokenize)$/ }, async (args) => {
      if (args.pluginData?.real || !/[/\\]node_modules[/\\]ink[/\\]/.test(args.importer)) return undefined;
      const real = await b.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: { real: true } });
      if (real.errors.length) return { errors: real.errors };
      return { path: args.path, namespace: 'vctx-memo', pluginData: { real: real.path } };
    });
    b.onLoad({ filter: /.*/, namespace: 'vctx-memo' }, (args) => ({
      contents: MEMO[args.path](args.pluginData.real), loader: 'js', resolveDir: root,
    }));
  },
};
// Ink composes each frame in a grid of one object per cell and serialises it
// cell by cell (~10 MiB of garbage per 200x50 frame); src/ui/fast-output.ts
// gives the same screen from a few spans per row (test/unit/ui/fast-output
// compares the two).
const fastOutput = {
  name: 'fast-ink-output',
  setup(b) {
    b.onResolve({ filter: /^\.\/output\.js$/ }, (args) => {
      if (!/[/\\]node_modules[/\\]ink[/\\]build[/\\]renderer\.js$/.test(args.importer)) return undefined;
      return { path: join(root, 'dist', 'src', 'ui', 'fast-output.js') };
    });
  },
};
// yoga-layout (Ink's layout engine) loads its WebAssembly from a base64
// data: URL through fetch(), which loads undici first (~0.1 s and several
// MiB at start-up); handed the bytes as wasmBinary it instantiates them
// directly.
const yogaDirect = {
  name: 'yoga-wasm-binary',
  setup(b) {
    b.onLoad({ filter: /[/\\]yoga-layout[/\\]dist[/\\]src[/\\]index\.js$/ }, (args) => {
      const dir = dirname(args.path);
      const binaries = join(dir, '..', 'binaries', 'yoga-wasm-base64-esm.js');
      const m = /"data:application\/octet-stream;base64,([A-Za-z0-9+/=]+)"/.exec(readFileSync(binaries, 'utf8'));
      if (!m) throw new Error(`${binaries}: no embedded WebAssembly found (yoga-layout changed?)`);
      return {
        loader: 'js', resolveDir: dir,
        contents: `import loadYoga from '../binaries/yoga-wasm-base64-esm.js';
import wrapAssembly from './wrapAssembly.js';
const wasmBinary = Buffer.from(${JSON.stringify(m[1])}, 'base64');
const Yoga = wrapAssembly(await loadYoga({ wasmBinary }));
export default Yoga;
export * from './generated/YGEnums.js';`,
      };
    });
  },
};
try {
  await esbuild.build({
    entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    minify: true, legalComments: 'none', external: ['*.node'], plugins: [noDevtools, memoInk, fastOutput, yogaDirect],
    define: { 'process.env.NODE_ENV': '"production"' },
    // bundled CommonJS (React, Ink's dependencies) calls require() for Node's own modules
    // createRequire for the addon; and on a terminal vtop is interactive even when a CI
    // variable is set (Ink's is-in-ci would otherwise draw nothing until exit)
    banner: { js: "import { createRequire as __vctxCreateRequire } from 'node:module'; const require = __vctxCreateRequire(import.meta.url);\nif (process.stdout.isTTY) for (const k of ['CI', 'CONTINUOUS_INTEGRATION']) if (k in process.env) process.env[k] = 'false';" },
    logLevel: 'error',
  });
} catch (e) {
  console.error(`bundle-vtop: esbuild failed (${String(e.message).split('\n')[0]})`);
  process.exit(1);
}
// Installed, vtop runs through this line, with V8 flags that trade a little CPU for memory (issue 13:
// vtop and its helper within 75 MiB at 5,000 processes).  Measured on a replay of 5,163 processes at
// 200x50, 1 s refresh, 45 s each, RSS max / CPU ticks (bench/results/vtop.md has the live run):
//   --max-semi-space-size=4 alone                          115 MiB  64   (the old space grows to 31 MiB)
//   + =2, --single-threaded-gc, --v8-pool-size=0           94 MiB   65   (no GC and compiler threads)
//   + --no-opt --no-maglev (no optimizing JIT)             84 MiB   67   (its code and zones untouched)
//   + --optimize-for-size (a smaller heap, grown slowly)   77 MiB   82
//   + --liftoff-only (yoga's WebAssembly not recompiled)   72 MiB   78
// Then, live (bench/vtop.mjs's farm of 5,000 sleepers, five vtops side by side, 50 s; RSS max / end,
// % of a core): the flags above 78.2 / 77.8 MiB, 4.0 %; + --max-semi-space-size=1
// --compact-on-every-full-gc 76.8 / 73.4 MiB, 4.1 %; + --expose-gc, which src/cli/vtop.ts uses for a
// full collection every 5 s, 70.5 / 70.2 MiB, 3.4-3.6 % (a collection every 10 s: 71.5 / 70.4 MiB).
// --jitless and --lite-mode would break Ink's WebAssembly layout (yoga); MALLOC_ARENA_MAX=1 saved 1-3
// MiB more but would reach every program vtop starts (the shell of `enter`), so it is not set.
const NODE_FLAGS = '--max-semi-space-size=1 --single-threaded-gc --v8-pool-size=0 --no-opt --no-maglev --optimize-for-size --liftoff-only --compact-on-every-full-gc --expose-gc';
const text = readFileSync(outfile, 'utf8');
// the entry's own #! line (e.g. `#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node`) with the flags added
const first = text.startsWith('#!') ? text.slice(0, text.indexOf('\n')) : '';
const node = /^#!\/usr\/bin\/env (?:-S )?(.*\bnode)$/.exec(first)?.[1] ?? 'node';
writeFileSync(outfile, `#!/usr/bin/env -S ${node} ${NODE_FLAGS}\n${first ? text.slice(first.length + 1) : text}`);
chmodSync(outfile, 0o755);
