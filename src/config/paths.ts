/**
 * Where vctx keeps things (CONTRACT "Paths"): a flag beats the environment
 * beats the default.  An empty flag or variable counts as not given.
 */
import { resolve } from 'node:path';

export interface VctxPaths {
  /** one NAME.conf per server */
  confdir: string;
  /** server roots: ROOTDIR/NAME */
  rootdir: string;
  /** runtime state and logs */
  rundir: string;
}

export const DEFAULT_PATHS: Readonly<VctxPaths> = {
  confdir: '/etc/vservers',
  rootdir: '/vservers',
  rundir: '/run/vservers',
};

export const PATH_ENV: Readonly<Record<keyof VctxPaths, string>> = {
  confdir: 'VSERVER_CONFDIR',
  rootdir: 'VSERVER_ROOTDIR',
  rundir: 'VSERVER_RUNDIR',
};

/** Resolve the three directories (absolute) from flags, then @env, then the defaults. */
export function resolvePaths(
  flags: Partial<Record<keyof VctxPaths, string | undefined>>,
  env: Record<string, string | undefined> = process.env,
): VctxPaths {
  const pick = (k: keyof VctxPaths): string => {
    const f = flags[k];
    if (f !== undefined && f !== '') return resolve(f);
    const e = env[PATH_ENV[k]];
    if (e !== undefined && e !== '') return resolve(e);
    return DEFAULT_PATHS[k];
  };
  return { confdir: pick('confdir'), rootdir: pick('rootdir'), rundir: pick('rundir') };
}
