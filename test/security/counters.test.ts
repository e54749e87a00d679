/**
 * Attack case: per-uid kernel counters (docs/security.md).
 *
 * Attack: root inside a server is uid 0 outside, and the kernel counts
 *   inotify instances per user: with the kernel's default of 128, a server
 *   holding them makes inotify_init1 fail (EMFILE) for every root process
 *   of the host - systemd, udev, the host's services.  fanotify groups
 *   (128 per user) are the same kind of count; POSIX message-queue bytes
 *   and queued signals are per-uid pools checked against each caller's (or
 *   receiver's) rlimit, so a server with the host's limits fills them alone.
 * Probe: /bin/sys-probe inside a real server, as root, holds 4,096 inotify
 *   instances; meanwhile the same probe on the host, as root, asks for one;
 *   then fanotify_init inside.
 * Safe outcome: the host's root still gets its instance (a context's start
 *   raised fs.inotify.max_user_instances to the floor of
 *   kernel/tables/vctx-tables.json, as setup.sh does for boot); fanotify_init
 *   fails with EPERM (seccomp); the server fills at most a quarter of the
 *   message-queue and signal pools (its RLIMIT_MSGQUEUE and RLIMIT_SIGPENDING),
 *   and the host's root still opens a queue and queues a signal.
 * Detection: with the limit back at the kernel's 128 and
 *   VCTX_TEST_WEAKEN=counters (no raise, no fanotify rule, the host's
 *   rlimits), the host's root gets EMFILE from inotify_init1 and mq_open and
 *   EAGAIN for a queued signal, and fanotify_init works: the case reports
 *   the escape.  The
 *   limit is restored right after (it is host-wide: root lock held).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { ProbeServer } from '../helpers/probe-server.js';

const isRoot = process.getuid?.() === 0;
const INSTANCES = '/proc/sys/fs/inotify/max_user_instances';
const WATCHES = '/proc/sys/fs/inotify/max_user_watches';
const FLOOR = 1048576;
const read = (f: string) => Number(readFileSync(f, 'utf8'));

describe('attack: per-uid kernel counters', { skip: !isRoot && 'needs root' }, () => {
  let s: ProbeServer;
  before(async () => {
    s = await ProbeServer.create('ct');
  });
  after(async () => {
    await s?.destroy();
  });

  test("a server holding 4,096 inotify instances leaves the host's root its own; fanotify is refused", async () => {
    await s.start();
    try {
      assert.ok(read(INSTANCES) >= FLOOR && read(WATCHES) >= FLOOR, 'a start raised the limits to their floors');
      const held = s.hold('inotify', '4096');
      assert.equal(await held.line, 'made 4096');
      assert.equal(s.hostProbe('inotify', '1'), 'made 1', "ESCAPE: the host's root lost inotify to the server");
      assert.equal(await held.end(), 0);
      const mq = s.hold('mqueue');
      const sq = s.hold('sigqueue', '10000000');
      try {
        assert.match(await mq.line, /^made [0-3] error EMFILE$/, 'a quarter of the mqueue pool (~80 KiB a queue)');
        assert.match(await sq.line, /^queued \d+ error EAGAIN$/);
        assert.match(s.hostProbe('mqueue'), /^made [1-9]/, "ESCAPE: the host's root cannot open a message queue");
        assert.equal(s.hostProbe('sigqueue', '1'), 'queued 1', "ESCAPE: the host's root cannot queue a signal");
      } finally {
        await mq.end();
        await sq.end();
      }
      assert.equal(await s.probe('fanotify'), 'error EPERM');
      // the per-uid pools closed before this issue: key quotas and user namespaces
      assert.equal(await s.probe('add-key'), 'error ENOSYS');
      assert.equal(await s.probe('userns'), 'error EPERM');
    } finally {
      await s.stop();
    }
  });

  test("the case detects its attack: weakened, at the kernel's default, the host's root gets EMFILE", async () => {
    const saved = readFileSync(INSTANCES, 'utf8').trim();
    let held: ReturnType<ProbeServer['hold']> | null = null;
    try {
      writeFileSync(INSTANCES, '128');
      await s.start('counters');
      assert.equal(read(INSTANCES), 128, 'the weakened start left the limit alone');
      held = s.hold('inotify', '4096');
      assert.match(await held.line, /^made \d+ error EMFILE$/);
      assert.equal(s.hostProbe('inotify', '1'), 'made 0 error EMFILE', 'the probe sees the host lose inotify');
      assert.equal(await held.end(), 0);
      held = null;
      const mq = s.hold('mqueue');
      const sq = s.hold('sigqueue', '10000000');
      try {
        assert.match(await mq.line, /^made \d+ error EMFILE$/);
        assert.match(await sq.line, /^queued \d+ error EAGAIN$/);
        assert.equal(s.hostProbe('mqueue'), 'made 0 error EMFILE', 'the probe sees the mqueue pool taken');
        assert.equal(s.hostProbe('sigqueue', '1'), 'queued 0 error EAGAIN', 'the probe sees the signal pool taken');
      } finally {
        await mq.end();
        await sq.end();
      }
      assert.equal(await s.probe('fanotify'), 'ok', 'fanotify works weakened');
    } finally {
      await held?.end();
      writeFileSync(INSTANCES, saved);
      await s.stop();
    }
  });
});
