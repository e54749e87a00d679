// vps: the CONTEXT column inserted into recorded ps outputs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import { contextNames } from '../../../src/views/names.js';
import {
  contextField,
  findPidColumn,
  insertContextColumn,
  PsParseError,
  vpsJson,
} from '../../../src/views/vps.js';

const dir = join(import.meta.dirname, '../../fixtures/observe');
const snap = new FixtureSnapshotSource(join(dir, 'host.json')).snapshot();
const xids = new Map(snap.processes.map((p) => [p.pid, p.xid]));
const xidOf = (pid: number): number | undefined => xids.get(pid);
const names = contextNames(snap);

// ps-ax: procps 4 `ps ax`; ps-ef: `ps -ef` with an overlong user name and
// a PID wider than its column; ps-o-ppid-pid: a PPID column before PID
// (util-vserver's strstr("PID") took PPID); ps-pid-last: PID as last column.
for (const name of ['ps-ax', 'ps-ef', 'ps-o-ppid-pid', 'ps-pid-last']) {
  test(`golden: ${name}`, () => {
    const input = readFileSync(join(dir, `${name}.txt`), 'utf8');
    const want = readFileSync(join(dir, `${name}.golden`), 'utf8');
    assert.equal(insertContextColumn(input, xidOf, names), want);
  });
}

test('header: CONTEXT padded to 20 right after "PID "', () => {
  const out = insertContextColumn('  PID TTY\n    1 ?\n', xidOf, names);
  assert.equal(out.split('\n')[0], '  PID CONTEXT             TTY');
  assert.equal('CONTEXT             '.length, 20);
});

const fieldCases: [number | null, string, string][] = [
  [0, 'MAIN', '    0 MAIN          '],
  [1, 'ALL_PROC', '    1 ALL_PROC      '],
  [49152, '', '49152               '],
  [2, 'abcdefghijklmn', '    2 abcdefghijklmn '], // 20 long: one space follows
  [2, 'abcdefghijklm', '    2 abcdefghijklm '],
  [3, 'a-server-name-longer-than-twenty', '    3 a-server-name-longer-than-twenty '],
  [null, '', '  ERR               '],
  [123456, 'x', '123456 x            '],
];

for (const [xid, name, want] of fieldCases) {
  test(`contextField(${xid}, '${name}')`, () => {
    assert.equal(contextField(xid, name), want);
  });
}

test('findPidColumn matches the PID token, not PPID or TPGID', () => {
  assert.deepEqual(findPidColumn(' PPID   PID COMMAND'), { end: 12, token: 1 });
  assert.deepEqual(findPidColumn('TPGID COMMAND'), null);
  assert.deepEqual(findPidColumn('  PID TTY'), { end: 6, token: 0 });
});

test('output without a PID column is an error naming the fix', () => {
  assert.throws(() => insertContextColumn('COMMAND\nsh\n', xidOf, names), PsParseError);
  assert.throws(() => insertContextColumn('COMMAND\nsh\n', xidOf, names), /PID column/);
});

test('empty output stays empty; a missing final newline is kept missing', () => {
  assert.equal(insertContextColumn('', xidOf, names), '');
  assert.equal(insertContextColumn('  PID\n    1', xidOf, names), '  PID CONTEXT             \n    1     0 MAIN          ');
});

test('escaped names in the CONTEXT column', () => {
  const out = insertContextColumn('  PID CMD\n  700 init\n', xidOf, names);
  assert.equal(out.split('\n')[1], '  700     4 tab\\tname     init');
});

test('a row that is not a process row (no number under PID) passes unchanged', () => {
  const out = insertContextColumn('  PID CMD\n  abc x\n', xidOf, names);
  assert.equal(out.split('\n')[1], '  abc x');
});

test('--json document', () => {
  const input = readFileSync(join(dir, 'ps-ax.txt'), 'utf8');
  const doc = vpsJson(input, xidOf, names);
  assert.equal(doc.header, '    PID TTY      STAT   TIME COMMAND');
  assert.equal(doc.processes.length, 10);
  assert.deepEqual(doc.processes[0], { pid: 1, xid: 0, context: 'MAIN', ps: '      1 ?        Ss     0:05 /sbin/init' });
  assert.deepEqual(doc.processes.find((p) => p.pid === 700)!.context, 'tab\tname');
  assert.deepEqual(doc.processes.find((p) => p.pid === 999), {
    pid: 999,
    xid: null,
    context: '',
    ps: '    999 ?        S      0:00 gone-before-snapshot',
  });
});
