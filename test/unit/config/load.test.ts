import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../../src/config/issues.js';
import { listServers, loadAllServers, loadServerConfig } from '../../../src/config/load.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/config');
const uid = process.getuid!();
const base = mkdtempSync(join(tmpdir(), 'vctx-config-load-'));
after(() => rmSync(base, { recursive: true, force: true }));

function confdir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(base, 'etc-'));
  chmodSync(dir, 0o755);
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o644);
  }
  return dir;
}

async function rejects(p: Promise<unknown>): Promise<ConfigError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e;
  }
  assert.fail('expected a ConfigError');
}

describe('loadServerConfig', () => {
  it('loads a valid file with its warnings', async () => {
    const dir = confdir({ 'web.conf': 'IPROOT=127.0.0.2\nS_HOSTNAME=web\nFOO=1\n' });
    const { config, warnings } = await loadServerConfig(dir, 'web', { trustedUid: uid });
    assert.equal(config.name, 'web');
    assert.equal(config.file, join(dir, 'web.conf'));
    assert.equal(config.ip, '127.0.0.2');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.key, 'FOO');
  });
  it('loads the fixtures', async () => {
    const dir = confdir({});
    for (const f of ['seed-2002.conf', 'modern.conf']) {
      copyFileSync(join(FIXTURES, f), join(dir, f));
      chmodSync(join(dir, f), 0o644);
      const { warnings } = await loadServerConfig(dir, f.replace(/\.conf$/, ''), { trustedUid: uid });
      assert.deepEqual(warnings, []);
    }
  });
  it('throws every error of the file at once, one per line of the message', async () => {
    const dir = confdir({});
    copyFileSync(join(FIXTURES, 'many-errors.conf'), join(dir, 'bad.conf'));
    chmodSync(join(dir, 'bad.conf'), 0o644);
    const e = await rejects(loadServerConfig(dir, 'bad', { trustedUid: uid }));
    assert.equal(e.kind, 'invalid');
    assert.equal(e.issues.length, 14);
    const lines = e.message.split('\n');
    assert.equal(lines.length, 14);
    for (const l of lines) assert.match(l, new RegExp(`^${join(dir, 'bad.conf')}:\\d+: `));
    assert.equal(e.warnings.length, 1);
  });
  it('an unknown server', async () => {
    const dir = confdir({});
    const e = await rejects(loadServerConfig(dir, 'ghost', { trustedUid: uid }));
    assert.equal(e.kind, 'unknown-server');
    assert.match(e.message, /no server 'ghost'/);
  });
  it('a bad name never touches the file system', async () => {
    const e = await rejects(loadServerConfig(base, '../../etc/passwd'));
    assert.equal(e.kind, 'bad-name');
  });
  it('refuses a configuration writable by others (chmod 0666)', async () => {
    const dir = confdir({ 'web.conf': 'ONBOOT=no\n' });
    chmodSync(join(dir, 'web.conf'), 0o666);
    const e = await rejects(loadServerConfig(dir, 'web', { trustedUid: uid }));
    assert.equal(e.kind, 'invalid');
    assert.match(e.message, /refused: the configuration file is writable by everyone \(mode 0666\)/);
    // read-only tools may skip the check
    assert.equal((await loadServerConfig(dir, 'web', { trustedUid: null })).config.onBoot, false);
  });
  it('refuses a configuration not owned by the trusted uid', async () => {
    const dir = confdir({ 'web.conf': '' });
    const e = await rejects(loadServerConfig(dir, 'web', { trustedUid: uid + 1 }));
    assert.match(e.message, /owned by uid/);
  });
  it('a $(…) value runs nothing at load either', async () => {
    const mark = join(base, 'pwned');
    const dir = confdir({ 'x.conf': `S_HOSTNAME="$(touch ${mark})"\nS_DOMAINNAME=\`touch ${mark}\`\n` });
    const e = await rejects(loadServerConfig(dir, 'x', { trustedUid: uid }));
    assert.equal(e.issues.length, 2);
    assert.ok(!existsSync(mark));
  });
});

describe('listServers and loadAllServers', () => {
  it('lists *.conf names sorted, skipping bad names with a warning', async () => {
    const dir = confdir({ 'web.conf': '', 'db.conf': '', 'Mail.conf': '', '-rf.conf': '', '.hidden.conf': '',
      'notes.txt': '', 'web.conf~': '' });
    mkdirSync(join(dir, 'dir.conf'));
    const { names, warnings } = await listServers(dir);
    assert.deepEqual(names, ['Mail', 'db', 'web']);
    assert.deepEqual(warnings.map((w) => w.value).sort(), ['-rf', '.hidden']);
    assert.match(warnings[0]!.message, /skipped: the name starts with/);
  });
  it('a missing directory has no servers', async () => {
    assert.deepEqual(await listServers(join(base, 'nope')), { names: [], warnings: [] });
  });
  it('loads every server; one bad file does not hide the others', async () => {
    const dir = confdir({ 'a.conf': 'IPROOT=127.0.0.2\n', 'b.conf': 'S_NICE=99\n', 'c.conf': 'X=1\n' });
    const all = await loadAllServers(dir, { trustedUid: uid });
    assert.deepEqual(all.servers.map((s) => s.name), ['a', 'c']);
    assert.deepEqual(all.failed.map((f) => f.name), ['b']);
    assert.match(all.failed[0]!.error.message, /S_NICE/);
    assert.deepEqual(all.warnings.map((w) => w.key), ['X']);
  });
});
