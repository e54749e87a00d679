/**
 * vserver-copy SRC HOST:NAME against the real kernel, ssh and rsync: the
 * other host is a second vctx behind an sshd of the test's own on a
 * loopback address (test/helpers/sshd.ts), whose sessions get that vctx's
 * directories and its own vctx instance (SetEnv VCTX_INSTANCE).  A running busybox server serving a
 * page is copied there (it serves the page on its new address there while
 * the source runs on), moved there (no source left), and refused (a name
 * that exists there, a host that cannot be reached: the source runs on,
 * nothing half-copied there).  Root only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { assertTreeKept, plantKeptTree } from '../helpers/kept-tree.js';
import { commandPath, type Command } from '../helpers/commands.js';
import { httpGet, runCommand, until, type Res } from '../helpers/run.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 100);
const ip = (k: number) => `127.0.0.${octet + k}`;
const SRC = `rcs${run}`;
const SRC2 = `rct${run}`;
const CPY = `rcc${run}`;
/** the moved server keeps its name there: B is an instance of its own (docs/instances.md) */
const MOV = SRC2;
/** host B's vctx instance */
const INSTANCE_B = `rb${run}`;
const TOKEN = `page-${run}-${Date.now()}`;
let T = '';
let hostB: Sshd | null = null;
let envA: NodeJS.ProcessEnv = {};
/** this host's ("A") and the other's ("B") directories */
const dirs = (h: 'a' | 'b') => ({ confdir: join(T, h, 'etc'), rootdir: join(T, h, 'vs'), rundir: join(T, h, 'run') });
const rootOf = (h: 'a' | 'b', n: string) => join(dirs(h).rootdir, n);
const confOf = (h: 'a' | 'b', n: string) => join(dirs(h).confdir, `${n}.conf`);
const dirEnv = (h: 'a' | 'b', instance: string | null) => {
  const d = dirs(h);
  return { VSERVER_CONFDIR: d.confdir, VSERVER_ROOTDIR: d.rootdir, VSERVER_RUNDIR: d.rundir, ...(instance ? { VCTX_INSTANCE: instance } : {}) };
};

const cli = (cmd: Command, args: string[], env: NodeJS.ProcessEnv = envA) => runCommand(cmd, args, { env });
const show = (r: Res) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}${hostB ? `\nsshd: ${hostB.log()}` : ''}`;
/** vserver on host B, as its sessions run it (over ssh) */
const onB = (args: string[]) => {
  const r = spawnSync('ssh', ['-F', hostB!.sshConfig, '-o', 'BatchMode=yes', 'hostb', '--', ...args], { encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
};

const fetch = (addr: string) => httpGet(addr, '/token.html');
const serves = (addr: string) => until(`the page at ${addr}`, () => fetch(addr).then((b) => (b.includes(TOKEN) ? b : null), () => null));

/** server @n's tree on host B kept owners, modes, the hard link, the file capability and the trusted xattr */
const treeKept = (n: string) => assertTreeKept(rootOf('b', n));

/** nothing of a copy @n on host B: no root, no configuration, no staging directory */
function nothingOnB(n: string): void {
  assert.equal(existsSync(rootOf('b', n)), false, `no root of ${n} on B`);
  assert.equal(existsSync(confOf('b', n)), false, `no configuration of ${n} on B`);
  assert.deepEqual(readdirSync(dirs('b').rootdir).filter((f) => f.startsWith('.')), [], 'no staging directory left on B');
}

async function makeServer(name: string, addr: string, opts: { unify?: boolean } = {}): Promise<void> {
  await build(name, { ip: addr }, dirs('a'));
  plantKeptTree(rootOf('a', name), TOKEN);
  if (opts.unify) {
    const u = await cli('vserver', [name, 'unify']);
    assert.equal(u.code, 0, show(u));
  }
  const r = await cli('vserver', [name, 'start']);
  assert.equal(r.code, 0, show(r));
  await serves(addr);
}

describe('vserver-copy to another host over ssh (a second vctx behind a loopback sshd)', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-rc-'));
    for (const h of ['a', 'b'] as const) mkdirSync(dirs(h).rootdir, { recursive: true });
    envA = { ...process.env, ...dirEnv('a', null) };
    delete envA.NODE_TEST_CONTEXT;
    hostB = await startSshd({ alias: 'hostb', env: dirEnv('b', INSTANCE_B) });
    await makeServer(SRC, ip(0));
  }, { timeout: 120_000 });

  after(async () => {
    for (const n of [SRC, SRC2]) await stop(n, dirs('a'), { timeoutSec: 1 }).catch(() => {});
    for (const n of [CPY, SRC, SRC2]) if (hostB) onB(['vserver', n, 'stop', '--if-running']);
    // unified servers (an overlay on their root) go by delete: it unmounts and drops their layers
    for (const n of [SRC2]) {
      if (hostB) onB(['vserver', n, 'delete', '--force']);
      spawnSync(commandPath('vserver'), [n, 'delete', '--force'], { env: envA, stdio: 'ignore' });
    }
    for (const h of ['a', 'b'] as const) for (const n of [SRC, SRC2, CPY]) await removeTree(rootOf(h, n)).catch(() => {});
    await hostB?.stop();
    spawnSync(join(projectRoot, 'scripts', 'vctx-instance'), ['remove', INSTANCE_B], { stdio: 'ignore' });
    if (T) await rm(T, { recursive: true, force: true });
  });

  test('copy of the running server to hostb:NAME --ip: it runs there and serves the page at its new address; the source runs on', { timeout: 120_000 }, async () => {
    const r = await cli('vserver-copy', [SRC, `hostb:${CPY}`, '--ip', ip(1), '--ssh-config', hostB!.sshConfig]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`^Server '${SRC}' copied to '${CPY}' on hostb \\(${rootOf('b', CPY)}\\), running; '${SRC}' runs too; '${SRC}' was frozen for \\d+\\.\\d\\d s\\n$`));
    await serves(ip(1));
    await serves(ip(0));
    treeKept(CPY);
    assert.match(readFileSync(confOf('b', CPY), 'utf8'), new RegExp(`^IPROOT="${ip(1).replace(/\./g, '\\.')}"$`, 'm'));
    assert.match(readFileSync(join(rootOf('b', CPY), 'etc/hosts'), 'utf8'), new RegExp(`^${ip(1).replace(/\./g, '\\.')}\\s`, 'm'));
    assert.equal(onB(['vserver', CPY, 'running']).code, 0, 'B says it runs');
    assert.equal(existsSync(confOf('a', CPY)), false, 'nothing of the copy on this host');
  });

  test('refused: a name that exists there, a host that cannot be reached, no key; the source runs on and nothing is half-copied', { timeout: 120_000 }, async () => {
    const exists = await cli('vserver-copy', [SRC, `hostb:${CPY}`, '--ip', ip(2), '--ssh-config', hostB!.sshConfig]);
    assert.equal(exists.code, 1, show(exists));
    assert.match(exists.stderr, new RegExp(`^vserver-copy: hostb: .*server '${CPY}' exists \\(`));
    assert.equal(exists.stderr.trim().split('\n').length, 1, `one line: ${exists.stderr}`);
    assert.equal(onB(['vserver', CPY, 'running']).code, 0, 'the copy there is untouched');
    // nobody listens there
    const cfg = join(T, 'ssh_config_nobody');
    writeFileSync(cfg, readFileSync(hostB!.sshConfig, 'utf8').replace(/Port \d+/, 'Port 9').replace(/HostName .*/, 'HostName 127.0.0.2'));
    const unreachable = await cli('vserver-copy', [SRC, `hostb:${SRC}`, '--move', '--ssh-config', cfg]);
    assert.equal(unreachable.code, 1, show(unreachable));
    assert.match(unreachable.stderr, /^vserver-copy: cannot reach hostb over ssh: .*(refused|timed out)/);
    assert.equal(unreachable.stderr.trim().split('\n').length, 1, `one line: ${unreachable.stderr}`);
    // no key: BatchMode refuses instead of asking for a password
    const nokey = join(T, 'ssh_config_nokey');
    writeFileSync(nokey, readFileSync(hostB!.sshConfig, 'utf8').replace(/IdentityFile .*/, `IdentityFile ${join(T, 'nosuchkey')}`));
    const denied = await cli('vserver-copy', [SRC, `hostb:${SRC}`, '--move', '--ssh-config', nokey]);
    assert.equal(denied.code, 1, show(denied));
    assert.match(denied.stderr, /^vserver-copy: cannot reach hostb over ssh: .*Permission denied/);
    // refused by B's own checks after the source was stopped for the last pass (--move): the address
    // of B's running copy; the source is started again, B keeps nothing of it
    const clash = await cli('vserver-copy', [SRC, `hostb:${SRC}`, '--move', '--ip', ip(1), '--ssh-config', hostB!.sshConfig]);
    assert.equal(clash.code, 1, show(clash));
    assert.match(clash.stderr, new RegExp(`^vserver-copy: stopping '${SRC}' for the last pass$`, 'm'), 'it got as far as the stop');
    assert.match(clash.stderr.trim().split('\n').pop()!, new RegExp(`^vserver-copy: hostb: .*${CPY}.*; nothing was left of the copy and '${SRC}' was started again$`), `one line naming B's server: ${clash.stderr}`);
    assert.equal((await cli('vserver', [SRC, 'running'])).code, 0, 'the source runs again');
    await serves(ip(0));
    // a bad host is a usage error
    const bad = await cli('vserver-copy', [SRC, '-oProxyCommand=x:y']);
    assert.equal(bad.code, 2, show(bad));
    assert.equal((await cli('vserver', [SRC, 'running'])).code, 0, 'the source runs on');
    await serves(ip(0));
    nothingOnB(SRC);
  });

  test('--move to hostb: (its own name there) the server runs there at its address, the source is gone here, the downtime is printed', { timeout: 180_000 }, async () => {
    // a unified source: the copy there is unified with B's store (issue 15: unified files stay unified)
    await makeServer(SRC2, ip(3), { unify: true });
    const r = await cli('vserver-copy', [SRC2, 'hostb:', '--move', '--ssh-config', hostB!.sshConfig]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, new RegExp(`^vserver-copy: unifying '${MOV}' on hostb \\(as '${SRC2}' is\\)$`, 'm'));
    assert.ok(existsSync(join(dirs('b').rootdir, '.vctx-unified', MOV)), 'the copy on B has its own layer of a unified server');
    assert.match(onB(['vserver', MOV, 'unify']).stdout, /already unified: nothing to do/);
    assert.match(r.stdout, new RegExp(`^Server '${SRC2}' moved to '${MOV}' on hostb \\(${rootOf('b', MOV)}\\), running; '${SRC2}' removed; downtime \\d+\\.\\d\\d s \\(stopped until '${MOV}' ran on hostb\\)\\n$`));
    await serves(ip(3));
    assert.equal(onB(['vserver', MOV, 'running']).code, 0);
    assert.equal(existsSync(rootOf('a', SRC2)), false, 'the source tree is gone');
    assert.equal(existsSync(confOf('a', SRC2)), false, 'the source configuration is gone');
    assert.equal((await cli('vserver', [SRC2, 'status'])).code, 3);
  });
});
