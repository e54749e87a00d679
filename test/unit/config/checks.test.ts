import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkServerInit, checkServerRoot, checkTrustedFile, resolveInRoot } from '../../../src/config/checks.js';

const uid = process.getuid!();
const base = mkdtempSync(join(tmpdir(), 'vctx-config-checks-'));
after(() => rmSync(base, { recursive: true, force: true }));

describe('checkServerRoot', () => {
  const roots = join(base, 'vservers');
  const outside = join(base, 'elsewhere');
  mkdirSync(join(roots, 'web'), { recursive: true });
  mkdirSync(outside);
  symlinkSync(outside, join(roots, 'linked'));
  symlinkSync('web', join(roots, 'relative-link'));
  writeFileSync(join(roots, 'file'), '');

  it('accepts a real directory inside the roots directory', async () => {
    assert.equal(await checkServerRoot(roots, 'web'), null);
  });
  it('refuses a symbolic link, naming the target', async () => {
    const e = await checkServerRoot(roots, 'linked');
    assert.match(e!.message, new RegExp(`is a symbolic link \\(to ${outside}\\)`));
    assert.equal(e!.file, join(roots, 'linked'));
  });
  it('refuses a link even when it stays inside', async () => {
    assert.match((await checkServerRoot(roots, 'relative-link'))!.message, /symbolic link/);
  });
  it('refuses a file', async () => {
    assert.match((await checkServerRoot(roots, 'file'))!.message, /not a directory/);
  });
  it('refuses names that leave the roots directory', async () => {
    assert.match((await checkServerRoot(roots, '../elsewhere'))!.message, /'\/'/);
    assert.match((await checkServerRoot(roots, '..'))!.message, /'\.\.'/);
  });
  it('a missing root: an error when it must exist, fine while building', async () => {
    assert.match((await checkServerRoot(roots, 'new'))!.message, /vserver new build/);
    assert.equal(await checkServerRoot(roots, 'new', { mustExist: false }), null);
  });
  it('the roots directory itself may be a link', async () => {
    const alias = join(base, 'roots-alias');
    symlinkSync(roots, alias);
    assert.equal(await checkServerRoot(alias, 'web'), null);
    assert.match((await checkServerRoot(alias, 'linked'))!.message, /symbolic link/);
  });
});

describe('checkTrustedFile', () => {
  const dir = join(base, 'conf');
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const file = join(dir, 'web.conf');

  it('accepts a file of the trusted owner, mode 0644', async () => {
    writeFileSync(file, 'ONBOOT=no\n');
    chmodSync(file, 0o644);
    assert.equal(await checkTrustedFile(file, { trustedUid: uid }), null);
  });
  it('refuses a file writable by everyone (0666), with the fix', async () => {
    chmodSync(file, 0o666);
    const e = await checkTrustedFile(file, { trustedUid: uid });
    assert.match(e!.message, /refused: the configuration file is writable by everyone \(mode 0666\)/);
    assert.match(e!.message, /chmod go-w/);
  });
  it('refuses a group-writable file (0664)', async () => {
    chmodSync(file, 0o664);
    assert.match((await checkTrustedFile(file, { trustedUid: uid }))!.message, /writable by its group \(mode 0664\)/);
  });
  it('refuses a file owned by someone else', async () => {
    chmodSync(file, 0o644);
    const e = await checkTrustedFile(file, { trustedUid: uid + 1 });
    assert.match(e!.message, new RegExp(`owned by uid ${uid}, not uid ${uid + 1}`));
  });
  it('refuses a file in a directory others can write', async () => {
    chmodSync(dir, 0o777);
    try {
      assert.match((await checkTrustedFile(file, { trustedUid: uid }))!.message, /its directory .* is writable by others/);
    } finally {
      chmodSync(dir, 0o755);
    }
  });
  it('names the file kind it was given; a missing file is not its business', async () => {
    chmodSync(file, 0o666);
    assert.match((await checkTrustedFile(file, { trustedUid: uid, what: 'hook script' }))!.message, /the hook script/);
    assert.equal(await checkTrustedFile(join(dir, 'missing.conf'), { trustedUid: uid }), null);
  });
});

describe('resolveInRoot and checkServerInit', () => {
  const root = join(base, 'root');
  for (const d of ['sbin', 'lib/systemd', 'bin', 'etc/init.d', 'usr/sbin']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'lib/systemd/systemd'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(root, 'bin/busybox'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(root, 'usr/sbin/notexec'), 'data', { mode: 0o644 });

  it('follows absolute links relative to the root, never to the host', async () => {
    symlinkSync('/lib/systemd/systemd', join(root, 'sbin/init'));
    const r = await resolveInRoot(root, '/sbin/init');
    assert.deepEqual(r, { inner: '/lib/systemd/systemd', host: join(root, 'lib/systemd/systemd'), exists: true });
  });
  it('.. cannot climb above the root', async () => {
    symlinkSync('../../../../../../etc/passwd', join(root, 'bin/escape'));
    const r = await resolveInRoot(root, '/bin/escape');
    assert.equal(r.inner, '/etc/passwd');
    assert.equal(r.exists, false);
  });
  it('refuses systemd behind /sbin/init', async () => {
    const e = await checkServerInit(root, { style: 'init' }, '/etc/vservers/web.conf', 12);
    assert.match(e!.message, /\/sbin\/init in the server is systemd \(\/lib\/systemd\/systemd\).*writable cgroup tree/);
    assert.equal(e!.line, 12);
    assert.equal(e!.key, 'S_INIT');
  });
  it('accepts an executable command, refuses a missing or non-executable one', async () => {
    assert.equal(await checkServerInit(root, { style: 'command', argv: ['/bin/busybox', 'init'] }, 'f', 1), null);
    assert.match((await checkServerInit(root, { style: 'command', argv: ['/usr/sbin/notexec'] }, 'f', 1))!.message,
      /not an executable file/);
    assert.match((await checkServerInit(root, { style: 'command', argv: ['/nope'] }, 'f', 1))!.message, /does not exist/);
  });
  it('sysv needs an rc script', async () => {
    assert.match((await checkServerInit(root, { style: 'sysv', runlevel: 3 }, 'f', null))!.message, /no rc script/);
    symlinkSync('/bin/busybox', join(root, 'etc/init.d/rc'));
    assert.equal(await checkServerInit(root, { style: 'sysv', runlevel: 3 }, 'f', null), null);
  });
});
