/**
 * The per-server lock: start, stop, restart and delete of one server take
 * it, so two of them never interleave their steps (hooks, alias, context).
 *
 * It is a flock(2) on RUNDIR/NAME/lock, on an open file description this
 * process holds: util-linux `flock -w SEC FD` is run on a copy of our
 * descriptor and exits once it has the lock (or gives up), and the lock
 * stays with the description, which is ours alone (close-on-exec: nothing
 * we run later inherits it).  The kernel drops it when we close the
 * descriptor or die, so a tool killed with SIGKILL at any step leaves no
 * stale lock (no owner file to judge, no PID that could be reused).  One
 * short-lived process per lock (it was a `flock FILE cat` helper held for
 * the whole command: two programs and a pipe, ~1.5 ms more each time).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { LifecycleError, errText } from './errors.js';

export class LockTimeout extends Error {
  override name = 'LockTimeout';
}

export interface HeldLock {
  release(): Promise<void>;
}

/**
 * Takes the lock on @file (created if missing), waiting up to @waitSec
 * seconds for another holder.
 * @throws LockTimeout when it stays busy, Error when flock cannot run
 */
export async function acquireLock(file: string, waitSec: number): Promise<HeldLock> {
  const fd = openSync(file, 'a', 0o600);
  const got = await new Promise<number | Error>((resolve) => {
    const child = spawn('flock', ['-w', String(waitSec), '-E', '75', '3'], { stdio: ['ignore', 'ignore', 'ignore', fd] });
    child.once('error', (e) => resolve(e));
    child.once('exit', (code) => resolve(code ?? 1));
  });
  if (got !== 0) {
    closeSync(fd);
    if (got instanceof Error) throw new Error(`cannot take the lock ${file}: ${got.message}`);
    if (got === 75) throw new LockTimeout(`${file} is held by another command for more than ${waitSec} s`);
    throw new Error(`cannot take the lock ${file} (flock exited with ${got})`);
  }
  let released = false;
  return {
    release: () => {
      if (!released) {
        released = true;
        closeSync(fd);
      }
      return Promise.resolve();
    },
  };
}

/** how long a command waits for another one working on the same server */
export const LOCK_WAIT_SEC = 150;

/**
 * Takes the server lock @file for @verb (start, stop, …) on @name, or fails
 * with a LifecycleError saying which server could not be locked.
 */
export async function lockServer(file: string, verb: string, name: string): Promise<HeldLock> {
  try {
    return await acquireLock(file, LOCK_WAIT_SEC);
  } catch (e) {
    throw new LifecycleError('failed', 'lock', `cannot ${verb} '${name}': ${errText(e)}`);
  }
}
