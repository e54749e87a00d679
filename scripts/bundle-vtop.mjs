#!/usr/bin/env node
// vtop as one file, dist/vtop.mjs (the `vtop` command), from tsc's output.
//
// One esbuild bundle spares vtop the module resolution and CommonJS parsing
// of Ink's ~100 files at start-up (~0.7 s before the first frame) and keeps
// less code in memory.  The addon (*.node) stays outside, loaded by absolute
// path; Ink's optional devtools import becomes an empty module; React's
// production build is chosen here.  The privileged helper stays tsc's output
// (dist/src/actions/vtop-helper.js): it loads neither Ink nor React.
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
// Two generations: a line not used since the last swap is forgotten, so a
// cache holds about two screens' worth (a styled line is ~100 objects).
const LRU = `function memo(cap) {
  let cur = new Map();
  let old = new Map();
  return (key, make) => {
    let v = cur.get(key);
    if (v !== undefined) return v;
    v = old.get(key);
    if (v === undefined) v = make();
    if (cur.size >= cap) {
      old = cur;
      cur = new Map();
    }
    cur.set(key, v);
    return v;
  };
}`;
const MEMO = {
  'widest-line': (real) => `import real from ${JSON.stringify(real)};
${LRU}
const widths = memo(512);
export default function widestLine(s) {
  return widths(s, () => real(s));
}`,
  '@alcalzone/ansi-tokenize': (real) => `import * as real from ${JSON.stringify(real)};
export * from ${JSON.stringify(real)};
${LRU}
const tokens = memo(256);
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
try {
  await esbuild.build({
    entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    minify: true, legalComments: 'none', external: ['*.node'], plugins: [noDevtools, memoInk],
    define: { 'process.env.NODE_ENV': '"production"' },
    // bundled CommonJS (React, Ink's dependencies) calls require() for Node's own modules
    banner: { js: "import { createRequire as __vctxCreateRequire } from 'node:module'; const require = __vctxCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
} catch (e) {
  console.error(`bundle-vtop: esbuild failed (${String(e.message).split('\n')[0]})`);
  process.exit(1);
}
// Installed, vtop runs through this line: a young generation of 1 MiB semi-spaces (V8's default grows them
// to 16 MiB, held between collections) and an old-space limit whose heap-growing factor is V8's smallest;
// measured at 5,000 processes: ~50 MiB less RSS for about the same CPU (bench/results/vtop.md).
// The live heap is ~20 MiB at 5,000 processes, so 256 MiB leaves room for tens of thousands.
const NODE_FLAGS = '--max-semi-space-size=1 --max-old-space-size=256';
const text = readFileSync(outfile, 'utf8');
writeFileSync(outfile, `#!/usr/bin/env -S node ${NODE_FLAGS}\n${text.startsWith('#!') ? text.slice(text.indexOf('\n') + 1) : text}`);
chmodSync(outfile, 0o755);
