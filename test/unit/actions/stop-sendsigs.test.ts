/**
 * stop's reading of a sysvinit shutdown: the sleep of Debian's sendsigs is
 * cut short only when nothing but it and its callers up to the init is left.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendsigsIdleSleep, type ProcEntry } from '../../../src/actions/stop.js';

const chain: ProcEntry[] = [
  { pid: 100, ppid: 90, comm: 'init', state: 'S' },
  { pid: 110, ppid: 100, comm: 'rc', state: 'S' },
  { pid: 111, ppid: 110, comm: 'startpar', state: 'S' },
  { pid: 120, ppid: 111, comm: 'sendsigs', state: 'S' },
  { pid: 121, ppid: 120, comm: 'sleep', state: 'S' },
];

test('sendsigs asleep with nothing else left: its sleep is named', () => {
  assert.equal(sendsigsIdleSleep(chain, 100), 121);
});

test('dead processes (zombies not yet reaped) do not count as left', () => {
  assert.equal(sendsigsIdleSleep([...chain, { pid: 130, ppid: 100, comm: 'sshd', state: 'Z' }], 100), 121);
});

test('a process sendsigs signalled is still there: the sleep is left alone', () => {
  assert.equal(sendsigsIdleSleep([...chain, { pid: 130, ppid: 100, comm: 'exim4', state: 'S' }], 100), null);
  assert.equal(sendsigsIdleSleep([...chain, { pid: 131, ppid: 121, comm: 'sleep', state: 'R' }], 100), null);
});

test('a sleep that is not sendsigs\' (a service script\'s) is left alone', () => {
  const nginx = chain.map((p) => (p.comm === 'sendsigs' ? { ...p, comm: 'nginx' } : p));
  assert.equal(sendsigsIdleSleep(nginx, 100), null);
});

test('a sendsigs sleep not under the server\'s init is left alone', () => {
  assert.equal(sendsigsIdleSleep(chain, 999), null);
  assert.equal(sendsigsIdleSleep(chain.filter((p) => p.comm !== 'rc'), 100), null);
});
