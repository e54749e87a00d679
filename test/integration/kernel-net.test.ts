/**
 * set_ipv4root inside a context: `chcontext --ip 127.0.0.x --loopback
 * 127.128.a.b` (what `vserver NAME start` does).  chbind on its own is
 * covered by chbind.test.ts; here: the context path, a server root, the
 * context's own localhost (what it reaches and what programs read back),
 * servers reaching each other at their addresses, and the one-shot lock.
 * NAT is in kernel-net-nat.test.ts, IPv6 in kernel-net6.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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
  waitFor,
  type Ctx,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';
const IP = '127.0.0.51';
const LOOP = '127.128.0.51';
/** a second server */
const IP2 = '127.0.0.54';
const LOOP2 = '127.128.0.54';
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
  let ctx2: Ctx;

  before(async () => {
    ({ root, probe } = await makeProbeRoot());
    ctx = await startContext(['--secure', '--root', root, '--ip', IP, '--loopback', LOOP], ['sleep', '300']);
    ctx2 = await startContext(['--secure', '--root', root, '--ip', IP2, '--loopback', LOOP2], ['sleep', '300']);
  });
  after(async () => {
    if (ctx) await stopContext(ctx).catch(() => {});
    if (ctx2) await stopContext(ctx2).catch(() => {});
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

  test('IPv6 sockets are allowed in a server (it has a private IPv6 loopback; kernel-net6.test.ts)', () => {
    assert.equal(ok(inCtx(ctx.xid, 'vctx-probe v6')).trim(), 'ok');
  });

  test('127.0.0.1 inside is the context own: binds map to its loopback address, read back as 127.0.0.1', () => {
    assert.equal(ok(inCtx(ctx.xid, `vctx-probe bind 127.0.0.1 ${PORT}`)).trim(), `bound 127.0.0.1:${PORT}`);
    const out = ok(inCtx(ctx.xid, `vctx-probe serve 127.0.0.1 ${PORT} >/dev/null & sleep 0.3; netstat -ltn; vctx-probe connect 127.0.0.1 ${PORT} >/dev/null; wait`));
    assert.match(out, new RegExp(`${LOOP.replace(/\./g, '\\.')}:${PORT}\\s`), out);
  });

  test('a localhost server inside answers a client inside; a host client to 127.0.0.1 gets nothing', () => {
    const out = ok(
      inCtx(ctx.xid, `vctx-probe serve 127.0.0.1 ${PORT} & sleep 0.2; vctx-probe connect 127.0.0.1 ${PORT}; sleep 0.1; ` +
        // keep a second server up for the host to try
        `(vctx-probe serve 127.0.0.1 ${PORT + 1} >/dev/null 2>&1 &) ; sleep 0.2`),
    );
    assert.match(out, new RegExp(`^listening 127\\.0\\.0\\.1:${PORT}$`, 'm'), out);
    assert.match(out, /^connected 127\.0\.0\.1:\d+ -> hello$/m, out);
    // from the host, 127.0.0.1:PORT+1 is not the server's
    const host = run(join(root, 'bin', 'vctx-probe'), ['connect', '127.0.0.1', String(PORT + 1)]);
    assert.equal(host.stdout.trim(), 'error ECONNREFUSED', show(host));
    // ... and its private loopback is not reachable from outside (the SYN is dropped)
    const direct = run(join(root, 'bin', 'vctx-probe'), ['connect', LOOP, String(PORT + 1)]);
    assert.equal(direct.stdout.trim(), 'error ETIMEDOUT', show(direct));
    // nor from another server: its 127.128.0.51 is the other's own localhost
    assert.equal(ok(inCtx(ctx2.xid, `vctx-probe connect ${LOOP} ${PORT + 1}`)).trim(), 'error ECONNREFUSED');
    // the listener is still there for its own server
    assert.match(ok(inCtx(ctx.xid, `vctx-probe connect 127.0.0.1 ${PORT + 1}`)), /-> hello/);
  });

  test('servers reach each other at their 127.x addresses, and see each other\'s address', async () => {
    const port = PORT + 4;
    inCtx(ctx2.xid, `vctx-probe serve 0.0.0.0 ${port} >/tmp/serve-${port}.out 2>&1 &`);
    const out = ok(inCtx(ctx.xid, `sleep 0.2; vctx-probe names ${IP2} ${port}`)).trim();
    assert.equal(out, `local ${IP} peer ${IP2} -> hello`);
    const file = join(root, 'tmp', `serve-${port}.out`);
    const served = await waitFor(() => /^accepted /m.test(readFileSync(file, 'utf8')) && readFileSync(file, 'utf8'), 3000);
    assert.ok(served);
    assert.match(served, new RegExp(`^accepted ${IP.replace(/\./g, '\\.')}:\\d+ on ${IP2.replace(/\./g, '\\.')}:${port}$`, 'm'), served);
  });

  // The host connecting to a server's 127.x address leaves from its own 127.0.0.1 (the kernel's
  // choice of source on lo); reported as such it would pass a 127.0.0.1/32 allowlist (pg_hba).
  test('a host client is never the server\'s localhost: its 127.x source reads as 192.0.0.8', async () => {
    const served = async (port: number, pattern: RegExp): Promise<string> => {
      const file = join(root, 'tmp', `serve-${port}.out`);
      const read = (): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
      const text = await waitFor(() => pattern.test(read()) && read(), 5000);
      assert.ok(text, `${pattern} not in ${file}: ${read()}`);
      return text;
    };
    const cases: Array<[number, string[]]> = [[PORT + 8, []], [PORT + 9, ['127.3.4.5']]];
    for (const [port, from] of cases) {
      inCtx(ctx.xid, `vctx-probe serve 0.0.0.0 ${port} >/tmp/serve-${port}.out 2>&1 &`);
      await served(port, /^listening /m);
      const h = run(probe, ['names', IP, String(port), ...from]);
      // the connection itself is as it was: only what the server reads back changes
      assert.equal(h.stdout.trim(), `local ${from[0] ?? '127.0.0.1'} peer ${IP} -> hello`, show(h));
      const text = await served(port, /^accepted /m);
      assert.match(text, new RegExp(`^accepted 192\\.0\\.0\\.8:\\d+ on ${IP.replace(/\./g, '\\.')}:${port}$`, 'm'), text);
    }
    // recvfrom too
    const port = PORT + 10;
    inCtx(ctx.xid, `vctx-probe userve 0.0.0.0 ${port} >/tmp/serve-${port}.out 2>&1 &`);
    await served(port, /^bound /m);
    run(probe, ['usend', IP, String(port)]);
    const text = await served(port, /^from /m);
    assert.match(text, /^from 192\.0\.0\.8:\d+$/m, text);
  });

  test('127.0.0.1 reaches the server\'s own 0.0.0.0 listener; both ends read 127.0.0.1', () => {
    const port = PORT + 5;
    const out = ok(inCtx(ctx.xid, `vctx-probe serve 0.0.0.0 ${port} & sleep 0.2; vctx-probe names 127.0.0.1 ${port}; wait`));
    assert.match(out, new RegExp(`^listening ${IP.replace(/\./g, '\\.')}:${port}$`, 'm'), out);
    assert.match(out, /^local 127\.0\.0\.1 peer 127\.0\.0\.1 -> hello$/m, out);
    assert.match(out, new RegExp(`^accepted 127\\.0\\.0\\.1:\\d+ on 127\\.0\\.0\\.1:${port}$`, 'm'), out);
    // any 127/8 address that is no server's is localhost too
    const out2 = ok(inCtx(ctx.xid, `vctx-probe serve 0.0.0.0 ${port} & sleep 0.2; vctx-probe names 127.1.2.3 ${port}; wait`));
    assert.match(out2, /^local 127\.0\.0\.1 peer 127\.0\.0\.1 -> hello$/m, out2);
  });

  test('a listener that never called bind() reads back the server address and is reached at 127.0.0.1', () => {
    const out = ok(inCtx(ctx.xid, 'vctx-probe autolisten >/tmp/auto.out & sleep 0.2; ' +
      'vctx-probe names 127.0.0.1 "$(sed -n "s/.*://p" /tmp/auto.out)"; wait; cat /tmp/auto.out'));
    assert.match(out, new RegExp(`^listening ${IP.replace(/\./g, '\\.')}:\\d+$`, 'm'), out);
    assert.match(out, /^local 127\.0\.0\.1 peer 127\.0\.0\.1 -> hello$/m, out);
  });

  test('UDP to 127.0.0.1 reaches the server\'s own sockets; both ends read 127.0.0.1', () => {
    const port = PORT + 6;
    for (const bound of ['127.0.0.1', '0.0.0.0']) {
      const out = ok(inCtx(ctx.xid, `vctx-probe userve ${bound} ${port} & sleep 0.2; vctx-probe usend 127.0.0.1 ${port}; wait`));
      assert.match(out, new RegExp(`^reply from 127\\.0\\.0\\.1:${port} -> hello$`, 'm'), out);
      assert.match(out, /^from 127\.0\.0\.1:\d+$/m, out);
    }
  });

  test('the host\'s wildcard listeners are not the server\'s localhost', async () => {
    const port = String(PORT + 7);
    const server = spawn(probe, ['serve', '0.0.0.0', port], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((r) => server.stdout!.once('data', r));
      assert.equal(ok(inCtx(ctx.xid, `vctx-probe connect 127.0.0.1 ${port}`)).trim(), 'error ECONNREFUSED');
    } finally {
      server.kill('SIGKILL');
    }
  });

  test('a loopback server address cannot reach off the host without NAT: ENETUNREACH', () => {
    assert.equal(ok(inCtx(ctx.xid, 'vctx-probe connect 192.0.2.1 80')).trim(), 'error ENETUNREACH');
    assert.equal(ok(inCtx(ctx.xid, 'vctx-probe usend 192.0.2.1 80')).trim(), 'error ENETUNREACH');
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
