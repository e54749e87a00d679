/**
 * One snapshot of the live host from the native addon, loaded lazily so
 * that `--help` and usage errors stay cheap.  A missing addon or a failing
 * scan is a one-line error, exit 1.
 */
import type { Snapshot } from '../kernel-bridge/types.js';
import { EXIT_FAIL, fail } from './common.js';

/**
 * @param opts.lite stat-only (no inner PIDs, uids or command lines): what
 *   summaries such as vserver-stat and vps need (@default false)
 */
export async function liveSnapshot(opts: { lite?: boolean } = {}): Promise<Snapshot> {
  try {
    const { NativeSnapshotSource } = await import('../kernel-bridge/snapshot.js');
    return new NativeSnapshotSource(opts).snapshot();
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e), EXIT_FAIL);
  }
}
