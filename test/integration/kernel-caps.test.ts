/**
 * The capability ceiling of contexts (chcontext --secure / --cap) and of
 * reducecap: the bounding set is the CONTRACT allowlist, nothing inherited
 * or ambient, NO_NEW_PRIVS off, and setuid-root or file-capability
 * binaries never get back what was dropped.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeBusyboxRoot, removeRoot } from '../helpers/busybox-root.js';
import { capByName, resolveCapRequests } from '../../src/config/caps.js';
import {
  chcontext,
  compileC,
  hostState,
  newLeftovers,
  projectRoot,
  inCtx,
  installInRoot,
  isRoot,
  makeProbeRoot,
  ok,
  removeCompiled,
  run,
  runTool,
  show,
  startContext,
  statusField,
  stopAll,
  stopContext,
  tool,
  type Ctx,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';

/** CONTRACT.md: kept by default in a server and with --secure */
const SERVER_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_SYS_BOOT', 'CAP_AUDIT_WRITE',
];
const CAP_BITS: Record<string, number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7,
  CAP_SETPCAP: 8, CAP_NET_BIND_SERVICE: 10, CAP_NET_RAW: 13, CAP_IPC_LOCK: 14, CAP_SYS_CHROOT: 18,
  CAP_SYS_ADMIN: 21, CAP_SYS_BOOT: 22, CAP_AUDIT_WRITE: 29,
};
const mask = (names: string[]): bigint => names.reduce((m, n) => m | (1n << BigInt(CAP_BITS[n]!)), 0n);
const SERVER_MASK = mask(SERVER_CAPS);
const hostBnd = (): bigint => BigInt(`0x${statusField(readFileSync('/proc/self/status', 'utf8'), 'CapBnd')}`);

/**
 * capability names with an X in a column of `reducecap --show`; the rows are
 * printf("%-22s %-10s %-10s %-12s %s"), so the marks sit at 23, 34, 45, 58
 */
function marked(show: string, col: 'Effective' | 'Permitted' | 'Inheritable' | 'Bounding'): string[] {
  const lines = show.split('\n');
  assert.equal(lines[0], 'Capability Effective  Permitted  Inheritable  Bounding', show);
  const at = { Effective: 23, Permitted: 34, Inheritable: 45, Bounding: 58 }[col];
  return lines
    .slice(1)
    .filter((l) => l[at] === 'X')
    .map((l) => l.trim().split(/\s+/)[0]!);
}

/** parse "eff=HEX prm=HEX bnd=HEX inh=HEX amb=HEX uid=N euid=N" */
function probeCaps(line: string): Record<string, bigint> {
  const out: Record<string, bigint> = {};
  for (const m of line.matchAll(/(\w+)=([0-9a-f]+)/g)) out[m[1]!] = m[1] === 'uid' || m[1] === 'euid' ? BigInt(m[2]!) : BigInt(`0x${m[2]}`);
  return out;
}

describe('capability ceiling of a --secure context', { skip }, () => {
  let root = '';
  let probe = '';
  let ctx: Ctx;
  let reducecap = '';

  before(async () => {
    ({ root, probe } = await makeProbeRoot());
    // a setuid-root copy and a file-capability copy in the server's root
    copyFileSync(probe, join(root, 'bin', 'probe-suid'));
    chmodSync(join(root, 'bin', 'probe-suid'), 0o4755);
    copyFileSync(probe, join(root, 'bin', 'probe-fcap'));
    chmodSync(join(root, 'bin', 'probe-fcap'), 0o755);
    const sc = run('setcap', ['cap_sys_admin,cap_net_raw+ep', join(root, 'bin', 'probe-fcap')]);
    assert.equal(sc.status, 0, show(sc));
    reducecap = installInRoot(root, 'reducecap');
    ctx = await startContext(['--secure', '--root', root], ['sleep', '300']);
  });
  after(async () => {
    if (ctx) await stopContext(ctx).catch(() => {});
    await stopAll();
    if (root) await removeRoot(root);
    if (probe) removeCompiled(probe);
  });

  test('the bounding set is exactly the CONTRACT allowlist (reducecap --show inside)', () => {
    const table = ok(inCtx(ctx.xid, `${reducecap} --show`));
    assert.deepEqual(marked(table, 'Bounding').sort(), [...SERVER_CAPS].sort());
    assert.deepEqual(marked(table, 'Inheritable'), []);
    assert.deepEqual(marked(table, 'Effective').sort(), [...SERVER_CAPS].sort());
    const st = ok(inCtx(ctx.xid, 'cat /proc/self/status'));
    assert.equal(statusField(st, 'CapBnd'), SERVER_MASK.toString(16).padStart(16, '0'));
    assert.equal(statusField(st, 'CapBnd'), '00000000204405fb');
    assert.equal(statusField(st, 'CapInh'), '0000000000000000');
    assert.equal(statusField(st, 'CapAmb'), '0000000000000000');
    // NO_NEW_PRIVS stays off so su and other setuid programs keep working
    assert.equal(statusField(st, 'NoNewPrivs'), '0');
  });

  test('the PID 1 and the command carry the same ceiling', () => {
    const st = readFileSync(`/proc/${ctx.pid1}/status`, 'utf8');
    assert.equal(statusField(st, 'CapBnd'), '00000000204405fb');
    assert.equal(statusField(st, 'CapEff'), '00000000204405fb');
  });

  test('control: outside, the setuid and file-capability binaries do gain', () => {
    const nobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
    const suid = probeCaps(ok(run('setpriv', [...nobody, join(root, 'bin', 'probe-suid'), 'caps'])));
    assert.equal(suid.euid, 0n);
    assert.ok(suid.eff! & (1n << 21n), 'setuid root on the host has CAP_SYS_ADMIN');
    const fcap = probeCaps(ok(run('setpriv', [...nobody, join(root, 'bin', 'probe-fcap'), 'caps'])));
    assert.equal(fcap.eff, mask(['CAP_SYS_ADMIN', 'CAP_NET_RAW']));
  });

  test('a setuid-root binary inside never gains a dropped capability', () => {
    const r = inCtx(ctx.xid, 'vctx-probe as 65534 65534 /bin/probe-suid caps');
    const c = probeCaps(ok(r));
    assert.equal(c.uid, 65534n, r.stdout);
    assert.equal(c.euid, 0n, r.stdout);
    assert.equal(c.eff, SERVER_MASK, r.stdout);
    assert.equal(c.prm, SERVER_MASK, r.stdout);
    assert.equal(c.eff! & (1n << 21n), 0n);
  });

  test('a file-capability binary inside never gains a dropped capability', () => {
    const r = inCtx(ctx.xid, 'vctx-probe as 65534 65534 /bin/probe-fcap caps; echo rc=$?');
    // either the kernel refuses the exec (it cannot grant what the file asks for) or it runs without them
    if (/^eff=/m.test(r.stdout)) {
      const c = probeCaps(r.stdout);
      assert.equal(c.eff! & mask(['CAP_SYS_ADMIN', 'CAP_NET_RAW']), 0n, r.stdout);
    } else {
      assert.match(r.stdout, /rc=(126|1)/, show(r));
      assert.match(r.stderr, /not permitted/i, show(r));
    }
  });
});

describe('chcontext --cap', { skip }, () => {
  let root = '';
  before(async () => {
    root = await makeBusyboxRoot();
  });
  after(async () => {
    await stopAll();
    if (root) await removeRoot(root);
  });

  const bnd = (args: string[]): bigint => {
    const out = ok(chcontext(['--silent', ...args, '--', '/bin/cat', '/proc/self/status']));
    return BigInt(`0x${statusField(out, 'CapBnd')}`);
  };

  test('--cap IPC_LOCK adds one to the --secure set', () => {
    assert.equal(bnd(['--secure', '--root', root, '--cap', 'IPC_LOCK']), SERVER_MASK | (1n << 14n));
    assert.equal(bnd(['--secure', '--root', root, '--cap', 'CAP_IPC_LOCK']), SERVER_MASK | (1n << 14n));
  });

  test('--cap !CHOWN drops one more', () => {
    assert.equal(bnd(['--secure', '--root', root, '--cap', '!CHOWN']), SERVER_MASK & ~1n);
    // without --secure: everything root has, less CHOWN
    assert.equal(bnd(['--root', root, '--cap', '!CAP_CHOWN']), hostBnd() & ~1n);
  });

  test('every capability CONTRACT.md may add is kept by chcontext --secure --cap, and by reducecap --secure --cap', () => {
    const { addable } = contractCaps();
    assert.equal(addable.length, 8, addable.join(' '));
    for (const name of addable) {
      // within what the host itself has (a host may lack one, e.g. SYS_RESOURCE in a container)
      const want = (SERVER_MASK | (1n << BigInt(capByName(name)!.number))) & hostBnd();
      assert.equal(bnd(['--secure', '--root', root, '--cap', name]), want, name);
      const out = ok(runTool('reducecap', ['--secure', '--cap', `cap_${name.toLowerCase()}`, '--', 'cat', '/proc/self/status']));
      assert.equal(BigInt(`0x${statusField(out, 'CapBnd')}`), want, name);
    }
  });

  // the seed's `chcontext --secure CMD` without a server root (the host's /sys is detached
  // in the context's mount namespace before a read-only sysfs is mounted)
  test('chcontext --secure without --root: the allowlist, on the host file system', () => {
    const r = chcontext(['--silent', '--secure', '--', tool('reducecap'), '--show']);
    assert.equal(r.status, 0, show(r));
    assert.deepEqual(marked(r.stdout, 'Bounding').sort(), [...SERVER_CAPS].sort());
  });

  test('a bare chcontext by root keeps root capabilities', () => {
    const out = ok(chcontext(['--silent', '--', 'cat', '/proc/self/status']));
    assert.equal(BigInt(`0x${statusField(out, 'CapBnd')}`), hostBnd());
    assert.equal(statusField(out, 'CapEff'), statusField(readFileSync('/proc/self/status', 'utf8'), 'CapEff'));
  });
});

/** the capability lists of docs/CONTRACT.md "Capabilities of a server" */
function contractCaps(): { refused: string[]; addable: string[] } {
  const text = readFileSync(join(projectRoot, 'docs', 'CONTRACT.md'), 'utf8').replace(/\s+/g, ' ');
  const refused = /Refused, with the reason \([^)]*\): ([A-Z_ ]+), and any capability newer/.exec(text);
  const addable = /May be added with `S_CAPS`\/`--cap`: (.*?) Refused/.exec(text);
  assert.ok(refused && addable, 'CONTRACT.md lists the refused and addable capabilities');
  return {
    refused: refused[1]!.trim().split(' '),
    addable: addable[1]!.replace(/\([^)]*\)/g, '').replace(/\.$/, '').trim().split(/\s+/).filter((w) => /^[A-Z_]+$/.test(w)),
  };
}

describe('capabilities refused to servers (CONTRACT.md)', { skip }, () => {
  const { refused } = contractCaps();
  /* the forms a user may write: CAP_X, X, any case */
  const forms = (name: string): string[] => [`CAP_${name}`, name, `cap_${name.toLowerCase()}`, `Cap_${name[0]}${name.slice(1).toLowerCase()}`];

  test('the contract refuses 21 capabilities, each known to this tool', () => {
    assert.equal(refused.length, 21, refused.join(' '));
    for (const name of refused) assert.ok(capByName(name), name);
  });

  for (const prog of ['chcontext', 'reducecap'] as const) {
    test(`${prog} --secure --cap X: exit 2 and one line naming X and why, for every refused X in every form`, () => {
      const before = hostState();
      for (const name of refused) {
        for (const form of forms(name)) {
          const r = runTool(prog, ['--secure', '--cap', 'IPC_LOCK', '--cap', form, '--', 'true']);
          assert.equal(r.status, 2, `${prog} --cap ${form}: ${show(r)}`);
          assert.equal(r.stdout, '', show(r));
          const lines = r.stderr.trimEnd().split('\n');
          assert.equal(lines.length, 1, show(r));
          assert.equal(lines[0]!.startsWith(`${prog}: --cap ${form}: CAP_${name} is refused to servers: `), true, show(r));
          assert.ok(lines[0]!.length > `${prog}: --cap ${form}: CAP_${name} is refused to servers: `.length + 10, show(r));
        }
      }
      return newLeftovers(before).then((left) => assert.deepEqual(left, []));
    });
  }

  test('the server configuration (S_CAPS) refuses the same set, with the same reason in one line', () => {
    for (const name of refused) {
      const r = resolveCapRequests([`CAP_${name}`]);
      assert.equal(r.problems.length, 1, name);
      assert.match(r.problems[0]!.message, new RegExp(`^CAP_${name} is refused to servers: `));
    }
  });

  test('dropping a refused capability (!CAP_X) is fine, and without --secure reducecap --cap X drops X', () => {
    const r = runTool('reducecap', ['--secure', '--cap', '!SYS_ADMIN', '--', 'true']);
    assert.equal(r.status, 0, show(r));
    const out = ok(runTool('reducecap', ['--cap', 'SYS_ADMIN', '--', 'cat', '/proc/self/status']));
    assert.equal(BigInt(`0x${statusField(out, 'CapBnd')}`), hostBnd() & ~(1n << 21n));
  });
});

describe('reducecap (the seed)', { skip }, () => {
  let probe = '';
  before(() => {
    probe = compileC('vctx-probe');
    chmodSync(probe, 0o4755);
  });
  after(() => {
    if (probe) removeCompiled(probe);
  });

  test('after reducecap --secure, changing a network setting fails; reading /etc/shadow works', () => {
    const mtu = readFileSync('/sys/class/net/lo/mtu', 'utf8').trim();
    // control: root on the host may (setting the current MTU changes nothing)
    ok(run('ip', ['link', 'set', 'lo', 'mtu', mtu]));
    const r = runTool('reducecap', ['--secure', '--', 'ip', 'link', 'set', 'lo', 'mtu', mtu]);
    assert.notEqual(r.status, 0, show(r));
    assert.match(r.stderr, /Operation not permitted/, show(r));
    const shadow = runTool('reducecap', ['--secure', '--', 'cat', '/etc/shadow']);
    assert.match(ok(shadow), /^root:/m);
  });

  test('reducecap --show prints the table of this process', () => {
    const table = ok(runTool('reducecap', ['--secure', '--', tool('reducecap'), '--show']));
    assert.deepEqual(marked(table, 'Bounding').sort(), [...SERVER_CAPS].sort());
  });

  test('a setuid-root program under reducecap cannot get back what was dropped', () => {
    const r = runTool('reducecap', ['--secure', '--', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', probe, 'caps']);
    const c = probeCaps(ok(r));
    assert.equal(c.euid, 0n, r.stdout);
    assert.equal(c.eff, SERVER_MASK, r.stdout);
  });

  test('reducecap --cap X drops X (without --secure)', () => {
    const out = ok(runTool('reducecap', ['--cap', 'NET_ADMIN', '--', 'cat', '/proc/self/status']));
    assert.equal(BigInt(`0x${statusField(out, 'CapBnd')}`), hostBnd() & ~(1n << 12n));
  });
});
