/**
 * Instances (docs/instances.md): a server of the same name in the default
 * instance and in a named one (VCTX_INSTANCE), each in its own temporary
 * confdir/rootdir/rundir; each instance's vserver-stat, vps and vtop --once
 * --json show only its own; stopping one leaves the other running; XID
 * ranges (derived, XID_RANGE in /etc/vctx/instances/NAME.conf, overlaps,
 * S_CONTEXT outside) are honoured; a bad instance name is one line and exit
 * 2; vctx-instance remove leaves nothing of the named instance (cgroups,
 * pins, run directory).  Root only, under the root-tests lock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandPath, type Command } from '../helpers/commands.js';
import { cgroup2, isRoot, projectRoot, tool } from '../helpers/kernel.js';

const run = Math.floor(Math.random() * 1e6).toString(36);
const NAME = `in${run}`;
const INST = `it${run}`;
const INST2 = `iu${run}`;
const octet = 100 + Math.floor(Math.random() * 120);
const IP_A = `127.0.0.${octet}`;
const IP_B = `127.0.0.${octet + 1}`;
const INSTANCES_DIR = '/etc/vctx/instances';
const INSTANCE_SCRIPT = join(projectRoot, 'scripts', 'vctx-instance');
const VIEWS = join(projectRoot, 'scripts', 'vctx-views');
/** the PID files of the inside-view daemons this test started (stopped again after) */
let ourViews: string[] = [];
let T = '';
let madeInstancesDir = false;
let madeEtcVctx = false;

/** FNV-1a, as kernel/lib/instance.c derives a range from the name */
function derivedRange(name: string): [number, number] {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  const lo = 40960 + 256 * (h % 32);
  return [lo, lo + 255];
}

/** the environment of instance @inst ('' = default) with its temporary directories */
function envOf(inst: string, dirs = inst || 'default'): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = {
    ...process.env, FORCE_COLOR: '0', NO_COLOR: '1',
    VSERVER_CONFDIR: join(T, dirs, 'etc'), VSERVER_ROOTDIR: join(T, dirs, 'vs'), VSERVER_RUNDIR: join(T, dirs, 'run'),
  };
  if (inst) e.VCTX_INSTANCE = inst;
  else delete e.VCTX_INSTANCE;
  return e;
}

function cli(c: Command, inst: string, args: string[], dirs?: string): SpawnSyncReturns<string> {
  return spawnSync(commandPath(c), args, { env: envOf(inst, dirs), cwd: projectRoot, encoding: 'utf8', timeout: 120_000 });
}

const show = (r: SpawnSyncReturns<string>) => `status ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** the XID `vserver NAME status` reports, or null when not running */
function xidOf(inst: string, name = NAME, dirs?: string): number | null {
  const r = cli('vserver', inst, [name, 'status'], dirs);
  const m = /running at context '(\d+)'/.exec(r.stdout);
  return m ? Number(m[1]) : null;
}

function setKey(inst: string, key: string, value: string, name = NAME, dirs = inst || 'default'): void {
  const f = join(T, dirs, 'etc', `${name}.conf`);
  const text = readFileSync(f, 'utf8').replace(new RegExp(`^${key}=.*\\n?`, 'm'), '');
  writeFileSync(f, value === '' ? text : `${text}\n${key}="${value}"\n`, { mode: 0o600 });
}

function writeInstanceConf(inst: string, text: string): void {
  if (!existsSync(INSTANCES_DIR)) {
    madeEtcVctx ||= !existsSync('/etc/vctx');
    mkdirSync(INSTANCES_DIR, { recursive: true });
    madeInstancesDir = true;
  }
  writeFileSync(join(INSTANCES_DIR, `${inst}.conf`), text);
}

/** the lines of vserver-stat naming @name: [ctx, name] */
function statRows(inst: string): string[][] {
  const r = cli('vserver-stat', inst, []);
  assert.equal(r.status, 0, show(r));
  return r.stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)).map((f) => [f[0]!, f.slice(7).join(' ')]);
}

const leftovers = (inst: string): string[] =>
  [join(cgroup2, `vctx@${inst}`), `/sys/fs/bpf/vctx@${inst}`, `/run/vctx@${inst}`].filter((p) => existsSync(p));

describe('instances: two vctx on one kernel', { skip: !isRoot && 'needs root (contexts, cgroups, eBPF)' }, () => {
  before(async () => {
    T = await mkdtemp(join(tmpdir(), 'vctx-inst-'));
    // the inside views' daemons are shared by every instance (docs/instances.md)
    const v = spawnSync(VIEWS, ['start'], { encoding: 'utf8' });
    assert.equal(v.status, 0, show(v));
    ourViews = v.stdout.split('\n').filter(Boolean);
    const a = cli('vserver', '', [NAME, 'build', '--ip', IP_A]);
    assert.equal(a.status, 0, show(a));
    const b = cli('vserver', INST, [NAME, 'build', '--ip', IP_B]);
    assert.equal(b.status, 0, show(b));
  });

  after(() => {
    for (const [inst, dirs] of [['', 'default'], [INST, INST], [INST2, INST2]] as const) {
      if (existsSync(join(T, dirs, 'etc'))) {
        for (const f of readdirSync(join(T, dirs, 'etc')).filter((n) => n.endsWith('.conf'))) {
          cli('vserver', inst, [f.slice(0, -5), 'stop'], dirs);
        }
      }
    }
    for (const i of [INST, INST2]) {
      rmSync(join(INSTANCES_DIR, `${i}.conf`), { force: true });
      spawnSync(INSTANCE_SCRIPT, ['remove', i], { encoding: 'utf8' });
    }
    if (madeInstancesDir) {
      try {
        rmdirSync(INSTANCES_DIR);
        if (madeEtcVctx) rmdirSync('/etc/vctx');
      } catch { /* someone else's files: left */ }
    }
    if (T) rmSync(T, { recursive: true, force: true });
    for (const f of ourViews) spawnSync(VIEWS, ['stop', f.replace(/^.*\//, '').replace(/\.pid$/, '')]);
  });

  test('the same server name starts in both instances; each sees only its own', () => {
    const a = cli('vserver', '', [NAME, 'start']);
    assert.equal(a.status, 0, show(a));
    const b = cli('vserver', INST, [NAME, 'start']);
    assert.equal(b.status, 0, show(b));
    assert.doesNotMatch(b.stderr, /without its inside views/, 'one vctx-netview and lxcfs serve every instance');
    const xa = xidOf('');
    const xb = xidOf(INST);
    assert.ok(xa !== null && xb !== null && xa !== xb, `two contexts: ${xa} ${xb}`);
    const [lo, hi] = derivedRange(INST);
    assert.ok(xb! >= lo && xb! <= hi, `the named instance's dynamic XID ${xb} lies in its derived range ${lo}..${hi}`);
    assert.ok(xa! >= 49152, `the default instance's dynamic XID ${xa} is as before`);
    // the kernel side is the instance's: its own cgroup tree
    assert.ok(existsSync(join(cgroup2, `vctx@${INST}`, String(xb))), 'B lives in vctx@INST');
    assert.ok(existsSync(join(cgroup2, 'vctx', String(xa))), 'A lives in vctx');

    // inside, through the instance's guard socket (/run/vctx@INST/guard): the server's own XID
    const ex = cli('vserver', INST, [NAME, 'exec', 'cat', '/dev/vctx/xid']);
    assert.equal(ex.status, 0, show(ex));
    assert.equal(ex.stdout.trim(), String(xb));
    assert.ok(existsSync(`/run/vctx@${INST}/guard/${xb}.sock`), 'the guard socket is the instance\'s');
    // its /proc/net is vctx-netview's, cut to its own sockets (the daemon knows vctx@NAME trees)
    const tcp = cli('vserver', INST, [NAME, 'exec', 'cat', '/proc/net/tcp', '/proc/net/tcp6', '/proc/net/unix']);
    assert.equal(tcp.status, 0, show(tcp));
    assert.match(tcp.stdout, /^\s+sl\s+local_address/);
    assert.ok(tcp.stdout.split('\n').length < readFileSync('/proc/net/unix', 'utf8').split('\n').length, 'fewer sockets than the host has');
    // the instance's own eBPF maps, the network counters among them
    assert.ok(existsSync(`/sys/fs/bpf/vctx@${INST}/net-v1`), 'the network counters are pinned per instance');

    // vserver-stat
    assert.deepEqual(statRows('').filter((r) => r[1] === NAME), [[String(xa), NAME]]);
    assert.deepEqual(statRows(INST).filter((r) => r[1] === NAME), [[String(xb), NAME]]);

    // vtop --once --json
    for (const [inst, xid] of [['', xa], [INST, xb]] as const) {
      const r = cli('vtop', inst, ['--once', '--json']);
      assert.equal(r.status, 0, show(r));
      const servers = (JSON.parse(r.stdout) as { servers: { xid: number; name: string }[] }).servers;
      assert.deepEqual(servers.filter((s) => s.name === NAME).map((s) => s.xid), [xid]);
      assert.ok(!servers.some((s) => s.xid === (inst ? xa : xb)), 'the other instance\'s context is not listed');
    }

    // vps: our server's processes carry our context; the other's count as the host's (context 0)
    for (const [inst, mine, theirs] of [['', xa, xb], [INST, xb, xa]] as const) {
      const r = cli('vps', inst, ['ax']);
      assert.equal(r.status, 0, show(r));
      const rows = r.stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/));
      const named = rows.filter((f) => f[2] === NAME);
      assert.ok(named.length > 0, show(r));
      assert.ok(named.every((f) => f[1] === String(mine)), `every ${NAME} process is in context ${mine}\n${show(r)}`);
      assert.ok(!rows.some((f) => f[1] === String(theirs)), `no process shows the other instance's context ${theirs}`);
    }
  });

  test('an address a running server of another instance has: start refuses in one line and leaves nothing', () => {
    const xa = xidOf('');
    assert.ok(xa !== null, 'the default instance\'s server runs');
    const other = `${NAME}x`;
    const b = cli('vserver', INST, [other, 'build', '--ip', IP_A]);
    assert.equal(b.status, 0, show(b));
    try {
      const before = readdirSync(join(cgroup2, `vctx@${INST}`)).filter((n) => /^\d+$/.test(n)).sort();
      const r = cli('vserver', INST, [other, 'start']);
      assert.equal(r.status, 1, show(r));
      assert.match(r.stderr, new RegExp(`${IP_A.replace(/\./g, '\\.')} is the address of running server '${NAME}' \\(context ${xa}\\) of instance 'the default'; ` +
        `instances share the host's addresses: stop it first or give '${other}' an address of its own`), show(r));
      assert.equal(r.stderr.trim().split('\n').filter((l) => !/warning/.test(l)).length, 1, show(r));
      assert.equal(xidOf(INST, other), null);
      assert.deepEqual(readdirSync(join(cgroup2, `vctx@${INST}`)).filter((n) => /^\d+$/.test(n)).sort(), before, 'no context left');
    } finally {
      const d = cli('vserver', INST, [other, 'delete', '--force']);
      assert.equal(d.status, 0, show(d));
    }
  });

  test('a name only the other instance runs is not running here; stopping one leaves the other running', () => {
    const xa = xidOf('');
    const xb = xidOf(INST);
    assert.ok(xa !== null && xb !== null);
    const s = cli('vserver', INST, [NAME, 'stop']);
    assert.equal(s.status, 0, show(s));
    assert.equal(xidOf(INST), null);
    assert.equal(xidOf(''), xa, 'the default instance\'s server runs on');
    assert.ok(existsSync(join(cgroup2, 'vctx', String(xa))));
    // the default's stop leaves the named one alone too
    const b = cli('vserver', INST, [NAME, 'start']);
    assert.equal(b.status, 0, show(b));
    const a = cli('vserver', '', [NAME, 'stop']);
    assert.equal(a.status, 0, show(a));
    assert.equal(xidOf(''), null);
    assert.ok(xidOf(INST) !== null, 'the named instance\'s server runs on');
  });

  test('XID ranges: XID_RANGE is honoured, S_CONTEXT outside is refused, overlapping ranges are refused', () => {
    const [lo, hi] = derivedRange(INST);
    assert.ok(xidOf(INST) !== null, 'INST runs a server, so its range is known');
    // a second named instance configured onto INST's range: refused before anything starts
    const b2 = cli('vserver', INST2, [NAME, 'build', '--ip', `127.0.0.${octet + 2}`]);
    assert.equal(b2.status, 0, show(b2));
    writeInstanceConf(INST2, `# test\nXID_RANGE=${lo + 10}-${hi + 10}\n`);
    const over = cli('vserver', INST2, [NAME, 'start']);
    assert.equal(over.status, 1, show(over));
    assert.equal(over.stderr.trim().split('\n').filter((l) => !/warning/.test(l)).length, 1, show(over));
    assert.match(over.stderr, new RegExp(`instance ${INST2}'s XIDs ${lo + 10}\\.\\.${hi + 10} \\(${INSTANCES_DIR}/${INST2}\\.conf\\) overlap instance ${INST}'s ${lo}\\.\\.${hi}`));
    assert.ok(!existsSync(join(cgroup2, `vctx@${INST2}`)) || readdirSync(join(cgroup2, `vctx@${INST2}`)).every((n) => !/^\d+$/.test(n) || n === '1'));

    // a range of its own: the dynamic XID is in it
    writeInstanceConf(INST2, 'XID_RANGE="30000-30009"\n');
    const ok = cli('vserver', INST2, [NAME, 'start']);
    assert.equal(ok.status, 0, show(ok));
    const x2 = xidOf(INST2);
    assert.ok(x2 !== null && x2 >= 30000 && x2 <= 30009, `XID ${x2} in 30000..30009`);
    assert.equal(cli('vserver', INST2, [NAME, 'stop']).status, 0);

    // a static S_CONTEXT outside the instance's range: refused, one line
    setKey(INST2, 'S_CONTEXT', '30020');
    const out = cli('vserver', INST2, [NAME, 'start']);
    assert.equal(out.status, 1, show(out));
    assert.match(out.stderr, /context 30020 is outside instance \S+'s XIDs 30000\.\.30009 \(\/etc\/vctx\/instances\/\S+\.conf\)/);
    // inside it: used
    setKey(INST2, 'S_CONTEXT', '30005');
    const st = cli('vserver', INST2, [NAME, 'start']);
    assert.equal(st.status, 0, show(st));
    assert.equal(xidOf(INST2), 30005);
    assert.equal(cli('vserver', INST2, [NAME, 'stop']).status, 0);

    // the default instance may not take a named instance's XID
    setKey('', 'S_CONTEXT', '30003');
    const d = cli('vserver', '', [NAME, 'start']);
    assert.equal(d.status, 1, show(d));
    assert.match(d.stderr, new RegExp(`context 30003 belongs to instance ${INST2}'s XIDs 30000\\.\\.30009`));
    setKey('', 'S_CONTEXT', '');

    // a bad XID_RANGE: its file, line and value
    writeInstanceConf(INST2, '\nXID_RANGE=9-3\n');
    const bad = cli('vserver', INST2, [NAME, 'start']);
    assert.equal(bad.status, 1, show(bad));
    assert.match(bad.stderr, new RegExp(`${INSTANCES_DIR}/${INST2}\\.conf:2: XID_RANGE='9-3': must be LO-HI with 2 <= LO <= HI <= 49151`));
    // a file others may write is not taken
    writeInstanceConf(INST2, 'XID_RANGE=30000-30009\n');
    chmodSync(join(INSTANCES_DIR, `${INST2}.conf`), 0o666);
    const loose = cli('vserver', INST2, [NAME, 'start']);
    assert.equal(loose.status, 1, show(loose));
    assert.match(loose.stderr, new RegExp(`${INSTANCES_DIR}/${INST2}\\.conf: must be a regular file owned by root and writable by root only`));
    rmSync(join(INSTANCES_DIR, `${INST2}.conf`));
  });

  test('a bad instance name: one line and exit 2, from every kind of command', () => {
    for (const [cmd, args] of [['vserver', [NAME, 'status']], ['vserver-stat', []], ['vps', ['ax']], ['vtop', ['--once']], ['vkill', ['--xid', '5']]] as const) {
      const r = cli(cmd, 'a/b', [...args]);
      assert.equal(r.status, 2, `${cmd}: ${show(r)}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${cmd}: ${show(r)}`);
      assert.match(r.stderr, /VCTX_INSTANCE="a\/b": the name contains '\/'/);
    }
    const c = spawnSync(tool('chcontext'), ['--', '/bin/true'], { env: { ...process.env, VCTX_INSTANCE: '-x' }, encoding: 'utf8' });
    assert.equal(c.status, 2, show(c));
    assert.match(c.stderr.trim(), /^chcontext: VCTX_INSTANCE='-x': the name starts with '-'/);
    assert.ok(!existsSync(join(cgroup2, 'vctx@-x')), 'nothing made for a bad name');
    const i = spawnSync(INSTANCE_SCRIPT, ['remove', 'a/b'], { encoding: 'utf8' });
    assert.equal(i.status, 2, show(i));
    assert.match(i.stderr.trim(), /^vctx-instance: VCTX_INSTANCE='a\/b': the name contains '\/'/);
  });

  test('vctx-instance remove: refused while a server runs; after the last stops nothing of the instance is left', () => {
    assert.ok(xidOf(INST) !== null);
    assert.ok(existsSync(`/sys/fs/bpf/vctx@${INST}`), 'the instance pinned its own eBPF programs');
    const busy = spawnSync(INSTANCE_SCRIPT, ['remove', INST], { encoding: 'utf8' });
    assert.equal(busy.status, 1, show(busy));
    assert.match(busy.stderr, /still runs contexts/);
    assert.equal(cli('vserver', INST, [NAME, 'stop']).status, 0);
    for (const i of [INST, INST2]) {
      const r = spawnSync(INSTANCE_SCRIPT, ['remove', i], { encoding: 'utf8' });
      assert.equal(r.status, 0, show(r));
      assert.deepEqual(leftovers(i), []);
    }
    // the default instance's tree is untouched
    assert.ok(existsSync(join(cgroup2, 'vctx')));
  });
});
