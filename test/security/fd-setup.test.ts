/**
 * Attack: the server's root is its own to change, and the host mounts
 * into it at every start.  A server replaces /proc, /sys or /dev with a
 * symbolic link (to a host directory) or a FIFO, and waits for the next
 * start to mount through the link or to hang on the FIFO.
 * Probe: plant each, start a context on the root (chcontext --secure
 * --root, what `vserver NAME start` runs).
 * Safe outcome: the start refuses in a moment with one line naming the
 * path; the host directory the link points to is untouched and nothing is
 * mounted on the host.  Shown to detect: with the fd-based setup switched
 * off (VCTX_TEST_WEAKEN=fd-setup: links followed, as before) the start goes
 * through the link.
 */
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRoot, removeRoot } from '../helpers/busybox-root.js';
import { isRoot, show } from '../helpers/kernel.js';
import { inServer } from './common-f.js';

describe('attack suite: the host sets a server\'s tree up through descriptors', { skip: !isRoot && 'needs root' }, () => {
  let root = '';
  let hostDir = '';
  const mountinfo = () => readFileSync('/proc/self/mountinfo', 'utf8');
  let mountsBefore = '';
  before(async () => {
    root = await makeBusyboxRoot();
    hostDir = mkdtempSync(join(tmpdir(), 'vctx-hostdir-'));
    writeFileSync(join(hostDir, 'marker'), 'host\n');
    mountsBefore = mountinfo();
  });
  /** put the server's /NAME back as a directory */
  const restore = (name: string) => {
    rmSync(join(root, name), { recursive: true, force: true });
    mkdirSync(join(root, name), { mode: 0o555 });
  };
  afterEach(() => {
    for (const n of ['proc', 'sys', 'dev']) restore(n);
  });
  after(async () => {
    if (root) await removeRoot(root);
    if (hostDir) rmSync(hostDir, { recursive: true, force: true });
  });

  for (const name of ['proc', 'sys', 'dev']) {
    test(`/${name} as a link to a host directory: refused, the host directory untouched`, () => {
      rmSync(join(root, name), { recursive: true, force: true });
      symlinkSync(hostDir, join(root, name));
      const r = inServer(root, 'echo inside');
      assert.notEqual(r.status, null, `the start hung: ${show(r)}`);
      assert.notEqual(r.status, 0, `ESCAPE: the start went through the server's link:\n${show(r)}`);
      assert.match(r.stderr, new RegExp(`${root}/${name} is not a directory .*the host does not follow it`), show(r));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.deepEqual(readdirSync(hostDir), ['marker']);
      assert.equal(mountinfo(), mountsBefore, 'the host\'s mounts as before');
    });

    test(`/${name} as a FIFO: refused at once, nothing opens it`, () => {
      rmSync(join(root, name), { recursive: true, force: true });
      execFileSync('mkfifo', [join(root, name)]);
      const r = inServer(root, 'echo inside');
      assert.notEqual(r.status, null, `the start hung on the FIFO: ${show(r)}`);
      assert.notEqual(r.status, 0, show(r));
      assert.match(r.stderr, new RegExp(`${root}/${name} is not a directory`), show(r));
    });
  }

  test('detects: with the fd-based setup off (fd-setup) the start mounts through the link', () => {
    rmSync(join(root, 'dev'), { recursive: true, force: true });
    symlinkSync(hostDir, join(root, 'dev'));
    const r = inServer(root, 'test -c /dev/null && echo private-dev || echo no-dev', ['fd-setup']);
    assert.match(r.stderr, /no 'fd-setup' mechanism/);
    // the host's /dev went onto the link's target, so the server is left without its private /dev
    assert.equal(r.status, 0, `the probe reports the escape when the mechanism is off: ${show(r)}`);
    assert.match(r.stdout, /^no-dev$/m, show(r));
    assert.deepEqual(readdirSync(hostDir), ['marker'], 'in the context\'s own mount namespace only');
  });

  test('a root path longer than the limit is refused with one line', () => {
    const long = '/' + 'x'.repeat(300);
    const r = inServer(long, 'true');
    assert.equal(r.status, 1, show(r));
    assert.match(r.stderr, /root directory \/x{10,}\.\.\. is 301 bytes long; a server's root path may have at most 255/, show(r));
  });
});
