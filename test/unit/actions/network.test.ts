/**
 * The configuration side of a server's network (issue 11): IPROOT with an
 * IPv6 address, NAT, the chcontext arguments and `ip` commands they
 * become, the cross-server checks, the resolver configuration a build
 * writes (from recorded host files in test/fixtures/resolv), and the
 * debootstrap cache's keys.  No root needed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkIp6Assignable, ConfigError, findClashes, formatIssue, localIPv6Addresses, parseServerConfig, renderConfigTemplate,
  type ServerConfig,
} from '../../../src/config/index.js';
import { startArgs } from '../../../src/actions/chcontext-args.js';
import { aliasAddCommands, aliasDelCommands, plannedAlias } from '../../../src/actions/alias.js';
import { startClashes } from '../../../src/actions/clashes.js';
import { isLoopbackNameserver, serverResolvConf } from '../../../src/actions/templates/common.js';
import {
  cacheDirFrom, cacheEntryFresh, cacheEntryName, DEFAULT_CACHE_DIR, type BootstrapKey,
} from '../../../src/actions/templates/debootstrap-cache.js';
import { projectRoot } from '../../../src/kernel-bridge/addon.js';

const FIX = join(projectRoot, 'test/fixtures/resolv');

function conf(lines: string[], name = 'web', file = `/etc/vservers/${name}.conf`) {
  return parseServerConfig(lines.join('\n') + '\n', { file, name });
}

function ok(lines: string[], name = 'web'): ServerConfig {
  const r = conf(lines, name);
  assert.ok(r.config, r.errors.map(formatIssue).join('\n'));
  return r.config;
}

const plan = {
  root: '/vservers/web', loopback: '127.129.1.2', console: '/run/vservers/web/console.log',
  rebootSocket: '/run/vservers/web/reboot.sock', onReboot: 'R', onHalt: 'H', init: ['/sbin/init'], persist: false,
  inheritedSoft: new Map<number, number | 'unlimited'>(),
};

const pairs = (a: string[], flag: string) => a.flatMap((x, i) => (x === flag ? [a[i + 1]] : []));

test('IPROOT with an IPv6 address: both kept (canonical v6), and a bad one is one line naming file, line, key and value', () => {
  const c = ok(['IPROOT="127.0.0.31 FD00:0::31"', 'IPROOTDEV="lo"']);
  assert.equal(c.ip, '127.0.0.31');
  assert.equal(c.ip6, 'fd00::31');
  assert.equal(ok(['IPROOT="10.0.0.1"']).ip6, null, 'a single IPv4 address stays valid');
  const bad = conf(['# x', 'IPROOT="127.0.0.31 ::1"']);
  assert.equal(bad.config, null);
  assert.equal(bad.errors.length, 1);
  const line = formatIssue(bad.errors[0]!);
  assert.match(line, /^\/etc\/vservers\/web\.conf:2: IPROOT="127\.0\.0\.31 ::1": ::1 is the host's loopback/);
  assert.ok(!line.includes('\n'));
  const comma = formatIssue(conf(['IPROOT="127.0.0.31,fd00::31"']).errors[0]!);
  assert.match(comma, /^\/etc\/vservers\/web\.conf:1: IPROOT="127\.0\.0\.31,fd00::31": separate the addresses with a blank/);
});

test('NAT: yes/no, default no; without IPROOT a warning; a bad value an error naming it', () => {
  assert.equal(ok(['IPROOT="127.0.0.31"']).nat, false);
  assert.equal(ok(['IPROOT="127.0.0.31"', 'NAT="yes"']).nat, true);
  const w = conf(['NAT="yes"']);
  assert.match(formatIssue(w.warnings[0]!), /^\/etc\/vservers\/web\.conf:1: warning: NAT="yes": NAT is ignored without IPROOT/);
  const e = conf(['IPROOT="127.0.0.31"', 'NAT="on"']);
  assert.match(formatIssue(e.errors[0]!), /:2: NAT="on": 'yes' .* or 'no'/);
});

test('the template writes IPROOT "V4 V6" and NAT, explains both, and reads back', () => {
  const text = renderConfigTemplate({ name: 'web', ip: '127.0.0.31', ip6: 'fd00::31', nat: true, template: 'busybox' });
  assert.match(text, /^IPROOT="127\.0\.0\.31 fd00::31"$/m);
  assert.match(text, /^NAT="yes"$/m);
  assert.match(text, /# NAT: yes lets a server whose address the host cannot route out \(one in\n# 127\.0\.0\.0\/8/);
  assert.match(text, /cannot reach the outside world/);
  assert.match(text, /"192\.168\.1\.10 fd00::10"/);
  const c = parseServerConfig(text, { file: 'web.conf', name: 'web' }).config!;
  assert.deepEqual([c.ip, c.ip6, c.nat], ['127.0.0.31', 'fd00::31', true]);
  assert.match(renderConfigTemplate({ name: 'web', template: 'busybox' }), /^NAT="no"$/m);
  // build --nat without an address: refused, naming NAT
  assert.throws(() => renderConfigTemplate({ name: 'web', nat: true, template: 'busybox' }),
    (e: unknown) => e instanceof ConfigError && /NAT="yes": NAT is ignored without IPROOT/.test(e.message));
});

test('chcontext gets --ip6 when IPROOT has one and --nat with NAT=yes; neither otherwise', () => {
  const both = startArgs(ok(['IPROOT="127.0.0.31 fd00::31"', 'IPROOTDEV="lo"', 'NAT="yes"']), plan);
  assert.deepEqual(pairs(both, '--ip'), ['127.0.0.31']);
  assert.deepEqual(pairs(both, '--ip6'), ['fd00::31']);
  assert.deepEqual(pairs(both, '--loopback'), ['127.129.1.2']);
  assert.ok(both.indexOf('--nat') >= 0 && both.indexOf('--nat') < both.indexOf('--'));
  assert.ok(!both.includes('--loopback6'), 'the v6 loopback is chcontext\'s to derive');
  const v4 = startArgs(ok(['IPROOT="127.0.0.31"']), plan);
  assert.ok(!v4.includes('--ip6') && !v4.includes('--nat'));
  const none = startArgs(ok(['NAT="yes"']), plan);
  assert.ok(!none.includes('--nat') && !none.includes('--ip'), 'NAT without an address is ignored');
});

test('the alias of IPROOTDEV: the v6 address /128 nodad besides the v4 one; an address the host had is neither added nor removed', () => {
  const a = plannedAlias(ok(['IPROOT="10.9.8.7 2001:db8::7"', 'IPROOTDEV="eth0"', 'IPROOTMASK="24"']))!;
  assert.deepEqual(aliasAddCommands(a), [
    ['addr', 'add', '10.9.8.7/24', 'dev', 'eth0', 'label', 'eth0:web'],
    ['-6', 'addr', 'add', '2001:db8::7/128', 'dev', 'eth0', 'nodad'],
  ]);
  assert.deepEqual(aliasDelCommands(a), [['addr', 'del', '10.9.8.7/24', 'dev', 'eth0'], ['-6', 'addr', 'del', '2001:db8::7/128', 'dev', 'eth0']]);
  assert.deepEqual(aliasAddCommands({ ...a, v4Present: true }), [['-6', 'addr', 'add', '2001:db8::7/128', 'dev', 'eth0', 'nodad']]);
  assert.deepEqual(aliasDelCommands({ ...a, v4Present: true }), [['-6', 'addr', 'del', '2001:db8::7/128', 'dev', 'eth0']]);
  // a record written by an older version (no ip6) removes what it did before
  const old = { ip: '10.9.8.7', prefix: 24, dev: 'eth0', broadcast: null, label: 'eth0:web' };
  assert.deepEqual(aliasDelCommands(old), [['addr', 'del', '10.9.8.7/24', 'dev', 'eth0']]);
});

test('cross-server checks include the IPv6 address, in any spelling; a running context holding it refuses a start', () => {
  const web = ok(['IPROOT="127.0.0.31 fd00::31"', 'IPROOTDEV="lo"'], 'web');
  const db = { ...ok(['IPROOT="127.0.0.32 fd00:0:0::31"', 'IPROOTDEV="lo"'], 'db'), file: '/etc/vservers/db.conf' };
  const cl = findClashes(web, [web, db]);
  assert.deepEqual(cl.map((c) => [c.key, c.value, c.other.name]), [['IPROOT', 'fd00::31', 'db']]);
  const r = startClashes(web, [web], [{ xid: 50001, name: '', ip: '127.0.0.99', ip6: 'fd00::31' }]);
  assert.equal(r.errors.length, 1);
  assert.match(formatIssue(r.errors[0]!), /IPROOT="fd00::31": fd00::31 is the IPv6 address of running context 50001 \(a chcontext, no server\)/);
  assert.deepEqual(startClashes(web, [web], [{ xid: 50001, name: '', ip: '127.0.0.99' }]).errors, [], 'no ip6 reported: no clash');
});

test('without IPROOTDEV the IPv6 address must be the host\'s already', () => {
  const c = ok(['IPROOT="127.0.0.31 fd00::31"']);
  const ifs = { lo: [{ address: 'fd00:0::31', family: 'IPv6' as const, netmask: '', mac: '', internal: true, cidr: null, scopeid: 0 }] };
  assert.deepEqual(localIPv6Addresses(ifs), ['fd00::31']);
  assert.equal(checkIp6Assignable(c, ['fd00::31']), null);
  assert.match(formatIssue(checkIp6Assignable(c, [])!), /IPROOT="127\.0\.0\.31 fd00::31": fd00::31 is not an address of this host.*IPROOTDEV/);
  assert.equal(checkIp6Assignable(ok(['IPROOT="127.0.0.31 fd00::31"', 'IPROOTDEV="lo"']), []), null);
});

test('loopback name servers: the host\'s own stub resolvers', () => {
  for (const a of ['127.0.0.53', '127.0.0.1', '::1', '0:0::1', '0.0.0.0', '::ffff:127.0.0.1']) assert.ok(isLoopbackNameserver(a), a);
  for (const a of ['10.255.255.53', '192.0.2.53', '2001:db8::53', 'fe80::1%eth0', 'nonsense']) assert.ok(!isLoopbackNameserver(a), a);
});

test('resolv.conf: a host with a reachable name server is copied as is (its text, not a link)', async () => {
  const d = mkdtempSync(join(tmpdir(), 'vctx-resolv-'));
  after(() => rmSync(d, { recursive: true, force: true }));
  symlinkSync(join(FIX, 'plain.conf'), join(d, 'resolv.conf'));
  const r = await serverResolvConf({ resolvConf: join(d, 'resolv.conf'), upstreamResolvConf: join(d, 'none') });
  assert.deepEqual(r.nameservers, ['10.255.255.53']);
  assert.equal(r.warning, null);
  assert.match(r.text, /^nameserver 10\.255\.255\.53$/m);
  assert.match(r.text, /^# The resolver configuration of this virtual server/);
});

test('resolv.conf: behind systemd-resolved\'s 127.0.0.53 stub, the upstream servers are used', async () => {
  const r = await serverResolvConf({ resolvConf: join(FIX, 'systemd-stub.conf'), upstreamResolvConf: join(FIX, 'systemd-upstream.conf') });
  assert.deepEqual(r.nameservers, ['192.0.2.53', '2001:db8::53']);
  assert.equal(r.source, join(FIX, 'systemd-upstream.conf'));
  assert.equal(r.warning, null);
  assert.doesNotMatch(r.text, /^nameserver 127/m);
  assert.match(r.text, /^search example\.internal$/m);
});

test('resolv.conf: a loopback resolver without upstream servers (dnsmasq) is left out, and the build warns', async () => {
  const r = await serverResolvConf({ resolvConf: join(FIX, 'dnsmasq.conf'), upstreamResolvConf: join(FIX, 'missing.conf') });
  assert.deepEqual(r.nameservers, []);
  assert.match(r.warning!, /names only 127\.0\.0\.1, a resolver on the host's loopback that a server cannot reach.*DNS will not work inside/);
  assert.match(r.text, /^# nameserver 127\.0\.0\.1 +\(the host's loopback: not reachable from a server\)$/m);
  assert.doesNotMatch(r.text, /^nameserver/m);
  const none = await serverResolvConf({ resolvConf: join(FIX, 'missing.conf'), upstreamResolvConf: join(FIX, 'missing.conf') });
  assert.match(none.warning!, /the host has no .*missing\.conf/);
});

test('resolv.conf: with loopback and real name servers, only the loopback ones are commented out', async () => {
  const r = await serverResolvConf({ resolvConf: join(FIX, 'mixed.conf'), upstreamResolvConf: join(FIX, 'systemd-upstream.conf') });
  assert.deepEqual(r.nameservers, ['198.51.100.7']);
  assert.match(r.text, /^# nameserver ::1 /m);
  assert.match(r.text, /^options rotate$/m);
  assert.match(r.text, /^domain example\.org$/m);
});

test('debootstrap cache: the directory from VCTX_CACHE_DIR, else /var/cache/vctx; keys follow every input; entries age out', () => {
  assert.equal(cacheDirFrom({}), DEFAULT_CACHE_DIR);
  assert.equal(cacheDirFrom({ VCTX_CACHE_DIR: '' }), '/var/cache/vctx');
  assert.equal(cacheDirFrom({ VCTX_CACHE_DIR: '/srv/cache' }), '/srv/cache');
  const key: BootstrapKey = {
    args: ['--variant=minbase', '--include=sysvinit-core', '--components=main', 'bookworm', 'http://deb.debian.org/debian'],
    arch: 'amd64', debootstrapVersion: 'debootstrap 1.0.128+nmu2', keyringSha256: null,
  };
  const name = cacheEntryName('bookworm', key);
  assert.match(name, /^bookworm-amd64-[0-9a-f]{16}$/);
  assert.equal(cacheEntryName('bookworm', { ...key }), name, 'the same inputs: the same entry');
  const variants: BootstrapKey[] = [
    { ...key, args: key.args.map((a) => a.replace('deb.debian.org', 'mirror.example')) },
    { ...key, args: key.args.map((a) => a.replace('sysvinit-core', 'sysvinit-core,nginx')) },
    { ...key, args: key.args.map((a) => a.replace('minbase', 'buildd')) },
    { ...key, args: [...key.args.slice(0, 3), '--keyring=/k.gpg', ...key.args.slice(3)], keyringSha256: 'aa' },
    { ...key, keyringSha256: 'bb' },
    { ...key, arch: 'arm64' },
    { ...key, debootstrapVersion: 'debootstrap 1.0.140' },
  ];
  for (const v of variants) assert.notEqual(cacheEntryName('bookworm', v).slice(-16), name.slice(-16), JSON.stringify(v));
  const day = 86_400_000;
  assert.ok(cacheEntryFresh(0, 6.9 * day));
  assert.ok(!cacheEntryFresh(0, 7 * day));
  assert.ok(cacheEntryFresh(0, 13 * day, 14));
});
