/**
 * vtop's privileged helper on its own (root, real kernel): whatever the
 * drawing side sends, only the fixed set of well-formed requests is carried
 * out; a kill names exactly the process seen (PID + start time); the helper
 * exits when its parent disconnects.  Every process made here is killed
 * when the file ends.
 */
import assert from 'node:assert/strict';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { helperPath, type HelperReply } from '../../src/actions/vtop-actions.js';
import type { ActionResult } from '../../src/ui/actions-port.js';

const isRoot = process.getuid?.() === 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const base = mkdtempSync(join(tmpdir(), 'vctx-vtop-helper-'));
const confdir = join(base, 'etc');
const children: ChildProcess[] = [];
let helper: ChildProcess;
let nextId = 1;

function ask(req: unknown): Promise<ActionResult> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to ${JSON.stringify(req)}`)), 10_000);
    const on = (m: HelperReply) => {
      if ('id' in m && m.id === id) {
        clearTimeout(t);
        helper.off('message', on);
        resolve(m.result);
      }
    };
    helper.on('message', on);
    helper.send({ id, req });
  });
}

function startTimeOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return null;
  }
}

function victim(): ChildProcess {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  return c;
}

before(async () => {
  if (!isRoot) return;
  mkdirSync(confdir);
  writeFileSync(join(confdir, 'known.conf'), 'S_HOSTNAME="known"\n');
  helper = fork(helperPath(), [], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, VSERVER_CONFDIR: confdir, VSERVER_ROOTDIR: join(base, 'roots'), VSERVER_RUNDIR: join(base, 'run'), PATH: '/usr/bin:/bin' },
  });
  await new Promise<void>((resolve, reject) => {
    helper.once('message', (m: HelperReply) => ('ready' in m ? resolve() : reject(new Error('not ready'))));
    helper.once('exit', (c) => reject(new Error(`helper exited ${c}`)));
  });
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (helper && helper.exitCode === null && helper.signalCode === null) helper.kill('SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

describe('vtop helper', { skip: !isRoot && 'needs root' }, () => {
  test('refuses anything outside the fixed set, and sends nothing', async () => {
    const v = victim();
    await sleep(50);
    const pid = v.pid!;
    const st = startTimeOf(pid)!;
    const bad: [unknown, RegExp][] = [
      [null, /not a request/],
      ['kill', /not a request/],
      [[1, 2], /not a request/],
      [{ type: 'exec', name: 'known' }, /unknown request type/],
      [{ type: 'constructor' }, /unknown request type/],
      [{ type: 'kill', pid, startTime: st, signal: 'SIGHUP' }, /only SIGTERM and SIGKILL/],
      [{ type: 'kill', pid, startTime: st, signal: 9 }, /only SIGTERM and SIGKILL/],
      [{ type: 'kill', pid, startTime: 0, signal: 'SIGTERM' }, /not a start time/],
      [{ type: 'kill', pid, startTime: st + 0.5, signal: 'SIGTERM' }, /not a start time/],
      [{ type: 'kill', pid: -1, startTime: st, signal: 'SIGTERM' }, /not a process ID/],
      [{ type: 'kill', pid: String(pid), startTime: st, signal: 'SIGTERM' }, /not a process ID/],
      [{ type: 'kill', pid, startTime: st, signal: 'SIGTERM', sudo: true }, /unexpected field/],
      [{ type: 'killContext', xid: 0, signal: 'SIGKILL' }, /context 0 cannot be signalled/],
      [{ type: 'killContext', xid: 1, signal: 'SIGKILL' }, /context 1 cannot be signalled/],
      [{ type: 'killContext', xid: 70000, signal: 'SIGKILL' }, /not a context number/],
      [{ type: 'start', name: '../etc/passwd' }, /contains '\/'/],
      [{ type: 'start', name: '-rf' }, /starts with '-'/],
      [{ type: 'stop', name: 'nosuch' }, /no server 'nosuch'/],
      [{ type: 'enter', name: 42 }, /no server name/],
    ];
    for (const [req, why] of bad) {
      const r = await ask(req);
      assert.equal(r.ok, false, JSON.stringify(req));
      assert.match(r.message, /^refused: /);
      assert.match(r.message, why, JSON.stringify(req));
    }
    assert.equal(startTimeOf(pid), st, 'the victim was never signalled');
  });

  test('a kill with a start time that is not the process\'s is "already gone" and sends nothing', async () => {
    const v = victim();
    await sleep(50);
    const st = startTimeOf(v.pid!)!;
    const r = await ask({ type: 'kill', pid: v.pid, startTime: st + 1, signal: 'SIGKILL' });
    assert.deepEqual(r, { ok: false, message: `PID ${v.pid} is already gone: nothing sent` });
    assert.equal(startTimeOf(v.pid!), st);
  });

  test('a kill with the right PID and start time is delivered', async () => {
    const v = victim();
    await sleep(50);
    const exited = new Promise<string | null>((r) => v.once('exit', (_c, sig) => r(sig)));
    const r = await ask({ type: 'kill', pid: v.pid, startTime: startTimeOf(v.pid!)!, signal: 'SIGTERM' });
    assert.equal(r.ok, true, r.message);
    assert.match(r.message, new RegExp(`^sent SIGTERM to PID ${v.pid} \\(context 0\\)$`));
    assert.equal(await exited, 'SIGTERM');
  });

  test('a whole context that is not running is "already gone"', async () => {
    const r = await ask({ type: 'killContext', xid: 65_535, signal: 'SIGTERM' });
    assert.equal(r.ok, false);
    assert.match(r.message, /context 65535/);
  });

  test('the helper exits when vtop disconnects', async () => {
    const exited = new Promise<number | null>((r) => helper.once('exit', (c) => r(c)));
    helper.disconnect();
    assert.equal(await exited, 0);
    assert.ok(!existsSync(`/proc/${helper.pid}/stat`) || startTimeOf(helper.pid!) === null);
  });
});
