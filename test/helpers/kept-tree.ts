/**
 * What a copy of a server must keep (backup/restore, vserver-copy here and
 * to another host): a page with an owner and mode of its own and a trusted
 * xattr, a hard link to it, and a file capability.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chownSync, linkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** plants them in server root @root: /var/www/token.html (with @token), its link, /bin/capped */
export function plantKeptTree(root: string, token: string): void {
  const www = join(root, 'var/www');
  writeFileSync(join(www, 'token.html'), `<p>${token}</p>\n`, { mode: 0o640 });
  chownSync(join(www, 'token.html'), 1234, 4321);
  linkSync(join(www, 'token.html'), join(www, 'token-link.html'));
  writeFileSync(join(root, 'bin/capped'), '#!/bin/sh\n', { mode: 0o755 });
  assert.equal(spawnSync('setcap', ['cap_net_bind_service+ep', join(root, 'bin/capped')]).status, 0);
  assert.equal(spawnSync('setfattr', ['-n', 'trusted.vctxtest', '-v', 'kept', join(www, 'token.html')]).status, 0);
}

/** server root @root kept owner and mode, the hard link, the file capability and the trusted xattr */
export function assertTreeKept(root: string): void {
  const f = statSync(join(root, 'var/www/token.html'));
  assert.equal(f.uid, 1234);
  assert.equal(f.gid, 4321);
  assert.equal(f.mode & 0o7777, 0o640);
  assert.equal(statSync(join(root, 'var/www/token-link.html')).ino, f.ino, 'the hard link is kept');
  assert.match(spawnSync('getcap', [join(root, 'bin/capped')], { encoding: 'utf8' }).stdout, /cap_net_bind_service[=+]ep/);
  assert.match(spawnSync('getfattr', ['-n', 'trusted.vctxtest', '--only-values', join(root, 'var/www/token.html')], { encoding: 'utf8' }).stdout, /^kept$/);
}
