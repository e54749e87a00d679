/**
 * The commands as `npm install` ships them and setup.sh links them: one
 * bundle each (dist/NAME.cjs, scripts/bundle-cli.mjs; vtop's dist/vtop.mjs,
 * scripts/bundle-vtop.mjs), the fronts of vps, vserver-stat and vserver,
 * kernel/out/NAME, and vdu, kernel/out/vdu (make).  The
 * integration and e2e tests run these, through their #! line, so they test
 * what users run.  The bundles are rebuilt first (tsc, then esbuild) when a
 * source file is newer than one of them, so the tests still test the
 * sources in front of them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** the commands bundled by scripts/bundle-cli.mjs (src/cli/NAME.ts) */
export const BUNDLED = ['vserver', 'vserver-all', 'vserver-stat', 'vps', 'vpstree', 'vkill', 'vapt', 'vserver-copy'] as const;
/** the bundled commands, vtop, and vdu (C only: kernel/out/vdu) */
export type Command = (typeof BUNDLED)[number] | 'vtop' | 'vdu';

function newestSource(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newestSource(p));
    else if (/\.tsx?$/.test(e.name)) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

/** the bundled commands users run through a C front, kernel/out/NAME (kernel/tools/NAME.c) */
const FRONTS: readonly Command[] = ['vps', 'vserver-stat', 'vserver'];

/** the bundle of @c (not built here: commandPath builds) */
export const bundleOf = (c: Command): string => join(root, 'dist', c === 'vtop' ? 'vtop.mjs' : `${c}.cjs`);
let checked = false;

/** builds the bundles (tsc, then esbuild) unless each is newer than every source; throws what failed */
export function ensureBundles(): void {
  if (checked) return;
  const src = newestSource(join(root, 'src'));
  const all: Command[] = [...BUNDLED, 'vtop'];
  if (all.some((c) => !existsSync(bundleOf(c)) || statSync(bundleOf(c)).mtimeMs < src)) {
    // tsc emits even when some other file has a type error; the bundle steps check their input exists
    spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'],
      { cwd: root, stdio: 'ignore' });
    for (const script of ['bundle-cli.mjs', 'bundle-vtop.mjs']) {
      const r = spawnSync(process.execPath, [join(root, 'scripts', script)], { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`scripts/${script} failed: ${r.stderr}`);
    }
  }
  for (const front of FRONTS) {
    if (!existsSync(join(root, 'kernel', 'out', front))) throw new Error(`kernel/out/${front} is missing: run make -C kernel`);
  }
  checked = true;
}

/** the file a user runs for @c (what setup.sh links into /usr/local/sbin), built if stale */
export function commandPath(c: Command): string {
  ensureBundles();
  if (FRONTS.includes(c) || c === 'vdu') return join(root, 'kernel', 'out', c);
  return bundleOf(c);
}
