/**
 * The pure parts of starting a server: the chcontext command line built
 * from a configuration, rlimits, loopback addresses, the vreboot/vhalt
 * host command, the audit line, the alias label.  No root needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseServerConfig } from '../../../src/config/index.js';
import {
  loopbackCandidates, loopbackForXid, rebootCommand, rlimitArg, shellQuote, startArgs,
} from '../../../src/actions/chcontext-args.js';
import { inheritedSoftLimits } from '../../../src/kernel-bridge/host.js';
import { aliasLabel } from '../../../src/actions/alias.js';
import { auditLine } from '../../../src/actions/syslog.js';
import { formatUptime } from '../../../src/cli/vserver-format.js';

const plan = {
  root: '/vservers/web', loopback: '127.128.0.42', console: '/run/vservers/web/console.log',
  rebootSocket: '/run/vservers/web/reboot.sock', onReboot: 'R', onHalt: 'H', init: ['/sbin/init'], persist: false,
  inheritedSoft: new Map<number, number | 'unlimited'>([[7, 1024], [6, 'unlimited']]),
};

test('startArgs maps every key of the configuration', () => {
  const r = parseServerConfig([
    'IPROOT="10.1.2.3"', 'S_CONTEXT="42"', 'S_HOSTNAME="www"', 'S_DOMAINNAME="example"', 'S_NICE="5"',
    'S_CAPS="IPC_LOCK !CHOWN"', 'S_FLAGS="lock nproc fakeinit"', 'ULIMIT="-H -n 4096 -c 0"', 'MEMORY_MAX="512M"',
    'PIDS_MAX="300"', 'CPU_WEIGHT="200"', 'CPU_MAX="150%"', 'S_INIT="init"', 'CONSOLE_MAX="4M"',
  ].join('\n'), { file: '/etc/vservers/web.conf', name: 'web' });
  assert.ok(r.config, JSON.stringify(r.errors));
  const a = startArgs(r.config, plan);
  const pairs = (flag: string) => a.flatMap((x, i) => (x === flag ? [a[i + 1]] : []));
  assert.deepEqual(a.slice(0, 3), ['--daemon', '--secure', '--silent']);
  assert.deepEqual(pairs('--name'), ['web']);
  assert.deepEqual(pairs('--ctx'), ['42']);
  assert.deepEqual(pairs('--hostname'), ['www']);
  assert.deepEqual(pairs('--domainname'), ['example']);
  assert.deepEqual(pairs('--ip'), ['10.1.2.3']);
  assert.deepEqual(pairs('--loopback'), ['127.128.0.42']);
  assert.deepEqual(pairs('--cap').sort(), ['!CHOWN', 'IPC_LOCK']);
  assert.deepEqual(pairs('--flag'), ['lock', 'nproc', 'fakeinit']);
  assert.deepEqual(pairs('--memory'), [String(512 * 1024 * 1024)]);
  assert.deepEqual(pairs('--pids'), ['300']);
  assert.deepEqual(pairs('--cpu-weight'), ['200']);
  assert.deepEqual(pairs('--cpu-max'), ['150']);
  assert.deepEqual(pairs('--nice'), ['5']);
  assert.deepEqual(pairs('--console-max'), [String(4 * 1024 * 1024)]);
  assert.deepEqual(pairs('--rlimit').sort(), ['core=0:0', 'nofile=1024:4096']);
  assert.deepEqual(a.slice(a.indexOf('--')), ['--', '/sbin/init']);
  assert.ok(a.includes('--accounting'));
  assert.ok(!a.includes('--persist'));
});

test('a hard-only limit brings a higher inherited soft limit down', () => {
  const r = { letter: 'n', resource: 'RLIMIT_NOFILE' as const, number: 7, soft: null, hard: 512 };
  assert.equal(rlimitArg(r, new Map([[7, 1024]])), 'nofile=512:512');
  assert.equal(rlimitArg(r, new Map([[7, 256]])), 'nofile=256:512');
  assert.equal(rlimitArg({ ...r, hard: 'unlimited' }, new Map([[7, 'unlimited']])), 'nofile=unlimited:unlimited');
  assert.equal(rlimitArg({ ...r, soft: 100, hard: null }, new Map()), 'nofile=100:-');
  assert.equal(rlimitArg(r, new Map()), 'nofile=512:512');
});

test('/proc/self/limits is read', () => {
  const m = inheritedSoftLimits();
  assert.ok(m.has(7), 'open files');
  assert.ok(m.has(6), 'processes');
});

test('loopbacks: static from the XID, dynamic from the name, never .0.0 or .255.255', () => {
  assert.equal(loopbackForXid(42), '127.128.0.42');
  assert.equal(loopbackForXid(49151), '127.128.191.255');
  const c = loopbackCandidates('web');
  assert.equal(c.length, 65534);
  assert.equal(new Set(c).size, c.length);
  assert.ok(c.every((x) => x.startsWith('127.129.') && x !== '127.129.0.0' && x !== '127.129.255.255'));
  assert.notEqual(loopbackCandidates('web')[0], loopbackCandidates('db')[0]);
  assert.deepEqual(loopbackCandidates('web').slice(0, 3), c.slice(0, 3));
});

test('the vreboot command is quoted for sh and uses absolute paths', () => {
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(shellQuote('/a/b-c.d'), '/a/b-c.d');
  const cmd = rebootCommand('web', { confdir: '/etc/v s', rootdir: '/vservers', rundir: '/run/vservers' }, 'restart', 'vreboot');
  assert.match(cmd, /^VSERVER_REQUESTED_BY='server web \(vreboot\)' exec \//);
  assert.match(cmd, / --confdir '\/etc\/v s' --rootdir \/vservers --rundir \/run\/vservers web restart --if-running$/);
});

test('audit lines escape control characters; alias labels fit IFNAMSIZ', () => {
  assert.equal(auditLine('root (uid 0)', 'start', 'web\nfake', 'ok'), 'root (uid 0): start web\\x0afake: ok');
  assert.equal(aliasLabel('eth0', 'web'), 'eth0:web');
  assert.equal(aliasLabel('eth0', 'averyveryverylongname'), 'eth0:averyveryv');
  assert.equal(aliasLabel('eth0', 'wéb'), 'eth0:vs');
  assert.equal(aliasLabel('enp0s31f6abcdef', 'web'), null);
});

test('uptime text', () => {
  assert.equal(formatUptime(5), '5s');
  assert.equal(formatUptime(65), '1m 05s');
  assert.equal(formatUptime(3725), '1h 02m 05s');
  assert.equal(formatUptime(90061), '1d 01h 01m');
});
