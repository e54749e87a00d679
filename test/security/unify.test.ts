/**
 * The unification store against hostile servers (docs/security.md, "The
 * unification store"): a root inside one unified server tries to change a
 * file it shares with another (write, truncate, chmod, chown, xattr, a hard
 * link to write through, delete), and a server's tree planted with symbolic
 * links before `unify` tries to bring host files into the store.  The other
 * server and the store's object must stay byte-identical, and no host file
 * may become an object.  The control ("mechanism off"): the same writes on
 * two plain trees hard-linked in place, as hardlink/rdfind/jdupes leave them,
 * must be seen to leak.  Root only; busybox servers in temporary dirs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { runCommand, type Res } from '../helpers/run.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 100);
const A = `usa${run}`;
const B = `usb${run}`;
let T = '';
let env: NodeJS.ProcessEnv = {};
const rootOf = (n: string) => join(T, 'vs', n);
const SHARED = 'usr/share/vctx-shared.txt';
const CONTENT = `shared ${run}\n`.repeat(200);

const vs = (args: string[]): Promise<Res> => runCommand('vserver', args, { env });
async function ok(args: string[]): Promise<Res> {
  const r = await vs(args);
  assert.equal(r.code, 0, `vserver ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  return r;
}

/** the attacks, as one busybox shell script run as root inside; each may fail (the point is what others see) */
const ATTACKS = [
  `echo appended >> /${SHARED}`,
  `echo truncated > /${SHARED}.2`,
  `chmod 4777 /${SHARED}.3`,
  `chown 1234:1234 /${SHARED}.4`,
  `ln /${SHARED}.5 /usr/share/link5 && echo via-link >> /usr/share/link5`,
  `rm -f /${SHARED}.6`,
].join('; ');
const FILES = ['', '.2', '.3', '.4', '.5', '.6'].map((s) => `${SHARED}${s}`);
/** content, mode and owner of each shared file under @root */
const state = (root: string) => FILES.map((f) => {
  const p = join(root, f);
  if (!existsSync(p)) return `${f}: gone`;
  const st = statSync(p);
  return `${f}: ${st.mode.toString(8)} ${st.uid}:${st.gid} ${readFileSync(p, 'utf8').length} ${readFileSync(p, 'utf8').slice(-20)}`;
});

describe('the unification store against a hostile server', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-sec-un-'));
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
    delete env.NODE_TEST_CONTEXT;
    for (const [i, n] of [A, B].entries()) {
      await ok([n, 'build', '--ip', `127.0.0.${octet + i}`]);
      mkdirSync(join(rootOf(n), 'usr/share'), { recursive: true });
      for (const f of FILES) writeFileSync(join(rootOf(n), f), `${f}\n${CONTENT}`, { mode: 0o644 });
    }
  }, { timeout: 120_000 });

  after(async () => {
    for (const n of [A, B]) await stop(n, paths(), { timeoutSec: 1 }).catch(() => {});
    for (const n of [A, B]) spawnSync('umount', [rootOf(n)]);
    for (const m of await mountsBelow(T)) spawnSync('umount', [m]); // their own layers' images
    for (const n of [A, B]) await removeTree(rootOf(n)).catch(() => {});
    if (T) await rm(T, { recursive: true, force: true });
  });
  const paths = () => ({ confdir: join(T, 'etc'), rootdir: join(T, 'vs'), rundir: join(T, 'run') });

  test('control (mechanism off): the writes leak between two plain trees hard-linked in place', { timeout: 60_000 }, async () => {
    // what a hard-linking deduplicator leaves: B's files are A's inodes
    const copy = join(T, 'plain-copy');
    mkdirSync(join(copy, 'usr/share'), { recursive: true });
    for (const f of FILES) {
      spawnSync('rm', ['-f', join(copy, f)]);
      linkSync(join(rootOf(A), f), join(copy, f));
    }
    const before = state(copy);
    await ok([A, 'start']);
    try {
      await vs([A, 'exec', '/bin/sh', '-c', ATTACKS]);
    } finally {
      await stop(A, paths(), { timeoutSec: 2 });
    }
    assert.notDeepEqual(state(copy), before, 'the probe sees a change through a shared inode');
    // A's tree anew for the real case
    for (const f of FILES) {
      spawnSync('rm', ['-f', join(rootOf(A), f)]);
      writeFileSync(join(rootOf(A), f), `${f}\n${CONTENT}`, { mode: 0o644 });
    }
    spawnSync('rm', ['-f', join(rootOf(A), 'usr/share/link5')]);
  });

  test('unified: every write of one server stays its own; the other server and the store objects are unchanged', { timeout: 120_000 }, async () => {
    // hostile trees: symlinks to host files in the shared part, and a shared directory that is a symlink to /etc
    const hostFile = join(T, 'host-secret');
    writeFileSync(hostFile, `host ${run}\n`, { mode: 0o600 });
    symlinkSync(hostFile, join(rootOf(A), 'usr/share/to-host'));
    symlinkSync('/etc', join(rootOf(A), 'usr/share/etc-link'));
    // and in the part packed into A's own erofs image (/etc): a link to the host file, a FIFO, a name with a newline
    mkdirSync(join(rootOf(A), 'etc'), { recursive: true });
    symlinkSync(hostFile, join(rootOf(A), 'etc/to-host'));
    assert.equal(spawnSync('mkfifo', [join(rootOf(A), 'etc/fifo')]).status, 0);
    writeFileSync(join(rootOf(A), 'etc/new\nline'), 'odd name\n');
    await ok([A, 'unify']);
    const own = join(T, 'vs/.vctx-unified', A, 'own');
    assert.ok(lstatSync(join(own, 'etc/to-host')).isSymbolicLink() && readlinkSync(join(own, 'etc/to-host')) === hostFile, 'the image keeps the link a link');
    assert.ok(lstatSync(join(own, 'etc/fifo')).isFIFO(), 'and the FIFO a FIFO (never opened)');
    assert.equal(readFileSync(join(rootOf(A), 'etc/new\nline'), 'utf8'), 'odd name\n');
    assert.ok(!existsSync(join(T, 'vs/.vctx-unified', A, 'upper/etc')), "A's /etc is in its image, not its upper");
    await ok([B, 'unify']);
    const objects = join(T, 'vs/.vctx-store/objects');
    const inodes = new Set(readdirSync(objects).flatMap((d) => readdirSync(join(objects, d)).map((f) => statSync(join(objects, d, f)).ino)));
    assert.ok(!inodes.has(statSync(hostFile).ino) && !inodes.has(statSync('/etc/passwd').ino), 'no host file became an object');
    assert.equal(readFileSync(hostFile, 'utf8'), `host ${run}\n`);
    assert.ok(statSync(join(rootOf(B), SHARED)).nlink >= 3, 'A and B share the file (A, B and the store)');
    const bBefore = state(rootOf(B));
    const objBefore = readdirSync(objects).flatMap((d) => readdirSync(join(objects, d)).map((f) => `${d}/${f} ${statSync(join(objects, d, f)).mode.toString(8)} ${statSync(join(objects, d, f)).uid} ${spawnSync('sha256sum', [join(objects, d, f)], { encoding: 'utf8' }).stdout.split(' ')[0]}`)).sort();
    await ok([A, 'start']);
    try {
      await vs([A, 'exec', '/bin/sh', '-c', ATTACKS]);
      assert.match(readFileSync(join(rootOf(A), SHARED), 'utf8'), /appended\n$/, 'the write succeeded in A');
      assert.ok(!existsSync(join(rootOf(A), FILES[5]!)), 'the delete succeeded in A');
    } finally {
      await stop(A, paths(), { timeoutSec: 2 });
    }
    assert.deepEqual(state(rootOf(B)), bBefore, "B's files are as they were");
    const objAfter = readdirSync(objects).flatMap((d) => readdirSync(join(objects, d)).map((f) => `${d}/${f} ${statSync(join(objects, d, f)).mode.toString(8)} ${statSync(join(objects, d, f)).uid} ${spawnSync('sha256sum', [join(objects, d, f)], { encoding: 'utf8' }).stdout.split(' ')[0]}`)).sort();
    assert.deepEqual(objAfter, objBefore, 'every store object keeps its content, mode and owner');
  });
});
