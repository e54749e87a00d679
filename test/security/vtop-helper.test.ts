/**
 * Attack case: vtop's privileged helper signals servers only
 * (docs/security.md).
 *
 * Attack: the drawing side of vtop is compromised (it parses text from
 *   inside servers; a bug there runs the attacker's code in it).  It cannot
 *   signal anything itself (the spectator's seccomp filter), so it asks the
 *   root helper on its socket to SIGKILL a host process - sshd, say - with
 *   the right PID and start time, exactly as a legitimate kill looks.
 * Probe: this file is that UI: it starts the helper as vtop does and sends
 *   the request for a host process the test started (a sleep standing in
 *   for sshd), and `killctx` for the host's and the spectator's contexts.
 * Safe outcome: every such request is refused (EPERM, logged), the host
 *   process lives; a process of a server (context >= 2) is still killed.
 * Detection: the helper started with --allow-host-kill (what
 *   `vtop --allow-host-kill` passes: the mechanism switched off) kills the
 *   same process on the same request, and the case reports it.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, test } from 'node:test';
import { HELPER } from '../../src/actions/vtop-actions.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { startDaemonContext } from '../helpers/daemon-context.js';
import { sleep, startTimeOf, waitFor } from '../helpers/kernel.js';

const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root' : !existsSync(HELPER) ? `${HELPER} is not built` : false;
const base = mkdtempSync(join(tmpdir(), 'vctx-sec-helper-'));
const children: ChildProcess[] = [];
const contexts: number[] = [];

/** the helper as vtop starts it, spoken to as a compromised UI would */
async function helper(flags: string[]): Promise<{ ask(req: string): Promise<string>; close(): void }> {
  const bin = join(base, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'logger'), `#!/bin/sh\nprintf '%s\\n' "$*" >> ${join(base, 'log')}\n`);
  chmodSync(join(bin, 'logger'), 0o755);
  const child = spawn(HELPER, [...flags, '--', 'true'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { ...process.env, VSERVER_CONFDIR: base, VSERVER_REQUESTED_BY: 'attack case', PATH: `${bin}:${process.env['PATH']}` },
  });
  children.push(child);
  child.stderr!.resume();
  const sock = child.stdio[3] as Socket;
  const lines: string[] = [];
  createInterface({ input: sock }).on('line', (l) => lines.push(l));
  assert.ok(await waitFor(() => lines.includes('ready'), 5000, 20), 'the helper says ready');
  let id = 1;
  return {
    ask: async (req) => {
      const n = id++;
      sock.write(`${n} ${req}\n`);
      let got: string | undefined;
      assert.ok(await waitFor(() => !!(got = lines.find((l) => l.startsWith(`${n} `))), 10_000, 20), `a reply to ${req}`);
      return got!.slice(String(n).length + 1);
    },
    close: () => sock.end(),
  };
}

/** a host process standing in for sshd */
function hostProcess(): { pid: number; start: number; alive(): boolean } {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  const pid = c.pid!;
  let start = 0;
  return {
    pid,
    get start() {
      return start || (start = startTimeOf(pid)!);
    },
    alive: () => c.exitCode === null && c.signalCode === null && startTimeOf(pid) === start,
  };
}

describe('attack: a compromised vtop UI asks its helper to kill a host process', { skip }, () => {
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const x of contexts) {
      try { killContext(x, 'SIGKILL'); } catch { /* gone */ }
    }
    rmSync(base, { recursive: true, force: true });
  });

  test('refused: the host process lives; a server process is still killed', async () => {
    const h = await helper([]);
    const victim = hostProcess();
    await sleep(50);
    assert.match(await h.ask(`kill ${victim.pid} ${victim.start} SIGKILL`), /^err EPERM: .*not a server's/);
    assert.match(await h.ask('killctx 0 SIGKILL'), /^err refused: context 0 cannot be signalled/);
    assert.match(await h.ask('killctx 1 SIGKILL'), /^err refused: context 1 cannot be signalled/);
    await sleep(200);
    assert.ok(victim.alive(), 'ESCAPE: the helper killed a host process on the UI\'s word');

    // the helper still does its job for servers
    const xid = startDaemonContext(['--secure', '--', 'sleep', '300'], contexts);
    let p: { pid: number; startTime: number } | undefined;
    const snap = new NativeSnapshotSource();
    assert.ok(await waitFor(() => !!(p = snap.snapshot().processes.find((q) => q.xid === xid && /^sleep/.test(q.cmdline))), 5000, 50));
    assert.equal(await h.ask(`kill ${p!.pid} ${p!.startTime} SIGKILL`), `ok sent SIGKILL to PID ${p!.pid} (context ${xid})`);
    h.close();
  });

  test('the case detects its attack: with --allow-host-kill the same request kills the host process', async () => {
    const h = await helper(['--allow-host-kill']);
    const victim = hostProcess();
    await sleep(50);
    assert.match(await h.ask(`kill ${victim.pid} ${victim.start} SIGKILL`), /^ok sent SIGKILL/);
    assert.ok(await waitFor(() => !victim.alive(), 5000, 20), 'the probe sees the host process die when the check is off');
    h.close();
  });
});
