/**
 * The vtop that `npm install` ships: dist/vtop.mjs, one esbuild bundle of
 * tsc's output (scripts/bundle-vtop.mjs); its privileged helper
 * (kernel/out/vtop-helper, built by make) runs the vserver command's bundle,
 * dist/vserver.cjs, for the server verbs.  The e2e tests run it; the bundles
 * are rebuilt first when a source file is newer (test/helpers/commands.ts),
 * so they test the sources in front of them.
 */
import { bundleOf, commandPath } from '../helpers/commands.js';

export const vtopBundle = bundleOf('vtop');

/** builds the bundles unless they are newer than every source (test/helpers/commands.ts) */
export function ensureVtopBundle(): string {
  return commandPath('vtop');
}
