/**
 * The root directory of a server context: pivot_root with the old root
 * detached.  The classic chroot escapes, open_by_handle_at, /proc/1/root
 * and `..` all stay inside.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeRoot } from '../helpers/busybox-root.js';
import {
  inCtx,
  isRoot,
  makeProbeRoot,
  ok,
  removeCompiled,
  run,
  show,
  startContext,
  stopAll,
  stopContext,
  type Ctx,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';

describe('root directory of a context', { skip }, () => {
  let root = '';
  let probe = '';
  let markerDir = '';
  let marker = '';
  let ctx: Ctx;

  before(async () => {
    ({ root, probe } = await makeProbeRoot());
    // a file only the host has (its path does not exist in the server's root)
    markerDir = mkdtempSync(join(tmpdir(), 'vctx-hostonly-'));
    marker = join(markerDir, 'marker');
    writeFileSync(marker, 'host\n');
    ctx = await startContext(['--secure', '--root', root], ['sleep', '300']);
  });
  after(async () => {
    if (ctx) await stopContext(ctx).catch(() => {});
    await stopAll();
    if (root) await removeRoot(root);
    if (probe) removeCompiled(probe);
    if (markerDir) rmSync(markerDir, { recursive: true, force: true });
  });

  test('control: in a plain chroot the double-chroot escape reaches the host', () => {
    const r = run('chroot', [root, '/bin/vctx-probe', 'escape', marker]);
    assert.equal(ok(r).trim(), 'escape chroot=OUT fchdir=OUT');
  });

  test('the double-chroot and fchdir escapes stay inside', () => {
    const r = inCtx(ctx.xid, `vctx-probe escape ${marker}; cat ${marker}`);
    assert.match(r.stdout, /^escape chroot=inside fchdir=inside$/m, show(r));
    assert.doesNotMatch(r.stdout, /^host$/m);
  });

  test('open_by_handle_at fails with EPERM (no CAP_DAC_READ_SEARCH)', () => {
    assert.equal(ok(inCtx(ctx.xid, 'vctx-probe handle /bin/busybox')).trim(), 'handle error EPERM');
  });

  test('/proc/self/root and .. from / stay inside; PID 1 (the host binary) is not dumpable', () => {
    const server = readdirSync(root).sort().join('\n');
    const list = (dir: string): string => ok(inCtx(ctx.xid, `ls -A ${dir}`)).trim().split('\n').sort().join('\n');
    assert.equal(list('/'), server);
    assert.equal(list('/..'), server);
    assert.equal(list('/../../..'), server);
    assert.equal(list('/proc/self/root/'), server);
    assert.equal(list('/proc/self/root/..'), server);
    assert.equal(ok(inCtx(ctx.xid, 'cd /../..; pwd; readlink /proc/self/root')), '/\n/\n');
    // PID 1 is a fork of the host's chcontext: its root, exe and descriptors are not the server's to open
    const r = inCtx(ctx.xid, 'ls /proc/1/root/ 2>&1; readlink /proc/1/exe || echo exe refused; echo done');
    assert.match(r.stdout, /^ls: \/proc\/1\/root\/: Permission denied\nexe refused\ndone\n$/, show(r));
  });

  test('the old root is detached: no host mount is visible inside', () => {
    const mounts = ok(inCtx(ctx.xid, 'cat /proc/self/mountinfo'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ')[4]!);
    assert.ok(mounts.includes('/'), mounts.join(' '));
    const outside = mounts.filter((m) => m !== '/' && !/^\/(proc|sys|dev)(\/|$)/.test(m));
    assert.deepEqual(outside, [], 'mounts outside /, /proc, /sys, /dev');
    assert.ok(!mounts.some((m) => m.startsWith(root)), 'the host path of the root is visible');
  });

  test('the host sees the context root at the server directory', () => {
    assert.equal(readdirSync(`/proc/${ctx.pid1}/root`).sort().join('\n'), readdirSync(root).sort().join('\n'));
  });
});
