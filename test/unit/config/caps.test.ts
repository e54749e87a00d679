import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ADDABLE_CAPS, CAPABILITIES, CAP_LAST, REFUSED_CAPS, SERVER_DEFAULT_CAPS, capByName, capMask, capMaskHex,
  capNamesFromMask, closestCapName, resolveCapRequests,
} from '../../../src/config/caps.js';

describe('the capability table', () => {
  it('knows capabilities 0..40 in number order, each once', () => {
    assert.equal(CAP_LAST, 40);
    assert.equal(CAPABILITIES.length, 41);
    CAPABILITIES.forEach((c, i) => assert.equal(c.number, i));
    assert.equal(new Set(CAPABILITIES.map((c) => c.name)).size, 41);
  });
  it('has the numbers of <linux/capability.h>', () => {
    const known: Record<string, number> = {
      CHOWN: 0, DAC_READ_SEARCH: 2, KILL: 5, SETPCAP: 8, NET_ADMIN: 12, NET_RAW: 13, SYS_CHROOT: 18,
      SYS_ADMIN: 21, SYS_BOOT: 22, MKNOD: 27, AUDIT_WRITE: 29, SETFCAP: 31, SYSLOG: 34, AUDIT_READ: 37,
      PERFMON: 38, BPF: 39, CHECKPOINT_RESTORE: 40,
    };
    for (const [name, n] of Object.entries(known)) assert.equal(capByName(name)!.number, n, name);
  });
  it('splits into the CONTRACT sets, every capability in exactly one', () => {
    assert.deepEqual([...SERVER_DEFAULT_CAPS].sort(), ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID',
      'KILL', 'NET_BIND_SERVICE', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_BOOT', 'SYS_CHROOT']);
    assert.deepEqual([...ADDABLE_CAPS].sort(), ['IPC_LOCK', 'IPC_OWNER', 'LEASE', 'LINUX_IMMUTABLE', 'MKNOD',
      'NET_BROADCAST', 'SYS_RESOURCE', 'SYS_TTY_CONFIG']);
    assert.deepEqual([...REFUSED_CAPS].sort(), ['AUDIT_CONTROL', 'AUDIT_READ', 'BLOCK_SUSPEND', 'BPF',
      'CHECKPOINT_RESTORE', 'DAC_READ_SEARCH', 'MAC_ADMIN', 'MAC_OVERRIDE', 'NET_ADMIN', 'NET_RAW', 'PERFMON',
      'SETFCAP', 'SYSLOG', 'SYS_ADMIN', 'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE',
      'SYS_RAWIO', 'SYS_TIME', 'WAKE_ALARM']);
    assert.equal(SERVER_DEFAULT_CAPS.length + ADDABLE_CAPS.length + REFUSED_CAPS.length, 41);
  });
  it('gives every refused capability a reason, and no other one', () => {
    for (const c of CAPABILITIES) assert.equal(c.refusal !== undefined, c.set === 'refused', c.name);
  });
  it('accepts CAP_X or X in any case', () => {
    for (const n of ['CAP_NET_RAW', 'cap_net_raw', 'NET_RAW', 'net_raw', 'Cap_Net_Raw']) {
      assert.equal(capByName(n)!.number, 13, n);
    }
    assert.equal(capByName('NET_RAWW'), undefined);
  });
  it('suggests the closest known name', () => {
    assert.equal(closestCapName('NET_RAWW'), 'CAP_NET_RAW');
    assert.equal(closestCapName('cap_sys_admn'), 'CAP_SYS_ADMIN');
    assert.equal(closestCapName('CHWON'), 'CAP_CHOWN');
    assert.equal(closestCapName('ipc_lok'), 'CAP_IPC_LOCK');
  });
  it('masks and hex', () => {
    const mask = capMask(SERVER_DEFAULT_CAPS);
    assert.equal(capMaskHex(mask), '0x00000000204405fb');
    assert.deepEqual(capNamesFromMask(mask), [...SERVER_DEFAULT_CAPS]);
    assert.equal(capMask(['CHECKPOINT_RESTORE']), 1n << 40n);
  });
});

describe('resolveCapRequests', () => {
  it('no request: the default set', () => {
    const r = resolveCapRequests([]);
    assert.deepEqual(r.bounding, [...SERVER_DEFAULT_CAPS]);
    assert.deepEqual(r.problems, []);
  });
  for (const cap of ADDABLE_CAPS) {
    it(`adds ${cap}`, () => {
      const r = resolveCapRequests([`CAP_${cap}`]);
      assert.deepEqual(r.problems, []);
      assert.ok(r.bounding.includes(cap));
      assert.deepEqual(r.added, [cap]);
    });
  }
  for (const cap of REFUSED_CAPS) {
    it(`refuses ${cap} with the reason`, () => {
      const r = resolveCapRequests([cap.toLowerCase()]);
      assert.equal(r.problems.length, 1);
      assert.match(r.problems[0]!.message, new RegExp(`CAP_${cap} is refused to servers: .{20,}`));
      assert.ok(!r.bounding.includes(cap));
    });
  }
  const reasons: Array<[string, RegExp]> = [
    ['CAP_NET_RAW', /ICMP datagram sockets where the host's net\.ipv4\.ping_group_range allows them/],
    ['CAP_NET_ADMIN', /host's job.*IPROOTDEV/],
    ['CAP_SYS_ADMIN', /reaches the host kernel \(mounts, namespaces/],
    ['CAP_SYS_NICE', /S_NICE, CPU_WEIGHT and CPU_MAX/],
  ];
  for (const [cap, re] of reasons) {
    it(`${cap}: the reason names the alternative`, () => {
      assert.match(resolveCapRequests([cap]).problems[0]!.message, re);
    });
  }
  it('drops a default capability with !', () => {
    const r = resolveCapRequests(['!CAP_CHOWN', '!kill']);
    assert.deepEqual(r.dropped, ['CHOWN', 'KILL']);
    assert.ok(!r.bounding.includes('CHOWN'));
    assert.ok(!r.bounding.includes('KILL'));
  });
  it('dropping a refused or absent capability is harmless', () => {
    const r = resolveCapRequests(['!NET_RAW', '!IPC_LOCK']);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.bounding, [...SERVER_DEFAULT_CAPS]);
  });
  it('adding a default capability changes nothing', () => {
    assert.deepEqual(resolveCapRequests(['CHOWN']).added, []);
  });
  it('unknown names: an error with the closest name', () => {
    const r = resolveCapRequests(['CAP_NET_RAWW']);
    assert.match(r.problems[0]!.message, /unknown capability 'CAP_NET_RAWW' \(did you mean CAP_NET_RAW\?\)/);
    assert.match(resolveCapRequests(['!']).problems[0]!.message, /must be followed by a capability name/);
  });
  it('added and dropped at once is an error', () => {
    const r = resolveCapRequests(['IPC_LOCK', '!CAP_IPC_LOCK']);
    assert.match(r.problems[0]!.message, /both added and dropped/);
  });
  it('collects every problem', () => {
    assert.equal(resolveCapRequests(['NET_RAW', 'SYS_ADMIN', 'FOO', 'IPC_LOCK']).problems.length, 3);
  });
  it('keeps the bounding set in number order', () => {
    const r = resolveCapRequests(['SYS_RESOURCE', 'LINUX_IMMUTABLE']);
    const nums = r.bounding.map((n) => capByName(n)!.number);
    assert.deepEqual(nums, [...nums].sort((a, b) => a - b));
  });
});
