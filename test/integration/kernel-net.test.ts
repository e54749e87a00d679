/**
 * set_ipv4root inside a context: `chcontext --ip 127.0.0.x --loopback
 * 127.128.a.b` (what `vserver NAME start` does).  chbind on its own is
 * covered by chbind.test.ts; here: the context path, a server root, the
 * context's own localhost, and the one-shot lock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { removeRoot } from '../helpers/busybox-root.js';
import {
  chcontext,
  hostState,
  inCtx,
  installInRoot,
  isRoot,
  makeProbeRoot,
  newLeftovers,
  ok,
  removeCompiled,
  run,
  show,
  startContext,
  stopAll,
  stopContext,
  tool,
  type Ctx,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';
const IP = '127.0.0.51';
const LOOP = '127.128.0.51';
const PORT = 40151 + (process.pid % 200);

/** a local IPv4 address that is not loopback (null when the host has none) */
function otherLocal(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}

describe('IPv4 lock of a context', { skip }, () => {
  let root = '';
  let probe = '';
  let ctx: Ctx;

  before(async () => {
    ({ root, probe } = await makeProbeRoot());
    ctx = await startContext(['--secure', '--root', root, '--ip', IP, '--loopback', LOOP], ['sleep', '300']);
  });
  after(async () => {
    if (ctx) await stopContext(ctx).catch(() => {});
    await stopAll();
    if (root) await removeRoot(root);
    if (probe) removeCompiled(probe);
  });

  test('bind to 0.0.0.0 yields the context address', () => {
    assert.equal(ok(inCtx(ctx.xid, `vctx-probe bind 0.0.0.0 ${PORT}`)).trim(), `bound ${IP}:${PORT}`);
    // the seed's check: a 0.0.0.0 listener shows up on the address in netstat
    const out = ok(inCtx(ctx.xid, `nc -l -p ${PORT} & sleep 0.3; netstat -ltn; kill $!`));
    assert.match(out, new RegExp(`${IP.replace(/\./g, '\\.')}:${PORT}\\s`), out);
    assert.doesNotMatch(out, new RegExp(`0\\.0\\.0\\.0:${PORT}\\s`), out);
  });

  test('binding another local address fails with EPERM', (t) => {
    const other = otherLocal();
    if (!other) {
      t.skip('the host has no non-loopback IPv4 address');
      return;
    }
    assert.equal(ok(inCtx(ctx.xid, `vctx-probe bind ${other} ${PORT}`)).trim(), 'error EPERM');
  });

  test('IPv6 sockets are refused', () => {
    assert.equal(ok(inCtx(ctx.xid, 'vctx-probe v6')).trim(), 'error EAFNOSUPPORT');
  });

  test('127.0.0.1 inside is the context own: binds map to its loopback address', () => {
    assert.equal(ok(inCtx(ctx.xid, `vctx-probe bind 127.0.0.1 ${PORT}`)).trim(), `bound ${LOOP}:${PORT}`);
  });

  test('a localhost server inside answers a client inside; a host client to 127.0.0.1 gets nothing', () => {
    const out = ok(
      inCtx(ctx.xid, `vctx-probe serve 127.0.0.1 ${PORT} & sleep 0.2; vctx-probe connect 127.0.0.1 ${PORT}; sleep 0.1; ` +
        // keep a second server up for the host to try
        `(vctx-probe serve 127.0.0.1 ${PORT + 1} >/dev/null 2>&1 &) ; sleep 0.2`),
    );
    assert.match(out, new RegExp(`^listening ${LOOP}:${PORT}$`, 'm'), out);
    assert.match(out, /^connected \S+ -> hello$/m, out);
    // from the host, 127.0.0.1:PORT+1 is not the server's
    const host = run(join(root, 'bin', 'vctx-probe'), ['connect', '127.0.0.1', String(PORT + 1)]);
    assert.equal(host.stdout.trim(), 'error ECONNREFUSED', show(host));
    // ... but the host can reach it at its loopback address (what the host's admin tools use)
    const direct = run(join(root, 'bin', 'vctx-probe'), ['connect', LOOP, String(PORT + 1)]);
    assert.match(direct.stdout, /-> hello/, show(direct));
  });

  test('the host loopback services are out of reach from inside', async () => {
    const port = String(PORT + 2);
    const server = spawn(probe, ['serve', '127.0.0.1', port], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((r) => server.stdout!.once('data', r));
      // inside, 127.0.0.1 is the context's own: nothing listens there
      assert.equal(ok(inCtx(ctx.xid, `vctx-probe connect 127.0.0.1 ${port}`)).trim(), 'error ECONNREFUSED');
      // control: the host server was up all along and answers the host
      const h = run(probe, ['connect', '127.0.0.1', port]);
      assert.match(h.stdout, /-> hello/, show(h));
    } finally {
      server.kill('SIGKILL');
    }
  });

  test('the lock is one-shot: chbind inside a server refuses', async () => {
    const before = hostState();
    const chbind = installInRoot(root, 'chbind');
    const r = inCtx(ctx.xid, `${chbind} --ip 127.0.0.53 -- true; echo rc=$?`);
    assert.match(r.stdout, /^rc=1$/m, show(r));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^chbind: /, r.stderr);
    // the context's own lock is still in force
    assert.equal(ok(inCtx(ctx.xid, `vctx-probe bind 0.0.0.0 ${PORT + 3}`)).trim(), `bound ${IP}:${PORT + 3}`);
    assert.deepEqual(await newLeftovers(before), []);
  });

  // In a bare context (root keeps its capabilities) chbind makes its cgroup below the
  // context's own, so the context's lock is an ancestor and the second lock is refused; before
  // that fix it went to the top of the tree (vctx/bind-<inner pid>): the process left the
  // context's cgroup (its XID becomes 0, /proc/self/cgroup says /../bind-2) and gets a new lock.
  test('the lock is one-shot: chbind inside a locked bare context refuses', async () => {
    const before = hostState();
    const r = chcontext(['--silent', '--ip', '127.0.0.52', '--', tool('chbind'), '--ip', '127.0.0.53', '--', 'true']);
    assert.equal(r.status, 1, show(r));
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.deepEqual(await newLeftovers(before), []);
  });
});
