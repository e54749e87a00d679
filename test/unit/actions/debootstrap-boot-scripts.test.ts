/**
 * The debootstrap template disables, with update-rc.d, the boot scripts of
 * a real machine that a system has enabled (a start link in rcS.d or
 * rc2-5.d); this picks them.  The integration test (build.test.ts) runs the
 * real update-rc.d in a real bookworm root.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledAmong, MACHINE_ONLY_SCRIPTS } from '../../../src/actions/templates/debootstrap.js';

test('the machine-only scripts with a start link are picked, not those disabled (K) or absent', () => {
  const links = ['README', 'S01hostname.sh', 'K01hwclock.sh', 'S02mountkernfs.sh', 'S05checkroot-bootclean.sh', 'S12bootmisc.sh', 'S01nginx'];
  assert.deepEqual(enabledAmong(MACHINE_ONLY_SCRIPTS, links), ['mountkernfs.sh', 'hostname.sh']);
});

test('the list names what util-vserver and LXC disabled in Debian guests, and never the shutdown chain', () => {
  for (const s of ['hwclock.sh', 'kmod', 'udev', 'checkroot.sh', 'checkfs.sh', 'mountall.sh', 'networking', 'console-setup.sh', 'keyboard-setup.sh']) {
    assert.ok(MACHINE_ONLY_SCRIPTS.includes(s), s);
  }
  for (const s of ['halt', 'reboot', 'sendsigs', 'umountfs', 'umountroot', 'umountnfs.sh', 'bootmisc.sh']) {
    assert.ok(!MACHINE_ONLY_SCRIPTS.includes(s), s);
  }
});
