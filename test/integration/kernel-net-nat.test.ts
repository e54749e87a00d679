/**
 * Egress of a server on a loopback address: `chcontext --nat` (NAT=yes)
 * lets its connections to destinations off the loopback leave from the
 * host's address the kernel's routing chooses; without it they fail with
 * ENETUNREACH.  "Off the host" is a network namespace the test makes, joined
 * to the host by a veth pair (198.51.100.0/24 and fd00:7663:7478:6e61::/64),
 * never the internet.  Nothing of the server is reachable on the host's
 * address: binding it stays refused, listeners and unconnected sockets stay
 * out of reach.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  chcontext,
  compileC,
  isRoot,
  ok,
  removeCompiled,
  run,
  show,
  startContext,
  stopAll,
  stopContext,
  waitFor,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';
const IP = '127.0.0.55';
const LOOP = '127.128.0.55';
const NS = `vctxnat${process.pid}`;
const VH = `vnh${process.pid % 100000}`;
const VN = `vnn${process.pid % 100000}`;
const HOST4 = '198.51.100.1';
const PEER4 = '198.51.100.2';
const HOST6 = 'fd00:7663:7478:6e61::1';
const PEER6 = 'fd00:7663:7478:6e61::2';
const PORT = 41151 + (process.pid % 200);

function sh(cmd: string[]): void {
  const r = run(cmd[0]!, cmd.slice(1));
  assert.equal(r.status, 0, `${cmd.join(' ')}: ${show(r)}`);
}

describe('egress of a loopback server: --nat', { skip }, () => {
  let probe = '';
  let tmp = '';
  const servers: ChildProcess[] = [];

  /** a probe server in the namespace; resolves with its output so far once it listens */
  async function nsServe(mode: string, addr: string, port: number): Promise<() => string> {
    let out = '';
    const c = spawn('ip', ['netns', 'exec', NS, probe, mode, addr, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    servers.push(c);
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (out += d));
    assert.ok(await waitFor(() => /^(listening|bound|error) /m.test(out), 5000), `the namespace's server: ${out}`);
    return () => out;
  }

  before(() => {
    // the test networks must be free on this host (CI hosts may sit in a TEST-NET themselves)
    for (const a of [PEER4, PEER6]) {
      const r = run('ip', ['route', 'get', a]);
      assert.doesNotMatch(r.stdout, /^local |\bdev lo\b/m, `${a} is already this host's: ${show(r)}`);
    }
    const used = run('ip', ['addr']).stdout;
    assert.ok(!used.includes('198.51.100.') && !used.includes('fd00:7663:7478:6e61:'), `the test networks are in use: ${used}`);
    probe = compileC('vctx-probe');
    tmp = mkdtempSync(join(tmpdir(), 'vctx-nat-'));
    sh(['ip', 'netns', 'add', NS]);
    sh(['ip', 'link', 'add', VH, 'type', 'veth', 'peer', 'name', VN, 'netns', NS]);
    sh(['ip', 'addr', 'add', `${HOST4}/24`, 'dev', VH]);
    sh(['ip', '-6', 'addr', 'add', `${HOST6}/64`, 'dev', VH, 'nodad']);
    sh(['ip', 'link', 'set', VH, 'up']);
    sh(['ip', '-n', NS, 'addr', 'add', `${PEER4}/24`, 'dev', VN]);
    sh(['ip', '-n', NS, '-6', 'addr', 'add', `${PEER6}/64`, 'dev', VN, 'nodad']);
    sh(['ip', '-n', NS, 'link', 'set', VN, 'up']);
    sh(['ip', '-n', NS, 'link', 'set', 'lo', 'up']);
  });
  after(async () => {
    for (const s of servers) s.kill('SIGKILL');
    await stopAll();
    run('ip', ['link', 'del', VH]);
    run('ip', ['netns', 'del', NS]);
    if (probe) removeCompiled(probe);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const inServer = (nat: boolean, ...args: string[]) =>
    chcontext(['--silent', '--ip', IP, '--loopback', LOOP, ...(nat ? ['--nat'] : []), '--', probe, ...args]);

  test('with --nat a TCP connection leaves from the host address and the peer sees that address', async () => {
    const served = await nsServe('serve', PEER4, PORT);
    const r = inServer(true, 'names', PEER4, String(PORT));
    assert.equal(ok(r).trim(), `local ${HOST4} peer ${PEER4} -> hello`);
    assert.ok(await waitFor(() => /^accepted /m.test(served()), 3000), served());
    assert.match(served(), new RegExp(`^accepted ${HOST4.replace(/\./g, '\\.')}:\\d+ on `, 'm'));
  });

  test('with --nat a connected UDP socket (a resolver) gets its answer', async () => {
    const served = await nsServe('userve', PEER4, PORT + 1);
    assert.equal(ok(inServer(true, 'uconn', PEER4, String(PORT + 1))).trim(), `local ${HOST4} peer ${PEER4} -> hello`);
    assert.ok(await waitFor(() => /^from /m.test(served()), 3000), served());
    assert.match(served(), new RegExp(`^from ${HOST4.replace(/\./g, '\\.')}:\\d+$`, 'm'));
  });

  test('with --nat IPv6 connections leave from the host IPv6 address', async () => {
    await nsServe('serve', PEER6, PORT + 2);
    assert.equal(ok(inServer(true, 'names', PEER6, String(PORT + 2))).trim(), `local ${HOST6} peer ${PEER6} -> hello`);
  });

  test('without --nat the same connections fail with ENETUNREACH', async () => {
    const served = await nsServe('serve', PEER4, PORT + 3);
    assert.equal(ok(inServer(false, 'connect', PEER4, String(PORT + 3))).trim(), 'error ENETUNREACH');
    assert.equal(ok(inServer(false, 'uconn', PEER4, String(PORT + 3))).trim(), 'error ENETUNREACH');
    assert.equal(ok(inServer(false, 'connect', PEER6, String(PORT + 3))).trim(), 'error ENETUNREACH');
    // the namespace's server was there all along
    const h = run(probe, ['connect', PEER4, String(PORT + 3)]);
    assert.match(h.stdout, /-> hello/, show(h));
    assert.ok(await waitFor(() => /^accepted /m.test(served()), 3000), served());
  });

  test('with --nat, unconnected datagrams off the loopback are refused (ENETUNREACH) and binding the host address is EPERM', () => {
    assert.equal(ok(inServer(true, 'usend', PEER4, String(PORT + 4))).trim(), 'error ENETUNREACH');
    assert.equal(ok(inServer(true, 'bind', HOST4, String(PORT + 4))).trim(), 'error EPERM');
    assert.equal(ok(inServer(true, 'bind', HOST6, String(PORT + 4))).trim(), 'error EPERM');
  });

  test('with --nat a listener that never called bind() is not reachable on the host address', async () => {
    const out = join(tmp, 'auto.out');
    const ctx = await startContext(['--ip', IP, '--loopback', LOOP, '--nat'], ['sh', '-c', `${probe} autolisten > ${out}`]);
    try {
      const port = await waitFor(() => /:(\d+)$/m.exec(existsSync(out) ? readFileSync(out, 'utf8') : '')?.[1], 5000);
      assert.ok(port, readFileSync(out, 'utf8'));
      // from the namespace, at the host's address (where the wildcard socket would answer unlocked): dropped
      const r = run('ip', ['netns', 'exec', NS, probe, 'connect', HOST4, port]);
      assert.equal(r.stdout.trim(), 'error ETIMEDOUT', show(r));
      // control: it listens, at the server's address
      const h = run(probe, ['connect', IP, port]);
      assert.match(h.stdout, /-> hello/, show(h));
    } finally {
      await stopContext(ctx);
    }
  });
});
