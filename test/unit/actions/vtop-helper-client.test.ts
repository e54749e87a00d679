/**
 * vtop's side of the privileged helper's line protocol, without root: the
 * request lines, the parsing of replies, and HelperActions against a
 * stand-in helper (a node script on the other end of the fd 3 socket) that
 * answers out of order, dies, or never says ready.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import { HelperActions, parseHelperLine, requestLine } from '../../../src/actions/vtop-actions.js';

/** a stand-in helper: says ready (unless told not to), echoes each request; a stop answers late, a start fails, NAME `die` exits 3 */
function standIn(opts: { ready?: boolean } = {}): HelperActions {
  const script = `
    const s = new (require('node:net').Socket)({ fd: 3, readable: true, writable: true });
    if (${opts.ready !== false}) s.write('ready\\n');
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      for (let i; (i = buf.indexOf('\\n')) >= 0; buf = buf.slice(i + 1)) {
        const [id, verb, ...rest] = buf.slice(0, i).split(' ');
        if (rest[0] === 'die') { process.stderr.write('something broke\\n'); process.exit(3); }
        const answer = () => s.write(id + (verb === 'start' ? ' err no: ' : ' ok ') + [verb, ...rest].join(' ') + '\\n');
        if (verb === 'stop') setTimeout(answer, 300); else answer();
      }
    });
    s.on('end', () => process.exit(0));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  return new HelperActions(child, 2000);
}

describe('the helper protocol', () => {
  test('request lines', () => {
    assert.equal(requestLine(1, { type: 'kill', pid: 42, startTime: 12345, signal: 'SIGTERM' }), '1 kill 42 12345 SIGTERM');
    assert.equal(requestLine(2, { type: 'killContext', xid: 49152, signal: 'SIGKILL' }), '2 killctx 49152 SIGKILL');
    assert.equal(requestLine(3, { type: 'start', name: 'web' }), '3 start web');
    assert.equal(requestLine(4, { type: 'enter', name: 'a b' }), '4 enter a b', 'the helper judges the name');
    assert.equal(requestLine(5, { type: 'stop', name: 'web\n6 kill 1 1 SIGKILL' }), null, 'no second request smuggled in');
    assert.equal(requestLine(6, { type: 'stop', name: 'web\r' }), null);
  });

  test('reply lines', () => {
    assert.deepEqual(parseHelperLine('ready'), { ready: true });
    assert.deepEqual(parseHelperLine('7 ok sent SIGTERM to PID 42 (context 5)'), { id: 7, result: { ok: true, message: 'sent SIGTERM to PID 42 (context 5)' } });
    assert.deepEqual(parseHelperLine('8 err refused: not a process ID'), { id: 8, result: { ok: false, message: 'refused: not a process ID' } });
    assert.deepEqual(parseHelperLine('9 ok '), { id: 9, result: { ok: true, message: '' } });
    for (const bad of ['', 'ready ', '0 err refused: not a request', '07 ok x', '1 maybe x', 'x ok y', '1 ok', `${'9'.repeat(16)} ok x`]) {
      assert.equal(parseHelperLine(bad), null, JSON.stringify(bad));
    }
  });
});

describe('HelperActions', () => {
  test('answers each call with its own reply, in whatever order they come', async () => {
    const a = standIn();
    assert.equal(await a.ready, true);
    const stop = a.stop({ name: 'web' });
    const kill = a.kill({ pid: 42, startTime: 99, signal: 'SIGKILL' });
    const first = await Promise.race([stop.then(() => 'stop'), kill.then(() => 'kill')]);
    assert.equal(first, 'kill', 'a slow stop does not hold up a kill');
    assert.deepEqual(await kill, { ok: true, message: 'kill 42 99 SIGKILL' });
    assert.deepEqual(await stop, { ok: true, message: 'stop web' });
    assert.deepEqual(await a.killContext({ xid: 7, signal: 'SIGTERM' }), { ok: true, message: 'killctx 7 SIGTERM' });
    assert.deepEqual(await a.start({ name: 'web' }), { ok: false, message: 'no: start web' });
    assert.deepEqual(await a.stop({ name: 'x\ny' }), { ok: false, message: 'refused: a request cannot contain a line break' });
    a.close();
  });

  test('a helper that dies fails what is pending and what comes after, with its last words', async () => {
    const a = standIn();
    assert.equal(await a.ready, true);
    const pending = a.stop({ name: 'web' });
    const died = await a.restart({ name: 'die' }).catch(() => null);
    const pattern = /^the privileged helper exited with 3: something broke; actions are unavailable$/;
    assert.match(died!.message, pattern);
    assert.match((await pending).message, pattern);
    assert.equal((await a.kill({ pid: 1, startTime: 1, signal: 'SIGTERM' })).ok, false);
  });

  test('a helper that never says ready: not ready, and calls fail', async () => {
    const a = standIn({ ready: false });
    assert.equal(await a.ready, false);
    const r = await a.enter({ name: 'web' });
    assert.equal(r.ok, false);
    assert.match(r.message, /did not start within 2000 ms/);
    a.close();
  });
});
