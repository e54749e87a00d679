/**
 * Race-free signalling against the real kernel (root): killPid refuses a
 * PID whose start time is not the one seen, and the processes of private
 * contexts; killContext reaches every process of a context.  Every
 * process and context made here is killed when the file ends.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { KernelError } from '../../src/kernel-bridge/errors.js';
import { killContext, killPid, parseSignal } from '../../src/kernel-bridge/kill.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { chcontext, startDaemonContext } from '../helpers/daemon-context.js';
import { running, sleep, startTimeOf, waitFor } from '../helpers/kernel.js';

const contexts: number[] = [];
const children: ChildProcess[] = [];
const source = new NativeSnapshotSource();

const startContext = (args: string[]) => startDaemonContext(args, contexts);

function expectKernelError(fn: () => unknown, code: string, message?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof KernelError, `a KernelError, not ${String(e)}`);
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  });
}

function hostChild(): ChildProcess {
  const c = spawn('sleep', ['997'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const xid of contexts) {
    try { killContext(xid, 'SIGKILL'); } catch { /* gone */ }
  }
  await waitFor(() => !source.snapshot().contexts.some((c) => contexts.includes(c.xid)), 5000, 50);
});

describe('killPid', () => {
  test('a wrong start time is ESRCH and the process lives', async () => {
    const c = hostChild();
    await sleep(50);
    const start = startTimeOf(c.pid!)!;
    expectKernelError(() => killPid(c.pid!, start + 1, 'SIGKILL'), 'ESRCH', /no such process/);
    expectKernelError(() => killPid(c.pid!, Math.max(1, start - 1), 9), 'ESRCH');
    await sleep(100);
    assert.equal(startTimeOf(c.pid!), start, 'still running');
    assert.equal(c.exitCode, null);
  });

  test('the right start time delivers the signal', async () => {
    const c = hostChild();
    await sleep(50);
    const seen = source.snapshot().processes.find((p) => p.pid === c.pid)!;
    const exited = new Promise<NodeJS.Signals | null>((r) => c.on('exit', (_code, sig) => r(sig)));
    killPid(seen.pid, seen.startTime, 'TERM');
    assert.equal(await exited, 'SIGTERM');
    // now gone: ESRCH
    expectKernelError(() => killPid(seen.pid, seen.startTime, 0), 'ESRCH');
  });

  test('bad input is EINVAL', () => {
    expectKernelError(() => killPid(0, 0, 'TERM'), 'EINVAL');
    expectKernelError(() => killPid(-5, 0, 'TERM'), 'EINVAL');
    expectKernelError(() => killPid(1, -1, 'TERM'), 'EINVAL');
    expectKernelError(() => killPid(1, 0, 'NOPE'), 'EINVAL', /not a signal/);
    expectKernelError(() => killPid(1, 0, 65), 'EINVAL');
    assert.equal(parseSignal('hup'), 1);
    assert.equal(parseSignal('SIGKILL'), 9);
    assert.equal(parseSignal('15'), 15);
    assert.equal(parseSignal(' TERM '), 15);
    assert.equal(parseSignal('SIGFOO'), null);
    assert.equal(parseSignal(3.5), null);
  });
});

describe('contexts', { skip: !existsSync(chcontext) && `${chcontext} is not built (make -C kernel)` }, () => {
  test('a process of a private context is refused with EPERM; the context can still be killed whole', async () => {
    const xid = startContext(['--flag', 'private', 'sleep', '1000']);
    await sleep(200);
    const s = source.snapshot();
    const ctx = s.contexts.find((c) => c.xid === xid)!;
    assert.deepEqual(ctx.flags, ['private']);
    const p = s.processes.find((q) => q.xid === xid)!;
    expectKernelError(() => killPid(p.pid, p.startTime, 'SIGKILL'), 'EPERM', new RegExp(`private context ${xid}`));
    assert.equal(startTimeOf(p.pid), p.startTime, 'still running');
    assert.equal(killContext(xid, 'SIGKILL'), ctx.nprocs);
    assert.ok(await waitFor(() => startTimeOf(p.pid) !== p.startTime, 5000, 50), 'killed with its context');
  });

  test('killContext delivers a signal to every process and SIGKILL empties the context', async () => {
    // the command ignores SIGTERM (an ignored signal stays so across exec), the sleeps it
    // started before do not: after SIGTERM the context is its reaper and the command, which
    // keeps the reaper (it ends when its command ends) and so the context going
    const xid = startContext(['sh', '-c', 'sleep 1000 & sleep 1000 & trap "" TERM; exec sleep 1000']);
    // the reaper and three sleeps, once the shell has forked twice and exec'd
    assert.ok(await waitFor(() => source.snapshot().processes.filter((p) => p.xid === xid && p.comm === 'sleep').length === 3, 5000, 50));
    const s = source.snapshot();
    const ctx = s.contexts.find((c) => c.xid === xid)!;
    const procs = s.processes.filter((p) => p.xid === xid);
    assert.equal(procs.length, 4);
    const sleeps = procs.filter((p) => p.comm === 'sleep');
    assert.equal(sleeps.length, 3);
    const reaper = procs.find((p) => p.comm !== 'sleep')!;
    const command = sleeps.find((p) => p.ppid === reaper.pid)!;
    const started = sleeps.filter((p) => p.ppid === command?.pid);
    assert.equal(started.length, 2, 'the command started the other two sleeps');
    // SIGTERM reaches all four; the two sleeps die (the command ignores it, the init of a PID
    // namespace too)
    assert.equal(killContext(xid, 'SIGTERM'), ctx.nprocs);
    // (zombies: the command does not reap them)
    assert.ok(await waitFor(() => started.every((p) => !running(p.pid) || startTimeOf(p.pid) !== p.startTime), 5000, 50),
      'the sleeps got SIGTERM');
    const left = source.snapshot().contexts.find((c) => c.xid === xid)!;
    assert.equal(left.nprocs, 2, 'the reaper and the command are left');
    assert.equal(startTimeOf(command.pid), command.startTime, 'the command ignored SIGTERM');
    // SIGKILL takes the rest, and the context goes away
    assert.equal(killContext(xid, 9), 2);
    assert.ok(await waitFor(() => !source.snapshot().contexts.some((c) => c.xid === xid), 5000, 50), 'the context is gone');
    expectKernelError(() => killContext(xid, 'SIGKILL'), 'ESRCH', /no such context/);
  });

  test('a signal reaches every process even when the first one signalled ends the context (frozen meanwhile)', async () => {
    // vctx-init forwards SIGTERM to the command and, once it ends, tears the PID namespace down:
    // unfrozen, the processes not signalled yet died of SIGKILL first (SIGTERM reached 224 of 302)
    const n = 300;
    const xid = startContext(['sh', '-c', `i=0; while [ $i -lt ${n} ]; do sleep 1000 & i=$((i+1)); done; exec sleep 1000`]);
    assert.ok(await waitFor(() => source.snapshot().processes.filter((p) => p.xid === xid && p.comm === 'sleep').length === n + 1, 20000, 50),
      `the ${n + 1} sleeps of context ${xid} started`);
    const ctx = source.snapshot().contexts.find((c) => c.xid === xid)!;
    assert.equal(ctx.nprocs, n + 2);
    const events = () => readFileSync(join(ctx.cgroup, 'cgroup.events'), 'utf8');
    // a signal nobody acts on: every process gets it, and the context runs on, thawed
    assert.equal(killContext(xid, 'SIGWINCH'), n + 2);
    assert.doesNotMatch(events(), /^frozen 1$/m);
    assert.equal(source.snapshot().contexts.find((c) => c.xid === xid)?.nprocs, n + 2);
    assert.equal(killContext(xid, 'SIGTERM'), n + 2);
    assert.ok(await waitFor(() => !source.snapshot().contexts.some((c) => c.xid === xid), 10000, 50), 'the context ended');
  });

  test('context 0 as a whole is refused', () => {
    expectKernelError(() => killContext(0, 'SIGTERM'), 'EINVAL', /context 0/);
    expectKernelError(() => killContext(65000, 'SIGTERM'), 'ESRCH');
  });
});
