/**
 * The live SnapshotSource: libvctx's host scan through the native addon.
 * One scanner lives in the addon for the life of the process, so every
 * snapshot after the first reads only /proc/PID/stat per known process
 * (plus each context's cgroup.procs and figures).
 */
import { requireAddon } from './addon.js';
import type { Snapshot, SnapshotSource } from './types.js';

/** the raw binding functions this module uses (binding/observe.cc) */
interface ObserveBinding {
  snapshot(opts?: { lite?: boolean }): Snapshot;
  escape(text: string | Uint8Array, style?: 'text' | 'hex'): string;
}

function binding(): ObserveBinding {
  const a = requireAddon();
  if (typeof a.snapshot !== 'function') {
    throw new Error('vctx native addon has no snapshot(): rebuild it (npm run build)');
  }
  return a as unknown as ObserveBinding;
}

/** Snapshots of the running host, as root sees it. */
export class NativeSnapshotSource implements SnapshotSource {
  readonly live = true;
  private readonly raw: ObserveBinding;
  private readonly lite: boolean;

  /**
   * @param opts.lite stat-only snapshots for one-shot summaries: innerPid
   *   null, uid 0 and cmdline '' for processes first seen (@default false)
   * @throws Error when the native addon is not built
   */
  constructor(opts: { lite?: boolean } = {}) {
    this.raw = binding();
    this.lite = opts.lite ?? false;
  }

  /**
   * A full snapshot: every process with its context, every context with its
   * cgroup's own figures.  Processes that exit during the scan are left out.
   * @throws KernelError when /proc itself cannot be read
   */
  snapshot(): Snapshot {
    return this.raw.snapshot({ lite: this.lite });
  }
}

/**
 * The escaping every process string of a snapshot already had: valid UTF-8
 * stays, control characters (C0, DEL, C1), bidi controls and invalid bytes
 * become visible escapes such as `\x1b` and `\n`, a backslash becomes `\\`.
 * Style 'hex' writes every escape as `\xNN` and keeps backslashes.  The
 * TypeScript twin, for text that never went through the kernel, is
 * escapeText (./escape.ts).
 */
export function terminalEscape(text: string | Uint8Array, style: 'text' | 'hex' = 'text'): string {
  return binding().escape(text, style);
}
