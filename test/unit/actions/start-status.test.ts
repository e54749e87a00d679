import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { consoleTail, parseChcontextStatus } from '../../../src/actions/start.js';

describe("chcontext --status-fd's line", () => {
  it('a context: xid and PID 1', () => {
    assert.deepEqual(parseChcontextStatus('{"xid":50123,"pid1":4242}\n'), { xid: 50123, pid1: 4242 });
  });
  it('an error: its kind decides, with errno, code and message', () => {
    assert.deepEqual(parseChcontextStatus('{"error":{"kind":"VCTX_ERR_RUNNING","errno":17,"code":"EEXIST","message":"server a is already running"}}\n'),
      { error: { kind: 'VCTX_ERR_RUNNING', errno: 17, code: 'EEXIST', message: 'server a is already running' } });
  });
  it('nothing, or not the line: null', () => {
    assert.equal(parseChcontextStatus(''), null);
    assert.equal(parseChcontextStatus('50123 4242\n'), null);
    assert.equal(parseChcontextStatus('{"xid":"x"}'), null);
  });
});

describe('the console tail of a failed start', () => {
  it('the last lines, escaped, on one line', () => {
    const d = mkdtempSync(join(tmpdir(), 'vctx-tail-'));
    try {
      const f = join(d, 'console');
      writeFileSync(f, 'one\ntwo\n\nthree \x1b[31mred\nfour\nfive\n');
      assert.equal(consoleTail(f, 3), 'three \\x1b[31mred | four | five');
      assert.equal(consoleTail(join(d, 'none')), '');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
