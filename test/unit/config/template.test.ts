import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/config/issues.js';
import { lexConfig } from '../../../src/config/lexer.js';
import { parseServerConfig } from '../../../src/config/parse.js';
import { resolvePaths } from '../../../src/config/paths.js';
import { renderConfigTemplate, shellQuote } from '../../../src/config/template.js';
import { CONFIG_KEYS } from '../../../src/config/values.js';

describe('renderConfigTemplate', () => {
  for (const template of ['busybox', 'copy', 'debootstrap', 'debootstrap:bookworm']) {
    it(`${template}: round-trips through the parser without warnings`, () => {
      const text = renderConfigTemplate({ name: 'web', template });
      const r = parseServerConfig(text, { file: 'web.conf', name: 'web' });
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.warnings, []);
      const c = r.config!;
      assert.equal(c.onBoot, false);
      assert.equal(c.hostname, 'web');
      assert.equal(c.ip, null);
      assert.equal(c.context, null);
      assert.deepEqual(c.flags, ['lock', 'nproc']);
      assert.deepEqual(c.init, { style: 'sysv', runlevel: 3 });
      assert.equal(c.pidsMax, 1000, 'ULIMIT="-H -u 1000" with nproc: 1000 processes for the server');
      assert.match(text, new RegExp(`template: ${template}`));
    });
  }
  it('writes the given address, device, host name and context', () => {
    const text = renderConfigTemplate({ name: 'db', ip: '10.0.0.7', ipDev: 'eth0', hostname: 'db.example.com', ctx: 321, template: 'busybox' });
    const c = parseServerConfig(text, { file: 'db.conf', name: 'db' }).config!;
    assert.equal(c.ip, '10.0.0.7');
    assert.equal(c.ipDev, 'eth0');
    assert.equal(c.hostname, 'db.example.com');
    assert.equal(c.context, 321);
  });
  it('writes the init style and flags the populated root needs', () => {
    const text = renderConfigTemplate({ name: 'bb', template: 'busybox', init: 'init', flags: ['fakeinit'] });
    assert.match(text, /^S_FLAGS="lock nproc fakeinit"$/m);
    assert.match(text, /^S_INIT="init"$/m);
    const c = parseServerConfig(text, { file: 'bb.conf', name: 'bb' }).config!;
    assert.deepEqual(c.init, { style: 'init' });
    assert.deepEqual(c.flags, ['lock', 'nproc', 'fakeinit']);
    const d = renderConfigTemplate({ name: 'deb', template: 'debootstrap:bookworm', init: 'sysv:2' });
    assert.deepEqual(parseServerConfig(d, { file: 'deb.conf', name: 'deb' }).config!.init, { style: 'sysv', runlevel: 2 });
    assert.throws(() => renderConfigTemplate({ name: 'x', template: 'busybox', flags: ['turbo'] }), /unknown flag 'turbo'/);
    assert.throws(() => renderConfigTemplate({ name: 'x', template: 'copy', init: '/sbin/systemd' }), /systemd cannot/);
  });
  it('documents every key, each set once on its own line', () => {
    const text = renderConfigTemplate({ name: 'web', template: 'busybox' });
    const keys = lexConfig(text).assignments.map((a) => a.key);
    assert.deepEqual([...keys].sort(), [...CONFIG_KEYS].sort());
    for (const k of CONFIG_KEYS) assert.match(text, new RegExp(`^# ${k}: `, 'm'), `${k} has no comment`);
    assert.match(text, /^ONBOOT="no"$/m);
    assert.match(text, /^ULIMIT="-H -u 1000"$/m);
    assert.match(text, /^S_FLAGS="lock nproc"$/m);
    assert.match(text, /ping_group_range/);
  });
  it('a name that is not a host name leaves S_HOSTNAME empty (the default)', () => {
    const text = renderConfigTemplate({ name: 'Web_1', template: 'copy' });
    assert.match(text, /^S_HOSTNAME=""$/m);
  });
  it('refuses bad options with a ConfigError naming them', () => {
    const bad: Array<[Parameters<typeof renderConfigTemplate>[0], RegExp]> = [
      [{ name: '../x', template: 'busybox' }, /'\/'/],
      [{ name: 'web', template: 'centos' }, /unknown template/],
      [{ name: 'web', ip: 'example.com', template: 'busybox' }, /IPROOT="example.com"/],
      [{ name: 'web', ctx: 1, template: 'busybox' }, /S_CONTEXT="1"/],
      [{ name: 'web', hostname: 'bad host', template: 'busybox' }, /S_HOSTNAME/],
      [{ name: 'web', hostname: '$(reboot)', template: 'busybox' }, /S_HOSTNAME="\$\(reboot\)"/],
    ];
    for (const [opts, re] of bad) {
      assert.throws(() => renderConfigTemplate(opts), (e: unknown) => e instanceof ConfigError && re.test(e.message));
    }
  });
  it('shellQuote escapes what a shell would expand', () => {
    assert.equal(shellQuote('a$b`c"d\\e'), '"a\\$b\\`c\\"d\\\\e"');
    const back = lexConfig(`K=${shellQuote('a$b`c"d\\e')}\n`).assignments[0]!.value;
    assert.equal(back, 'a$b`c"d\\e');
  });
});

describe('resolvePaths: flag beats environment beats default', () => {
  it('defaults', () => {
    assert.deepEqual(resolvePaths({}, {}), { confdir: '/etc/vservers', rootdir: '/vservers', rundir: '/run/vservers' });
  });
  it('environment', () => {
    assert.deepEqual(resolvePaths({}, { VSERVER_CONFDIR: '/tmp/c', VSERVER_ROOTDIR: '/tmp/r', VSERVER_RUNDIR: '/tmp/u' }),
      { confdir: '/tmp/c', rootdir: '/tmp/r', rundir: '/tmp/u' });
  });
  it('flags win over the environment; empty counts as unset', () => {
    assert.deepEqual(resolvePaths({ confdir: '/f/c', rootdir: '' }, { VSERVER_CONFDIR: '/e/c', VSERVER_ROOTDIR: '/e/r', VSERVER_RUNDIR: '' }),
      { confdir: '/f/c', rootdir: '/e/r', rundir: '/run/vservers' });
  });
  it('relative paths become absolute', () => {
    assert.equal(resolvePaths({ confdir: 'conf' }, {}).confdir, `${process.cwd()}/conf`);
  });
});
