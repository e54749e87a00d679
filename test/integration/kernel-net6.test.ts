/**
 * IPv6 of a server: `chcontext --ip IP [--ip6 IP6] --loopback LB`.  Every
 * server gets a private IPv6 loopback (fd76:6374:7800:: + the 32 bits of
 * LB) on lo, so stock `[::]` ipv6only listeners start; ::1 inside is the
 * server's own as 127.0.0.1 is; v4-mapped addresses follow the IPv4
 * rules; the host's ::1 and ::ffff:127.0.0.1 stay out of reach; the
 * private loopback goes when the context is released, also after a kill -9
 * of its monitor.  Real sockets in real contexts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeRoot } from '../helpers/busybox-root.js';
import {
  chcontext,
  compileC,
  inCtx,
  isRoot,
  killAll,
  makeProbeRoot,
  ok,
  removeCompiled,
  run,
  runCli,
  running,
  show,
  startContext,
  stopAll,
  stopContext,
  waitFor,
  type Ctx,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';
const PORT = 42151 + (process.pid % 200);
/** server A: no IPv6 address of its own */
const IP_A = '127.0.0.57';
const LOOP_A = '127.128.0.57';
const ULA_A = 'fd76:6374:7800::7f80:39';
/** servers B and C: with IPv6 addresses the test puts on lo */
const IP_B = '127.0.0.58';
const LOOP_B = '127.128.0.58';
const ULA_B = 'fd76:6374:7800::7f80:3a';
const IP6_B = 'fd00:7663:7478:7636::58';
const IP_C = '127.0.0.59';
const LOOP_C = '127.128.0.59';
const IP6_C = 'fd00:7663:7478:7636::59';

const loAddrs = (): string => run('ip', ['-6', 'addr', 'show', 'dev', 'lo']).stdout;
const esc = (s: string): string => s.replace(/[.[\]]/g, '\\$&');

describe('IPv6 of a server', { skip }, () => {
  let root = '';
  let probe = '';
  let lockKeys = '';
  let a: Ctx;
  let b: Ctx;
  let c: Ctx;
  const registered = (): string[] => run(lockKeys, ['addrs']).stdout.split('\n').filter(Boolean);

  before(async () => {
    ({ root, probe } = await makeProbeRoot());
    lockKeys = compileC('lock-keys');
    for (const ip6 of [IP6_B, IP6_C]) {
      const r = run('ip', ['-6', 'addr', 'add', `${ip6}/128`, 'dev', 'lo', 'nodad']);
      assert.equal(r.status, 0, show(r));
    }
    const srv = (ip: string, lo: string, ip6?: string) =>
      startContext(['--secure', '--root', root, '--ip', ip, '--loopback', lo, ...(ip6 ? ['--ip6', ip6] : [])], ['sleep', '300']);
    a = await srv(IP_A, LOOP_A);
    b = await srv(IP_B, LOOP_B, IP6_B);
    c = await srv(IP_C, LOOP_C, IP6_C);
  });
  after(async () => {
    for (const x of [a, b, c]) if (x) await stopContext(x).catch(() => {});
    await stopAll();
    for (const ip6 of [IP6_B, IP6_C]) run('ip', ['-6', 'addr', 'del', `${ip6}/128`, 'dev', 'lo']);
    if (root) await removeRoot(root);
    if (probe) removeCompiled(probe);
    if (lockKeys) removeCompiled(lockKeys);
  });

  test('each server has its private IPv6 loopback on lo, and its addresses are registered', () => {
    const lo = loAddrs();
    assert.match(lo, new RegExp(`inet6 ${esc(ULA_A)}/128 `), lo);
    assert.match(lo, new RegExp(`inet6 ${esc(ULA_B)}/128 `), lo);
    const reg = registered();
    for (const x of [IP_A, IP_B, IP6_B, IP_C, IP6_C]) assert.ok(reg.includes(x), `${x} not registered: ${reg}`);
    // the private loopbacks are nobody's address to reach
    for (const x of [LOOP_A, ULA_A, ULA_B]) assert.ok(!reg.includes(x), `${x} registered: ${reg}`);
  });

  test('a stock [::] ipv6only listener starts; ::1 reaches it and both ends read ::1', () => {
    // A has no IPv6 address: [::] is its private loopback
    const outA = ok(inCtx(a.xid, `vctx-probe serve :: ${PORT} & sleep 0.2; netstat -ltn; vctx-probe names ::1 ${PORT}; wait`));
    assert.match(outA, new RegExp(`${esc(ULA_A)}:${PORT}\\s`), outA);
    assert.match(outA, /^local ::1 peer ::1 -> hello$/m, outA);
    assert.match(outA, new RegExp(`^accepted \\[::1\\]:\\d+ on \\[::1\\]:${PORT}$`, 'm'), outA);
    // B has one: [::] is that address
    const outB = ok(inCtx(b.xid, `vctx-probe serve :: ${PORT} & sleep 0.2; vctx-probe names ::1 ${PORT}; wait`));
    assert.match(outB, new RegExp(`^listening \\[${esc(IP6_B)}\\]:${PORT}$`, 'm'), outB);
    assert.match(outB, /^local ::1 peer ::1 -> hello$/m, outB);
    assert.match(outB, new RegExp(`^accepted \\[::1\\]:\\d+ on \\[::1\\]:${PORT}$`, 'm'), outB);
  });

  test('::1 binds go to the private loopback; UDP over ::1 reads ::1 on both ends', () => {
    const out = ok(inCtx(a.xid, `vctx-probe serve ::1 ${PORT + 1} >/dev/null & sleep 0.2; netstat -ltn; vctx-probe connect ::1 ${PORT + 1}; wait`));
    assert.match(out, new RegExp(`${esc(ULA_A)}:${PORT + 1}\\s`), out);
    assert.match(out, /^connected \[::1\]:\d+ -> hello$/m, out);
    const udp = ok(inCtx(b.xid, `vctx-probe userve :: ${PORT + 2} & sleep 0.2; vctx-probe usend ::1 ${PORT + 2}; wait`));
    assert.match(udp, new RegExp(`^reply from \\[::1\\]:${PORT + 2} -> hello$`, 'm'), udp);
    assert.match(udp, /^from \[::1\]:\d+$/m, udp);
  });

  test('a dual-stack [::] socket serves IPv4 at the server address, reached at 127.0.0.1', () => {
    const out = ok(inCtx(a.xid, `vctx-probe dserve ${PORT + 3} & sleep 0.2; vctx-probe names 127.0.0.1 ${PORT + 3}; wait`));
    assert.match(out, new RegExp(`^listening \\[::ffff:${esc(IP_A)}\\]:${PORT + 3}$`, 'm'), out);
    assert.match(out, /^local 127\.0\.0\.1 peer 127\.0\.0\.1 -> hello$/m, out);
    assert.match(out, new RegExp(`^accepted \\[::ffff:127\\.0\\.0\\.1\\]:\\d+ on \\[::ffff:127\\.0\\.0\\.1\\]:${PORT + 3}$`, 'm'), out);
  });

  test('v4-mapped addresses follow the IPv4 rules', () => {
    const out = ok(inCtx(a.xid, `vctx-probe serve 0.0.0.0 ${PORT + 4} >/dev/null & sleep 0.2; vctx-probe names ::ffff:127.0.0.1 ${PORT + 4}; wait`));
    assert.equal(out.trim(), 'local ::ffff:127.0.0.1 peer ::ffff:127.0.0.1 -> hello');
    assert.equal(ok(inCtx(a.xid, `vctx-probe bind ::ffff:0.0.0.0 ${PORT + 5}`)).trim(), `bound [::ffff:${IP_A}]:${PORT + 5}`);
    assert.equal(ok(inCtx(a.xid, `vctx-probe bind ::ffff:${IP_B} ${PORT + 5}`)).trim(), `bound [::ffff:127.0.0.1]:${PORT + 5}`);
    assert.equal(ok(inCtx(a.xid, `vctx-probe connect ::ffff:198.51.100.7 80`)).trim(), 'error ENETUNREACH');
  });

  test('binding another server\'s or the host\'s IPv6 address is EPERM', () => {
    assert.equal(ok(inCtx(a.xid, `vctx-probe bind ${IP6_B} ${PORT + 6}`)).trim(), 'error EPERM');
    assert.equal(ok(inCtx(b.xid, `vctx-probe bind ${IP6_C} ${PORT + 6}`)).trim(), 'error EPERM');
  });

  test('the host\'s ::1 and ::ffff:127.0.0.1 listeners are out of reach', async () => {
    const six = spawn(probe, ['serve', '::1', String(PORT + 7)], { stdio: ['ignore', 'pipe', 'ignore'] });
    const four = spawn(probe, ['serve', '127.0.0.1', String(PORT + 8)], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await Promise.all([six, four].map((s) => new Promise((r) => s.stdout!.once('data', r))));
      for (const x of [a, b]) {
        assert.equal(ok(inCtx(x.xid, `vctx-probe connect ::1 ${PORT + 7}`)).trim(), 'error ECONNREFUSED');
        assert.equal(ok(inCtx(x.xid, `vctx-probe connect ::ffff:127.0.0.1 ${PORT + 8}`)).trim(), 'error ECONNREFUSED');
        assert.equal(ok(inCtx(x.xid, `vctx-probe connect :: ${PORT + 7}`)).trim(), 'error ECONNREFUSED');
      }
      // control: both were up all along
      assert.match(run(probe, ['connect', '::1', String(PORT + 7)]).stdout, /-> hello/);
      assert.match(run(probe, ['connect', '127.0.0.1', String(PORT + 8)]).stdout, /-> hello/);
    } finally {
      six.kill('SIGKILL');
      four.kill('SIGKILL');
    }
  });

  test('servers reach each other at their IPv6 addresses, and are not shown as ::1', async () => {
    const port = PORT + 9;
    inCtx(b.xid, `vctx-probe serve :: ${port} >/tmp/serve6-${port}.out 2>&1 &`);
    const out = ok(inCtx(c.xid, `sleep 0.2; vctx-probe names ${IP6_B} ${port}`)).trim();
    assert.equal(out, `local ${IP6_C} peer ${IP6_B} -> hello`);
    const file = join(root, 'tmp', `serve6-${port}.out`);
    const served = await waitFor(() => /^accepted /m.test(readFileSync(file, 'utf8')) && readFileSync(file, 'utf8'), 3000);
    assert.ok(served);
    assert.match(served, new RegExp(`^accepted \\[${esc(IP6_C)}\\]:\\d+ on \\[${esc(IP6_B)}\\]:${port}$`, 'm'), served);
  });

  // A host client that leaves from ::1 (bound there) or from ::ffff:127.0.0.1 (a dual-stack
  // socket to ::ffff:IP) is not the server's localhost: it must pass no ::1/128 allowlist.
  test('a host client from ::1 reads as 100::1, from ::ffff:127.0.0.1 as ::ffff:192.0.0.8', async () => {
    const served = async (port: number, pattern: RegExp): Promise<string> => {
      const file = join(root, 'tmp', `serve6-${port}.out`);
      const read = (): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
      const text = await waitFor(() => pattern.test(read()) && read(), 5000);
      assert.ok(text, `${pattern} not in ${file}: ${read()}`);
      return text;
    };
    const port = PORT + 11;
    inCtx(b.xid, `vctx-probe serve :: ${port} >/tmp/serve6-${port}.out 2>&1 &`);
    await served(port, /^listening /m);
    const h = run(probe, ['names', IP6_B, String(port), '::1']);
    // the connection itself is as it was: only what the server reads back changes
    assert.equal(h.stdout.trim(), `local ::1 peer ${IP6_B} -> hello`, show(h));
    const text = await served(port, /^accepted /m);
    assert.match(text, new RegExp(`^accepted \\[100::1\\]:\\d+ on \\[${esc(IP6_B)}\\]:${port}$`, 'm'), text);
    const dual = PORT + 12;
    inCtx(a.xid, `vctx-probe dserve ${dual} >/tmp/serve6-${dual}.out 2>&1 &`);
    await served(dual, /^listening /m);
    const h4 = run(probe, ['names', `::ffff:${IP_A}`, String(dual)]);
    assert.equal(h4.stdout.trim(), `local ::ffff:127.0.0.1 peer ::ffff:${IP_A} -> hello`, show(h4));
    const text4 = await served(dual, /^accepted /m);
    assert.match(text4, new RegExp(`^accepted \\[::ffff:192\\.0\\.0\\.8\\]:\\d+ on \\[::ffff:${esc(IP_A)}\\]:${dual}$`, 'm'), text4);
    // recvfrom too
    const udp = PORT + 13;
    inCtx(b.xid, `vctx-probe userve :: ${udp} >/tmp/serve6-${udp}.out 2>&1 &`);
    await served(udp, /^bound /m);
    run(probe, ['usend', IP6_B, String(udp), '::1']);
    const textU = await served(udp, /^from /m);
    assert.match(textU, /^from \[100::1\]:\d+$/m, textU);
  });

  test('nothing from outside reaches a private IPv6 loopback', () => {
    const port = PORT + 10;
    inCtx(b.xid, `vctx-probe serve ::1 ${port} >/dev/null 2>&1 &`);
    // from the host: dropped
    const host = run(probe, ['connect', ULA_B, String(port)]);
    assert.equal(host.stdout.trim(), 'error ETIMEDOUT', show(host));
    // from another server: the private range is its own localhost
    assert.equal(ok(inCtx(c.xid, `vctx-probe connect ${ULA_B} ${port}`)).trim(), 'error ECONNREFUSED');
    // control: its own server reaches it
    assert.match(ok(inCtx(b.xid, `vctx-probe connect ::1 ${port}`)), /-> hello/);
  });

  test('the private IPv6 loopback and the registered addresses go when the context is released', async () => {
    const d = await startContext(['--ip', '127.0.0.60', '--loopback', '127.128.0.60'], ['sleep', '300']);
    const ula = 'fd76:6374:7800::7f80:3c';
    assert.match(loAddrs(), new RegExp(`inet6 ${esc(ula)}/128 `));
    assert.ok(registered().includes('127.0.0.60'));
    await stopContext(d);
    assert.doesNotMatch(loAddrs(), new RegExp(esc(ula)));
    assert.ok(!registered().includes('127.0.0.60'), `${registered()}`);
  });

  test('... also after a kill -9 of its monitor (the next scan releases it)', async () => {
    const d = await startContext(['--ip', '127.0.0.61', '--loopback', '127.128.0.61'], ['sleep', '300']);
    const ula = 'fd76:6374:7800::7f80:3d';
    assert.match(loAddrs(), new RegExp(`inet6 ${esc(ula)}/128 `));
    process.kill(d.monitor, 'SIGKILL');
    assert.ok(await waitFor(() => !running(d.monitor), 3000));
    killAll(d.xid);
    assert.ok(await waitFor(() => !running(d.pid1), 3000));
    // control: the killed tools left it
    assert.match(loAddrs(), new RegExp(`inet6 ${esc(ula)}/128 `));
    ok(runCli('vserver-stat', ['--json']));
    assert.doesNotMatch(loAddrs(), new RegExp(esc(ula)));
    assert.ok(!registered().includes('127.0.0.61'), `${registered()}`);
    await stopContext(d).catch(() => {});
  });

  test('chcontext refuses bad IPv6 options with one line', () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['--ip6', IP6_B], 2, /^chcontext: --ip6, --loopback6 and --nat need --ip\n/],
      [['--nat'], 2, /^chcontext: --ip6, --loopback6 and --nat need --ip\n/],
      [['--ip', IP_A, '--ip6', '::1'], 2, /^chcontext: --ip6 ::1: must be a unicast IPv6 address/],
      [['--ip', IP_A, '--ip6', 'nonsense'], 2, /^chcontext: --ip6: 'nonsense' is not an IPv6 address\n/],
      [['--ip', IP_A, '--ip6', 'fd00:7663:7478:7636::99'], 1, /^chcontext: --ip6 fd00:7663:7478:7636::99 is not a local address/],
      [['--ip', IP_A, '--loopback6', 'fd00::1'], 2, /^chcontext: --loopback6 fd00::1: must be in fd76:6374:7800::\/96/],
    ];
    for (const [args, status, msg] of cases) {
      const r = chcontext(['--silent', ...args, '--', 'true']);
      assert.equal(r.status, status, show(r));
      assert.match(r.stderr, msg, show(r));
    }
  });
});
