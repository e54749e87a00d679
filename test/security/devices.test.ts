/**
 * Attack: a device node in a server's tree opens a host device - one an
 * admin copied in, a template or a copy build brought along, or one the
 * server made itself with CAP_MKNOD (addable with S_CAPS) in its /dev.
 * Probe: from inside, open a host device (the disk under /, else loop0,
 * zram0 or net/tun: the first host root may open) through a node planted
 * in the root (/tmp/hostdev) and through one made in /dev with mknod.
 * Safe outcome: both opens fail (EACCES from the nodev mount, EPERM from
 * the cgroup device program); the private /dev's own devices work.  Shown
 * to detect: with the program switched off (VCTX_TEST_WEAKEN=devices) the
 * mknod'ed node opens, and with both layers off (devices,nodev) the
 * planted one does; each layer alone holds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { makeBusyboxRoot, removeRoot } from '../helpers/busybox-root.js';
import { isRoot, run, show } from '../helpers/kernel.js';
import { inServer } from './common-f.js';

const PIN_DIR = '/sys/fs/bpf/vctx';

/**
 * A host device that host root can open and the allowlist does not name:
 * the disk under / when the host lets root open it, else a loop device,
 * zram, the TUN clone device.  The escape is the open succeeding.
 */
function hostDevice(): { node: string; type: 'b' | 'c'; major: number; minor: number } | null {
  const d = statSync('/').dev;
  const disk = `/sys/dev/block/${((d >> 8) & 0xfff)}:${(d & 0xff) | ((d >> 12) & 0xfff00)}`;
  const candidates = [existsSync(disk) ? `/dev/block/${disk.split('/').pop()}` : '', '/dev/loop0', '/dev/zram0', '/dev/net/tun'];
  for (const node of candidates.filter(Boolean)) {
    if (!existsSync(node)) continue;
    if (run('sh', ['-c', `exec 3< ${node}`]).status !== 0) continue; // the host's own policy refuses it too
    const st = statSync(node);
    const rdev = st.rdev;
    return {
      node, type: st.isBlockDevice() ? 'b' : 'c',
      major: ((rdev >> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff), minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00),
    };
  }
  return null;
}

const dev = isRoot ? hostDevice() : null;
const devicePins = (): string[] => (existsSync(PIN_DIR) ? readdirSync(PIN_DIR).filter((n) => n.startsWith('devices-')) : []);

/** open @node for reading inside: "open=0" is the escape */
const OPEN = (node: string) => `(exec 3< ${node}) 2>&1; echo "open=$?"`;
const MKNOD = () => `mknod /dev/hostdev ${dev!.type} ${dev!.major} ${dev!.minor}; echo "mknod=$?"`;

describe('attack suite: device nodes are inert unless allowed', {
  skip: !isRoot ? 'needs root' : !dev ? 'this host lets root open none of its disk, loop0, zram0, net/tun' : false,
}, () => {
  let root = '';
  let pinsBefore: string[] = [];
  before(async () => {
    pinsBefore = devicePins();
    root = await makeBusyboxRoot();
    console.log(`# probing with the host's ${dev!.node} (${dev!.type} ${dev!.major}:${dev!.minor})`);
    const r = run('mknod', [join(root, 'tmp', 'hostdev'), dev!.type, String(dev!.major), String(dev!.minor)]);
    assert.equal(r.status, 0, show(r));
  });
  after(async () => {
    if (root) await removeRoot(root);
    for (const p of devicePins()) if (!pinsBefore.includes(p)) rmSync(join(PIN_DIR, p), { force: true });
  });

  test('a host device node planted in the root does not open', () => {
    const r = inServer(root, OPEN('/tmp/hostdev'));
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /^open=[1-9]/m, `ESCAPE: the server opened a host device:\n${show(r)}`);
    assert.match(r.stdout, /Permission denied/, 'nodev refuses it first (EACCES)');
  });

  test('a host device node made with CAP_MKNOD in the private /dev does not open', () => {
    const r = inServer(root, `${MKNOD()}; ${OPEN('/dev/hostdev')}`, [], ['--cap', 'MKNOD']);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /^open=[1-9]/m, `ESCAPE: the server opened a host device:\n${show(r)}`);
    // the program refuses the mknod itself (EPERM); were the node there, the open
    assert.match(r.stdout + r.stderr, /Operation not permitted/, `the cgroup device program refuses it (EPERM): ${show(r)}`);
  });

  test('the private /dev works: null, zero, full, random, urandom, tty, ptmx', () => {
    const r = inServer(root, `head -c 8 /dev/zero | wc -c; head -c 8 /dev/urandom | wc -c; head -c 8 /dev/random | wc -c;
      echo x > /dev/null && echo null-ok; echo x > /dev/full 2>/dev/null || echo full-ok; exec 3<>/dev/ptmx && echo ptmx-ok;
      ls /dev/pts | grep -q '^[0-9]' && echo pts-ok`);
    assert.equal(r.status, 0, show(r));
    assert.equal(r.stdout, '8\n8\n8\nnull-ok\nfull-ok\nptmx-ok\npts-ok\n', show(r));
  });

  test('each layer alone holds: without the program nodev refuses, without nodev the program does', () => {
    const a = inServer(root, OPEN('/tmp/hostdev'), ['devices']);
    assert.match(a.stdout, /^open=[1-9]/m, show(a));
    assert.match(a.stdout, /Permission denied/, show(a));
    const b = inServer(root, OPEN('/tmp/hostdev'), ['nodev']);
    assert.match(b.stdout, /^open=[1-9]/m, show(b));
    assert.match(b.stdout, /Operation not permitted/, show(b));
  });

  test('detects: with the program off (devices) the mknod\'ed node opens the host device', () => {
    const r = inServer(root, `${MKNOD()}; ${OPEN('/dev/hostdev')}`, ['devices'], ['--cap', 'MKNOD']);
    assert.match(r.stderr, /no 'devices' mechanism/);
    assert.match(r.stdout, /^open=0$/m, `the probe reports the escape when the mechanism is off: ${show(r)}`);
  });

  test('detects: with both layers off (devices,nodev) the planted node opens the host device', () => {
    const r = inServer(root, OPEN('/tmp/hostdev'), ['devices', 'nodev']);
    assert.match(r.stdout, /^open=0$/m, `the probe reports the escape when the mechanisms are off: ${show(r)}`);
  });

  test('the program rides on the context\'s cgroup and goes with it: one build pin, nothing per context', () => {
    const r = inServer(root, 'cat /proc/self/cgroup');
    assert.equal(r.status, 0, show(r));
    const pins = devicePins();
    assert.equal(pins.length, 1, `one pinned program for this build: ${pins.join(' ')}`);
    // the one-shot context is released: no cgroup left that could hold the attachment
    const list = run('bpftool', ['cgroup', 'tree', '-j']);
    if (list.status === 0) {
      const leftovers = (JSON.parse(list.stdout) as Array<{ cgroup: string; programs: Array<{ attach_type: string }> }>)
        .filter((c) => /\/vctx\/\d+/.test(c.cgroup) && c.programs.some((p) => p.attach_type === 'cgroup_device'));
      assert.deepEqual(leftovers.map((c) => c.cgroup), [], 'device programs attached to released contexts');
    }
  });
});
