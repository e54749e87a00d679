/**
 * What vserver's C front hands Node (VCTX_FRONT_KERNEL, kernel/tools/vserver.c)
 * and libvctx's error kind on the TypeScript side: the hand-over is read
 * once and removed from the environment, answers the cgroup layout and the
 * first context listing without the addon, and a malformed one is ignored;
 * KernelError carries the kind the addon or a front gives, never a guess
 * from the message.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cgroupLayout, contextCgroup } from '../../../src/kernel-bridge/cgroup.js';
import { listContexts } from '../../../src/kernel-bridge/context.js';
import { KernelError } from '../../../src/kernel-bridge/errors.js';
import { adoptFrontKernel, FRONT_ENV } from '../../../src/kernel-bridge/front.js';
import { parseScan } from '../../../src/kernel-bridge/scan-pipe.js';

const record = {
  xid: 4242, name: 'web', parentXid: 0, cgroup: '/cg/vctx/4242', root: '/vservers/web', pid1: 77, ip: '127.0.0.5',
  loopback: null, capBounding: '0x0', flags: ['lock', 'fakeinit'], created: 1700000000, nprocs: 3,
};

describe('the front\'s hand-over (VCTX_FRONT_KERNEL)', () => {
  test('malformed: ignored, and removed from the environment all the same', () => {
    for (const bad of ['{', '[]', '"x"', JSON.stringify({ cgroupLayout: { v2: 'relative', contexts: 'x', hybrid: false }, contexts: [{ xid: 'one' }] })]) {
      process.env[FRONT_ENV] = bad;
      adoptFrontKernel(true);
      assert.equal(process.env[FRONT_ENV], undefined, bad);
    }
  });

  test('the layout answers cgroupLayout(); the contexts answer the first listing only, then it is gone', () => {
    process.env[FRONT_ENV] = JSON.stringify({ cgroupLayout: { v2: '/cg', contexts: '/cg/vctx', hybrid: true }, contexts: [record] });
    adoptFrontKernel(true);
    assert.equal(process.env[FRONT_ENV], undefined, 'nothing this process runs inherits it');
    assert.deepEqual(cgroupLayout(), { v2: '/cg', contexts: '/cg/vctx', hybrid: true });
    assert.equal(contextCgroup(4242), '/cg/vctx/4242');
    assert.deepEqual(listContexts(), [record]);
  });

  test('libvctx\'s failure in place of the list is thrown as the addon would, with its code and kind', () => {
    process.env[FRONT_ENV] = JSON.stringify({
      cgroupLayout: { v2: '/cg', contexts: '/cg/vctx', hybrid: false },
      contexts: { error: 'cannot open /cg/vctx: Permission denied', errno: 13, code: 'EACCES', kind: 'failed' },
    });
    adoptFrontKernel(true);
    assert.throws(() => listContexts(), (e: unknown) =>
      e instanceof KernelError && e.code === 'EACCES' && e.errno === 13 && e.kind === 'failed' && /Permission denied/.test(e.message));
  });
});

describe('KernelError.kind', () => {
  test('the kind given, "failed" when none or one libvctx does not have', () => {
    assert.equal(new KernelError('x', 2, 'ENOENT', 'exec').kind, 'exec');
    assert.equal(new KernelError('x').kind, 'failed');
    assert.equal(new KernelError('x', 0, '', 'explode').kind, 'failed');
  });

  test('a front\'s failed scan keeps libvctx\'s kind', () => {
    assert.throws(() => parseScan(JSON.stringify({ error: 'cannot execute foo: No such file', errno: 2, code: 'ENOENT', kind: 'exec' })),
      (e: unknown) => e instanceof KernelError && e.kind === 'exec' && e.code === 'ENOENT');
  });
});
