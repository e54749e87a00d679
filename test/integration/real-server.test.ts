/**
 * Issue 11's yardstick, against the real kernel and the Debian mirror (root,
 * CI too: no skip): a debootstrap Debian bookworm server runs nginx, sshd,
 * PostgreSQL and cron, installed inside with apt-get, with their stock
 * configuration.
 *
 * One server lives through the whole file, so the steps run in order and a
 * step whose predecessor failed fails at once, naming it:
 *   build (`--template debootstrap --ip 127.0.0.X --nat`), a second build
 *   from the bootstrap cache, MEMORY_MAX=512M, start, apt-get update and
 *   install (packages cached in $VCTX_CACHE_DIR/test-apt, see
 *   test/helpers/debian-services.mjs), the services' checks, the negative
 *   checks, stop through the init's own shutdown with nothing left behind,
 *   start again.
 * Everything lives in a temporary confdir/rootdir/rundir and is removed at
 * the end, also after a failure.  Durations are printed (speed is
 * bench/real-server.mjs's business), never asserted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../../src/actions/build.js';
import { readState, runFiles } from '../../src/actions/runtime.js';
import { stop, type StopResult } from '../../src/actions/stop.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { processesRootedIn } from '../../src/kernel-bridge/pid.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { commandPath } from '../helpers/commands.js';
import { installServices, insideArgv } from '../helpers/debian-services.mjs';
import { cgroupDir, compileC, leftovers, procsOf, removeCompiled, startTimeOf } from '../helpers/kernel.js';

const isRoot = process.getuid?.() === 0;
const run = Math.floor(Math.random() * 1e6).toString(36);
const base = 130 + Math.floor(Math.random() * 100);
/** the Debian server (NAT=yes), the one from the cache (no NAT), the busybox server */
const DEB = { name: `rsd${run}`, ip: `127.0.0.${base}` };
const DEB2 = { name: `rsn${run}`, ip: `127.0.0.${base + 1}` };
const BB = { name: `rsb${run}`, ip: `127.0.0.${base + 2}` };
const HOST_PORT = 20000 + Math.floor(Math.random() * 20000);
const MIN = 60_000;

let T = '';
let env: NodeJS.ProcessEnv = {};
const paths = () => ({ confdir: join(T, 'etc'), rootdir: join(T, 'vs'), rundir: join(T, 'run') });
const rootOf = (n: string) => join(T, 'vs', n);
const confFile = (n: string) => join(T, 'etc', `${n}.conf`);

/* ------------------------------------------------------------ running things */

interface Res { code: number; stdout: string; stderr: string }
const show = (r: Res) => `exit ${r.code}\nstdout: ${r.stdout.slice(-4000)}\nstderr: ${r.stderr.slice(-4000)}`;

/** runs argv (stdin closed); after @ms it is killed and the step named fails */
function spawnFor(step: string, argv: string[], ms: number, opts: { env?: NodeJS.ProcessEnv } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const c = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b) => (stdout += b));
    c.stderr.on('data', (b) => (stderr += b));
    const timer = setTimeout(() => {
      c.kill('SIGKILL');
      reject(new Error(`step '${step}' did not finish in ${ms / 1000} s\nstdout: ${stdout.slice(-3000)}\nstderr: ${stderr.slice(-3000)}`));
    }, ms);
    c.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`step '${step}': ${e.message}`));
    });
    c.once('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128 + (sig ? 9 : 0), stdout, stderr });
    });
  });
}

/** `vserver ARGS` as users run it (kernel/out/vserver and its bundle) */
const vs = (step: string, args: string[], ms = 2 * MIN) => spawnFor(step, [commandPath('vserver'), ...args], ms);
/** a shell script inside a running server, with a clean environment */
const inside = (step: string, name: string, script: string, ms = MIN) => vs(step, [name, 'exec', ...insideArgv(script)], ms);
/** as inside(), and it must exit 0 */
async function insideOk(step: string, name: string, script: string, ms = MIN): Promise<string> {
  const r = await inside(step, name, script, ms);
  assert.equal(r.code, 0, `step '${step}' inside ${name} failed: ${show(r)}`);
  return r.stdout;
}

/** the steps done so far: a step needs its predecessors */
const done = new Set<string>();
function needs(...steps: string[]): void {
  for (const s of steps) if (!done.has(s)) throw new Error(`not run: the earlier step '${s}' failed`);
}
const seconds = (t0: number) => (Date.now() - t0) / 1000;
const say = (line: string) => console.log(`# real-server: ${line}`);

/* ------------------------------------------------------------ the network, from the host */

/** GET http://HOST:PORT/PATH from the host; the status and body, or the error's code */
function httpGet(host: string, port: number, path = '/', ms = 10_000): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path, timeout: ms, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.on('timeout', () => {
      req.destroy();
      resolve({ error: 'timeout' });
    });
  });
}

/** a TCP connect from the host: 'open', or the error's code */
function tcpProbe(host: string, port: number, ms = 3000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const end = (v: string) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(ms, () => end('timeout'));
    s.once('connect', () => end('open'));
    s.once('error', (e: NodeJS.ErrnoException) => end(e.code ?? e.message));
  });
}

/** polls until the server's nginx answers 200 on port 80 of @ip */
async function waitHttp200(ip: string, ms: number): Promise<{ status: number; body: string } | { error: string }> {
  const end = Date.now() + ms;
  let last: { status: number; body: string } | { error: string } = { error: 'not tried' };
  while (Date.now() < end) {
    last = await httpGet(ip, 80, '/', 2000);
    if ('status' in last && last.status === 200) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

/** the host's addresses (every interface), as "dev addr/prefix" */
function hostAddresses(): string[] {
  const r = spawnSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8' });
  const links = JSON.parse(r.stdout) as Array<{ ifname: string; addr_info?: Array<{ local: string; prefixlen: number }> }>;
  return links.flatMap((l) => (l.addr_info ?? []).map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`)).sort();
}

/** the host's nftables rules (empty when nft is not installed) */
function nftRuleset(): string {
  const r = spawnSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

/** every file and directory below /sys/fs/bpf/vctx (the pinned programs and maps) */
function bpfPins(dir = '/sys/fs/bpf/vctx'): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? [join(dir, e.name) + '/', ...bpfPins(join(dir, e.name))] : [join(dir, e.name)]).sort();
}

/* ------------------------------------------------------------ the server's files */

/** the value of KEY in NAME.conf, or null */
function confKey(n: string, key: string): string | null {
  const m = new RegExp(`^${key}=["']?([^"'\\n]*)["']?$`, 'm').exec(readFileSync(confFile(n), 'utf8'));
  return m ? m[1]! : null;
}

/** nginx's access-log lines (in the server's root) that contain @marker */
function accessLog(marker: string): string[] {
  const f = join(rootOf(DEB.name), 'var/log/nginx/access.log');
  return existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l.includes(marker)) : [];
}
/** the client address nginx logged for the one request carrying @marker */
function loggedClient(marker: string): string {
  const lines = accessLog(marker);
  assert.equal(lines.length, 1, `one access-log line for ${marker}: ${JSON.stringify(lines)}`);
  return lines[0]!.split(' ')[0]!;
}

/** PostgreSQL's cluster log in the server's root (Debian: /var/log/postgresql/postgresql-V-main.log) */
function pgLog(): string {
  const dir = join(rootOf(DEB.name), 'var/log/postgresql');
  const f = existsSync(dir) ? readdirSync(dir).find((x) => /^postgresql-\d+-main\.log$/.test(x)) : undefined;
  assert.ok(f, `no PostgreSQL cluster log in ${dir}`);
  return join(dir, f);
}
const sizeOf = (f: string) => statSync(f).size;
const textFrom = (f: string, from: number) => readFileSync(f).subarray(from).toString('utf8');

/* ------------------------------------------------------------ the checks of a running server */

const PG_PASSWORD = `pw${run}`;

async function checkHttp(): Promise<void> {
  const r = await waitHttp200(DEB.ip, 30_000);
  assert.ok('status' in r && r.status === 200, `HTTP 200 from nginx at ${DEB.ip}:80: ${JSON.stringify(r).slice(0, 300)}`);
  assert.match(r.body, /nginx/i, 'the page is nginx\'s stock page');
}

let sshKey = '';
async function checkSsh(): Promise<void> {
  const r = await spawnFor('ssh login', ['ssh', '-F', '/dev/null', '-i', sshKey, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10', '-o', 'LogLevel=ERROR',
    `root@${DEB.ip}`, 'hostname'], MIN, { env: { ...process.env, HOME: T } });
  assert.equal(r.code, 0, `ssh root@${DEB.ip} hostname (key login; pam_loginuid must not refuse it): ${show(r)}`);
  assert.equal(r.stdout, `${DEB.name}\n`);
}

async function checkPsql(): Promise<void> {
  // Debian's stock pg_hba.conf: peer on the socket, scram-sha-256 for 127.0.0.1/32 and ::1/128
  const out = await insideOk('psql -h localhost', DEB.name,
    `su postgres -c "PGPASSWORD=${PG_PASSWORD} psql -h localhost -X -tA -c 'select 1'"`);
  assert.equal(out, '1\n');
  const peer = await insideOk('psql -h 127.0.0.1: the client address', DEB.name,
    `su postgres -c "PGPASSWORD=${PG_PASSWORD} psql -h 127.0.0.1 -X -tA -c 'select inet_client_addr()'"`);
  assert.equal(peer, '127.0.0.1\n', 'PostgreSQL sees its own server\'s loopback client as 127.0.0.1');
}

async function checkLocalCurl(tag: string): Promise<void> {
  const marker = `/?inside-${tag}-${run}`;
  const out = await insideOk('curl http://127.0.0.1/ inside', DEB.name, `curl -sS -o /dev/null -w '%{http_code}' 'http://127.0.0.1${marker}'`);
  assert.equal(out, '200');
  assert.equal(loggedClient(marker), '127.0.0.1', 'nginx logs its own server\'s loopback client as 127.0.0.1');
}

async function checkCron(): Promise<void> {
  const out = await insideOk('cron runs', DEB.name, 'pidof cron || echo none');
  assert.match(out, /^\d+/, `cron is not running: ${out}`);
}

async function checkServers(tag: string): Promise<void> {
  const marker = `/?from-busybox-${tag}-${run}`;
  const page = await insideOk('busybox fetches the Debian server\'s page', BB.name, `wget -q -O - 'http://${DEB.ip}${marker}'`);
  assert.match(page, /nginx/i, page);
  const client = loggedClient(marker);
  assert.equal(client, BB.ip, `a request from server ${BB.name} is logged with its address ${BB.ip}`);
  assert.notEqual(client, '127.0.0.1');
  const back = await insideOk('the Debian server fetches busybox\'s page', DEB.name, `curl -sS --max-time 10 'http://${BB.ip}/'`);
  assert.match(back, new RegExp(`virtual server ${BB.name}`), back);
}

/* ------------------------------------------------------------ the file */

/** taken before the Debian server's first start: what stop must leave as it was */
let baseline = { addresses: [] as string[], nft: '', pins: [] as string[], answering: [] as string[] };
/** host addresses (not the servers') and ports a server's services could be reached on */
let probeTargets: Array<[string, number]> = [];
let lockKeysBin = '';
const hostListeners: net.Server[] = [];
const hostHits = { v4: 0, v6: 0 };

async function answering(): Promise<string[]> {
  const out: string[] = [];
  for (const [a, p] of probeTargets) if ((await tcpProbe(a, p)) === 'open') out.push(`[${a}]:${p}`);
  return out;
}

function lockKeys(): Set<string> {
  const r = spawnSync(lockKeysBin, [], { encoding: 'utf8' });
  return new Set(r.stdout.split('\n').filter(Boolean));
}

describe('a real Debian server: nginx, sshd, PostgreSQL, cron and apt, unmodified (issue 11)', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-real-'));
    chmodSync(T, 0o755);
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run'), FORCE_COLOR: '0' };
    delete env.NODE_TEST_CONTEXT;
    lockKeysBin = compileC('lock-keys');
    // a key the test made, for the SSH login
    mkdirSync(join(T, 'ssh'), { mode: 0o700 });
    sshKey = join(T, 'ssh', 'id_ed25519');
    const k = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `vctx-test-${run}`, '-f', sshKey], { encoding: 'utf8' });
    assert.equal(k.status, 0, `ssh-keygen (openssh-client, installed by setup.sh): ${k.stderr}`);
    // the host's own loopback services: a server must never reach them
    for (const [host, key] of [['127.0.0.1', 'v4'], ['::1', 'v6']] as const) {
      const srv = net.createServer((s) => {
        hostHits[key]++;
        s.end('HTTP/1.0 200 OK\r\n\r\nthe host\n');
      });
      await new Promise<void>((res, rej) => srv.once('error', rej).listen({ host, port: HOST_PORT, ipv6Only: key === 'v6' }, res));
      hostListeners.push(srv);
    }
  });

  after(async () => {
    for (const s of hostListeners) s.close();
    for (const n of [DEB.name, DEB2.name, BB.name]) {
      await stop(n, paths(), { timeoutSec: 5 }).catch(() => {});
      for (const c of new NativeSnapshotSource().snapshot().contexts.filter((x) => x.name === n)) {
        try {
          killContext(c.xid, 'SIGKILL');
        } catch { /* gone */ }
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const n of [DEB.name, DEB2.name, BB.name]) for (const m of await mountsBelow(rootOf(n))) spawnSync('umount', ['-l', m]);
    if (lockKeysBin) removeCompiled(lockKeysBin);
    await removeTree(T).catch(() => rm(T, { recursive: true, force: true }));
  });

  test('build: debootstrap bookworm with --nat, then a second build from the bootstrap cache', { timeout: 25 * MIN }, async () => {
    let t0 = Date.now();
    const b1 = await vs('build --template debootstrap --nat', [DEB.name, 'build', '--template', 'debootstrap', '--ip', DEB.ip, '--nat'], 15 * MIN);
    const first = seconds(t0);
    assert.equal(b1.code, 0, `build of ${DEB.name}: ${show(b1)}`);
    assert.equal(confKey(DEB.name, 'NAT'), 'yes', 'build --nat writes NAT=yes');
    assert.equal(confKey(DEB.name, 'IPROOT'), DEB.ip);
    assert.match(readFileSync(join(rootOf(DEB.name), 'etc/os-release'), 'utf8'), /^VERSION_CODENAME=bookworm$/m);
    // build copies the host's resolver configuration (its loopback name servers left out)
    const resolver = (text: string) => text.split('\n').map((l) => l.trim())
      .filter((l) => /^(nameserver|search|domain|options)\s/.test(l) && !/^nameserver\s+(127\.|::1$)/.test(l));
    assert.deepEqual(resolver(readFileSync(join(rootOf(DEB.name), 'etc/resolv.conf'), 'utf8')), resolver(readFileSync('/etc/resolv.conf', 'utf8')));
    done.add('build');

    t0 = Date.now();
    const b2 = await vs('second build (from the cache)', [DEB2.name, 'build', '--template', 'debootstrap', '--ip', DEB2.ip], 10 * MIN);
    const second = seconds(t0);
    assert.equal(b2.code, 0, `build of ${DEB2.name}: ${show(b2)}`);
    say(`debootstrap build: first ${first.toFixed(1)} s, second ${second.toFixed(1)} s (target: under 30 s)`);
    assert.match(b2.stdout + b2.stderr, /\bcache\b/i, `the second build says it used the bootstrap cache: ${show(b2)}`);
    assert.notEqual(confKey(DEB2.name, 'NAT'), 'yes', 'no --nat: NAT is not yes');
    assert.match(readFileSync(join(rootOf(DEB2.name), 'etc/hostname'), 'utf8'), new RegExp(`^${DEB2.name}$`, 'm'), 'the cached root is made this server\'s');
    done.add('build2');

    const bb = await vs('build busybox', [BB.name, 'build', '--ip', BB.ip]);
    assert.equal(bb.code, 0, show(bb));
    done.add('busybox');
  });

  test('start with NAT=yes on a 127.x address and MEMORY_MAX=512M', { timeout: 5 * MIN }, async () => {
    needs('build', 'busybox');
    const set = await vs('set MEMORY_MAX=512M', [DEB.name, 'set', 'MEMORY_MAX=512M']);
    assert.equal(set.code, 0, show(set));
    assert.equal(confKey(DEB.name, 'MEMORY_MAX'), '512M');
    const sb = await vs('start busybox', [BB.name, 'start']);
    assert.equal(sb.code, 0, `start of ${BB.name}: ${show(sb)}`);

    // what the Debian server's stop must leave as it was
    const own = new Set([DEB.ip, DEB2.ip, BB.ip]);
    const addrs = [...new Set(hostAddresses().map((a) => a.split(' ')[1]!.split('/')[0]!))].filter((a) => !own.has(a) && !a.startsWith('fe80:'));
    probeTargets = addrs.flatMap((a) => [22, 80, 5432].map((p) => [a, p] as [string, number]));
    baseline = { addresses: hostAddresses(), nft: nftRuleset(), pins: bpfPins(), answering: await answering() };
    say(`host addresses probed: ${addrs.join(' ')}; answering before: ${baseline.answering.join(' ') || 'none'}`);

    const t0 = Date.now();
    const s = await vs('start', [DEB.name, 'start'], 3 * MIN);
    assert.equal(s.code, 0, `start of ${DEB.name}: ${show(s)}`);
    say(`start: ${seconds(t0).toFixed(1)} s`);
    const st = await vs('status', [DEB.name, 'status']);
    assert.equal(st.code, 0, `running after start: ${show(st)}`);
    // still running a moment later: start never reports a server that is gone
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await vs('status', [DEB.name, 'status'])).code, 0, `gone 2 s after start; console:\n${readFileSync(runFiles(paths(), DEB.name).console, 'utf8').slice(-2000)}`);
    done.add('start');
  });

  test('inside: apt-get update and apt-get install -y nginx openssh-server postgresql cron from the mirror', { timeout: 30 * MIN }, async () => {
    needs('start');
    const r = await installServices(rootOf(DEB.name), (script, ms) => inside(script, DEB.name, script, ms), { log: say });
    say(`apt: ${r.cached} packages from the cache; update ${r.updateSec.toFixed(1)} s, install ${r.installSec.toFixed(1)} s (${r.cached ? 'warm' : 'cold'})`);
    // a password for the postgres role (data, not configuration), over the socket (peer)
    await insideOk('set the postgres password', DEB.name, `su postgres -c "psql -X -q -c \\"ALTER USER postgres PASSWORD '${PG_PASSWORD}'\\""`);
    // the key login of root (stock sshd_config: PermitRootLogin prohibit-password)
    const ssh = join(rootOf(DEB.name), 'root/.ssh');
    mkdirSync(ssh, { recursive: true, mode: 0o700 });
    writeFileSync(join(ssh, 'authorized_keys'), readFileSync(`${sshKey}.pub`), { mode: 0o600 });
    done.add('installed');
  });

  test('HTTP 200 from nginx on the server\'s address, port 80', { timeout: 2 * MIN }, async () => {
    needs('installed');
    await checkHttp();
    // the host is another host: its request is not logged as the server's own localhost
    const marker = `/?from-host-${run}`;
    const r = await httpGet(DEB.ip, 80, marker);
    assert.ok('status' in r && r.status === 200, JSON.stringify(r));
    // the host's connection to 127.x leaves from its 127.0.0.1: the server reads RFC 7600's dummy address
    assert.equal(loggedClient(marker), '192.0.0.8', 'a request from the host is never logged as 127.0.0.1');
  });

  test('an SSH login with a key the test made runs hostname', { timeout: 2 * MIN }, async () => {
    needs('installed');
    await checkSsh();
  });

  test('curl http://127.0.0.1/ inside; nginx logs 127.0.0.1 as the client', { timeout: 2 * MIN }, async () => {
    needs('installed');
    await checkLocalCurl('first');
    const v6 = await insideOk('curl http://[::1]/ inside', DEB.name, `curl -sS -g -o /dev/null -w '%{http_code}' 'http://[::1]/'`);
    assert.equal(v6, '200', 'nginx\'s stock [::]:80 listener answers on ::1 inside');
  });

  test('psql -h localhost -c \'select 1\' as postgres', { timeout: 2 * MIN }, async () => {
    needs('installed');
    await checkPsql();
  });

  test('cron runs', { timeout: MIN }, async () => {
    needs('installed');
    await checkCron();
  });

  test('the busybox server fetches the Debian server\'s page at its address, and back; not logged as 127.0.0.1', { timeout: 2 * MIN }, async () => {
    needs('installed');
    await checkServers('first');
  });

  test('free -m inside shows the 512 MB of MEMORY_MAX', { timeout: MIN }, async () => {
    needs('installed'); // free is procps's, which the services bring
    const out = await insideOk('free -m', DEB.name, 'free -m');
    const mem = /^Mem:\s+(\d+)/m.exec(out);
    assert.ok(mem, out);
    assert.equal(Number(mem[1]), 512, `free -m inside: ${out}`);
  });

  test('under the /proc and /sys allowlist ps, top, free, dpkg and apt-get run cleanly (issue 12)', { timeout: 3 * MIN }, async () => {
    needs('installed');
    const r = await inside('procps and dpkg', DEB.name,
      'set -e; ps -eo pid,tty,user,etime,args >/dev/null; top -b -n 1 >/dev/null; free -m >/dev/null; ' +
      'dpkg --audit; dpkg -l >/dev/null; apt-get check -q; vmstat >/dev/null 2>&1 || true; ' +
      'echo "slabinfo=$(wc -c < /proc/slabinfo) sys=$(ls /sys | tr "\\n" " ")"', 2 * MIN);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr.trim(), '', `nothing on stderr: ${show(r)}`);
    assert.match(r.stdout, /slabinfo=0 sys=devices fs kernel /, show(r));
  });

  test('negative: the host\'s 127.0.0.1, ::1 and ::ffff:127.0.0.1 are unreachable from the server', { timeout: 2 * MIN }, async () => {
    needs('installed');
    // control: the host's listeners answer the host
    assert.ok('status' in (await httpGet('127.0.0.1', HOST_PORT)), 'control: the host listener on 127.0.0.1 answers the host');
    assert.ok('status' in (await httpGet('::1', HOST_PORT)), 'control: the host listener on ::1 answers the host');
    const before = { ...hostHits };
    for (const url of [`http://127.0.0.1:${HOST_PORT}/`, `http://[::1]:${HOST_PORT}/`, `http://[::ffff:127.0.0.1]:${HOST_PORT}/`]) {
      const r = await inside(`curl ${url} inside`, DEB.name, `curl -sS -g --max-time 5 '${url}'`);
      assert.notEqual(r.code, 0, `${url} from inside reached something: ${show(r)}`);
      assert.doesNotMatch(r.stdout, /the host/, `${url} reached the host's listener`);
    }
    assert.deepEqual(hostHits, before, 'the host\'s loopback listeners got no connection from the server');
  });

  test('negative: nothing of the server answers on the host\'s own addresses', { timeout: 2 * MIN }, async () => {
    needs('installed');
    assert.ok(probeTargets.length > 0);
    assert.deepEqual(await answering(), baseline.answering,
      `ports 22/80/5432 on the host's addresses (${[...new Set(probeTargets.map(([a]) => a))].join(' ')}) answer only as before the server started`);
  });

  test('negative: a server without NAT=yes cannot reach the mirror', { timeout: 5 * MIN }, async () => {
    needs('build2');
    const s = await vs('start of the server without NAT', [DEB2.name, 'start'], 3 * MIN);
    assert.equal(s.code, 0, `start of ${DEB2.name}: ${show(s)}`);
    try {
      const r = await inside('apt-get update without NAT', DEB2.name,
        'apt-get update -q -o Acquire::Retries=0 -o Acquire::http::Timeout=10 -o Acquire::https::Timeout=10', 3 * MIN);
      // apt-get update exits 0 when every index failed (W: lines): what it fetched is what counts
      assert.match(r.stdout + r.stderr, /^[WE]: Failed to fetch http/m, `apt-get update reached the mirror from a server without NAT=yes: ${show(r)}`);
      assert.doesNotMatch(r.stdout, /^(Hit|Get):/m, `an index came from the mirror: ${show(r)}`);
    } finally {
      const st = await stop(DEB2.name, paths(), { timeoutSec: 10 });
      assert.equal(st.how, 'shutdown');
    }
  });

  let stopped: { xid: number; cgroupId: string; pids: Array<[number, number]>; pgFrom: number } | null = null;

  test('stop runs the init\'s shutdown (PostgreSQL shuts down cleanly) and leaves nothing behind', { timeout: 3 * MIN }, async () => {
    needs('installed');
    const state = readState(paths(), DEB.name);
    assert.ok(state?.xid, 'state.json names the context');
    const xid = state.xid;
    const dir = cgroupDir(xid);
    assert.ok(dir, `the cgroup of context ${xid}`);
    const cgroupId = String(statSync(dir, { bigint: true }).ino);
    assert.ok(lockKeys().has(cgroupId), 'control: the running server has a lock record');
    const pids = procsOf(xid).map((p) => [p, startTimeOf(p)] as [number, number]);
    assert.ok(pids.length > 5, `the server's processes: ${pids.length}`);
    const running = hostAddresses().filter((a) => !baseline.addresses.includes(a));
    say(`addresses the running server added: ${running.join(', ') || 'none'}`);
    const log = pgLog();
    const pgFrom = sizeOf(log);

    const t0 = Date.now();
    const r: StopResult = await stop(DEB.name, paths());
    const took = seconds(t0);
    say(`stop: ${took.toFixed(2)} s (${r.how}; target: under 2 s)`);
    assert.equal(r.how, 'shutdown', `stop went through the init's own shutdown, not the kill fallback: ${JSON.stringify(r)}`);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual((r as { killed?: unknown[] }).killed ?? [], [], 'stop killed nothing');

    // the shutdown scripts ran: PostgreSQL was stopped by its init script
    assert.match(textFrom(log, pgFrom), /database system is shut down/, `PostgreSQL's log since the stop:\n${textFrom(log, pgFrom)}`);
    // nothing left behind
    assert.equal((await vs('status after stop', [DEB.name, 'status'])).code, 3);
    assert.deepEqual(leftovers(xid), [], `context ${xid}: cgroups or guard socket left`);
    assert.equal(lockKeys().has(cgroupId), false, 'the context\'s lock record is left in the pinned map');
    assert.deepEqual(bpfPins(), baseline.pins, 'pins under /sys/fs/bpf/vctx as before the start');
    assert.deepEqual(hostAddresses(), baseline.addresses, 'the host\'s addresses (the v6 ULA on lo included) as before the start');
    assert.equal(nftRuleset(), baseline.nft, 'nftables as before the start');
    const f = runFiles(paths(), DEB.name);
    for (const file of [f.state, f.rebootSocket, join(T, 'run', '.index', DEB.name)]) assert.equal(existsSync(file), false, `${file} is left`);
    const alive = pids.filter(([p, t]) => startTimeOf(p) === t);
    assert.deepEqual(alive, [], 'processes of the server are left');
    assert.deepEqual(await processesRootedIn(rootOf(DEB.name)), [], 'processes rooted in the server\'s root are left');
    assert.deepEqual(await mountsBelow(rootOf(DEB.name)), [], 'mounts below the server\'s root are left');
    stopped = { xid, cgroupId, pids, pgFrom: sizeOf(log) };
    done.add('stopped');
  });

  test('start again: every service answers again; PostgreSQL logs a clean shutdown, no recovery', { timeout: 5 * MIN }, async () => {
    needs('stopped');
    const t0 = Date.now();
    const s = await vs('start again', [DEB.name, 'start'], 3 * MIN);
    assert.equal(s.code, 0, show(s));
    await checkHttp();
    say(`start to HTTP 200: ${seconds(t0).toFixed(1)} s`);
    await checkSsh();
    await checkPsql();
    await checkLocalCurl('again');
    await checkCron();
    await checkServers('again');
    const since = textFrom(pgLog(), stopped!.pgFrom);
    assert.match(since, /database system was shut down at/, `PostgreSQL's log of the new start:\n${since}`);
    assert.doesNotMatch(since, /not properly shut down|automatic recovery in progress|redo starts/, since);
    const r = await stop(DEB.name, paths());
    assert.equal(r.how, 'shutdown');
    const b = await stop(BB.name, paths());
    assert.equal(b.how, 'shutdown');
  });
});
