/**
 * vserver NAME backup / restore and vserver-copy (with --move) against the
 * real kernel: a running busybox server serving a page is archived (frozen
 * for the read), restored under a new name and address, copied, and moved;
 * each copy serves the same page, keeps owners, modes, hard links, file
 * capabilities and xattrs, and the source is left running and thawed.
 * Root only; everything lives in a temporary confdir/rootdir/rundir.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { readState } from '../../src/actions/runtime.js';
import { contextCgroup } from '../../src/kernel-bridge/cgroup.js';
import { assertTreeKept, plantKeptTree } from '../helpers/kept-tree.js';
import { type Command } from '../helpers/commands.js';
import { httpGet, pathsUnder, runCommand, show, until } from '../helpers/run.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 100);
const ip = (k: number) => `127.0.0.${octet + k}`;
const SRC = `bks${run}`;
const RES = `bkr${run}`;
const CPY = `bkc${run}`;
const MOV = `bkm${run}`;
const all = [SRC, RES, CPY, MOV];
const TOKEN = `page-${run}-${Date.now()}`;
let T = '';
let env: NodeJS.ProcessEnv = {};

const cli = (cmd: Command, args: string[]) => runCommand(cmd, args, { env });
const vs = (args: string[]) => cli('vserver', args);
const paths = () => pathsUnder(T);
const rootOf = (n: string) => join(T, 'vs', n);

const fetch = (addr: string) => httpGet(addr, '/token.html');
const serves = (addr: string) => until(`the page at ${addr}`, () => fetch(addr).then((b) => (b.includes(TOKEN) ? b : null), () => null));

/** what must survive a copy: owner and mode, a hard link, a file capability, a trusted xattr */
const treeKept = (n: string) => assertTreeKept(rootOf(n));

/** the cgroup of running server @n is not frozen */
function thawed(n: string): boolean {
  const xid = readState(paths(), n)?.xid;
  assert.ok(xid, `${n} runs`);
  return /^frozen 0$/m.test(readFileSync(join(contextCgroup(xid)!, 'cgroup.events'), 'utf8'));
}

describe('backup, restore, vserver-copy and --move of a running server', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-bk-'));
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
    delete env.NODE_TEST_CONTEXT;
    await build(SRC, { ip: ip(0) }, paths());
    plantKeptTree(rootOf(SRC), TOKEN);
    // the page is readable by httpd (it runs as root inside)
    const r = await vs([SRC, 'start']);
    assert.equal(r.code, 0, show(r));
    await serves(ip(0));
  }, { timeout: 120_000 });

  after(async () => {
    for (const n of all) await stop(n, paths(), { timeoutSec: 1 }).catch(() => {});
    for (const n of all) await removeTree(rootOf(n)).catch(() => {});
    if (T) await rm(T, { recursive: true, force: true });
  });

  test('backup of the running server: one archive, the server frozen for the read and running afterwards', { timeout: 120_000 }, async () => {
    const file = join(T, 'src.tar.gz');
    const r = await vs([SRC, 'backup', file]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^Server '${SRC}' backed up to ${file} \\(\\d+\\.\\d MiB, running: frozen for \\d+\\.\\d s\\)\\n$`));
    assert.ok(thawed(SRC), 'thawed again');
    await serves(ip(0));
    const list = spawnSync('tar', ['-tzf', file], { encoding: 'utf8' }).stdout.split('\n');
    for (const m of ['vctx-backup.json', `conf/${SRC}.conf`, 'root/var/www/token.html', 'root/bin/capped']) assert.ok(list.includes(m), `${m} in the archive`);
    const meta = JSON.parse(spawnSync('tar', ['-xzOf', file, 'vctx-backup.json'], { encoding: 'utf8' }).stdout) as Record<string, unknown>;
    assert.equal(meta.name, SRC);
    assert.equal(meta.running, true);
    assert.equal(meta.frozen, true);
    assert.deepEqual(readdirSync(T).filter((f) => /partial|stage/.test(f)), [], 'no partial archive or stage left');
    // an existing archive is kept unless --force
    const again = await vs([SRC, 'backup', file]);
    assert.equal(again.code, 1, show(again));
    assert.equal(again.stderr, `vserver: '${file}' exists; use --force to replace it\n`);
  });

  test('restore under a new name and address: it starts and serves the same page; the tree is as it was', { timeout: 120_000 }, async () => {
    const r = await vs([RES, 'restore', join(T, 'src.tar.gz'), '--ip', ip(1)]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^Server '${RES}' restored in ${rootOf(RES)} from the backup of '${SRC}' .*; it is stopped\\n$`));
    assert.match(readFileSync(join(T, 'etc', `${RES}.conf`), 'utf8'), new RegExp(`^IPROOT="${ip(1).replace(/\./g, '\\.')}"$`, 'm'));
    assert.match(readFileSync(join(rootOf(RES), 'etc/hosts'), 'utf8'), new RegExp(`^${ip(1).replace(/\./g, '\\.')}\\s`, 'm'));
    treeKept(RES);
    const s = await vs([RES, 'start']);
    assert.equal(s.code, 0, show(s));
    await serves(ip(1));
    await serves(ip(0));
    const st = await vs([RES, 'stop']);
    assert.equal(st.code, 0, show(st));
  });

  test('restore refuses: an existing name, an address another server has, a file that is no backup; nothing is left', { timeout: 60_000 }, async () => {
    const file = join(T, 'src.tar.gz');
    const ex = await vs([RES, 'restore', file]);
    assert.equal(ex.code, 1, show(ex));
    assert.match(ex.stderr, new RegExp(`^vserver: server '${RES}' exists \\(`));
    const clash = await vs([`${RES}x`, 'restore', file]);
    assert.equal(clash.code, 1, show(clash));
    assert.match(clash.stderr, new RegExp(`${SRC}`), 'the clash names the other server');
    const junk = join(T, 'junk.tar');
    assert.equal(spawnSync('tar', ['-cf', junk, '-C', T, 'etc']).status, 0);
    const bad = await vs([`${RES}y`, 'restore', junk]);
    assert.equal(bad.code, 1, show(bad));
    assert.equal(bad.stderr, `vserver: '${junk}' is not a vctx backup (no vctx-backup.json; made by vserver NAME backup?)\n`);
    for (const n of [`${RES}x`, `${RES}y`]) {
      assert.equal(existsSync(rootOf(n)), false);
      assert.equal(existsSync(join(T, 'etc', `${n}.conf`)), false);
    }
    assert.deepEqual(readdirSync(join(T, 'vs')).filter((f) => f.startsWith('.')), [], 'no stage left in the roots directory');
    const usage = await vs([SRC, 'backup', join(rootOf(SRC), 'x.tar')]);
    assert.equal(usage.code, 2, show(usage));
    const unknown = await vs(['nosuch', 'backup', join(T, 'n.tar')]);
    assert.equal(unknown.code, 3, show(unknown));
  });

  test('vserver-copy of the running source with --ip: a stopped copy that serves the page once started; the source runs on, thawed', { timeout: 120_000 }, async () => {
    const r = await cli('vserver-copy', [SRC, CPY, '--ip', ip(2)]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^Server '${SRC}' copied to '${CPY}' .*'${CPY}' is stopped; '${SRC}' was frozen for \\d+\\.\\d\\d s\\n$`));
    assert.ok(thawed(SRC));
    treeKept(CPY);
    const s = await vs([CPY, 'start']);
    assert.equal(s.code, 0, show(s));
    await serves(ip(2));
    assert.equal((await vs([CPY, 'stop'])).code, 0);
    // the same address without --move is a clash, refused before anything is copied
    const clash = await cli('vserver-copy', [SRC, `${CPY}z`]);
    assert.equal(clash.code, 1, show(clash));
    assert.equal(existsSync(rootOf(`${CPY}z`)), false);
  });

  test('vserver-copy --move: the copy runs at the same address, the source is gone, the downtime is reported', { timeout: 180_000 }, async () => {
    const r = await cli('vserver-copy', [SRC, MOV, '--move']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^Server '${SRC}' moved to '${MOV}' \\(${rootOf(MOV)}\\), running; '${SRC}' removed; downtime \\d+\\.\\d\\d s\\n$`));
    await serves(ip(0));
    assert.equal(existsSync(rootOf(SRC)), false, 'the source tree is gone');
    assert.equal(existsSync(join(T, 'etc', `${SRC}.conf`)), false, 'the source configuration is gone');
    assert.equal((await vs([SRC, 'status'])).code, 3);
    treeKept(MOV);
  });
});
