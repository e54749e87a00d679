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
import { chmodSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'src', 'cli', 'vtop.js');
const outfile = join(root, 'dist', 'vtop.mjs');
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
try {
  await esbuild.build({
    entryPoints: [entry], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20',
    minify: true, legalComments: 'none', external: ['*.node'], plugins: [noDevtools],
    define: { 'process.env.NODE_ENV': '"production"' },
    // bundled CommonJS (React, Ink's dependencies) calls require() for Node's own modules
    banner: { js: "import { createRequire as __vctxCreateRequire } from 'node:module'; const require = __vctxCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
} catch (e) {
  console.error(`bundle-vtop: esbuild failed (${String(e.message).split('\n')[0]})`);
  process.exit(1);
}
chmodSync(outfile, 0o755);
