/**
 * Loading a server's configuration for a lifecycle action: ConfigError
 * kinds become LifecycleErrors with the CONTRACT exit codes.
 */
import { ConfigError, type ConfigIssue } from '../config/issues.js';
import { loadServerConfig } from '../config/load.js';
import { serverNameProblem } from '../config/name.js';
import type { ServerConfig } from '../config/types.js';
import { LifecycleError } from './errors.js';

export async function loadConfigFor(confdir: string, name: string): Promise<{ config: ServerConfig; warnings: ConfigIssue[] }> {
  checkName(name);
  try {
    return await loadServerConfig(confdir, name);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    if (e.kind === 'unknown-server') throw new LifecycleError('unknown-server', 'config', e.message);
    if (e.kind === 'bad-name') throw new LifecycleError('usage', 'config', e.message);
    throw new LifecycleError('invalid', 'config', e.message);
  }
}

/** refuses a name that cannot name a server (usage error, exit 2) */
export function checkName(name: string): void {
  const p = serverNameProblem(name);
  if (p) throw new LifecycleError('usage', 'name', `bad server name ${JSON.stringify(name)}: ${p}`);
}
