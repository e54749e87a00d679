/**
 * Where vctx keeps things (CONTRACT "Paths"): a flag beats the environment
 * beats the default.  An empty flag or variable counts as not given.  A
 * named instance (VCTX_INSTANCE=NAME, config/instance.ts) has the defaults
 * with "@NAME" appended.
 */
import { resolve } from 'node:path';
import { instanceName, instanceSuffix } from './instance.js';

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

/** The defaults of @instance ('' = the default instance): DEFAULT_PATHS with "@NAME" appended. */
export function instancePaths(instance: string): VctxPaths {
  const sfx = instanceSuffix(instance);
  return { confdir: DEFAULT_PATHS.confdir + sfx, rootdir: DEFAULT_PATHS.rootdir + sfx, rundir: DEFAULT_PATHS.rundir + sfx };
}

/**
 * Resolve the three directories (absolute) from flags, then @env, then the
 * defaults of the instance @env names.
 * @throws InstanceError when VCTX_INSTANCE in @env is not a valid name
 */
export function resolvePaths(
  flags: Partial<Record<keyof VctxPaths, string | undefined>>,
  env: Record<string, string | undefined> = process.env,
): VctxPaths {
  const dflt = instancePaths(instanceName(env));
  const pick = (k: keyof VctxPaths): string => {
    const f = flags[k];
    if (f !== undefined && f !== '') return resolve(f);
    const e = env[PATH_ENV[k]];
    if (e !== undefined && e !== '') return resolve(e);
    return dflt[k];
  };
  return { confdir: pick('confdir'), rootdir: pick('rootdir'), rundir: pick('rundir') };
}
