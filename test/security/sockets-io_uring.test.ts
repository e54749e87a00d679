/**
 * Attack cases: socket families and io_uring (docs/security.md).
 *
 * Attack: root inside a server opens a socket of a family the host's kernel
 *   has but a server does not need - AF_PACKET, AF_VSOCK (the hypervisor's
 *   transport), AF_XDP, AF_ALG, AF_KEY, TIPC, RDS (module autoloading on the
 *   host included) - or a netlink family other than routing (audit,
 *   uevents, generic netlink's taskstats, conntrack), with any type and
 *   flags, and with bits above the 32 the kernel reads set in the family;
 *   or goes around seccomp through io_uring (IORING_OP_SOCKET).
 * Probe: /bin/sys-probe (test/helpers/sys-probe.c) inside a real server,
 *   as root: every family 0..63 with four types, the same with bit 32 set,
 *   every netlink protocol; io_uring_setup and a ring's socket.
 * Safe outcome: only AF_UNIX, AF_INET, AF_INET6 and AF_NETLINK for
 *   NETLINK_ROUTE and NETLINK_KOBJECT_UEVENT make sockets; every other family fails with EAFNOSUPPORT, other netlink
 *   protocols with EPROTONOSUPPORT (SOCK_DIAG: EPERM); io_uring_setup fails
 *   with ENOSYS.
 * Detection: with VCTX_TEST_WEAKEN=sockets (resp. io_uring) the same probes
 *   make sockets of refused families (resp. a ring and a refused socket
 *   through it), and the case reports that escape.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProbeServer } from '../helpers/probe-server.js';

const isRoot = process.getuid?.() === 0;
const ALLOWED = new Set([1, 2, 10, 16]); // AF_UNIX, AF_INET, AF_INET6, AF_NETLINK
const NETLINK_ROUTE = 0;
const NETLINK_KOBJECT_UEVENT = 15; // elogind needs one (docs/security.md)
const NETLINK_AUDIT = 9;
const NETLINK_SOCK_DIAG = 4;

/** the probe's "af F:OUT ... high F:OUT ... nl P:OUT ..." as three maps */
function parseFamilies(line: string): Record<'af' | 'high' | 'nl', Map<number, string>> {
  const out = { af: new Map<number, string>(), high: new Map<number, string>(), nl: new Map<number, string>() };
  let cur: keyof typeof out | null = null;
  for (const w of line.split(/\s+/)) {
    if (w === 'af' || w === 'high' || w === 'nl') cur = w;
    else if (cur) {
      const [k, v] = w.split(':');
      out[cur].set(Number(k), v!);
    }
  }
  assert.equal(out.af.size, 64, `probe output: ${line}`);
  assert.equal(out.nl.size, 32, `probe output: ${line}`);
  return out;
}

/** what got through: refused families or netlink protocols that made a socket or said anything but the refusal */
function escapes(line: string): string[] {
  const r = parseFamilies(line);
  const bad: string[] = [];
  for (const part of ['af', 'high'] as const) {
    for (const [f, v] of r[part]) {
      // with the upper bits set even an allowed family is refused: the kernel reads an int
      if ((part === 'high' || !ALLOWED.has(f)) && v !== 'EAFNOSUPPORT') bad.push(`${part === 'high' ? '(1<<32)|' : ''}family ${f}: ${v}`);
    }
  }
  for (const [p, v] of r.nl) {
    const want = p === NETLINK_ROUTE || p === NETLINK_KOBJECT_UEVENT ? null : p === NETLINK_SOCK_DIAG ? 'EPERM' : 'EPROTONOSUPPORT';
    if (want && v !== want) bad.push(`netlink protocol ${p}: ${v}`);
  }
  return bad;
}

describe('attack: socket families and io_uring', { skip: !isRoot && 'needs root' }, () => {
  let s: ProbeServer;
  before(async () => {
    s = await ProbeServer.create('sk');
  });
  after(async () => {
    await s?.destroy();
  });

  test('a server makes only unix, inet, inet6 and routing-netlink sockets, whatever the bits and types', async () => {
    await s.start();
    try {
      for (const call of ['socket', 'socketpair']) {
        const line = await s.probe('families', call);
        assert.deepEqual(escapes(line), [], `${call}() of refused families got through inside ${s.name}`);
        const r = parseFamilies(line);
        if (call === 'socket') {
          for (const f of ALLOWED) assert.equal(r.af.get(f), 'ok', `family ${f} works`);
          assert.equal(r.nl.get(NETLINK_ROUTE), 'ok', 'NETLINK_ROUTE works (ip, getifaddrs)');
          assert.equal(r.nl.get(NETLINK_KOBJECT_UEVENT), 'ok', 'NETLINK_KOBJECT_UEVENT works (elogind)');
        } else {
          assert.equal(r.af.get(1), 'ok', 'socketpair(AF_UNIX) works');
        }
      }
      // what a user sees: ip and ifconfig (routing netlink) still answer
      const ip = await s.vs(['exec', 'ip', 'addr', 'show', 'lo']);
      assert.equal(ip.code, 0, ip.stderr);
      assert.match(ip.stdout, /127\.0\.0\.1/);
    } finally {
      await s.stop();
    }
  });

  test('the socket case detects its attack: weakened, refused families get through', async () => {
    await s.start('sockets');
    try {
      const bad = escapes(await s.probe('families', 'socket'));
      assert.ok(bad.some((b) => b.startsWith('netlink protocol 9')), `NETLINK_AUDIT got through weakened: ${bad.join(', ')}`);
      assert.ok(bad.some((b) => b.startsWith('(1<<32)|family 1:')), `a family with upper bits got through weakened: ${bad.join(', ')}`);
    } finally {
      await s.stop();
    }
  });

  test('io_uring is closed: no ring, so no socket behind the filter', async () => {
    await s.start();
    try {
      assert.equal(await s.probe('uring-setup'), 'error ENOSYS');
      assert.equal(await s.probe('uring-socket', '16', '3', String(NETLINK_AUDIT)), 'error ENOSYS');
      // the same socket through the system call is refused too
      assert.equal(await s.probe('socket', '16', '3', String(NETLINK_AUDIT)), 'error EPROTONOSUPPORT');
    } finally {
      await s.stop();
    }
  });

  test('the io_uring case detects its attack: weakened, a ring makes a refused socket', async () => {
    await s.start('io_uring');
    try {
      assert.equal(await s.probe('uring-setup'), 'ok');
      assert.equal(await s.probe('socket', '16', '3', String(NETLINK_AUDIT)), 'error EPROTONOSUPPORT', 'the socket filter holds');
      assert.equal(await s.probe('uring-socket', '16', '3', String(NETLINK_AUDIT)), 'ok', 'the ring went around it');
    } finally {
      await s.stop();
    }
  });
});
