/**
 * `vserver NAME delete`: removes a stopped server: its root directory,
 * NAME.conf, the NAME.sh hook and its runtime directory.  The caller asks
 * for confirmation (the CLI, on a terminal, unless --force).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { checkServerRoot, configPath, formatIssue } from '../config/index.js';
import type { VctxPaths } from '../config/paths.js';
import { processesRootedIn } from '../kernel-bridge/pid.js';
import { removeTree } from './build.js';
import { checkName } from './config-load.js';
import { liftDiskLimit, liftProjectLimit, serverProjectId } from './disk-limit.js';
import { LifecycleError, errText } from './errors.js';
import { hookPath } from './hooks.js';
import { lockServer } from './lock.js';
import { repair } from './repair.js';
import { removeUnified } from './unify.js';
import { ensureRunDir, findContext } from './runtime.js';

export interface DeletePlan {
  name: string;
  /** what would be removed (existing paths) */
  paths: string[];
}

/** what delete would remove; @throws LifecycleError unknown-server */
export function deletePlan(name: string, paths: VctxPaths): DeletePlan {
  checkName(name);
  const all = [join(paths.rootdir, name), configPath(paths.confdir, name), hookPath(paths.confdir, name)];
  const existing = all.filter((p) => existsSync(p));
  if (!existing.length) throw new LifecycleError('unknown-server', 'config', `unknown server '${name}' (no ${all[1]} and no ${all[0]})`);
  return { name, paths: existing };
}

/** removes stopped server @name; returns what was removed */
export async function deleteServer(name: string, paths: VctxPaths): Promise<string[]> {
  const plan = deletePlan(name, paths);
  const files = await ensureRunDir(paths, name);
  const lock = await lockServer(files.lock, 'delete', name);
  let deleted = false;
  try {
    await repair(paths, name);
    if (await findContext(paths, name)) {
      throw new LifecycleError('failed', 'running', `server '${name}' is running; stop it first (vserver ${name} stop)`);
    }
    const root = join(paths.rootdir, name);
    // a unified tree: its overlay and layers go first (objects others link stay); the disk limit
    // of the project id its own layers carry is lifted once they are gone
    const unifiedId = existsSync(join(paths.rootdir, '.vctx-unified', name)) ? serverProjectId(root) : null;
    await removeUnified(paths.rootdir, name);
    if (unifiedId !== null) liftProjectLimit(paths.rootdir, unifiedId);
    if (existsSync(root)) {
      const issue = await checkServerRoot(paths.rootdir, name);
      if (issue) throw new LifecycleError('failed', 'root', `not deleting: ${formatIssue(issue)}`);
      const users = await processesRootedIn(root);
      if (users.length) throw new LifecycleError('failed', 'root', `process ${users.join(', ')} runs inside ${root}; not deleting it`);
    }
    const removed: string[] = [];
    for (const p of plan.paths) {
      try {
        if (p === root) {
          liftDiskLimit(root); // the tree's project id is free again once its files are gone
          await removeTree(p);
        }
        else await rm(p, { force: true });
        removed.push(p);
      } catch (e) {
        throw new LifecycleError('failed', 'remove', `deleting '${name}': ${errText(e)}${removed.length ? `; already removed: ${removed.join(', ')}` : ''}`);
      }
    }
    deleted = true;
    return removed;
  } finally {
    await lock.release();
    // the runtime directory (console logs, lock) goes with a deleted server only
    if (deleted) await rm(files.dir, { recursive: true, force: true }).catch(() => {});
    // and status's verdict on its NAME.conf (status.ts, configErrorOf)
    if (deleted) await rm(join(paths.rundir, '.config-check', `${name}.json`), { force: true }).catch(() => {});
  }
}
