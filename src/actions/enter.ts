/**
 * `vserver NAME enter` and `vserver NAME exec CMD...`: the chcontext
 * command lines that run inside a running server.  The caller spawns them
 * (the CLI with its own terminal and stdio; vtop hands over its terminal).
 * `private` servers are never entered.
 */
import type { VctxPaths } from '../config/paths.js';
import { FLAG } from '../generated/tables.js';
import { CHCONTEXT } from './chcontext-args.js';
import { checkName } from './config-load.js';
import { LifecycleError } from './errors.js';
import { findContext } from './runtime.js';

/** the running context of @name for entering, or a LifecycleError */
export async function contextToEnter(name: string, paths: VctxPaths): Promise<number> {
  checkName(name);
  const c = await findContext(paths, name);
  if (!c || c.empty) throw new LifecycleError('not-running', 'running', `server '${name}' is not running`);
  if (c.flags.includes(FLAG.private)) {
    throw new LifecycleError('failed', 'private', `server '${name}' is private (S_FLAGS private): nobody may enter it; it can still be stopped and restarted`);
  }
  return c.xid;
}

/** argv of an interactive login shell on a new pseudo-terminal inside context @xid */
export function enterArgvFor(xid: number): string[] {
  return [CHCONTEXT, '--ctx', String(xid), '--pty', '--', '/bin/sh', '-l'];
}

/** argv that runs @cmd inside context @xid with the caller's stdio */
export function execArgvFor(xid: number, cmd: string[]): string[] {
  return [CHCONTEXT, '--ctx', String(xid), '--', ...cmd];
}
