/**
 * The per-server lock: start, stop, restart and delete of one server take
 * it, so two of them never interleave their steps (hooks, alias, context).
 *
 * It is a flock(2) on RUNDIR/NAME/lock held by a small helper process
 * (util-linux `flock ... cat`) whose stdin is a pipe from us: the kernel
 * drops the lock when the helper exits, and the helper exits when the pipe
 * closes, so a tool killed with SIGKILL at any step leaves no stale lock
 * (no owner file to judge, no PID that could be reused).
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
  closeSync(openSync(file, 'a', 0o600));
  const child: ChildProcess = spawn('flock', ['-w', String(waitSec), '-E', '75', file, 'cat'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const got = await new Promise<'locked' | number | Error>((resolve) => {
    child.once('error', (e) => resolve(e));
    child.stdout!.once('data', () => resolve('locked'));
    child.once('exit', (code) => resolve(code ?? 1));
    child.stdin!.write('.\n');
  });
  if (got !== 'locked') {
    child.kill('SIGKILL');
    if (got instanceof Error) throw new Error(`cannot take the lock ${file}: ${got.message}`);
    if (got === 75) throw new LockTimeout(`${file} is held by another command for more than ${waitSec} s`);
    throw new Error(`cannot take the lock ${file} (flock exited with ${got})`);
  }
  child.stdout!.resume();
  let released = false;
  return {
    release: () => {
      if (released) return Promise.resolve();
      released = true;
      return new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.stdin!.end();
      });
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
