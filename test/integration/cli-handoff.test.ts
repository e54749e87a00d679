/**
 * What crosses the border between the vserver command and the programs
 * around it, as data, not words:
 *
 * - vserver's C front (kernel/out/vserver) hands Node libvctx's cgroup
 *   layout and contexts (VCTX_FRONT_KERNEL): the very answers of the
 *   addon's cgroupLayout() and listContexts(), and `vserver NAME status`
 *   and `running` answer from them, with no addon;
 * - with VCTX_STATUS_FD=N the command's outcome is one JSON line on fd N
 *   (exit status, error, warnings): what vtop's helper reads instead of
 *   stderr (kernel/tools/vtop-helper.c);
 * - the addon's KernelError carries libvctx's kind of failure.
 *
 * Root: a named context of its own (chcontext --daemon), killed at the end.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { requireAddon } from '../../src/kernel-bridge/addon.js';
import { KernelError } from '../../src/kernel-bridge/errors.js';
import { bundleOf, ensureBundles } from '../helpers/commands.js';
import { isRoot, projectRoot, startContext, stopAll } from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root (the commands refuse other users; a real context)';
const base = mkdtempSync(join(tmpdir(), 'vctx-cli-handoff-'));
const paths = { VSERVER_CONFDIR: join(base, 'etc'), VSERVER_ROOTDIR: join(base, 'vs'), VSERVER_RUNDIR: join(base, 'run') };

interface Raw {
  cgroupLayout(): unknown;
  listContexts(): ({ flags: string } & Record<string, unknown>)[];
  release(xid: number): void;
}

/** runs the vserver bundle itself (not the front): @env and fds 0-3 as given */
function bundle(args: string[], env: Record<string, string> = {}, withStatusFd = false) {
  ensureBundles();
  const e: NodeJS.ProcessEnv = { ...process.env, ...paths };
  delete e.VCTX_FRONT_KERNEL;
  Object.assign(e, env);
  if (withStatusFd) e.VCTX_STATUS_FD = '3';
  const r = spawnSync(process.execPath, [bundleOf('vserver'), ...args], {
    env: e, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, fd3: r.output[3] as unknown as string };
}

after(async () => {
  await stopAll();
  rmSync(base, { recursive: true, force: true });
});

describe('vserver: what crosses its borders', { skip }, () => {
  test('the front hands Node the addon\'s own cgroup layout and contexts', async () => {
    const name = `handoff${process.pid % 10000}`;
    const ctx = await startContext(['--name', name, '--flag', 'nproc'], ['sleep', '300']);
    // a stand-in node on PATH shows what the front put in its environment
    const fake = join(base, 'fakebin');
    mkdirSync(fake, { recursive: true });
    writeFileSync(join(fake, 'node'), '#!/bin/sh\nprintf %s "$VCTX_FRONT_KERNEL"\n');
    chmodSync(join(fake, 'node'), 0o755);
    const r = spawnSync(join(projectRoot, 'kernel', 'out', 'vserver'), [name, 'status'], {
      encoding: 'utf8', env: { ...process.env, PATH: `${fake}:${process.env.PATH ?? '/usr/bin:/bin'}` },
    });
    assert.equal(r.status, 0, r.stderr);
    const handed = JSON.parse(r.stdout) as { cgroupLayout: unknown; contexts: { xid: number }[] };
    const raw = requireAddon() as unknown as Raw;
    assert.deepEqual(handed.cgroupLayout, raw.cgroupLayout());
    const mine = raw.listContexts().find((c) => c.xid === ctx.xid);
    assert.ok(mine, 'the addon lists the context');
    assert.deepEqual(handed.contexts.find((c) => c.xid === ctx.xid), { ...mine, flags: mine.flags.split(' ') });
    assert.equal(mine.name, name);
  });

  test('status and running answer from the hand-over (a context the kernel does not have)', () => {
    // a layout in a scratch directory and a context of that name there: only the hand-over knows it
    const cg = join(base, 'cg');
    mkdirSync(join(cg, 'vctx', '4242'), { recursive: true });
    writeFileSync(join(cg, 'vctx', '4242', 'cgroup.procs'), '123\n');
    writeFileSync(join(cg, 'vctx', '4242', 'cgroup.events'), 'populated 1\n');
    mkdirSync(paths.VSERVER_CONFDIR, { recursive: true });
    writeFileSync(join(paths.VSERVER_CONFDIR, 'handed.conf'), '');
    const front = JSON.stringify({
      cgroupLayout: { v2: cg, contexts: join(cg, 'vctx'), hybrid: false },
      contexts: [{ xid: 4242, name: 'handed', parentXid: 0, cgroup: join(cg, 'vctx', '4242'), root: '', pid1: 123, ip: null,
        loopback: null, capBounding: '0x0', flags: ['lock'], created: Math.floor(Date.now() / 1000), nprocs: 3 }],
    });
    const s = bundle(['handed', 'status'], { VCTX_FRONT_KERNEL: front });
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /^Vserver 'handed' is running at context '4242'\nNumber of processes: 3\n/);
    assert.equal(bundle(['handed', 'running'], { VCTX_FRONT_KERNEL: front }).status, 0);
    // without it the kernel is asked, and has no such server running
    const k = bundle(['handed', 'status']);
    assert.equal(k.status, 3, k.stderr);
    assert.equal(k.stdout, "Vserver 'handed' is stopped\n");
  });

  test('VCTX_STATUS_FD: the outcome as one JSON line, whatever stderr says', () => {
    const usage = bundle([], {}, true);
    assert.equal(usage.status, 2);
    assert.equal(usage.fd3, `${JSON.stringify({ exit: 2, error: "no server name given; try 'vserver --help'", warnings: [] })}\n`);
    mkdirSync(paths.VSERVER_CONFDIR, { recursive: true });
    const conf = join(paths.VSERVER_CONFDIR, 'badnice.conf');
    writeFileSync(conf, 'S_NICE="abc"\n');
    const warned = bundle(['badnice', 'status'], {}, true);
    assert.equal(warned.status, 3, warned.stderr);
    const line = JSON.parse(warned.fd3) as { exit: number; error: string | null; warnings: string[] };
    assert.deepEqual(line, { exit: 3, error: null, warnings: [`${conf}:1: S_NICE="abc": an integer nice level from -20 (highest priority) to 19 (lowest)`] });
    assert.equal(warned.stderr, `vserver: warning: ${line.warnings[0]}\n`, 'stderr says the same to people');
    const unknown = bundle(['nosuch', 'status'], {}, true);
    assert.equal(unknown.status, 3);
    assert.equal((JSON.parse(unknown.fd3) as { error: string }).error, `unknown server 'nosuch' (no nosuch.conf in ${paths.VSERVER_CONFDIR})`);
  });

  test('the addon\'s KernelError has libvctx\'s kind of failure', () => {
    const raw = requireAddon() as unknown as Raw;
    assert.throws(() => raw.release(49150), (e: unknown) => e instanceof KernelError && e.code === 'ESRCH' && e.kind === 'failed');
  });
});
