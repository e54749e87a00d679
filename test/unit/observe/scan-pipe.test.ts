// readScanPipe: the snapshot vserver-stat's front hands over on a pipe
// (kernel/tools/vserver-stat.c): the scan's failure is libvctx's error,
// and anything else that is not a snapshot is a one-line error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelError } from '../../../src/kernel-bridge/errors.js';
import { readScanPipe } from '../../../src/kernel-bridge/scan-pipe.js';

/** readScanPipe over a file holding @text */
function read(text: string): ReturnType<typeof readScanPipe> {
  const dir = mkdtempSync(join(tmpdir(), 'vctx-scan-pipe-'));
  try {
    writeFileSync(join(dir, 'scan'), text);
    return readScanPipe(openSync(join(dir, 'scan'), 'r'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a snapshot comes back as it was written', () => {
  const snap = { takenAt: 1.5, clockTicks: 100, bootTime: 7, uptime: 2.25, pageSize: 4096, processes: [], contexts: [] };
  assert.deepEqual(read(JSON.stringify(snap)), snap);
});

test("the scan's failure is the KernelError the addon would have thrown", () => {
  assert.throws(() => read('{"error":"cannot open /proc: Permission denied","errno":13,"code":"EACCES"}'), (e: unknown) => {
    assert.ok(e instanceof KernelError);
    assert.equal(e.message, 'cannot open /proc: Permission denied');
    assert.equal(e.errno, 13);
    assert.equal(e.code, 'EACCES');
    return true;
  });
});

test('what is not a snapshot is an error naming what came', () => {
  assert.throws(() => read(''), /^Error: the snapshot from the front is not JSON \(.*; 0 bytes\)$/);
  assert.throws(() => read('{"processes":[]}'), /^Error: the snapshot from the front has no processes or contexts$/);
  assert.throws(() => read('[]'), /no processes or contexts/);
});
