import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServerConfig } from '../../../src/config/parse.js';
import type { ConfigKey, ServerConfig } from '../../../src/config/types.js';

/** Parse one KEY=value line (double-quoted) and return the config or the error messages. */
function one(key: string, value: string, extra = '') {
  const q = value.replace(/([$`"\\])/g, '\\$1');
  return parseServerConfig(`${key}="${q}"\n${extra}`, { file: 't.conf', name: 't' });
}

type Pick = (c: ServerConfig) => unknown;

/* key -> [value, expected (through pick)] accepted, and values refused with a message pattern */
const TABLE: Array<{ key: ConfigKey; extra?: string; pick: Pick; good: Array<[string, unknown]>; bad: Array<[string, RegExp]> }> = [
  {
    key: 'IPROOT', pick: (c) => [c.ip, c.ip6],
    good: [['192.168.1.10', ['192.168.1.10', null]], ['127.0.0.2', ['127.0.0.2', null]], ['', [null, null]],
      ['127.0.0.31 fd00::31', ['127.0.0.31', 'fd00::31']], ['FD00:0:0::31  127.0.0.31', ['127.0.0.31', 'fd00::31']],
      [' 10.0.0.1\t2001:db8:0:0:0:0:0:1 ', ['10.0.0.1', '2001:db8::1']]],
    bad: [['www.example.com', /host names are not resolved/], ['192.168.1.300', /dotted IPv4/],
      ['::1', /::1 is the host's loopback/], ['fd00::31', /comes with the server's IPv4 address/],
      ['127.0.0.31,fd00::31', /separate the addresses with a blank/],
      ['10.0.0.1 fe80::1', /link-local/], ['10.0.0.1 ff02::1', /multicast/], ['10.0.0.1 ::', /unspecified/],
      ['10.0.0.1 ::ffff:10.0.0.1', /IPv4-mapped/], ['10.0.0.1 fd00::1%lo', /zone index/],
      ['10.0.0.1 fd00::1/64', /prefix length/], ['10.0.0.1 fd00::zz', /not an IPv6 address/],
      ['10.0.0.1 fd00::1 fd00::2', /one IPv6 address only/],
      ['0.0.0.0', /0\.0\.0\.0\/8/], ['224.0.0.1', /multicast/],
      ['255.255.255.255', /broadcast/], ['240.0.0.1', /reserved/], ['10.0.0.1 10.0.0.2', /one IPv4 address only/],
      ['$(hostname -i)', /not a dotted IPv4 address/], ['`hostname`', /dotted IPv4/]],
  },
  {
    key: 'NAT', extra: 'IPROOT=127.0.0.31\n', pick: (c) => c.nat,
    good: [['yes', true], ['YES', true], ['no', false], ['', false]],
    bad: [['true', /'yes' .*or 'no'/], ['1', /'yes' .*or 'no'/]],
  },
  {
    key: 'IPROOTDEV', extra: 'IPROOT=10.0.0.1\n', pick: (c) => c.ipDev,
    good: [['eth0', 'eth0'], ['', null]],
    bad: [['eth0:1', /no \/, :/], ['a/b', /no \/, :/], ['averyveryverylongname', /at most 15/], ['..', /no \//]],
  },
  {
    key: 'IPROOTMASK', pick: (c) => c.ipPrefix,
    good: [['255.255.255.0', 24], ['24', 24], ['/16', 16], ['255.255.255.255', 32], ['', null]],
    bad: [['255.0.255.0', /netmask/], ['33', /prefix length 1\.\.32/], ['0', /prefix/], ['mask', /netmask/]],
  },
  {
    key: 'IPROOTBCAST', pick: (c) => c.ipBroadcast,
    good: [['192.168.1.255', '192.168.1.255'], ['', null]],
    bad: [['192.168.1', /broadcast address/]],
  },
  {
    key: 'ONBOOT', pick: (c) => c.onBoot,
    good: [['yes', true], ['YES', true], ['no', false], ['', false]],
    bad: [['maybe', /'yes' or 'no'/], ['1', /'yes' or 'no'/]],
  },
  {
    key: 'S_CAPS', pick: (c) => c.caps.added,
    good: [['CAP_IPC_LOCK', ['IPC_LOCK']], ['ipc_lock, lease', ['IPC_LOCK', 'LEASE']], ['', []],
      ['mknod !CAP_CHOWN', ['MKNOD']]],
    bad: [['CAP_NET_RAW', /refused.*ping_group_range/], ['CAP_FOO', /unknown capability 'CAP_FOO'/]],
  },
  {
    key: 'S_CONTEXT', pick: (c) => c.context,
    good: [['2', 2], ['49151', 49151], ['', null]],
    bad: [['0', /0 is the host/], ['1', /1 is the spectator/], ['49152', /allocated dynamically/],
      ['70000', /2 to 49151/], ['-3', /2 to 49151/], ['abc', /2 to 49151/], ['1e3', /2 to 49151/]],
  },
  {
    key: 'S_DOMAINNAME', pick: (c) => c.domainname,
    good: [['example.com', 'example.com'], ['nis_dom', 'nis_dom'], ['', null]],
    bad: [['a b', /NIS domain name/], ['x'.repeat(65), /64 characters/], ['$(id)', /NIS domain/]],
  },
  {
    key: 'S_HOSTNAME', pick: (c) => c.hostname,
    good: [['web', 'web'], ['www.example.com', 'www.example.com'], ['a-1', 'a-1'], ['', null]],
    bad: [['-web', /host name/], ['web-', /host name/], ['a..b', /host name/], ['a_b', /host name/],
      ['x'.repeat(65), /64 characters/], [`${'x'.repeat(64)}.a`, /64 characters/], ['`id`', /host name/]],
  },
  {
    key: 'S_NICE', pick: (c) => c.nice,
    good: [['-20', -20], ['0', 0], ['19', 19], ['', null]],
    bad: [['20', /-20 .* to 19/], ['-21', /-20/], ['high', /-20/]],
  },
  {
    key: 'S_FLAGS', pick: (c) => c.flags,
    good: [['lock sched nproc private', ['lock', 'sched', 'nproc', 'private']], ['private lock lock', ['lock', 'private']],
      ['', []], ['LOCK', ['lock']], ['fakeinit', ['fakeinit']]],
    bad: [['lock virt_mem', /unknown flag 'virt_mem'/], ['privat', /did you mean private\?/]],
  },
  {
    key: 'S_INIT', pick: (c) => c.init,
    good: [['sysv', { style: 'sysv', runlevel: 3 }], ['sysv:2', { style: 'sysv', runlevel: 2 }],
      ['init', { style: 'init' }], ['fakeinit', { style: 'init' }],
      ['/usr/sbin/sshd -D', { style: 'command', argv: ['/usr/sbin/sshd', '-D'] }],
      ['', { style: 'sysv', runlevel: 3 }]],
    bad: [['sysv:6', /runlevel 6 cannot start/], ['sshd', /absolute command/],
      ['/lib/systemd/systemd', /systemd cannot be a server's init: it needs a writable cgroup tree/],
      ['/usr/lib/systemd/systemd --system', /systemd cannot/]],
  },
  {
    key: 'ULIMIT', pick: (c) => c.rlimits.map((l) => [l.resource, l.soft, l.hard]),
    good: [['-H -u 1000', [['RLIMIT_NPROC', null, 1000]]], ['-H -n 4096 -u 200', [['RLIMIT_NOFILE', null, 4096],
      ['RLIMIT_NPROC', null, 200]]], ['', []]],
    bad: [['-H -u', /-u needs a value.*allowed/], ['-Q 3', /unknown option -Q/]],
  },
  {
    key: 'PRIORITY', pick: (c) => c.priority,
    good: [['10', 10], ['-5', -5], ['', 0]],
    bad: [['high', /-999 to 999/], ['1000', /-999 to 999/]],
  },
  {
    key: 'MEMORY_MAX', pick: (c) => c.memoryMax,
    good: [['512M', 512 * 1024 ** 2], ['2g', 2 * 1024 ** 3], ['1048576', 1048576], ['4096K', 4096 * 1024],
      ['1T', 1024 ** 4], ['max', null], ['', null]],
    bad: [['12X', /K, M, G or T/], ['512MB', /K, M, G or T/], ['-1', /K, M/], ['100K', /too small/],
      ['99999999999T', /too large/]],
  },
  {
    key: 'DISK_MAX', pick: (c) => c.diskMax,
    good: [['10G', 10 * 1024 ** 3], ['64m', 64 * 1024 ** 2], ['1048576', 1048576], ['max', null], ['unlimited', null], ['', null]],
    bad: [['10GB', /K, M, G or T.*e\.g\. 10G/], ['1.5G', /K, M, G or T/], ['512K', /too small/], ['99999999999T', /too large/]],
  },
  {
    key: 'PIDS_MAX', pick: (c) => c.pidsMax,
    good: [['300', 300], ['max', null], ['', null]],
    bad: [['0', /1 to 4194304/], ['5000000', /1 to 4194304/], ['many', /1 to 4194304/]],
  },
  {
    key: 'CPU_WEIGHT', pick: (c) => c.cpuWeight,
    good: [['1', 1], ['10000', 10000], ['', null]],
    bad: [['0', /1 to 10000/], ['10001', /1 to 10000/], ['1.5', /1 to 10000/]],
  },
  {
    key: 'CPU_MAX', pick: (c) => c.cpuMax,
    good: [['150%', 150], ['50%', 50], ['12.5%', 12.5], ['max', null], ['', null]],
    bad: [['150', /percentage of one CPU/], ['0%', /from 1%/], ['0.5%', /from 1%/], ['200000%', /102400%/]],
  },
  {
    key: 'CONSOLE_MAX', pick: (c) => c.consoleMax,
    good: [['64K', 65536], ['4M', 4 * 1024 * 1024], ['1G', 1024 ** 3], ['1048576', 1048576], ['', null]],
    bad: [['63K', /from 64K to 1G/], ['2G', /from 64K to 1G/], ['max', /from 64K to 1G/], ['1.5M', /from 64K to 1G/], ['-1', /from 64K to 1G/]],
  },
];

for (const { key, extra, pick, good, bad } of TABLE) {
  describe(key, () => {
    for (const [value, expected] of good) {
      it(`accepts ${JSON.stringify(value)}`, () => {
        const r = one(key, value, extra);
        assert.deepEqual(r.errors, [], r.errors.map((e) => e.message).join('\n'));
        assert.deepEqual(pick(r.config!), expected);
      });
    }
    for (const [value, re] of bad) {
      it(`refuses ${JSON.stringify(value.length > 30 ? value.slice(0, 30) + '…' : value)}`, () => {
        const r = one(key, value, extra);
        assert.equal(r.config, null);
        assert.ok(r.errors.length >= 1);
        for (const e of r.errors) {
          assert.equal(e.file, 't.conf');
          assert.equal(e.line, 1);
          assert.equal(e.key, key);
          assert.equal(e.value, value);
        }
        assert.ok(r.errors.some((e) => re.test(e.message)), r.errors.map((e) => e.message).join('\n'));
      });
    }
  });
}
