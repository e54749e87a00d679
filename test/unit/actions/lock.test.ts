/**
 * The per-server lock (src/actions/lock.ts): one holder at a time, a second
 * taker waits and then gives up with LockTimeout, release frees it, and a
 * holder killed with SIGKILL leaves no stale lock.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock, LockTimeout } from '../../../src/actions/lock.js';

const dir = mkdtempSync(join(tmpdir(), 'vctx-lock-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** what flock(1) says of the lock from another process: 0 free, 75 held */
const probe = (file: string) => spawnSync('flock', ['-n', '-E', '75', file, 'true']).status;

test('one holder at a time; a second taker gives up with LockTimeout; release frees it', async () => {
  const file = join(dir, 'a');
  const held = await acquireLock(file, 5);
  assert.equal(probe(file), 75, 'another process sees it held');
  await assert.rejects(acquireLock(file, 0), LockTimeout);
  await held.release();
  await held.release(); // twice is harmless
  assert.equal(probe(file), 0, 'released');
  const again = await acquireLock(file, 0);
  await again.release();
});

test('a holder killed with SIGKILL leaves no stale lock', async () => {
  const file = join(dir, 'b');
  // a process that takes the lock the same way and then sleeps
  const code = `import(${JSON.stringify(new URL('../../../src/actions/lock.ts', import.meta.url).href)}).then(async (m) => { await m.acquireLock(${JSON.stringify(file)}, 5); process.stdout.write('held\\n'); setInterval(() => {}, 1000); });`;
  const child = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
  assert.equal(probe(file), 75, 'held by the child');
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(probe(file), 0, 'the kernel dropped it with the process');
});
