/**
 * Bad input to the kernel-level tools: one line naming what was wrong (plus
 * the `--help` hint for usage errors), the CONTRACT exit code (2 usage, 1
 * operation failed), and nothing left behind: no cgroup, guard socket,
 * mount or process.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import {
  hostState,
  isRoot,
  newLeftovers,
  runTool,
  show,
  startContext,
  stopAll,
  stopContext,
  type Result,
} from '../helpers/kernel.js';

const skip = isRoot ? false : 'needs root';
const MARK = `39${String(process.pid).slice(-3)}`;

/** processes running `sleep MARK` (the command every bad invocation names) */
function marked(): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8') === `sleep\0${MARK}\0`;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** the message line(s): one line, and for usage errors the --help hint after it */
function assertMessage(r: Result, tool: string, code: number, names: RegExp): void {
  assert.equal(r.status, code, show(r));
  assert.equal(r.stdout, '', show(r));
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines[0]!, names, show(r));
  assert.match(lines[0]!, new RegExp(`(^|/)${tool}: `), show(r));
  if (code === 2) {
    assert.ok(lines.length <= 2, show(r));
    if (lines.length === 2) assert.equal(lines[1], `Try '${tool} --help' for more information.`);
  } else {
    assert.equal(lines.length, 1, show(r));
  }
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

const cases: Array<{ name: string; tool: string; args: string[]; code: number; names: RegExp; uid?: number }> = [
  { name: 'not root', tool: 'chcontext', args: ['--', 'sleep', MARK], code: 1, names: /root/, uid: 65534 },
  { name: 'not root (chbind)', tool: 'chbind', args: ['--ip', '127.0.0.71', '--', 'sleep', MARK], code: 1, names: /root/, uid: 65534 },
  { name: 'not root (reducecap)', tool: 'reducecap', args: ['--secure', '--', 'sleep', MARK], code: 1, names: /root|permitted/, uid: 65534 },
  { name: 'unknown capability', tool: 'chcontext', args: ['--secure', '--cap', 'CAP_FLY', '--', 'sleep', MARK], code: 2, names: /CAP_FLY/ },
  { name: 'unknown capability (reducecap)', tool: 'reducecap', args: ['--cap', 'FLY', '--', 'sleep', MARK], code: 2, names: /FLY/ },
  { name: 'invalid IP', tool: 'chcontext', args: ['--ip', '999.1.1.1', '--', 'sleep', MARK], code: 2, names: /999\.1\.1\.1/ },
  { name: 'invalid IP (chbind)', tool: 'chbind', args: ['--ip', '999.1.1.1', '--', 'sleep', MARK], code: 2, names: /999\.1\.1\.1/ },
  { name: 'non-local IP (chbind)', tool: 'chbind', args: ['--ip', '198.51.100.7', '--', 'true'], code: 1, names: /198\.51\.100\.7.*local/ },
  {
    name: 'non-local IP (chcontext)', tool: 'chcontext', args: ['--ip', '198.51.100.7', '--', 'true'], code: 1, names: /198\.51\.100\.7/,
  },
  { name: 'XID out of range', tool: 'chcontext', args: ['--ctx', '70000', '--', 'sleep', MARK], code: 2, names: /70000/ },
  { name: 'missing root directory', tool: 'chcontext', args: ['--root', '/nonexistent/vctx', '--', 'sleep', MARK], code: 1, names: /\/nonexistent\/vctx/ },
  { name: 'unknown flag', tool: 'chcontext', args: ['--bogus', '--', 'sleep', MARK], code: 2, names: /--bogus/ },
  { name: 'unknown --flag value', tool: 'chcontext', args: ['--flag', 'wings', '--', 'sleep', MARK], code: 2, names: /wings/ },
  { name: 'no command', tool: 'chcontext', args: ['--secure'], code: 2, names: /command/ },
  { name: 'no command (chbind)', tool: 'chbind', args: ['--ip', '127.0.0.71'], code: 2, names: /command/ },
  { name: 'bad rlimit', tool: 'chcontext', args: ['--rlimit', 'nofile=lots', '--', 'sleep', MARK], code: 2, names: /nofile=lots/ },
  { name: 'bad --pids', tool: 'chcontext', args: ['--pids', '0', '--', 'sleep', MARK], code: 2, names: /'0'/ },
  { name: 'context 0 is the host', tool: 'chcontext', args: ['--ctx', '0', '--', 'sleep', MARK], code: 2, names: /context 0/ },
  { name: 'entering a context that does not run, as a pty', tool: 'chcontext', args: ['--pty', '--', 'sleep', MARK], code: 2, names: /--pty/ },
];

describe('bad input leaves nothing behind', { skip }, () => {
  after(stopAll);

  for (const c of cases) {
    test(`${c.tool}: ${c.name}`, async () => {
      const before = hostState();
      const r = runTool(c.tool, c.args, c.uid === undefined ? {} : { uid: c.uid, gid: c.uid });
      try {
        assertMessage(r, c.tool, c.code, c.names);
      } finally {
        assert.deepEqual(marked(), [], 'a process of the refused command runs');
        assert.deepEqual(await newLeftovers(before), []);
      }
    });
  }

  test('a second --daemon --name X fails "already running"; the first is untouched', async () => {
    const name = `kerr-${process.pid}`;
    const first = await startContext(['--name', name], ['sleep', '3401']);
    try {
      const before = hostState();
      const r = runTool('chcontext', ['--daemon', '--name', name, '--', 'sleep', MARK]);
      assertMessage(r, 'chcontext', 1, new RegExp(`${name} is already running`));
      assert.deepEqual(marked(), []);
      assert.deepEqual(await newLeftovers(before), []);
      // the running one still runs
      assert.ok(readFileSync(`/proc/${first.pid1}/status`, 'utf8'));
    } finally {
      await stopContext(first);
    }
  });

  test('--ctx N of a running context enters it (not an error)', async () => {
    const ctx = await startContext([], ['sleep', '3402']);
    try {
      const r = runTool('chcontext', ['--ctx', String(ctx.xid), '--', 'cat', '/dev/vctx/xid']);
      assert.equal(r.status, 0, show(r));
      assert.equal(r.stderr, '');
      assert.equal(r.stdout, `${ctx.xid}\n`, 'the command ran inside that context');
    } finally {
      await stopContext(ctx);
    }
  });
});

describe('static XID', { skip }, () => {
  before(() => {});
  after(stopAll);

  test('--ctx N of a free static number creates the context with that XID', async () => {
    const xid = 4200 + (process.pid % 700);
    const ctx = await startContext(['--ctx', String(xid)], ['sleep', '3403']);
    try {
      assert.equal(ctx.xid, xid);
    } finally {
      await stopContext(ctx);
    }
  });
});
