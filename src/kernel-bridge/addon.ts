/**
 * Loads the node-addon-api binding (build/Release/vctx.node) once and
 * hands it the KernelError class.  Each bridge module declares the raw
 * functions it uses; this file knows none of them.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KernelError } from './errors.js';

/** the project root, whether running from src/ (tsx) or dist/src/ (tsc) */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (dir !== '/' && !existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
})();

/** where the C tools (chcontext, chbind, reducecap, vctx-spawn, ...) are built */
export const toolsDir: string = join(projectRoot, 'kernel', 'out');

let cached: Record<string, unknown> | null | undefined;
let loadError: Error | null = null;

/** the raw addon, or null when it is not built (then the error says why) */
export function loadAddon(): Record<string, unknown> | null {
  if (cached !== undefined) return cached;
  const path = join(projectRoot, 'build', 'Release', 'vctx.node');
  try {
    // what require() does for a .node file, without node:module (its load is ~0.7 ms of every start)
    const m = { exports: {} as Record<string, unknown> & { setErrorClass(c: typeof KernelError): void } };
    process.dlopen(m, path);
    const mod = m.exports;
    mod.setErrorClass(KernelError);
    cached = mod;
  } catch (e) {
    loadError = e instanceof Error ? e : new Error(String(e));
    cached = null;
  }
  return cached;
}

/** the addon or a clear error naming what to run */
export function requireAddon(): Record<string, unknown> {
  const a = loadAddon();
  if (!a) {
    throw new Error(`vctx native addon not available (${loadError?.message ?? 'not built'}); run npm install`);
  }
  return a;
}
