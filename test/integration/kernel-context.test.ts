/**
 * new_s_context, entering a context by XID, and context 1 (the spectator),
 * against the real kernel as root with kernel/out/chcontext.  The seed's
 * walk-through with `sleep` standing in for xterm.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { makeBusyboxRoot, removeRoot } from '../helpers/busybox-root.js';
import {
  assertNoLeftovers,
  cgroupRel,
  chcontext,
  findByCmdline,
  hostState,
  newLeftovers,
  inCtx,
  isRoot,
  nspid,
  ok,
  procsOf,
  run,
  running,
  show,
  startContext,
  statusField,
  stopAll,
  stopContext,
  tmuxSession,
  tool,
  waitFor,
  waitGone,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';

/** XID from "New security context is N" */
function newXid(stderr: string): number {
  const m = /New security context is (\d+)/.exec(stderr);
  assert.ok(m, `no "New security context is N" in: ${stderr}`);
  return Number(m[1]);
}

/** PID column of `ps ax` output */
function psPids(out: string): number[] {
  return out
    .split('\n')
    .slice(1)
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((n) => Number.isInteger(n) && n > 0);
}

let root = '';

describe('new_s_context', { skip }, () => {
  after(stopAll);

  test('inside, ps ax shows only the context: vctx-init as PID 1, then the command', async () => {
    const r = chcontext(['--', 'ps', 'ax', '-o', 'pid=,comm=']);
    assert.equal(r.status, 0, show(r));
    const xid = newXid(r.stderr);
    const rows = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    assert.deepEqual(rows, [['1', 'vctx-init'], ['2', 'ps']], r.stdout);
    assert.equal(r.stderr, `New security context is ${xid}\n`);
    // the emptied context's cgroups and guard are gone when chcontext returns
    assertNoLeftovers(xid);
  });

  test('--silent prints nothing on stderr', () => {
    const r = chcontext(['--silent', '--', 'true']);
    assert.equal(r.status, 0, show(r));
    assert.equal(r.stderr, '');
  });

  test('two contexts never see each other; the host sees both', async () => {
    const a = await startContext([], ['sleep', '301']);
    const b = await startContext([], ['sleep', '302']);
    try {
      const inA = ok(inCtx(a.xid, 'ps ax -o pid=,args='));
      const inB = ok(inCtx(b.xid, 'ps ax -o pid=,args='));
      assert.match(inA, /sleep 301/);
      assert.doesNotMatch(inA, /sleep 302/);
      assert.match(inB, /sleep 302/);
      assert.doesNotMatch(inB, /sleep 301/);
      // every PID inside is a small PID of the context's own namespace
      assert.ok(psPids(`x\n${inA}`).every((p) => p < 10), inA);
      // the host sees both sleeps, and both PID 1s
      const host = ok(run('ps', ['ax', '-o', 'pid=,args=']));
      assert.match(host, /sleep 301/);
      assert.match(host, /sleep 302/);
      const hostPids = psPids(`x\n${host}`);
      assert.ok(hostPids.includes(a.pid1) && hostPids.includes(b.pid1));
      // a kill of a process outside fails: it does not exist in the context's PID namespace
      const r = inCtx(a.xid, `kill ${b.pid1}`);
      assert.notEqual(r.status, 0, show(r));
      assert.ok(running(b.pid1));
    } finally {
      await stopContext(a);
      await stopContext(b);
    }
  });

  test('/proc/uptime inside counts from the context start', () => {
    const host = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    const r = chcontext(['--silent', '--', 'cat', '/proc/uptime']);
    const inside = Number(ok(r).split(' ')[0]);
    assert.ok(inside >= 0 && inside < 2, `uptime inside ${inside}`);
    assert.ok(host > inside + 1 || host < 2, `host uptime ${host}`);
  });

  test('PID 1 is the reaper vctx-init when CMD is not an init', () => {
    const out = ok(chcontext(['--silent', '--', 'sh', '-c', 'cat /proc/1/comm; tr "\\0" " " </proc/1/cmdline; echo; echo $$']));
    const [comm, cmdline, self] = out.split('\n');
    assert.equal(comm, 'vctx-init');
    assert.equal(cmdline!.trim(), 'vctx-init');
    assert.equal(self, '2');
  });

  test('the reaper adopts orphans and the context ends with CMD', async () => {
    // CMD leaves a grandchild behind; the reaper reaps it (no zombie) and exits with CMD's status
    const r = chcontext(['--', 'sh', '-c', '(sleep 0.2 &) ; sleep 0.05; ps -o pid=,ppid=,comm= ax; exit 3']);
    assert.equal(r.status, 3, show(r));
    const orphan = r.stdout.split('\n').find((l) => / sleep$/.test(l) && !/ 2 sleep$/.test(l));
    assert.ok(orphan, r.stdout);
    assert.equal(orphan.trim().split(/\s+/)[1], '1', `orphan not reparented to PID 1: ${r.stdout}`);
    await waitGone(newXid(r.stderr));
  });

  test('chcontext exits with CMD status, 128+N when killed by signal N', async () => {
    for (const [script, code] of [['exit 7', 7], ['kill -9 $$', 137], ['kill -TERM $$', 143], ['true', 0]] as const) {
      const r = chcontext(['--', 'sh', '-c', script]);
      assert.equal(r.status, code, `${script}: ${show(r)}`);
      assertNoLeftovers(newXid(r.stderr));
    }
  });

  // The race fixed in a1853a4: vctx-init forked CMD before it blocked SIGCHLD; a CMD that
  // exited in between left a zombie nobody reaped and chcontext hung until a signal came.
  test('a quick command never hangs the context (60 runs, 3 at a time)', async () => {
    const hung: string[] = [];
    const one = (): Promise<void> =>
      new Promise((resolve) => {
        const c = spawn(tool('chcontext'), ['--silent', '--', 'true'], { stdio: 'ignore' });
        const t = setTimeout(() => {
          hung.push(`pid ${c.pid}`);
          c.kill('SIGTERM'); // the monitor forwards it; the reaper then finds CMD
        }, 2000);
        c.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
      });
    for (let i = 0; i < 20 && hung.length === 0; i++) await Promise.all([one(), one(), one()]);
    assert.deepEqual(hung, [], 'chcontext -- true did not return within 2 s');
  });

  test('a command that cannot be executed: one line, nothing left', async () => {
    const before0 = hostState();
    const r = chcontext(['--', '/nonexistent/cmd']);
    assert.notEqual(r.status, 0, show(r));
    assert.match(r.stderr, /nonexistent\/cmd/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.deepEqual(await newLeftovers(before0), []);
  });

  // chbind and `chcontext --ctx N` give the shell's 127; a new context gives 1
  test('a command that cannot be executed in a new context: 127 like chbind and --ctx N', () => {
    const r = chcontext(['--', '/nonexistent/cmd']);
    assert.equal(r.status, 127, show(r));
    assert.match(r.stderr, /nonexistent\/cmd/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});

describe('enter a running context by XID', { skip }, () => {
  let ctx: Awaited<ReturnType<typeof startContext>>;
  let sleeper = 0;
  const ip = '127.0.0.41';

  before(async () => {
    root = await makeBusyboxRoot();
    ctx = await startContext(
      ['--secure', '--root', root, '--ip', ip, '--loopback', '127.128.0.41', '--rlimit', 'nofile=300:400', '--rlimit', 'nproc=500:600'],
      ['sleep', '3001'],
    );
    sleeper = findByCmdline(procsOf(ctx.xid), 'sleep 3001')[0]!;
    assert.ok(sleeper, 'the context command is not running');
  });
  after(async () => {
    if (ctx) await stopContext(ctx).catch(() => {});
    await stopAll();
    if (root) await removeRoot(root);
  });

  /** enter with a long-running marker command, return its host PID (and stop it after) */
  async function entered<T>(marker: string, fn: (pid: number) => T): Promise<T> {
    const c = spawn(tool('chcontext'), ['--ctx', String(ctx.xid), '--', 'sleep', marker], {
      stdio: 'ignore',
    });
    try {
      const pid = await waitFor(() => findByCmdline(procsOf(ctx.xid), `sleep ${marker}`)[0] ?? 0, 5000);
      assert.ok(pid, 'the entered process did not show up in the context');
      return fn(pid);
    } finally {
      c.kill('SIGTERM');
      for (const p of findByCmdline(procsOf(ctx.xid), `sleep ${marker}`)) process.kill(p, 'SIGKILL');
      await new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)));
    }
  }

  test('an entered process is indistinguishable from the context own ones', async () => {
    await entered('3002', (pid) => {
      const mine = readFileSync(`/proc/${pid}/status`, 'utf8');
      const theirs = readFileSync(`/proc/${sleeper}/status`, 'utf8');
      for (const k of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters', 'Uid', 'Gid', 'Groups']) {
        assert.equal(statusField(mine, k), statusField(theirs, k), `${k} differs`);
      }
      assert.equal(statusField(mine, 'CapBnd'), '00000000204405fb');
      // every namespace is the context's (PID 1's), and the PID namespace is not the host's
      for (const ns of readdirSync(`/proc/${ctx.pid1}/ns`)) {
        assert.equal(readlinkSync(`/proc/${pid}/ns/${ns}`), readlinkSync(`/proc/${ctx.pid1}/ns/${ns}`), `ns ${ns}`);
      }
      assert.notEqual(readlinkSync(`/proc/${pid}/ns/pid`), readlinkSync('/proc/self/ns/pid'));
      assert.notEqual(readlinkSync(`/proc/${pid}/ns/mnt`), readlinkSync('/proc/self/ns/mnt'));
      // the same cgroups (v2 and every v1 hierarchy)
      assert.equal(readFileSync(`/proc/${pid}/cgroup`, 'utf8'), readFileSync(`/proc/${sleeper}/cgroup`, 'utf8'));
      // the same root directory (the server's, pivoted)
      const a = statSync(`/proc/${pid}/root/`);
      const b = statSync(`/proc/${ctx.pid1}/root/`);
      assert.deepEqual([a.dev, a.ino], [b.dev, b.ino]);
      assert.equal(readlinkSync(`/proc/${pid}/root`), '/');
      // the same rlimits
      assert.equal(readFileSync(`/proc/${pid}/limits`, 'utf8'), readFileSync(`/proc/${ctx.pid1}/limits`, 'utf8'));
      assert.match(readFileSync(`/proc/${pid}/limits`, 'utf8'), /Max open files\s+300\s+400/);
      // inner PID: a small number of the context's PID namespace
      const ns = nspid(pid);
      assert.equal(ns.length, 2);
      assert.ok(ns[1]! < 20);
    });
  });

  test('ls / inside is the server root', () => {
    const inside = ok(inCtx(ctx.xid, 'ls /')).split('\n').filter(Boolean).sort();
    const server = readdirSync(root).sort();
    assert.deepEqual(inside, server);
  });

  test('an entered process is locked to the context address: bind 0.0.0.0 yields it', () => {
    const out = ok(inCtx(ctx.xid, 'nc -l -p 40141 & sleep 0.3; netstat -ltn; kill $!'));
    const line = out.split('\n').find((l) => l.includes(':40141 '));
    assert.ok(line, out);
    assert.match(line, new RegExp(`${ip.replace(/\./g, '\\.')}:40141 `));
  });

  test('exit status passes through; a command that cannot run gives 127', () => {
    assert.equal(inCtx(ctx.xid, 'exit 5').status, 5);
    assert.equal(inCtx(ctx.xid, 'kill -9 $$').status, 137);
    const r = chcontext(['--ctx', String(ctx.xid), '--', '/no/such/program']);
    assert.equal(r.status, 127, show(r));
    assert.match(r.stderr, /\/no\/such\/program/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });

  test('the guard keeps no descriptor of the processes it started, whichever way they ended', async () => {
    // the guard serves every enter for the context's lifetime: a descriptor
    // passed with a request (stdin/out/err) or a pty it made must not stay
    // open in it, on success or failure
    const guard = ctx.pid1;
    const fds = () => readdirSync(`/proc/${guard}/fd`).length;
    const start = fds();
    for (let i = 0; i < 5; i++) {
      assert.equal(chcontext(['--ctx', String(ctx.xid), '--', 'true']).status, 0);
      assert.equal(chcontext(['--ctx', String(ctx.xid), '--', '/no/such/program']).status, 127);
      assert.equal(chcontext(['--ctx', String(ctx.xid), '--', 'sh', '-c', 'exit 3'], { input: 'x' }).status, 3);
    }
    // the guard sends the exit status, then closes the connection: the caller may be gone
    // in between (a busy host caught one descriptor more); a leak stays
    await waitFor(() => fds() === start, 5000);
    assert.equal(fds(), start, `descriptors of the guard (PID ${guard}): ${readdirSync(`/proc/${guard}/fd`).join(' ')}`);
  });

  test('stdin and stdout are the caller own', () => {
    const r = chcontext(['--ctx', String(ctx.xid), '--', 'tr', 'a-z', 'A-Z'], { input: 'hello context\n' });
    assert.equal(ok(r), 'HELLO CONTEXT\n');
  });

  test('--pty: an interactive shell on a pty of the context (through tmux)', async () => {
    const name = `vctx-kernel-pty-${process.pid}`;
    const t = tmuxSession(name, `${tool('chcontext')} --ctx ${ctx.xid} --pty -- /bin/sh`);
    try {
      await waitFor(() => /[#$] ?$/m.test(t.capture()), 5000);
      t.keys('tty; echo MARK-$((6*7)); cat /dev/vctx/xid', 'Enter');
      // the three commands print one after another: wait for the last one's line,
      // not for MARK-42 (tmux may show the screen before cat has written)
      const xidLine = new RegExp(`^${ctx.xid}$`, 'm');
      let screen = '';
      await waitFor(() => xidLine.test((screen = t.capture())), 5000);
      assert.match(screen, /^\/dev\/pts\/\d+\nMARK-42\n/m);
      assert.match(screen, new RegExp(`^MARK-42\\n${ctx.xid}$`, 'm'));
      // the shell runs in the context's own devpts: the host has no such pty for it
      t.keys('exit', 'Enter');
      const gone = await waitFor(() => run('tmux', ['has-session', '-t', name]).status !== 0, 5000);
      assert.ok(gone, 'the pty session did not end after exit');
    } finally {
      t.kill();
    }
  });
});

describe('context 1, the spectator (the seed walk-through)', { skip }, () => {
  after(stopAll);

  test('ctx 1 sees a hidden process but cannot kill it; --ctx N kill of the inner PID works', async () => {
    const ctx = await startContext([], ['sleep', '3003']);
    try {
      const host = findByCmdline(procsOf(ctx.xid), 'sleep 3003')[0]!;
      assert.ok(host);
      // the host's shell does not see it through the context; ctx 1 sees it
      const seen = ok(chcontext(['--ctx', '1', '--', 'ps', 'ax', '-o', 'pid=,args=']));
      assert.match(seen, new RegExp(`^\\s*${host}\\s+sleep 3003$`, 'm'));
      // ... and cannot signal it
      const k = chcontext(['--ctx', '1', '--', 'kill', String(host)]);
      assert.notEqual(k.status, 0, show(k));
      assert.match(k.stderr, /not permitted/i);
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(running(host), 'the spectator killed a process');
      // in its own context, by the inner PID, the kill works
      const inner = nspid(host).at(-1)!;
      assert.notEqual(inner, host);
      chcontext(['--ctx', String(ctx.xid), '--', 'kill', String(inner)]);
      assert.ok(await waitFor(() => !running(host), 3000), 'kill inside did not end the process');
      // CMD ended: the context empties and is released
      await waitGone(ctx.xid);
    } finally {
      await stopContext(ctx);
    }
  });

  // the seed: `chcontext --ctx N kill PID` of the context's main process reports success
  // (the reaper reports entered processes that end with CMD before the context ends).
  test(
    'chcontext --ctx N kill of the context command exits 0',
    async () => {
      const ctx = await startContext([], ['sleep', '3004']);
      try {
        const host = findByCmdline(procsOf(ctx.xid), 'sleep 3004')[0]!;
        const r = chcontext(['--ctx', String(ctx.xid), '--', 'kill', String(nspid(host).at(-1))]);
        assert.equal(r.status, 0, show(r));
        assert.equal(r.stderr, '');
        // and the kill happened: the command is gone, so the context ends and is released
        assert.ok(await waitFor(() => !running(host), 3000), 'the context command still runs');
        await waitGone(ctx.xid);
      } finally {
        await stopContext(ctx);
      }
    },
  );

  test('chcontext --ctx N kill of another process inside exits 0', async () => {
    const ctx = await startContext([], ['sh', '-c', 'sleep 3005 & exec sleep 3006'], 3);
    try {
      const host = await waitFor(() => findByCmdline(procsOf(ctx.xid), 'sleep 3005')[0] ?? 0);
      assert.ok(host);
      const r = chcontext(['--ctx', String(ctx.xid), '--', 'kill', String(nspid(host).at(-1))]);
      assert.equal(r.status, 0, show(r));
      assert.ok(await waitFor(() => !running(host), 3000));
    } finally {
      await stopContext(ctx);
    }
  });
});

describe('--ctx N is only for the host (context 0)', { skip }, () => {
  after(stopAll);

  /** chcontext --ctx ARGS run inside a new bare context (the host's chcontext is visible there) */
  function nested(args: string[]) {
    return chcontext(['--silent', '--', '/bin/sh', '-c', `echo xid=$(cat /dev/vctx/xid) >&2; exec ${tool('chcontext')} ${args.join(' ')}`]);
  }
  const inside = (r: ReturnType<typeof chcontext>): number => Number(/xid=(\d+)/.exec(r.stderr)?.[1]);

  test('inside a context, --ctx 1 ps ax is refused in one line, and ps does not run', () => {
    const r = nested(['--ctx', '1', '--', 'ps', 'ax']);
    assert.equal(r.status, 1, show(r));
    assert.equal(r.stdout, '', show(r));
    const x = inside(r);
    assert.ok(x >= 2, show(r));
    assert.equal(r.stderr.replace(/^xid=\d+\n/, ''),
      `chcontext: --ctx 1 is only for the host (context 0); this process is in context ${x}\n`);
  });

  test('inside a context, --ctx 4177 neither claims the static number nor enters a context of that number', async () => {
    const r = nested(['--ctx', '4177', '--', 'sleep', '1']);
    assert.equal(r.status, 1, show(r));
    const x = inside(r);
    assert.match(r.stderr, new RegExp(`^chcontext: --ctx 4177 is only for the host \\(context 0\\); this process is in context ${x}$`, 'm'));
    assert.equal(cgroupRel(4177), null, 'context 4177 was created inside a context');
    // the host can still use it, for the server configured with it
    const ctx = await startContext(['--ctx', '4177'], ['sleep', '3007']);
    try {
      assert.equal(ctx.xid, 4177);
      // entering from inside another context is refused the same way
      const e = nested(['--ctx', '4177', '--', 'true']);
      assert.equal(e.status, 1, show(e));
      assert.match(e.stderr, /^chcontext: --ctx 4177 is only for the host \(context 0\); this process is in context \d+$/m);
    } finally {
      await stopContext(ctx);
    }
  });
});
