/**
 * The one warning line of `vserver NAME start` when the inside views'
 * daemons do not answer on the host (src/actions/host-checks.ts).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VIEWS_START, viewsProblem } from '../../../src/actions/host-checks.js';

describe('viewsProblem', () => {
  test('both daemons answer: nothing to say', () => {
    assert.equal(viewsProblem('web', { lxcfs: true, netview: true }), null);
  });

  test('lxcfs missing: one line naming what the server sees instead and the command that starts it', () => {
    const w = viewsProblem('web', { lxcfs: false, netview: true })!;
    assert.equal(w, `'web' started without its inside views: lxcfs (free, top: the host's memory and load) does not run on the host; ` +
      `start it with: ${VIEWS_START}, then restart the server`);
    assert.match(VIEWS_START, /\/scripts\/vctx-views start$/);
  });

  test('both missing: still one line, naming both', () => {
    const w = viewsProblem('web', { lxcfs: false, netview: false })!;
    assert.ok(!w.includes('\n'));
    assert.match(w, /lxcfs \(free, top: the host's memory and load\) and vctx-netview \(ss, netstat: every socket of the host\) do not run on the host; start them with: /);
  });
});
