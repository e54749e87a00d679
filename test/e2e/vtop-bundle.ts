/**
 * The vtop that `npm install` ships: dist/vtop.mjs, one esbuild bundle of
 * tsc's output (scripts/bundle-vtop.mjs); its privileged helper
 * (kernel/out/vtop-helper, built by make) runs tsc's dist/src/cli/vserver.js
 * for the server verbs.  The e2e tests run it; it is rebuilt first when a
 * source file is newer than the bundle, so they test the sources in front
 * of them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../src/kernel-bridge/addon.js';

export const vtopBundle = join(projectRoot, 'dist', 'vtop.mjs');

function newestSource(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p));
    else if (/\.tsx?$/.test(e.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** builds dist/vtop.mjs (tsc, then the bundle) unless it is newer than every source; throws what failed */
export function ensureVtopBundle(): string {
  const cli = join(projectRoot, 'dist', 'src', 'cli', 'vserver.js');
  const stale = !existsSync(vtopBundle) || !existsSync(cli) ||
    statSync(vtopBundle).mtimeMs < newestSource(join(projectRoot, 'src'));
  if (!stale) return vtopBundle;
  // tsc emits even when some other file has a type error; the bundle step checks its input exists
  spawnSync(process.execPath, [join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
    { cwd: projectRoot, stdio: 'ignore' });
  const r = spawnSync(process.execPath, [join(projectRoot, 'scripts', 'bundle-vtop.mjs')], { cwd: projectRoot, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building dist/vtop.mjs failed: ${r.stderr}`);
  return vtopBundle;
}
