/**
 * One snapshot of the live host from the native addon, loaded lazily so
 * that `--help` and usage errors stay cheap.  A missing addon or a failing
 * scan is a one-line error, exit 1.
 */
import type { Snapshot } from '../kernel-bridge/types.js';
import { EXIT_FAIL, fail } from './common.js';

export async function liveSnapshot(): Promise<Snapshot> {
  try {
    const { NativeSnapshotSource } = await import('../kernel-bridge/snapshot.js');
    return new NativeSnapshotSource().snapshot();
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e), EXIT_FAIL);
  }
}
