/**
 * Attack cases: the console (docs/security.md).
 *
 * 1. Attack: root inside writes without end to /dev/console (or its init's
 *    stdout), which the host keeps under /run: /run fills, the host's
 *    services with it.  Probe: 1 MiB written to /dev/console with
 *    CONSOLE_MAX=64K.  Safe: console.log and console.log.1 hold at most
 *    64 KiB each.  Detection: VCTX_TEST_WEAKEN=console (no cap): the log
 *    holds the whole MiB.
 * 2. Attack: the host's reader of the console is gone (the monitor was
 *    killed); a server whose writes to its console then block hangs (its
 *    init's shutdown included).  Probe: the monitor is SIGKILLed, then 1 MiB
 *    is written to /dev/console, opened as programs do (blocking).  Safe:
 *    every byte is written.  Detection: weakened (no inside reader), the
 *    open never returns: the probe reports the hang.
 * 3. Attack: the console holds terminal escape sequences that act on the
 *    admin's terminal when `vserver NAME log` prints them (retitle, clear,
 *    OSC 52 clipboard writes, hidden text).  Probe: such bytes written to
 *    /dev/console, then `vserver NAME log`.  Safe: no control character
 *    reaches the output; they show escaped (\x1b).  Detection: the raw log
 *    file holds the bytes, so printing it unescaped would pass them on.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readState } from '../../src/actions/runtime.js';
import { ProbeServer } from '../helpers/probe-server.js';
import { sleep, waitFor } from '../helpers/kernel.js';

const isRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;

describe('attack: the console', { skip: !isRoot && 'needs root' }, () => {
  let s: ProbeServer;
  const log = () => join(s.rundir, 'console.log');
  const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);
  before(async () => {
    s = await ProbeServer.create('cn');
    const conf = join(s.paths.confdir, `${s.name}.conf`);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(conf, readFileSync(conf, 'utf8').replace(/^CONSOLE_MAX=.*$/m, 'CONSOLE_MAX="64K"'));
    assert.match(readFileSync(conf, 'utf8'), /^CONSOLE_MAX="64K"$/m);
  });
  after(async () => {
    await s?.destroy();
  });

  /** SIGKILL the server's monitor (the host's reader of its console) */
  async function killMonitor(): Promise<void> {
    const m = readState(s.paths, s.name)?.monitor;
    assert.ok(m, 'the state names the monitor');
    process.kill(m, 'SIGKILL');
    assert.ok(await waitFor(() => !existsSync(`/proc/${m}`), 5000, 20), 'the monitor is gone');
  }

  test('1 MiB into a 64K console: the host keeps at most 64 KiB twice', async () => {
    await s.start();
    try {
      assert.equal(await s.probe('console', String(MiB)), `wrote ${MiB}`);
      await sleep(200); // the monitor copies what the pipe still holds
      assert.ok(size(log()) <= 64 * 1024, `console.log is ${size(log())} bytes`);
      assert.ok(size(`${log()}.1`) <= 64 * 1024, `console.log.1 is ${size(`${log()}.1`)} bytes`);
      assert.ok(size(log()) + size(`${log()}.1`) > 0, 'the console is kept');
    } finally {
      await s.stop();
    }
  });

  test('the cap case detects its attack: weakened, the whole MiB lands in /run', async () => {
    await s.start('console');
    try {
      assert.equal(await s.probe('console', String(MiB)), `wrote ${MiB}`);
      assert.ok(await waitFor(() => size(log()) >= MiB, 10_000, 50), `console.log grew to ${size(log())} bytes`);
    } finally {
      await s.stop();
    }
  });

  test('with its reader killed, writes to the console never block', async () => {
    await s.start();
    try {
      await killMonitor();
      const w = s.hold('console', String(MiB));
      const got = await Promise.race([w.line, sleep(30_000).then(() => 'HANG: no answer in 30 s')]);
      assert.equal(got, `wrote ${MiB}`, 'ESCAPE: a dead reader blocks the server');
      await w.end();
    } finally {
      await s.stop();
    }
  });

  test('the dead-reader case detects its attack: weakened, the write hangs', async () => {
    await s.start('console');
    try {
      await killMonitor();
      const w = s.hold('console', String(MiB));
      const got = await Promise.race([w.line, sleep(5_000).then(() => 'hang')]);
      assert.equal(got, 'hang', 'the probe sees the write block without the inside reader');
      await s.stop(); // ends the hung writer with the context
      await w.end();
    } finally {
      await s.stop();
    }
  });

  test('vserver NAME log shows terminal escapes escaped', async () => {
    await s.start();
    try {
      const attack = String.raw`printf '\033]0;owned\007\033]52;c;ZWNobyBvd25lZA==\007\033[2Jhidden\033[8m\r\n' > /dev/console`;
      assert.equal((await s.vs(['exec', 'sh', '-c', attack])).code, 0);
      assert.ok(await waitFor(() => existsSync(log()) && readFileSync(log(), 'latin1').includes('hidden'), 10_000, 50));
      assert.ok(readFileSync(log(), 'latin1').includes('\x1b]0;owned\x07'), 'the raw bytes reached the host file');
      const out = await s.vs(['log']);
      assert.equal(out.code, 0, out.stderr);
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(out.stdout, /[\x00-\x08\x0b-\x1f\x7f]/, 'ESCAPE: a control character reached the terminal');
      assert.ok(out.stdout.includes(String.raw`\x1b]0;owned\x07\x1b]52;c;ZWNobyBvd25lZA==\x07\x1b[2Jhidden\x1b[8m\r`), out.stdout);
    } finally {
      await s.stop();
    }
  });
});
