/**
 * vtop --host against two "hosts": two vctx (their own directories; A the
 * default instance, B a named one: docs/instances.md) behind two sshds of the
 * test's own on loopback addresses (test/helpers/sshd.ts).  A server of B
 * appears under B only (--once --json); on the screen (tmux) both hosts'
 * servers are grouped under their headings, a stop of B's server is
 * carried out by B's own helper, and once B's sshd is killed B shows as
 * unreachable while A's frames go on.  Root only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { commandPath, type Command } from '../helpers/commands.js';
import { runCommand, show, type Res } from '../helpers/run.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { Tmux } from './tmux.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 100);
const SA = `vha${run}`;
const SB = `vhb${run}`;
const INSTANCE_B = `vb${run}`;
let T = '';
const sshd: Record<'a' | 'b', Sshd | null> = { a: null, b: null };
let sshConfig = '';
let tmux: Tmux | null = null;
const dirs = (h: 'a' | 'b') => ({ confdir: join(T, h, 'etc'), rootdir: join(T, h, 'vs'), rundir: join(T, h, 'run') });
const envOf = (h: 'a' | 'b') => {
  const d = dirs(h);
  const inst = h === 'b' ? INSTANCE_B : null;
  return { VSERVER_CONFDIR: d.confdir, VSERVER_ROOTDIR: d.rootdir, VSERVER_RUNDIR: d.rundir, ...(inst ? { VCTX_INSTANCE: inst } : {}) };
};

function cli(cmd: Command, args: string[], env: Record<string, string>): Promise<Res> {
  const e = { ...process.env, ...env };
  delete e.NODE_TEST_CONTEXT;
  return runCommand(cmd, args, { env: e });
}

interface HostsDoc { hosts: { host: string; reachable: boolean; error: string | null; servers: { name: string; state: string; xid: number | null }[] }[] }

describe('vtop --host over two loopback sshds', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-vh-'));
    for (const [h, name, k] of [['a', SA, 0], ['b', SB, 1]] as const) {
      mkdirSync(dirs(h).rootdir, { recursive: true });
      await build(name, { ip: `127.0.0.${octet + k}` }, dirs(h));
      const r = await cli('vserver', [name, 'start'], envOf(h));
      assert.equal(r.code, 0, show(r));
      sshd[h] = await startSshd({ alias: `host${h}`, env: envOf(h) });
    }
    sshConfig = join(T, 'ssh_config');
    writeFileSync(sshConfig, readFileSync(sshd.a!.sshConfig, 'utf8') + readFileSync(sshd.b!.sshConfig, 'utf8'));
  }, { timeout: 120_000 });

  after(async () => {
    tmux?.close();
    for (const h of ['a', 'b'] as const) await sshd[h]?.stop();
    for (const [h, n] of [['a', SA], ['b', SB]] as const) {
      await cli('vserver', [n, 'stop', '--if-running'], envOf(h));
      await stop(n, dirs(h), { timeoutSec: 1 }).catch(() => {});
      await removeTree(join(dirs(h).rootdir, n)).catch(() => {});
    }
    spawnSync(join(projectRoot, 'scripts', 'vctx-instance'), ['remove', INSTANCE_B], { stdio: 'ignore' });
    if (T) await rm(T, { recursive: true, force: true });
  });

  test('--once --json: each host lists its own server, a server of B only under B', { timeout: 60_000 }, async () => {
    const r = await cli('vtop', ['--host', 'hosta', '--host', 'hostb', '--ssh-config', sshConfig, '--once', '--json', '--interval', '0.5'], {});
    assert.equal(r.code, 0, show(r));
    const doc = JSON.parse(r.stdout) as HostsDoc;
    assert.deepEqual(doc.hosts.map((h) => [h.host, h.reachable]), [['hosta', true], ['hostb', true]]);
    const names = (h: string) => doc.hosts.find((x) => x.host === h)!.servers.map((s) => s.name);
    assert.ok(names('hostb').includes(SB), `B lists ${SB}: ${names('hostb').join(' ')}`);
    assert.ok(!names('hosta').includes(SB), `A does not list ${SB}: ${names('hosta').join(' ')}`);
    assert.ok(names('hosta').includes(SA), `A lists ${SA}`);
    assert.ok(!names('hostb').includes(SA), `B does not list ${SA}`);
    assert.equal(doc.hosts.find((x) => x.host === 'hostb')!.servers.find((s) => s.name === SB)!.state, 'running');
  });

  test('--once with a host nobody answers: listed unreachable with ssh\'s reason, the other host still read', { timeout: 60_000 }, async () => {
    const cfg = join(T, 'ssh_config_dead');
    writeFileSync(cfg, readFileSync(sshConfig, 'utf8').replace(/Host hostb\n {2}HostName .*\n {2}Port \d+/, 'Host hostb\n  HostName 127.0.0.2\n  Port 9'));
    const r = await cli('vtop', ['--host', 'hosta', '--host', 'hostb', '--ssh-config', cfg, '--once', '--json', '--interval', '0.5'], {});
    assert.equal(r.code, 0, show(r));
    const doc = JSON.parse(r.stdout) as HostsDoc;
    assert.equal(doc.hosts[0]!.reachable, true);
    assert.equal(doc.hosts[1]!.reachable, false);
    assert.match(doc.hosts[1]!.error ?? '', /refused/);
  });

  test('the screen: grouped by host; B\'s server stopped by B\'s helper; B unreachable once its sshd is gone while A goes on', { timeout: 120_000 }, async () => {
    const sshDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('vctx-ssh-'));
    const sshDirsBefore = sshDirs();
    tmux = new Tmux();
    const s = tmux.start({ name: `vh${run}`, cols: 120, rows: 30, argv: [commandPath('vtop'), '--host', 'hosta', '--host', 'hostb', '--ssh-config', sshConfig, '--interval', '0.5'], env: { TERM: 'xterm-256color' } });
    let screen = await s.waitFor((x) => x.includes(SA) && x.includes(SB) && /── hostb .*servers?/.test(x), 30_000, 'both hosts');
    const lines = screen.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const ha = at(/── hosta/);
    const hb = at(/── hostb/);
    const la = at(new RegExp(SA));
    const lb = at(new RegExp(SB));
    assert.ok(ha >= 0 && hb > ha && la > ha && la < hb && lb > hb, `grouped:\n${screen}`);
    // select B's server, stop it (confirmed), carried out on B
    await s.keys('End', 'S');
    await s.waitFor(/stop server .* on hostb\?/, 10_000, 'the confirmation');
    await s.keys('y');
    screen = await s.waitFor(new RegExp(`^ +${SB} +- stopped `, 'm'), 30_000, 'B\'s server shown stopped');
    const st = await cli('vserver', [SB, 'running'], envOf('b'));
    assert.equal(st.code, 1, `B's server is stopped: ${screen}`);
    // B's sshd (and its sessions) gone: B unreachable, A still updated
    await sshd.b!.stop();
    sshd.b = null;
    screen = await s.waitFor(/── hostb.* · UNREACHABLE/, 20_000, 'B unreachable');
    const seqOf = (x: string) => Number(/── hosta .*\(#(\d+)\)/.exec(x)?.[1] ?? NaN);
    const before = seqOf(screen);
    await s.waitFor((x) => seqOf(x) > before + 1, 10_000, 'A updating');
    assert.ok(!s.dead(), 'vtop keeps running');
    await s.keys('q');
    await s.waitFor(() => s.dead(), 10_000, 'vtop to end');
    assert.deepEqual(sshDirs().filter((d) => !sshDirsBefore.includes(d)), [], 'no ssh control directory left');
  });
});
