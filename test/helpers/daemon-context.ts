/**
 * A context for a test: `chcontext --daemon --silent ARGS` (the monitor goes
 * to the background and prints "XID PID1").  The XID is added to @started so
 * the test file can kill what it made.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
