/**
 * A context for a test: `chcontext --daemon --silent ARGS` (the monitor goes
 * to the background and prints "XID PID1").  The XID is added to @started so
 * the test file can kill what it made.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { toolsDir } from '../../src/kernel-bridge/addon.js';

export const chcontext = join(toolsDir, 'chcontext');

export function startDaemonContext(args: string[], started: number[]): number {
  const r = spawnSync(chcontext, ['--daemon', '--silent', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000, encoding: 'utf8',
  });
  assert.equal(r.status, 0, `chcontext --daemon failed: ${r.stderr}`);
  const line = r.stdout.trim();
  const xid = Number(line.split(/\s+/)[0]);
  assert.ok(Number.isInteger(xid) && xid >= 2, `chcontext printed '${line}'`);
  started.push(xid);
  return xid;
}

/**
 * `chcontext ARGS -- CMD...` in the foreground (the test keeps the monitor
 * as its child, and kills it to end the context): resolves with the child
 * and the XID it announces ("New security context is N" on stderr).
 */
export async function spawnContext(args: readonly string[], cmd: readonly string[]): Promise<{ child: ChildProcess; xid: number }> {
  const child = spawn(chcontext, [...args, '--', ...cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const xid = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`chcontext gave no XID: ${err}`)), 15_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /New security context is (\d+)/.exec(err);
      if (m) {
        clearTimeout(t);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`chcontext exited ${code}: ${err}`));
    });
  });
  return { child, xid };
}
