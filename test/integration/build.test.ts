/**
 * `vserver NAME build` against the real file system (root): every build
 * goes into temporary conf/roots/run directories, never /etc/vservers or
 * /vservers, and each test removes what it made even when it fails.
 *
 * The debootstrap test fetches a minimal Debian from the host's Debian
 * mirror (about 40 s here); VCTX_TEST_DEBOOTSTRAP=0 leaves it out.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build, BuildError, type BuildPaths, type BuildProgress } from '../../src/actions/build.js';
import { elfInterpreter, hostsFile, vrebootPath } from '../../src/actions/templates/common.js';
import { lockPasswords } from '../../src/actions/templates/copy.js';
import {
  parseDeb822Sources, parseSourcesList, pickDebianMirror,
} from '../../src/actions/templates/debootstrap.js';
import { loadServerConfig } from '../../src/config/index.js';
import { makeBusyboxRoot, removeRoot } from '../helpers/busybox-root.js';

const tempDirs: string[] = [];
const mounts: string[] = [];

async function tempBase(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'vctx-build-test-'));
  tempDirs.push(d);
  return d;
}

function pathsIn(base: string): BuildPaths {
  return { confdir: join(base, 'etc'), rootdir: join(base, 'roots'), rundir: join(base, 'run') };
}

function sh(cmd: string, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function mode(p: string): number {
  return lstatSync(p).mode & 0o7777;
}

async function expectBuildError(p: Promise<unknown>, kind: string, step?: string): Promise<BuildError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof BuildError, `expected a BuildError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    if (step) assert.equal(e.step, step, e.message);
    assert.ok(!e.message.includes('\n'), 'the error is one line');
    return e;
  }
  assert.fail('the build did not fail');
}

after(async () => {
  for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

describe('vserver build: busybox template', () => {
  let base: string;
  let paths: BuildPaths;
  before(async () => {
    base = await tempBase();
    paths = pathsIn(base);
  });

  test('builds a bootable root and a configuration in under a second', async () => {
    const events: string[] = [];
    const r = await build('web1', { template: 'busybox', ip: '127.0.0.42', onProgress: (e) => events.push(e.step) }, paths);
    const root = join(paths.rootdir, 'web1');
    assert.equal(r.root, root);
    assert.ok(r.elapsedMs < 1000, `busybox build took ${r.elapsedMs} ms`);
    assert.ok(events.includes('busybox') && events.includes('done'));

    // a shell runs inside
    const echo = sh('chroot', [root, '/bin/sh', '-c', 'echo ok']);
    assert.equal(echo.code, 0, echo.err);
    assert.equal(echo.out.trim(), 'ok');
    // init, httpd and the boot files
    assert.equal(readlinkSync(join(root, 'sbin/init')), '/bin/busybox');
    assert.equal(readlinkSync(join(root, 'usr/sbin/httpd')), '/bin/busybox');
    assert.equal(await elfInterpreter(join(root, 'bin/busybox')), null, 'busybox is static');
    const inittab = readFileSync(join(root, 'etc/inittab'), 'utf8');
    assert.match(inittab, /^::sysinit:\/etc\/init\.d\/rcS$/m);
    assert.match(inittab, /^::shutdown:\/etc\/init\.d\/rcK$/m);
    assert.doesNotMatch(inittab, /^[^#].*(getty|ctrlaltdel)/m);
    for (const s of ['rcS', 'rcK', 'S01syslogd', 'S50httpd']) {
      assert.equal(mode(join(root, 'etc/init.d', s)), 0o755, `${s} is executable`);
    }
    assert.match(readFileSync(join(root, 'etc/init.d/S50httpd'), 'utf8'), /httpd -- -f -p 0\.0\.0\.0:80 -h \/var\/www/);
    assert.match(readFileSync(join(root, 'var/www/index.html'), 'utf8'), /web1/);
    assert.match(readFileSync(join(root, 'etc/profile'), 'utf8'), /web1/);
    assert.equal(readFileSync(join(root, 'etc/hostname'), 'utf8'), 'web1\n');
    assert.equal(readFileSync(join(root, 'etc/hosts'), 'utf8'), hostsFile('web1', '127.0.0.42'));
    assert.match(readFileSync(join(root, 'etc/shadow'), 'utf8'), /^root:\*:/);
    assert.equal(mode(join(root, 'etc/shadow')), 0o600);
    // directories
    assert.equal(mode(join(root, 'tmp')), 0o1777);
    assert.equal(mode(join(root, 'root')), 0o700);
    assert.deepEqual(await readdir(join(root, 'dev')), [], '/dev is left empty for the kernel layer');
    for (const d of ['proc', 'sys', 'run', 'var/log', 'var/www', 'home', 'etc/init.d']) {
      assert.ok(statSync(join(root, d)).isDirectory(), d);
    }
    // vreboot and vhalt: one binary that runs inside
    assert.ok(statSync(join(root, 'sbin/vreboot')).isFile());
    assert.equal(readlinkSync(join(root, 'sbin/vhalt')), 'vreboot');
    const help = sh('chroot', [root, '/sbin/vhalt', '--help']);
    assert.equal(help.code, 0, help.err);
    assert.match(help.out, /stop this virtual server/);

    // the roots directory: nobody but host root walks into it
    assert.equal(mode(paths.rootdir), 0o000);
    assert.equal(statSync(paths.rootdir).uid, 0);
    assert.equal(mode(root), 0o755);
  });

  test('the configuration parses and boots busybox init as PID 1', async () => {
    const conf = join(paths.confdir, 'web1.conf');
    assert.equal(mode(conf), 0o600);
    assert.equal(statSync(conf).uid, 0);
    const { config, warnings } = await loadServerConfig(paths.confdir, 'web1');
    assert.deepEqual(warnings, []);
    assert.equal(config.ip, '127.0.0.42');
    assert.equal(config.hostname, 'web1');
    assert.deepEqual(config.init, { style: 'init' });
    assert.ok(config.flags.includes('fakeinit'));
  });

  test('building again without --force refuses and leaves the first intact', async () => {
    const root = join(paths.rootdir, 'web1');
    const conf = join(paths.confdir, 'web1.conf');
    await writeFile(join(root, 'root/marker'), 'first\n');
    const confBefore = await readFile(conf, 'utf8');
    const e = await expectBuildError(build('web1', { template: 'busybox', ip: '127.0.0.43' }, paths), 'exists', 'exists');
    assert.equal(e.exitCode, 1);
    assert.match(e.message, /already exists.*--force/);
    assert.equal(readFileSync(join(root, 'root/marker'), 'utf8'), 'first\n');
    assert.equal(await readFile(conf, 'utf8'), confBefore);
    assert.deepEqual((await readdir(paths.rootdir)).sort(), ['web1']);

    // with --force the server is built anew
    await build('web1', { template: 'busybox', ip: '127.0.0.43', force: true }, paths);
    assert.ok(!existsSync(join(root, 'root/marker')));
    assert.match(await readFile(conf, 'utf8'), /^IPROOT="127\.0\.0\.43"$/m);
    assert.deepEqual((await readdir(paths.rootdir)).sort(), ['web1']);
    assert.deepEqual((await readdir(paths.confdir)).sort(), ['web1.conf']);
  });

  test('without an address the demo web server is installed but not enabled', async () => {
    await build('noip', {}, paths);
    const root = join(paths.rootdir, 'noip');
    assert.equal(mode(join(root, 'etc/init.d/S50httpd')), 0o644);
    assert.match(readFileSync(join(root, 'etc/hosts'), 'utf8'), /^127\.0\.1\.1\tnoip$/m);
  });
});

describe('vserver build: bad input creates nothing', () => {
  for (const [label, name, opts] of [
    ['a name with a slash', '../evil', {}],
    ['a name starting with -', '-x', {}],
    ['an empty name', '', {}],
    ['an unknown template', 'ok1', { template: 'gentoo' }],
    ['a bad suite', 'ok2', { template: 'debootstrap:Bad Suite' }],
    ['a bad address', 'ok3', { ip: '300.1.1.1' }],
    ['a bad context number', 'ok4', { ctx: 1 }],
  ] as const) {
    test(`refuses ${label}`, async () => {
      const base = await tempBase();
      const paths = pathsIn(base);
      const e = await expectBuildError(build(name, opts, paths), 'usage');
      assert.equal(e.exitCode, 2);
      assert.deepEqual(await readdir(base), [], 'nothing was created');
    });
  }
});

describe('vserver build: a failure midway removes what it created', () => {
  test('a full file system during the busybox step', async () => {
    const base = await tempBase();
    const small = join(base, 'small');
    await mkdir(small);
    const m = sh('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'vctx-test', small]);
    assert.equal(m.code, 0, m.err);
    mounts.push(small);
    const paths = { confdir: join(base, 'etc'), rootdir: join(small, 'roots'), rundir: join(base, 'run') };
    const e = await expectBuildError(build('full', {}, paths), 'failed', 'busybox');
    assert.match(e.message, /failed at step 'busybox'.*nothing was left behind/);
    assert.deepEqual(await readdir(small), [], 'the roots directory it made is gone');
    assert.deepEqual((await readdir(base)).sort(), ['small'], 'the configuration directory it made is gone');
  });

  test('a read-only roots directory', async () => {
    const base = await tempBase();
    const ro = join(base, 'ro');
    await mkdir(ro);
    const m = sh('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'vctx-test', ro]);
    assert.equal(m.code, 0, m.err);
    mounts.push(ro);
    const paths = { confdir: join(base, 'etc'), rootdir: ro, rundir: join(base, 'run') };
    const e = await expectBuildError(build('rofs', {}, paths), 'failed', 'prepare');
    assert.match(e.message, /read-only/i);
    assert.deepEqual(await readdir(ro), []);
    assert.deepEqual((await readdir(base)).sort(), ['ro']);
  });

  test('an existing server is not replaced while something is mounted in it', async () => {
    const base = await tempBase();
    const paths = pathsIn(base);
    await build('busy', {}, paths);
    const proc = join(paths.rootdir, 'busy', 'proc');
    const m = sh('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'vctx-test', proc]);
    assert.equal(m.code, 0, m.err);
    mounts.push(proc);
    const e = await expectBuildError(build('busy', { force: true }, paths), 'failed', 'exists');
    assert.match(e.message, /is mounted/);
    assert.ok(existsSync(join(paths.rootdir, 'busy', 'bin/busybox')));
    sh('umount', [proc]);
    mounts.pop();
  });

  test('an existing server is not replaced while a process runs inside it', async () => {
    const base = await tempBase();
    const paths = pathsIn(base);
    await build('busy2', {}, paths);
    const root = join(paths.rootdir, 'busy2');
    const child = spawn('chroot', [root, '/bin/sleep', '30'], { stdio: 'ignore' });
    try {
      await new Promise((res) => setTimeout(res, 200));
      const e = await expectBuildError(build('busy2', { force: true }, paths), 'failed', 'exists');
      assert.match(e.message, /runs inside/);
      assert.ok(existsSync(join(root, 'bin/busybox')));
    } finally {
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
    }
  });
});

/** the shared libraries of a host program, as ldd names them */
function libsOf(exe: string): string[] {
  const out = sh('ldd', [exe]).out;
  const libs = [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(/g)].map((m) => m[1]!);
  // the names ldd gives and the files they lead to (the loader is a link on Debian)
  return [...libs, ...libs.map((l) => realpathSync(l))];
}

describe('vserver build: copy template', () => {
  test('a limited copy of the host gives a root where /bin/true runs', { timeout: 60_000 }, async () => {
    const base = await tempBase();
    const paths = pathsIn(base);
    const progs = ['/usr/bin/true', '/usr/bin/sleep'];
    const copyPaths = ['/bin', '/sbin', '/lib', '/lib64', '/etc', ...progs, ...progs.flatMap(libsOf)];
    const events: string[] = [];
    const full: BuildProgress[] = [];
    const r = await build('cp1', {
      template: 'copy', ip: '127.0.0.44', copyPaths, onProgress: (e) => { events.push(e.detail); full.push(e); },
    }, paths);
    const root = r.root;
    const t = sh('chroot', [root, '/bin/true']);
    assert.equal(t.code, 0, t.err);
    assert.ok(events.some((d) => d.startsWith('copying /bin')));
    // the copy's progress carries figures (nothing bare), and ends with the totals
    const counted = full.filter((e) => e.detail === 'copying' || e.detail === 'copied');
    assert.ok(counted.length >= 1, JSON.stringify(full));
    for (const e of counted) assert.ok(e.bytes !== undefined && e.files !== undefined && e.elapsedMs !== undefined, JSON.stringify(e));
    const last = counted[counted.length - 1]!;
    assert.equal(last.final, true);
    assert.ok(last.files! > 10 && last.bytes! > 100_000, JSON.stringify(last));

    // the usrmerge links are copied as links
    if (lstatSync('/bin').isSymbolicLink()) assert.equal(readlinkSync(join(root, 'bin')), readlinkSync('/bin'));
    // what must not be shared
    assert.equal(mode(join(root, 'tmp')), 0o1777);
    for (const d of ['proc', 'home', 'dev', 'run']) assert.deepEqual(await readdir(join(root, d)), [], d);
    const sshDir = join(root, 'etc/ssh');
    if (existsSync(sshDir)) {
      const keys = (await readdir(sshDir)).filter((f) => f.startsWith('ssh_host_'));
      const hostKeys = (await readdir('/etc/ssh')).filter((f) => f.startsWith('ssh_host_'));
      for (const k of keys) {
        if (hostKeys.includes(k)) assert.notEqual(readFileSync(join(sshDir, k), 'utf8'), readFileSync(join('/etc/ssh', k), 'utf8'));
      }
    }
    if (existsSync('/etc/machine-id')) {
      assert.notEqual(readFileSync(join(root, 'etc/machine-id'), 'utf8'), readFileSync('/etc/machine-id', 'utf8'));
    }
    for (const line of readFileSync(join(root, 'etc/shadow'), 'utf8').split('\n').filter(Boolean)) {
      assert.equal(line.split(':')[1], '*', `password of ${line.split(':')[0]} is locked`);
    }
    assert.ok(!existsSync(join(root, 'etc/shadow-')));
    assert.equal(readFileSync(join(root, 'etc/hostname'), 'utf8'), 'cp1\n');
    assert.match(readFileSync(join(root, 'etc/hosts'), 'utf8'), /^127\.0\.0\.44\tcp1$/m);
    assert.ok(existsSync(join(root, 'sbin/vreboot')));
    const { config } = await loadServerConfig(paths.confdir, 'cp1');
    assert.equal(config.ip, '127.0.0.44');
  });
});

describe('vreboot and vhalt', () => {
  let root: string;
  let server: Server | null = null;
  before(async () => {
    root = await makeBusyboxRoot(undefined, { name: 'rb' });
  });
  after(async () => {
    server?.close();
    await removeRoot(root);
  });

  /** a reboot manager on ROOT/dev/reboot answering each request with reply(line) */
  async function listen(reply: (line: string) => string): Promise<string[]> {
    server?.close();
    const seen: string[] = [];
    const sock = join(root, 'dev/reboot');
    await rm(sock, { force: true });
    server = createServer((c) => {
      let buf = '';
      c.on('data', (d) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          seen.push(line);
          c.end(reply(line) + '\n');
        }
      });
    });
    await new Promise<void>((res) => server!.listen(sock, res));
    return seen;
  }

  function runInside(prog: string): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((res) => {
      const c = spawn('chroot', [root, prog], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      c.stdout.on('data', (d) => { out += d; });
      c.stderr.on('data', (d) => { err += d; });
      c.on('close', (code) => res({ code, out, err }));
    });
  }

  test('vreboot sends "reboot", vhalt sends "halt"; ok exits 0', async () => {
    const seen = await listen(() => 'ok');
    const r1 = await runInside('/sbin/vreboot');
    assert.equal(r1.code, 0, r1.err);
    assert.equal(r1.out, 'ok\n');
    const r2 = await runInside('/sbin/vhalt');
    assert.equal(r2.code, 0, r2.err);
    assert.deepEqual(seen, ['reboot', 'halt']);
  });

  test('an error reply is printed and exits 1', async () => {
    await listen(() => 'error: server rb is private');
    const r = await runInside('/sbin/vhalt');
    assert.equal(r.code, 1);
    assert.match(r.err, /error: server rb is private/);
  });

  test('no reboot manager: a one-line error, exit 1', async () => {
    server?.close();
    server = null;
    await rm(join(root, 'dev/reboot'), { force: true });
    const r = await runInside('/sbin/vreboot');
    assert.equal(r.code, 1);
    assert.match(r.err, /cannot reach the reboot manager at \/dev\/reboot/);
    assert.equal(r.err.trim().split('\n').length, 1);
  });

  test('any other name is a usage error', async () => {
    const other = join(root, 'sbin/vsomething');
    await symlink('vreboot', other);
    const r = await runInside('/sbin/vsomething');
    assert.equal(r.code, 2);
  });

  test('the built tool is static, or its libraries were installed with it', async () => {
    const interp = await elfInterpreter(vrebootPath());
    if (interp !== null) assert.ok(existsSync(join(root, interp)), `${interp} was copied into the root`);
  });
});

describe('template helpers', () => {
  test('APT sources: one-line and deb822, the Debian archive is picked', () => {
    const list = parseSourcesList([
      '# comment',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://mirror.example/debian bookworm main contrib',
      'deb-src http://mirror.example/debian bookworm main',
      'deb http://security.example/debian-security bookworm-security main',
    ].join('\n'));
    assert.deepEqual(list[0], {
      uri: 'http://mirror.example/debian', suites: ['bookworm'], components: ['main', 'contrib'],
      signedBy: '/usr/share/keyrings/x.gpg',
    });
    const d822 = parseDeb822Sources([
      'Types: deb',
      'URIs: http://deb.example/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
      'Types: deb deb-src',
      'URIs: http://deb.example/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'Enabled: no',
      'URIs: http://off.example/debian',
      'Suites: bookworm',
    ].join('\n'));
    assert.equal(d822.length, 2);
    assert.deepEqual(pickDebianMirror(d822, 'bookworm')?.uri, 'http://deb.example/debian');
    assert.equal(pickDebianMirror(d822, 'bookworm')?.signedBy, '/usr/share/keyrings/debian-archive-keyring.gpg');
    assert.equal(pickDebianMirror([...list, ...d822], 'bookworm')?.uri, 'http://mirror.example/debian');
    assert.equal(pickDebianMirror([], 'bookworm'), null);
  });

  test('lockPasswords replaces every hash', () => {
    assert.equal(lockPasswords('root:$y$j9T$abc:19000:0:99999:7:::\nbin:*:1::::::\nx::1::::::\n'),
      'root:*:19000:0:99999:7:::\nbin:*:1::::::\nx:*:1::::::\n');
  });
});

const debootstrapWanted = process.env.VCTX_TEST_DEBOOTSTRAP !== '0';

describe('vserver build: debootstrap template', { skip: debootstrapWanted ? false : 'VCTX_TEST_DEBOOTSTRAP=0' }, () => {
  test('a minimal Debian with sysvinit as its PID 1, never systemd', { timeout: 300_000 }, async () => {
    const base = await tempBase();
    const paths = pathsIn(base);
    const lines: string[] = [];
    const r = await build('deb1', { template: 'debootstrap', ip: '127.0.0.45', onProgress: (e) => lines.push(e.detail) }, paths);
    const root = r.root;
    assert.ok(lines.some((l) => l.startsWith('I: ')), 'debootstrap progress was streamed');
    const echo = sh('chroot', [root, '/bin/sh', '-c', 'echo ok']);
    assert.equal(echo.code, 0, echo.err);
    assert.equal(echo.out.trim(), 'ok');
    // the server's init: sysvinit as PID 1, no systemd
    const { config } = await loadServerConfig(paths.confdir, 'deb1');
    assert.deepEqual(config.init, { style: 'init' });
    assert.ok(config.flags.includes('fakeinit'));
    // (/etc/init.d/rc is an absolute link: look at it from inside)
    assert.equal(sh('chroot', [root, '/usr/bin/test', '-x', '/etc/init.d/rc']).code, 0, '/etc/init.d/rc is there');
    const init = sh('chroot', [root, '/usr/bin/readlink', '-f', '/sbin/init']).out.trim();
    assert.doesNotMatch(init, /systemd/);
    assert.notEqual(sh('chroot', [root, '/usr/bin/dpkg', '-s', 'systemd-sysv']).code, 0, 'systemd-sysv is not installed');
    assert.match(readFileSync(join(root, 'etc/apt/preferences.d/vserver-no-systemd'), 'utf8'), /Package: systemd-sysv/);
    assert.doesNotMatch(readFileSync(join(root, 'etc/inittab'), 'utf8'), /^[^#].*getty/m);
    // the boot scripts of a real machine are disabled with Debian's update-rc.d: their start
    // links are K links, and stay so when a package's postinst runs insserv again
    const rcS = async () => readdir(join(root, 'etc/rcS.d'));
    const machineScripts = ['hwclock.sh', 'checkroot.sh', 'checkfs.sh', 'mountall.sh', 'mountkernfs.sh', 'mountdevsubfs.sh', 'hostname.sh'];
    for (const s of machineScripts) {
      assert.ok(existsSync(join(root, 'etc/init.d', s)), `bookworm has ${s}`);
      assert.ok((await rcS()).some((l) => /^K\d\d/.test(l) && l.slice(3) === s), `${s} disabled: ${(await rcS()).join(' ')}`);
    }
    const postinst = sh('chroot', [root, '/usr/sbin/update-rc.d', 'rmnologin', 'defaults']);
    assert.equal(postinst.code, 0, postinst.err);
    const after = await rcS();
    assert.deepEqual(after.filter((l) => /^S\d\d/.test(l) && machineScripts.includes(l.slice(3))), [], after.join(' '));
    assert.ok(after.some((l) => /^S\d\dbootmisc\.sh$/.test(l)), `the server's own boot scripts still run: ${after.join(' ')}`);
    // halt and reboot stay (their reboot(2) ends the server)
    const rc0 = await readdir(join(root, 'etc/rc0.d'));
    assert.ok(rc0.some((l) => /^K\d\dhalt$/.test(l)), rc0.join(' '));
    assert.ok((await readdir(join(root, 'etc/rc6.d'))).some((l) => /^K\d\dreboot$/.test(l)));
    assert.equal(readFileSync(join(root, 'etc/hostname'), 'utf8'), 'deb1\n');
    assert.ok(existsSync(join(root, 'sbin/vreboot')));
    const help = sh('chroot', [root, '/sbin/vreboot', '--help']);
    assert.equal(help.code, 0, help.err);
  });
});
