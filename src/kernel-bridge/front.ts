/**
 * What `vserver`'s C front (kernel/tools/vserver.c) asked libvctx before it
 * became Node, handed over in the environment variable VCTX_FRONT_KERNEL
 * (vctx_front_kernel_json): the cgroup layout and the running contexts, so
 * that a status loads no addon (its shared libraries cost ~5 ms of a ~30
 * ms command).  The variable is read and removed at once: nothing this
 * process runs inherits it.
 *
 * The layout does not change while the host runs, so it serves every verb.
 * The contexts are those of the moment Node started: only a verb that reads
 * them before it changes any (status, running) takes them, and only for
 * its first listing; everything else asks the kernel (the addon) again.
 */
import { KernelError } from './errors.js';
import { adoptCgroupLayout, type CgroupLayout } from './cgroup.js';
import { adoptContextList, type ContextRecord } from './context.js';

export const FRONT_ENV = 'VCTX_FRONT_KERNEL';

/** libvctx's error object, as the front writes it in place of an answer */
function kernelErrorOf(o: Record<string, unknown>): KernelError | null {
  if (typeof o.error !== 'string') return null;
  return new KernelError(o.error, Number(o.errno) || 0, typeof o.code === 'string' ? o.code : '', o.kind);
}

function layoutOf(v: unknown): CgroupLayout | null | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (kernelErrorOf(o)) return null; // as the addon's failure: no cgroup2
  if (typeof o.v2 !== 'string' || !o.v2.startsWith('/') || typeof o.contexts !== 'string' || typeof o.hybrid !== 'boolean') return undefined;
  return { v2: o.v2, contexts: o.contexts, hybrid: o.hybrid };
}

function contextsOf(v: unknown): ContextRecord[] | KernelError | undefined {
  if (Array.isArray(v)) {
    const ok = v.every((c) => typeof c === 'object' && c !== null && Number.isInteger((c as ContextRecord).xid) &&
      typeof (c as ContextRecord).name === 'string' && typeof (c as ContextRecord).cgroup === 'string' && Array.isArray((c as ContextRecord).flags));
    return ok ? (v as ContextRecord[]) : undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  return kernelErrorOf(v as Record<string, unknown>) ?? undefined;
}

/**
 * Takes (and removes) what the front handed over.  The cgroup layout is
 * adopted at once; the context list only when @useContexts (a verb that
 * lists before it changes anything).  A missing or malformed hand-over is
 * ignored: the addon answers instead.
 */
export function adoptFrontKernel(useContexts: boolean): void {
  const text = process.env[FRONT_ENV];
  if (text === undefined) return;
  delete process.env[FRONT_ENV];
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return;
  }
  if (typeof v !== 'object' || v === null) return;
  const o = v as Record<string, unknown>;
  const layout = layoutOf(o.cgroupLayout);
  if (layout !== undefined) adoptCgroupLayout(layout);
  const contexts = useContexts ? contextsOf(o.contexts) : undefined;
  if (contexts !== undefined) adoptContextList(contexts);
}
