/**
 * Issue 9's day-one defects of the commands, against the real kernel (root):
 * clashes between servers at build, start and `vserver-all status`; an
 * ONBOOT server with a bad line; no lock left for an unknown server and the
 * config error for a bad one, for every verb; warnings printed once with
 * one prefix; the ping_group_range warning; and `vserver NAME set` on a
 * running busybox server.  Everything lives in a temporary
 * confdir/rootdir/rundir; addresses are 127.0.0.x chosen per run.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { readState } from '../../src/actions/runtime.js';
import { stop } from '../../src/actions/stop.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { controllerDir, cgroupDir } from '../helpers/kernel.js';
import { pathsUnder, runArgv, setConfKeys } from '../helpers/run.js';

const isRoot = process.getuid?.() === 0;
const run = (Math.floor(Math.random() * 1e6)).toString(36);
const octet = 100 + Math.floor(Math.random() * 120);
const IP = `127.0.0.${octet}`;
const names: string[] = [];
let T = '';
let env: NodeJS.ProcessEnv = {};

const cli = (tool: 'vserver' | 'vserver-all', args: string[]) =>
  runArgv([process.execPath, '--import', 'tsx', join(projectRoot, 'src/cli', `${tool}.ts`), ...args], { env });
const vs = (args: string[]) => cli('vserver', args);
const paths = () => pathsUnder(T);
const confFile = (n: string) => join(T, 'etc', `${n}.conf`);

const setKeys = (n: string, kv: Record<string, string>) => setConfKeys(confFile(n), kv);

async function make(n: string, ip?: string, opts: { allowClash?: boolean } = {}): Promise<void> {
  names.push(n);
  await build(n, { ip, ...opts }, paths());
}

const lineOf = (n: string, key: string) => readFileSync(confFile(n), 'utf8').split('\n').findIndex((l) => l.startsWith(`${key}=`)) + 1;
const pingExcludesRoot = (() => {
  const m = /^\s*(\d+)\s+(\d+)/.exec(readFileSync('/proc/sys/net/ipv4/ping_group_range', 'utf8'));
  return !m || !(Number(m[1]) <= 0 && Number(m[2]) >= 0);
})();

describe('day-one defects of the commands', { skip: !isRoot && 'needs root' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-d1-'));
    env = { ...process.env, VSERVER_CONFDIR: join(T, 'etc'), VSERVER_ROOTDIR: join(T, 'vs'), VSERVER_RUNDIR: join(T, 'run') };
    delete env.NODE_TEST_CONTEXT;
  });

  after(async () => {
    for (const n of names) {
      await stop(n, paths(), { timeoutSec: 1 }).catch(() => {});
      for (const c of new NativeSnapshotSource().snapshot().contexts.filter((x) => x.name === n)) {
        try { killContext(c.xid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const n of names) for (const m of await mountsBelow(join(T, 'vs', n))) spawnSync('umount', ['-l', m]);
    await removeTree(T).catch(() => rm(T, { recursive: true, force: true }));
  });

  describe('one address for two servers (issue 9 item 5)', () => {
    const a1 = `d1a${run}`;
    const a5 = `d1b${run}`;
    test('build refuses the address of another server, naming both servers and files; --allow-clash builds', async () => {
      await make(a1, IP);
      const r = await vs([a5, 'build', '--ip', IP]);
      assert.equal(r.code, 1, r.stderr);
      assert.ok(r.stderr.includes(`${confFile(a5)}:${lineOf(a1, 'IPROOT')}: IPROOT="${IP}": also the address of server '${a1}' (${confFile(a1)}:${lineOf(a1, 'IPROOT')})`), r.stderr);
      assert.equal(existsSync(confFile(a5)), false, 'nothing written');
      assert.equal(existsSync(join(T, 'vs', a5)), false, 'no root');
      names.push(a5);
      const ok = await vs([a5, 'build', '--ip', IP, '--allow-clash']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stderr, new RegExp(`vserver: warning: .*also the address of server '${a1}'`));
    });

    test('vserver-all status shows the clash for both servers', async () => {
      const s = await cli('vserver-all', ['status']);
      assert.equal(s.code, 0, s.stderr);
      assert.ok(s.stdout.includes(`${a1}: ${confFile(a1)}:`) && s.stdout.includes(`also the address of server '${a5}' (${confFile(a5)}:`), s.stdout);
      assert.ok(s.stdout.includes(`${a5}: ${confFile(a5)}:`) && s.stdout.includes(`also the address of server '${a1}' (${confFile(a1)}:`), s.stdout);
      const j = JSON.parse((await cli('vserver-all', ['status', '--json'])).stdout) as Array<{ name: string; problems: string[] }>;
      for (const n of [a1, a5]) assert.equal(j.find((x) => x.name === n)!.problems.length, 1);
    });

    test('the first starts (warning about the other); the second is refused while it runs, saying why', async () => {
      const r1 = await vs([a1, 'start']);
      assert.equal(r1.code, 0, r1.stderr);
      assert.match(r1.stderr, new RegExp(`vserver: warning: ${confFile(a1)}:\\d+: IPROOT="${IP.replace(/\./g, '\\.')}": also the address of server '${a5}'`));
      const r5 = await vs([a5, 'start']);
      assert.equal(r5.code, 1, r5.stderr);
      const xid = readState(paths(), a1)!.xid;
      assert.ok(r5.stderr.includes(`also the address of server '${a1}' (${confFile(a1)}:`), r5.stderr);
      assert.ok(r5.stderr.includes(confFile(a5)), r5.stderr);
      assert.ok(r5.stderr.includes(`'${a1}' is running (context ${xid})`), r5.stderr);
      assert.equal(readState(paths(), a5), null);
      assert.equal((await vs([a1, 'stop'])).code, 0);
      const again = await vs([a5, 'start']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((await vs([a5, 'stop'])).code, 0);
    });
  });

  describe('an ONBOOT server with one bad line (item 6)', () => {
    const n = `d1o${run}`;
    test('vserver-all start reports it and exits 1; status shows ONBOOT yes and the error', async () => {
      await make(n);
      setKeys(n, { ONBOOT: 'yes', S_NICE: 'abc' });
      const line = lineOf(n, 'S_NICE');
      const r = await cli('vserver-all', ['start']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.ok(r.stdout.includes(`${n}: FAILED: ${confFile(n)}:${line}: S_NICE="abc": `), r.stdout);
      assert.match(r.stderr, new RegExp(`could not be started: .*${n}`));
      const s = await cli('vserver-all', ['status']);
      assert.match(s.stdout, new RegExp(`^${n} +invalid config +- +- +yes +0$`, 'm'));
      assert.ok(s.stdout.includes(`${n}: ${confFile(n)}:${line}: S_NICE="abc"`), s.stdout);
      setKeys(n, { ONBOOT: 'no', S_NICE: '' });
    });
  });

  describe('unknown servers and bad configurations, every verb (item 10)', () => {
    test('no lock or runtime directory for an unknown server', async () => {
      const u = `nosuch${run}`;
      const verbs: string[][] = [['start'], ['stop'], ['restart'], ['status'], ['running'], ['exec', 'true'], ['enter'],
        ['delete', '--force'], ['log'], ['set', 'PIDS_MAX=5']];
      for (const v of verbs) {
        const r = await vs([u, ...v]);
        assert.ok(r.code === 3 || (v[0] === 'running' && r.code === 1), `${v[0]}: ${r.code} ${r.stderr}`);
        assert.equal(existsSync(join(T, 'run', u)), false, `${v[0]} left ${join(T, 'run', u)}: ${existsSync(join(T, 'run')) ? readdirSync(join(T, 'run')) : ''}`);
      }
    });

    test('a stopped server with a bad configuration gets the config error (file, line, key, value)', async () => {
      const n = `d1c${run}`;
      await make(n);
      setKeys(n, { S_NICE: 'abc' });
      const want = `${confFile(n)}:${lineOf(n, 'S_NICE')}: S_NICE="abc": `;
      for (const v of [['stop'], ['restart'], ['start'], ['set', 'PIDS_MAX=5']]) {
        const r = await vs([n, ...v]);
        assert.equal(r.code, 1, `${v[0]}: ${r.stderr}`);
        assert.ok(r.stderr.includes(want), `${v[0]}: ${r.stderr}`);
        assert.doesNotMatch(r.stderr, /unknown server/);
      }
      const s = await vs([n, 'status']);
      assert.equal(s.code, 3);
      assert.ok(s.stderr.includes(`vserver: warning: ${want}`), s.stderr);
    });

    test("status reports the file as it is at each run, though it keeps its verdict on a file's text", async () => {
      const n = `d1m${run}`;
      await make(n);
      const status = async () => {
        const r = await vs([n, 'status', '--json']);
        assert.equal(r.code, 3, r.stderr);
        return (JSON.parse(r.stdout) as { configError: string | null }).configError;
      };
      assert.equal(await status(), null);
      assert.equal(await status(), null); // the kept verdict
      setKeys(n, { S_NICE: 'abc' });
      assert.match((await status()) ?? '', new RegExp(`${lineOf(n, 'S_NICE')}: S_NICE="abc": `));
      setKeys(n, { S_NICE: 'xyz' }); // as long as before, at once
      assert.match((await status()) ?? '', /S_NICE="xyz": /);
      setKeys(n, { S_NICE: '5' });
      assert.equal(await status(), null);
      // trust is checked every time: a group-writable file is refused even with a kept verdict
      writeFileSync(confFile(n), readFileSync(confFile(n), 'utf8'), { mode: 0o600 });
      assert.equal(await status(), null);
      spawnSync('chmod', ['g+w', confFile(n)]);
      assert.match((await status()) ?? '', /writable by its group/);
      spawnSync('chmod', ['g-w', confFile(n)]);
      assert.equal(await status(), null);
      // delete leaves nothing of the server in the run directory, the kept verdict included
      assert.equal((await vs([n, 'delete', '--force'])).code, 0);
      assert.deepEqual(readdirSync(join(T, 'run', '.config-check')).filter((f) => f.startsWith(n)), []);
    });
  });

  describe('warnings (item 12)', () => {
    const n = `d1w${run}`;
    test('a config warning prints once, with one prefix; ping_group_range is warned in one line when it excludes root', async () => {
      await make(n, `127.0.0.${octet + 1}`);
      writeFileSync(confFile(n), readFileSync(confFile(n), 'utf8') + 'FOO="1"\n', { mode: 0o600 });
      const r = await vs([n, 'start']);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stderr.includes(`vserver: warning: ${confFile(n)}:${lineOf(n, 'FOO')}: FOO="1": unknown key FOO`), r.stderr);
      assert.doesNotMatch(r.stderr, /warning: .*warning:/);
      const ping = r.stderr.split('\n').filter((l) => l.includes('ping_group_range'));
      if (pingExcludesRoot) {
        assert.equal(ping.length, 1, r.stderr);
        assert.match(ping[0]!, /^vserver: warning: .*excludes root \(gid 0\).*sysctl -w net\.ipv4\.ping_group_range='0 2147483647'$/);
      } else {
        assert.deepEqual(ping, []);
      }
      assert.equal((await vs([n, 'stop'])).code, 0);
    });
  });

  describe('vserver NAME set (item 13)', () => {
    const n = `d1s${run}`;
    const limits = (xid: number) => {
      const v2 = cgroupDir(xid)!;
      const mem = existsSync(join(v2, 'memory.max')) ? join(v2, 'memory.max') : join(controllerDir('memory', xid)!, 'memory.limit_in_bytes');
      const pids = existsSync(join(v2, 'pids.max')) ? join(v2, 'pids.max') : join(controllerDir('pids', xid)!, 'pids.max');
      return { memory: readFileSync(mem, 'utf8').trim(), pids: readFileSync(pids, 'utf8').trim() };
    };

    test('a running server gets MEMORY_MAX and PIDS_MAX live and in its file, comments intact', async () => {
      await make(n, `127.0.0.${octet + 2}`);
      const before = readFileSync(confFile(n), 'utf8');
      assert.equal((await vs([n, 'start'])).code, 0);
      const xid = readState(paths(), n)!.xid!;
      const r = await vs([n, 'set', 'MEMORY_MAX=64M', 'PIDS_MAX=50']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`applied to '${n}' \\(context ${xid}\\)`));
      assert.deepEqual(limits(xid), { memory: String(64 * 1024 * 1024), pids: '50' });
      const after = readFileSync(confFile(n), 'utf8');
      const diff = after.split('\n').map((l, i) => [before.split('\n')[i], l]).filter(([a, b]) => a !== b);
      assert.deepEqual(diff, [['MEMORY_MAX=""', 'MEMORY_MAX="64M"'], ['PIDS_MAX=""', 'PIDS_MAX="50"']]);
      const log = await vs([n, 'exec', 'true']);
      assert.equal(log.code, 0, 'the server still works');
    });

    test('an invalid value exits 2 and changes neither the cgroup nor the file', async () => {
      const xid = readState(paths(), n)!.xid!;
      const text = readFileSync(confFile(n), 'utf8');
      const r = await vs([n, 'set', 'MEMORY_MAX=32M', 'PIDS_MAX=abc']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /PIDS_MAX="abc": a number of processes/);
      assert.deepEqual(limits(xid), { memory: String(64 * 1024 * 1024), pids: '50' });
      assert.equal(readFileSync(confFile(n), 'utf8'), text);
    });

    test('a stopped server: only the file, and it says so', async () => {
      assert.equal((await vs([n, 'stop'])).code, 0);
      const r = await vs([n, 'set', 'CPU_MAX=50%']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /is stopped, so it applies at its next start/);
      assert.match(readFileSync(confFile(n), 'utf8'), /^CPU_MAX="50%"$/m);
    });
  });
});
