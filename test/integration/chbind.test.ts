/**
 * chbind and the ipv4root eBPF lock, against the real kernel (root).
 *
 * Every probe runs under kernel/out/chbind.  Socket probes are node
 * scripts; the one thing node cannot do is a sendto() on a socket that was
 * never bound (libuv always binds UDP sockets before sending), so that
 * probe is a few lines of perl (perl-base is part of every Debian).
 * Traffic stays on 127.0.0.0/8.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { listContexts } from '../../src/kernel-bridge/context.js';
import {
  CHBIND,
  LiveProbe,
  bindCgroups,
  bpfState,
  cgroup2Mount,
  cgroupIds,
  forceRemoveCgroup,
  hostConnect,
  hostTcpListener,
  hostUdp,
  pinDirs,
  portBase,
  probe,
  projectRoot,
  restoreBpfState,
  runChbind,
  started,
  BPF_PIN_DIR,
  type BpfState,
} from '../helpers/ipv4-chbind.js';

const LOCK = '127.0.0.2';
const LOOPBACK = '127.128.0.9';
const PORTS = portBase();

/** why the whole file cannot run here, or undefined */
function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (chbind attaches eBPF programs to cgroups)';
  if (!existsSync(CHBIND)) spawnSync('make', ['-s', '-C', join(projectRoot, 'kernel')], { stdio: 'inherit' });
  if (!existsSync(CHBIND)) return undefined; // the tests fail and say so
  const r = spawnSync(CHBIND, ['--silent', '--ip', LOCK, '--', 'true'], { encoding: 'utf8' });
  if (r.status !== 0 && /kernel lacks/.test(r.stderr)) return `the kernel cannot run the lock: ${r.stderr.trim()}`;
  return undefined;
}

/** the cgroup ids the pinned lock maps record (bpftool) */
function lockKeys(): Set<bigint> {
  const keys = new Set<bigint>();
  for (const d of pinDirs()) {
    const r = spawnSync('bpftool', ['map', 'dump', 'pinned', join(BPF_PIN_DIR, d, 'locks'), '-j'], { encoding: 'utf8' });
    if (r.status !== 0) continue;
    for (const e of JSON.parse(r.stdout) as Array<{ key: number | string | string[] }>) {
      const k = e.key;
      if (Array.isArray(k)) keys.add(BigInt('0x' + [...k].reverse().map((b) => b.replace(/^0x/, '')).join('')));
      else keys.add(BigInt(k));
    }
  }
  return keys;
}

/** lock records added since @before whose cgroup no longer exists: leaks */
function leakedLocks(before: Set<bigint>): bigint[] {
  const live = new Set(cgroupIds(join(cgroup2Mount(), 'vctx')));
  return [...lockKeys()].filter((k) => !before.has(k) && !live.has(k));
}

// taken before anything here runs chbind (which pins the programs)
const bpfBefore: BpfState = bpfState();
let preexisting = new Set<string>();
/** bind-* cgroups made since the tests began */
const ours = (): string[] => bindCgroups().filter((d) => !preexisting.has(d));
let locksBefore = new Set<bigint>();
const skip = skipReason();
if (skip) console.log(`# chbind tests skipped: ${skip}`);

describe('chbind / ipv4root', { skip }, () => {
  before(() => {
    assert.ok(existsSync(CHBIND), `${CHBIND} is not built (make -C kernel)`);
    preexisting = new Set(bindCgroups());
    if (preexisting.size) console.log(`# bind-* cgroups that were there before (left alone): ${[...preexisting].join(' ')}`);
    // the pins now exist (skipReason ran chbind once)
    locksBefore = lockKeys();
  });

  afterEach(() => {
    const left = ours();
    for (const dir of left) forceRemoveCgroup(dir);
    assert.deepEqual(left, [], 'a bind-* cgroup was left behind');
    assert.deepEqual(leakedLocks(locksBefore), [], 'a lock record was left in the map');
  });

  after(() => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    for (const dir of ours()) forceRemoveCgroup(dir);
    restoreBpfState(bpfBefore);
  });

  test('--help explains the lock and who can undo it', async () => {
    const r = await runChbind(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: chbind --ip IP\|IFACE/);
    assert.match(r.stdout, /--loopback IP/);
    assert.match(r.stdout, /CAP_SYS_ADMIN or CAP_BPF/);
    assert.match(r.stdout, /Host root outside a server can/);
  });

  test('prints "ipv4root is now IP" unless --silent, and passes the exit status through', async () => {
    const loud = await runChbind(['--ip', LOCK, '--', 'sh', '-c', 'exit 7']);
    assert.equal(loud.code, 7);
    assert.equal(loud.stderr, `ipv4root is now ${LOCK}\n`);
    const quiet = await runChbind(['--silent', '--ip', LOCK, '--', 'true']);
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stderr, '');
  });

  test('bind(0.0.0.0) yields the lock IP', async () => {
    const r = await probe(LOCK, `
      const net = require('net'), dgram = require('dgram');
      const s = net.createServer();
      s.listen(0, '0.0.0.0', () => {
        const u = dgram.createSocket('udp4');
        u.bind(0, '0.0.0.0', () => {
          console.log(JSON.stringify({ tcp: s.address().address, udp: u.address().address }));
          u.close(); s.close();
        });
      });`);
    assert.deepEqual(r, { tcp: LOCK, udp: LOCK });
  });

  test('bind to another local address fails with EPERM; the lock IP itself is allowed', async () => {
    const r = await probe(LOCK, `
      const net = require('net'), dgram = require('dgram');
      const r = {};
      const tcp = (host, key, next) => {
        const s = net.createServer();
        s.on('error', (e) => { r[key] = e.code; next(); });
        s.listen(0, host, () => { r[key] = s.address().address; s.close(); next(); });
      };
      const udp = (host, key, next) => {
        const u = dgram.createSocket('udp4');
        u.on('error', (e) => { r[key] = e.code; next(); });
        u.bind(0, host, () => { r[key] = u.address().address; u.close(); next(); });
      };
      tcp('127.0.0.1', 'tcpLo', () => udp('127.0.0.1', 'udpLo', () => tcp('${LOCK}', 'tcpLock',
        () => console.log(JSON.stringify(r)))));`);
    assert.deepEqual(r, { tcpLo: 'EPERM', udpLo: 'EPERM', tcpLock: LOCK });
  });

  test('a TCP connection to a host service on 127.0.0.1 comes from the lock IP', async () => {
    const host = await hostTcpListener('127.0.0.1', 'hello from the host\n');
    try {
      const r = await probe(LOCK, `
        const c = require('net').connect(${host.port}, '127.0.0.1');
        const r = {}; let d = '';
        c.on('connect', () => { r.local = c.localAddress; });
        c.on('data', (x) => { d += x; });
        c.on('error', (e) => { r.error = e.code; });
        c.on('close', () => { r.banner = d.trim(); console.log(JSON.stringify(r)); });`);
      assert.deepEqual(r, { local: LOCK, banner: 'hello from the host' });
      assert.deepEqual(host.peers, [LOCK]);
    } finally {
      host.server.close();
    }
  });

  test('an unbound sendto() leaves from the lock IP, and its socket only hears the lock IP', async () => {
    const host = await hostUdp('127.0.0.1');
    // perl: socket(), sendto() with no bind(), then report what arrives
    const perl = `
      use Socket; $| = 1;
      socket(my $s, PF_INET, SOCK_DGRAM, 0) or die "socket: $!";
      send($s, "hello", 0, sockaddr_in(${host.port}, inet_aton("127.0.0.1"))) or die "send: $!";
      my ($port, $addr) = sockaddr_in(getsockname($s));
      print "{\\"port\\":$port,\\"bound\\":\\"" . inet_ntoa($addr) . "\\"}\\n";
      my @got; my $rin = ''; vec($rin, fileno($s), 1) = 1; my $end = time + 5;
      while (time < $end) {
        my $rout = $rin;
        next unless select($rout, undef, undef, 0.2);
        recv($s, my $buf, 100, 0); push @got, $buf; last if $buf eq "via-lock";
      }
      print "{\\"got\\":[" . join(",", map { "\\"$_\\"" } @got) . "]}\\n";`;
    const p = new LiveProbe(['--silent', '--ip', LOCK, '--', 'perl', '-e', perl]);
    try {
      const first = (await p.next()) as { port: number; bound: string };
      // it autobound to 0.0.0.0 (it never called bind), which reads back as the lock IP
      assert.equal(first.bound, LOCK, 'getsockname of the autobound socket');
      for (let i = 0; i < 50 && host.got.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(host.got, [{ from: LOCK, port: first.port, data: 'hello' }]);
      // to 127.0.0.1 (which the socket would hear unlocked): dropped; to the lock IP: heard
      const send = (addr: string, msg: string): Promise<void> =>
        new Promise((res, rej) => host.sock.send(msg, first.port, addr, (e) => (e ? rej(e) : res())));
      await send('127.0.0.1', 'via-lo1');
      await send(LOCK, 'via-lock');
      assert.deepEqual(await p.next(), { got: ['via-lock'] });
      assert.equal(await p.finish(), 0);
    } finally {
      host.sock.close();
      await p.finish();
    }
  });

  test('listen() without bind() is reachable on the lock IP and not on 127.0.0.1', async () => {
    // tcp_wrap: a listening handle that never binds (the kernel autobinds 0.0.0.0:port)
    const p = new LiveProbe(['--silent', '--ip', LOCK, '--', process.execPath, '--no-deprecation', '-e', `
      const { TCP, constants } = process.binding('tcp_wrap');
      const h = new TCP(constants.SERVER); let n = 0;
      h.onconnection = (err, c) => { if (c) { n++; c.close(); } };
      const rc = h.listen(16); const o = {}; h.getsockname(o);
      console.log(JSON.stringify({ rc, address: o.address, port: o.port }));
      process.stdin.on('end', () => { console.log(JSON.stringify({ accepted: n })); h.close(); });
      process.stdin.resume();`]);
    try {
      const l = (await p.next()) as { rc: number; address: string; port: number };
      assert.equal(l.rc, 0);
      // listen() autobound to the wildcard, which reads back as the lock IP
      assert.equal(l.address, LOCK, 'getsockname of the autobound listener');
      assert.equal(await hostConnect('127.0.0.1', l.port, 1000), 'timeout');
      assert.match(await hostConnect(LOCK, l.port, 3000), /^connected:/);
      await p.finish();
      assert.deepEqual(await p.next(), { accepted: 1 });
    } finally {
      await p.finish();
    }
  });

  test('a process in a child cgroup of the locked one is locked too', async () => {
    // CMD (root) makes a cgroup below its own, moves into it, and probes from there
    const mnt = cgroup2Mount();
    const script = `
      const fs = require('fs'), net = require('net');
      const own = fs.readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m)[1];
      const sub = ${JSON.stringify(mnt)} + own + '/sub';
      fs.mkdirSync(sub);
      fs.writeFileSync(sub + '/cgroup.procs', String(process.pid));
      const now = fs.readFileSync('/proc/self/cgroup', 'utf8').match(/^0::(.*)$/m)[1];
      const r = { moved: now === own + '/sub' };
      const s = net.createServer();
      s.on('error', (e) => { r.lo = e.code; any(); });
      s.listen(0, '127.0.0.1', () => { r.lo = s.address().address; s.close(); any(); });
      function any() {
        const t = net.createServer();
        t.listen(0, '0.0.0.0', () => { r.any = t.address().address; t.close(); console.log(JSON.stringify(r)); });
      }`;
    assert.deepEqual(await probe(LOCK, script), { moved: true, lo: 'EPERM', any: LOCK });
  });

  test('IPv6 sockets are refused (EAFNOSUPPORT) and dual-stack servers fall back to IPv4', async () => {
    const r = await probe(LOCK, `
      const net = require('net'), r = {};
      const u = require('dgram').createSocket('udp6');
      u.on('error', (e) => { r.udp6 = e.code; tcp6(); });
      u.bind(0, '::1', () => { r.udp6 = 'bound'; u.close(); tcp6(); });
      function tcp6() {
        const s = net.createServer();
        s.on('error', (e) => { r.tcp6 = e.code; dual(); });
        s.listen(0, '::1', () => { r.tcp6 = 'bound'; s.close(); dual(); });
      }
      function dual() {
        const s = net.createServer();
        s.listen(0, () => { r.dual = s.address().address; s.close(); console.log(JSON.stringify(r)); });
      }`);
    assert.deepEqual(r, { udp6: 'EAFNOSUPPORT', tcp6: 'EAFNOSUPPORT', dual: LOCK });
  });

  test('the lock is one-shot: chbind inside a locked process refuses', async () => {
    for (const ip of ['127.0.0.3', LOCK]) {
      const r = await runChbind(['--silent', '--ip', LOCK, '--', CHBIND, '--ip', ip, '--', 'true']);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `chbind: already locked to ${LOCK} (the lock is one-shot)\n`);
    }
  });

  test('--loopback: localhost inside is the server\'s own, the host\'s is out of reach', async () => {
    const P = PORTS + 1;
    assert.equal(await hostConnect('127.0.0.1', P), 'ECONNREFUSED', `port ${P} on the host's 127.0.0.1 is in use`);
    const hostService = await hostTcpListener('127.0.0.1', 'host\n');
    const p = new LiveProbe(['--silent', '--ip', LOCK, '--loopback', LOOPBACK, '--', process.execPath, '-e', `
      const net = require('net'), r = {};
      const talk = (port, host, key, next) => {
        const c = net.connect(port, host); let d = '';
        c.on('data', (x) => { d += x; });
        c.on('error', (e) => { r[key] = e.code; });
        c.on('close', () => { if (!r[key]) r[key] = d.trim(); next(); });
      };
      const any = net.createServer();
      any.listen(0, '0.0.0.0', () => { r.any = any.address().address; any.close(); });
      const s = net.createServer((c) => c.end('inside\\n'));
      s.on('error', (e) => { console.log(JSON.stringify({ listen: e.code })); process.exit(1); });
      s.listen(${P}, '127.0.0.1', () => {
        r.server = s.address().address;
        talk(${P}, '127.0.0.1', 'own', () => talk(${hostService.port}, '127.0.0.1', 'hostService', () => {
          console.log(JSON.stringify(r));
        }));
      });
      process.stdin.on('end', () => s.close());
      process.stdin.resume();`]);
    try {
      // the server's localhost listener reads back 127.0.0.1 (it is bound to LOOPBACK)
      assert.deepEqual(await p.next(), { any: LOCK, server: '127.0.0.1', own: 'inside', hostService: 'ECONNREFUSED' });
      assert.deepEqual(hostService.peers, [], 'the host service saw a connection from inside');
      assert.equal(await hostConnect('127.0.0.1', P), 'ECONNREFUSED', 'the host reached the server via its own 127.0.0.1');
      // the private loopback answers only its own addresses: the host's SYN is dropped
      assert.equal(await hostConnect(LOOPBACK, P), 'timeout');
      assert.equal(await p.finish(), 0);
    } finally {
      hostService.server.close();
      await p.finish();
    }
  });

  test('SIGTERM to chbind reaches CMD, and chbind exits 128+15', async () => {
    const p = new LiveProbe(['--silent', '--ip', LOCK, '--', process.execPath, '-e',
      `console.log('{"ready":true}'); setInterval(() => {}, 1000);`]);
    assert.deepEqual(await p.next(), { ready: true });
    process.kill(p.child.pid as number, 'SIGTERM');
    const code = await new Promise<number | null>((r) => p.child.on('close', (c) => r(c)));
    assert.equal(code, 143);
  });

  test('a daemon CMD leaves behind keeps the lock; the cgroup goes when it exits', async () => {
    const r = await runChbind(['--silent', '--ip', LOCK, '--', 'sh', '-c', 'sleep 1.5 </dev/null >/dev/null 2>&1 & exit 0']);
    assert.equal(r.code, 0);
    assert.equal(ours().length, 1, 'the cgroup must stay while the daemon runs');
    const deadline = Date.now() + 10000;
    while (ours().length && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.deepEqual(ours(), []);
  });

  test('bad input: a one-line error, the right exit code, nothing left behind', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['--ip', '1.2.3', '--', 'true'], 2, /^chbind: --ip: malformed IPv4 address '1\.2\.3' \(see chbind --help\)\n$/],
      [['--ip', '203.0.113.7', '--', 'true'], 1, /^chbind: 203\.0\.113\.7 is not a local address.*\n$/],
      [['--ip', 'nosuchif0', '--', 'true'], 2, /^chbind: --ip: 'nosuchif0' is neither an IPv4 address nor a network interface \(see chbind --help\)\n$/],
      [['--ip', LOCK, '--loopback', '10.0.0.1', '--', 'true'], 2, /^chbind: --loopback: 10\.0\.0\.1 is not in 127\.0\.0\.0\/8 .*\n$/],
      [['--ip', LOCK, '--loopback', 'lo', '--', 'true'], 2, /^chbind: --loopback: malformed IPv4 address 'lo' .*\n$/],
      [['--ip', '0.0.0.0', '--', 'true'], 2, /^chbind: --ip: 0\.0\.0\.0 is not a unicast address .*\n$/],
      [['--bogus', '--ip', LOCK, 'true'], 2, /^chbind: unknown option '--bogus' \(see chbind --help\)\n$/],
      // found by the fuzz test: a line break in an unknown option broke the one-line error
      [['--\r\n', '--ip', LOCK, 'true'], 2, /^chbind: unknown option '--\\r\\n' \(see chbind --help\)\n$/],
      [['--ip', '1.2.3\n4', '--', 'true'], 2, /^chbind: --ip: '1\.2\.3\\n4' is neither an IPv4 address nor a network interface \(see chbind --help\)\n$/],
      [['--ip'], 2, /^chbind: option '--ip' needs an argument \(see chbind --help\)\n$/],
      [['--ip', LOCK], 2, /^chbind: no command given \(see chbind --help\)\n$/],
      [['--', 'true'], 2, /^chbind: --ip IP\|IFACE is required \(see chbind --help\)\n$/],
    ];
    for (const [args, code, msg] of cases) {
      const r = await runChbind(args);
      assert.equal(r.code, code, `chbind ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg, `chbind ${args.join(' ')}`);
      assert.deepEqual(ours(), [], `chbind ${args.join(' ')} left a cgroup`);
    }
  });

  test('not root: one line, exit 1, nothing left behind', () => {
    const r = spawnSync(CHBIND, ['--ip', LOCK, '--', 'true'], { uid: 65534, gid: 65534, encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'chbind: must be run as root (it attaches eBPF programs to a cgroup)\n');
  });

  test('an interface name locks to its first IPv4 address', async () => {
    const r = await runChbind(['--ip', 'lo', '--', 'true']);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, 'ipv4root is now 127.0.0.1\n');
  });

  test('a command that cannot be run: 127, nothing left behind', async () => {
    const r = await runChbind(['--silent', '--ip', LOCK, '--', '/nonexistent/cmd']);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /^chbind: cannot run \/nonexistent\/cmd: No such file or directory\n$/);
  });

  test('a killed chbind\'s cgroup and lock record go with the next listing of the contexts', async () => {
    const c = spawn(CHBIND, ['--silent', '--ip', LOCK, '--', 'sleep', '300'], { detached: true, stdio: 'ignore' });
    started.add(c.pid!);
    const gone = new Promise((r) => c.once('exit', r));
    for (let i = 0; i < 100 && !ours().some((d) => d.endsWith(`/bind-${c.pid}`)); i++) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(ours().map((d) => d.split('/').pop()), [`bind-${c.pid}`], 'chbind made its cgroup');
    process.kill(-c.pid!, 'SIGKILL'); // chbind and its command, the group this test made
    await gone;
    for (let i = 0; i < 100 && existsSync(join(ours()[0] ?? '/nonexistent', 'cgroup.procs')) &&
      spawnSync('cat', [join(ours()[0]!, 'cgroup.events')], { encoding: 'utf8' }).stdout.includes('populated 1'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    listContexts();
    assert.deepEqual(ours(), [], 'the listing removed the killed chbind\'s cgroup');
    assert.deepEqual(leakedLocks(locksBefore), [], 'and its lock record');
  });
});
