/**
 * The configuration side of a server's network against the real host
 * (root): `build --ip6 --nat`, the server's /etc/resolv.conf, the IPv6
 * alias on IPROOTDEV (added, removed, and repaired after a crash), and a
 * start and stop of a server with an IPv6 address and NAT=yes.  Addresses
 * are 127.0.0.x and fd00:5c:RUN::x on a dummy device made and removed here.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { addAlias, aliasToAdd, devicesWith, removeAlias } from '../../src/actions/alias.js';
import { ensureRunDir, readState, writeState } from '../../src/actions/runtime.js';
import { serverResolvConf } from '../../src/actions/templates/common.js';
import { CHCONTEXT } from '../../src/actions/chcontext-args.js';
import { loadServerConfig } from '../../src/config/index.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { pathsUnder, runCommand, setConfKeys } from '../helpers/run.js';

const run = Math.floor(Math.random() * 0xffff);
const octet = 100 + Math.floor(Math.random() * 120);
const IP = `127.0.0.${octet}`;
const IP6 = `fd00:5c:${run.toString(16)}::${octet.toString(16)}`;
const DUMMY = 'vctxtest6';
const FIX = join(projectRoot, 'test/fixtures/resolv');
let T = '';
let dummyMade = false;
const names: string[] = [];

const vs = (args: string[]) =>
  runCommand('vserver', ['--confdir', join(T, 'etc'), '--rootdir', join(T, 'vs'), '--rundir', join(T, 'run'), ...args]);

const paths = () => pathsUnder(T);
const confFile = (n: string) => join(T, 'etc', `${n}.conf`);
const addrs6 = () => spawnSync('ip', ['-6', 'addr', 'show', 'dev', DUMMY], { encoding: 'utf8' }).stdout;
const addrs4 = () => spawnSync('ip', ['-4', 'addr', 'show', 'dev', DUMMY], { encoding: 'utf8' }).stdout;

const setKeys = (n: string, kv: Record<string, string>) => setConfKeys(confFile(n), kv);

/** chcontext of this checkout has the options of the v6 lock and NAT (helper B's part of issue 11) */
function chcontextHas(opt: string): boolean {
  const h = spawnSync(CHCONTEXT, ['--help'], { encoding: 'utf8' });
  return `${h.stdout}${h.stderr}`.includes(opt);
}

describe('a server\'s network configuration on the real host', { skip: process.getuid?.() !== 0 && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-netcfg-'));
    let r = spawnSync('ip', ['link', 'add', DUMMY, 'type', 'dummy']);
    if (r.status !== 0) r = spawnSync('ip', ['link', 'add', DUMMY, 'type', 'bridge']);
    assert.equal(r.status, 0, `cannot make the test device ${DUMMY}: ${r.stderr}`);
    dummyMade = true;
    spawnSync('ip', ['link', 'set', DUMMY, 'up']);
  });

  after(async () => {
    for (const n of names) {
      await vs([n, 'stop']).catch(() => {});
      await removeTree(join(T, 'vs', n)).catch(() => {});
    }
    if (dummyMade) spawnSync('ip', ['link', 'del', DUMMY]);
    await rm(T, { recursive: true, force: true });
  });

  test('build --ip --ip6 --nat writes IPROOT "V4 V6" and NAT="yes", /etc/hosts names both, /etc/resolv.conf is the host\'s as a file', async () => {
    const n = `nb${run.toString(36)}`;
    names.push(n);
    const r = await vs([n, 'build', '--ip', IP, '--ip6', IP6.toUpperCase(), '--nat']);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(confFile(n), 'utf8');
    assert.match(text, new RegExp(`^IPROOT="${IP.replace(/\./g, '\\.')} ${IP6}"$`, 'm'));
    assert.match(text, /^NAT="yes"$/m);
    const { config } = await loadServerConfig(join(T, 'etc'), n);
    assert.deepEqual([config.ip, config.ip6, config.nat], [IP, IP6, true]);
    const root = join(T, 'vs', n);
    assert.match(readFileSync(join(root, 'etc/hosts'), 'utf8'), new RegExp(`^${IP6}\\t${n}$`, 'm'));
    assert.ok(lstatSync(join(root, 'etc/resolv.conf')).isFile(), 'a file, not a link into the host');
    const host = await serverResolvConf();
    assert.equal(readFileSync(join(root, 'etc/resolv.conf'), 'utf8'), host.text);
    if (host.nameservers.length) {
      assert.match(r.stderr, new RegExp(`dns: /etc/resolv.conf: name servers ${host.nameservers.join(' ').replace(/\./g, '\\.')}`));
    }
  });

  test('build --nat without an address, and --refresh-cache without debootstrap, are usage errors that write nothing', async () => {
    const n = `nx${run.toString(36)}`;
    const a = await vs([n, 'build', '--nat']);
    assert.equal(a.code, 2, a.stderr);
    assert.match(a.stderr, /NAT="yes": NAT is ignored without IPROOT/);
    assert.equal(a.stderr.trim().split('\n').length, 1, a.stderr);
    const b = await vs([n, 'build', '--refresh-cache']);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, /--refresh-cache is for --template debootstrap/);
    assert.equal(existsSync(confFile(n)), false);
    assert.equal(existsSync(join(T, 'vs', n)), false);
  });

  test('a host whose only resolver is on its loopback: the server\'s resolv.conf leaves it out and the build warns', async () => {
    const n = `nd${run.toString(36)}`;
    names.push(n);
    const r = await build(n, { ip: `127.0.0.${octet + 1}`, resolver: { resolvConf: join(FIX, 'dnsmasq.conf'), upstreamResolvConf: join(T, 'none') } }, paths());
    assert.ok(r.warnings.some((w) => /127\.0\.0\.1, a resolver on the host's loopback that a server cannot reach.*DNS will not work inside/.test(w)), r.warnings.join('\n'));
    assert.doesNotMatch(readFileSync(join(r.root, 'etc/resolv.conf'), 'utf8'), /^nameserver/m);
    const s = await build(`ns${run.toString(36)}`, {
      ip: `127.0.0.${octet + 2}`, resolver: { resolvConf: join(FIX, 'systemd-stub.conf'), upstreamResolvConf: join(FIX, 'systemd-upstream.conf') },
    }, paths());
    names.push(`ns${run.toString(36)}`);
    assert.deepEqual(s.warnings.filter((w) => /DNS/.test(w)), []);
    assert.match(readFileSync(join(s.root, 'etc/resolv.conf'), 'utf8'), /^nameserver 192\.0\.2\.53$/m);
  });

  test('the IPv6 alias: added /128 beside the IPv4 one, only what the host lacks, and removed again', async () => {
    const n = `na${run.toString(36)}`;
    names.push(n);
    await build(n, { ip: IP, ip6: IP6, allowClash: true }, paths()); // the same addresses as the first test's server: they take turns
    setKeys(n, { IPROOTDEV: DUMMY });
    const { config } = await loadServerConfig(join(T, 'etc'), n);
    const a = (await aliasToAdd(config))!;
    assert.deepEqual([a.ip, a.ip6, a.v4Present ?? false], [IP, IP6, false]);
    await addAlias(a);
    try {
      assert.match(addrs6(), new RegExp(`inet6 ${IP6}/128`));
      assert.match(addrs4(), new RegExp(`inet ${IP.replace(/\./g, '\\.')}/32`));
      assert.deepEqual(await devicesWith(IP6.replace('::', ':0::')), [DUMMY], 'found in any spelling');
      assert.doesNotMatch(addrs6(), new RegExp(`${IP6}/128.*tentative`), 'nodad: usable at once');
      assert.equal(await aliasToAdd(config), null, 'both there: nothing to add');
    } finally {
      await removeAlias(a);
    }
    assert.doesNotMatch(addrs6(), new RegExp(IP6));
    assert.doesNotMatch(addrs4(), new RegExp(`inet ${IP.replace(/\./g, '\\.')}/`));
    // the IPv4 address is the host's already: only the IPv6 one is added, and only it removed
    assert.equal(spawnSync('ip', ['addr', 'add', `${IP}/32`, 'dev', DUMMY]).status, 0);
    try {
      const b = (await aliasToAdd(config))!;
      assert.equal(b.v4Present, true);
      await addAlias(b);
      await removeAlias(b);
      assert.match(addrs4(), new RegExp(`inet ${IP.replace(/\./g, '\\.')}/32`), 'the host\'s address stays');
      assert.doesNotMatch(addrs6(), new RegExp(IP6));
    } finally {
      spawnSync('ip', ['addr', 'del', `${IP}/32`, 'dev', DUMMY]);
    }
  });

  test('after a crash (the monitor gone), the next status removes the IPv6 alias too', async () => {
    const n = `na${run.toString(36)}`;
    const { config } = await loadServerConfig(join(T, 'etc'), n);
    const a = (await aliasToAdd(config))!;
    // what a start records before it adds the alias, then a kill -9 of everything
    await ensureRunDir(paths(), n);
    await writeState(paths(), { name: n, xid: null, cgroupIno: null, pid1: null, monitor: 999_999_999, startedAt: null, flags: [], alias: a });
    await addAlias(a);
    assert.match(addrs6(), new RegExp(IP6));
    const s = await vs([n, 'status']);
    assert.equal(s.code, 3, s.stdout + s.stderr);
    assert.doesNotMatch(addrs6(), new RegExp(IP6), 'the IPv6 alias was removed');
    assert.doesNotMatch(addrs4(), new RegExp(`inet ${IP.replace(/\./g, '\\.')}/`), 'and the IPv4 one');
    assert.equal(readState(paths(), n), null);
  });

  // needs chcontext --ip6 and --nat (helper B's branch of issue 11): until it is merged they are absent
  const b = chcontextHas('--ip6') && chcontextHas('--nat');
  test('start of a server with an IPv6 address and NAT=yes adds both addresses, stop removes them',
    { skip: !b && `chcontext ${CHCONTEXT} has no --ip6/--nat yet (the kernel network part of issue 11)` }, async () => {
      const n = `na${run.toString(36)}`;
      setKeys(n, { NAT: 'yes' });
      const r = await vs([n, 'start']);
      assert.equal(r.code, 0, r.stderr);
      try {
        assert.match(addrs6(), new RegExp(`inet6 ${IP6}/128`));
        assert.match(addrs4(), new RegExp(`inet ${IP.replace(/\./g, '\\.')}/32`));
        const st = await vs([n, 'status']);
        assert.equal(st.code, 0, st.stderr);
      } finally {
        const s = await vs([n, 'stop']);
        assert.equal(s.code, 0, s.stderr);
      }
      assert.doesNotMatch(addrs6(), new RegExp(IP6));
      assert.doesNotMatch(addrs4(), new RegExp(`inet ${IP.replace(/\./g, '\\.')}/`));
    });
});
