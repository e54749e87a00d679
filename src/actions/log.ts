/**
 * `vserver NAME log`: the server's console output (its init's stdout and
 * stderr and /dev/console), kept at RUNDIR/NAME/console.log by the
 * context's monitor (chcontext --console), which reads it from the pipe
 * console.log.pipe; console.log.1 is the previous boot's, or this boot's
 * older part once console.log reached CONSOLE_MAX.  The CLI escapes it.
 */
import { existsSync } from 'node:fs';
import type { VctxPaths } from '../config/paths.js';
import { checkName } from './config-load.js';
import { LifecycleError } from './errors.js';
import { runFiles } from './runtime.js';

export interface ConsoleLog {
  /** the current (or last) boot's log; null when the server never started here */
  path: string | null;
  previous: string | null;
}

export function consoleLog(name: string, paths: VctxPaths): ConsoleLog {
  checkName(name);
  const f = runFiles(paths, name);
  const conf = `${paths.confdir}/${name}.conf`;
  const path = existsSync(f.console) ? f.console : null;
  const previous = existsSync(`${f.console}.1`) ? `${f.console}.1` : null;
  if (!path && !previous && !existsSync(conf)) throw new LifecycleError('unknown-server', 'config', `unknown server '${name}' (no ${conf})`);
  return { path, previous };
}
