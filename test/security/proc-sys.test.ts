/**
 * Attack: root in a server reads host-wide kernel state through /proc and
 * /sys (allocator and page-state statistics, kernel symbols, the timer
 * list, the host's devices, drivers and firmware) or pokes at it
 * (sysrq-trigger, /proc/sys).
 * Probe: from inside, list /proc's and /sys's top levels and read every
 * /proc entry outside the allowlist.
 * Safe outcome: /proc shows the per-process directories and the allowlist
 * (kernel/lib/mounts.c, docs/security.md) with content; every
 * other entry reads empty; /sys holds devices/system/cpu, fs/cgroup and an
 * empty kernel/security, nothing else.  Shown to detect: with the
 * mechanism switched off (VCTX_TEST_WEAKEN=proc-allowlist / sys-allowlist)
 * the same probe reports the escape.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { makeBusyboxRoot, removeRoot } from '../helpers/busybox-root.js';
import { isRoot, show } from '../helpers/kernel.js';
import { inServer } from './common-f.js';

const ALLOWED = new Set(['self', 'thread-self', 'cgroups', 'cmdline', 'cpuinfo', 'diskstats', 'filesystems', 'loadavg',
  'meminfo', 'mounts', 'net', 'stat', 'swaps', 'sys', 'sysvipc', 'tty', 'uptime', 'version']);
/** host-wide kernel state the review named; those this kernel has are probed by name */
const SECRETS = ['kallsyms', 'slabinfo', 'pagetypeinfo', 'zoneinfo', 'vmallocinfo', 'buddyinfo', 'iomem', 'ioports',
  'sched_debug', 'timer_list', 'kpageflags', 'kpagecount', 'kpagecgroup', 'keys', 'key-users', 'vmstat', 'interrupts',
  'softirqs', 'modules', 'locks', 'consoles', 'devices', 'partitions', 'schedstat', 'pressure/cpu', 'config.gz', 'kcore'];

/** every /proc entry outside the allowlist, read from inside: "NAME BYTES" (dirs: "NAME/ ENTRIES") */
const READ_ALL = `cd /proc; for f in *; do case "$f" in [0-9]*) continue;; esac;
  if [ -d "$f" ] && [ ! -L "$f" ]; then echo "$f/ $(ls -A "$f" 2>/dev/null | wc -l)";
  else echo "$f $(head -c 4096 "$f" 2>/dev/null | wc -c)"; fi; done`;

function parse(out: string): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of out.split('\n')) {
    const r = /^(\S+) (\d+)$/.exec(line.trim());
    if (r) m.set(r[1]!, Number(r[2]));
  }
  return m;
}

/** what the probe could read of entries outside the allowlist: "NAME: N bytes" */
function leaks(seen: Map<string, number>): string[] {
  return [...seen].filter(([n, v]) => !ALLOWED.has(n.replace(/\/$/, '')) && v > 0).map(([n, v]) => `${n}: ${v}`);
}

describe('attack suite: /proc and /sys by allowlist', { skip: !isRoot && 'needs root' }, () => {
  let root = '';
  before(async () => {
    root = await makeBusyboxRoot();
  });
  after(async () => {
    if (root) await removeRoot(root);
  });

  test('/proc: every entry outside the allowlist reads empty; the allowed ones keep their content', () => {
    const r = inServer(root, READ_ALL);
    assert.equal(r.status, 0, show(r));
    const seen = parse(r.stdout);
    const hostHas = readdirSync('/proc').filter((n) => !/^\d/.test(n));
    for (const s of SECRETS.map((x) => x.split('/')[0]!)) {
      if (hostHas.includes(s)) assert.ok(seen.has(s) || seen.has(`${s}/`), `/proc/${s} is listed inside (covered, not removed): ${r.stdout}`);
    }
    assert.deepEqual(leaks(seen), [], `ESCAPE: host-wide /proc entries readable inside the server:\n${r.stdout}`);
    for (const a of ['meminfo', 'stat', 'uptime', 'loadavg', 'cpuinfo', 'version', 'filesystems', 'cmdline']) {
      assert.ok((seen.get(a) ?? 0) > 0, `/proc/${a} keeps its content: ${r.stdout}`);
    }
    assert.ok((seen.get('sys/') ?? 0) > 0 && (seen.get('tty/') ?? 0) > 0, `/proc/sys and /proc/tty listed: ${r.stdout}`);
  });

  test('/proc: sysrq-trigger, /proc/sys and /proc/tty are not writable', () => {
    const r = inServer(root, `echo h > /proc/sysrq-trigger; echo "sysrq=$?"; cat /proc/sysrq-trigger | wc -c;
      echo 1 > /proc/sys/kernel/sysrq 2>/dev/null; echo "sysctl=$?"; touch /proc/tty/x 2>/dev/null; echo "tty=$?"`);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /^sysctl=1$/m, show(r));
    assert.match(r.stdout, /^tty=1$/m, show(r));
    // sysrq-trigger is /dev/null now: the write goes nowhere (the host's kernel log has no sysrq line)
    assert.match(r.stdout, /^0$/m, show(r));
  });

  test('detects: with the allowlist off (proc-allowlist) the probe reads host-wide kernel state', () => {
    const r = inServer(root, READ_ALL, ['proc-allowlist']);
    assert.equal(r.status, 0, show(r));
    assert.match(r.stderr, /no 'proc-allowlist' mechanism/);
    const l = leaks(parse(r.stdout));
    assert.ok(l.length > 5, `the probe reports the escape when the mechanism is off: ${l.join(', ')}`);
    assert.ok(l.some((x) => /^(slabinfo|zoneinfo|buddyinfo|pagetypeinfo|vmstat): /.test(x)), l.join(', '));
  });

  const SYS = 'echo "top=$(ls /sys | tr "\\n" " ")"; cd /sys && find . -maxdepth 3 -type d | sort | head -40; echo "net=$(ls /sys/class/net 2>/dev/null | wc -l)"; echo "online=$(cat /sys/devices/system/cpu/online)"; echo "cg=$(cat /sys/fs/cgroup/cgroup.procs | wc -l)"; touch /sys/x 2>/dev/null; echo "write=$?"';

  test('/sys: devices/system/cpu, fs/cgroup and an empty kernel/security only, read-only', () => {
    const r = inServer(root, SYS);
    assert.equal(r.status, 0, show(r));
    const dirs = r.stdout.split('\n').filter((l) => l.startsWith('.'));
    const allowed = ['.', './devices', './devices/system', './devices/system/cpu', './fs', './fs/cgroup', './kernel', './kernel/security'];
    const extra = dirs.filter((d) => !allowed.includes(d) && !d.startsWith('./devices/system/cpu/') && !d.startsWith('./fs/cgroup/'));
    assert.deepEqual(extra, [], `ESCAPE: /sys shows more than the allowlist:\n${r.stdout}`);
    assert.match(r.stdout, /^net=0$/m, show(r));
    assert.match(r.stdout, /^top=devices fs kernel $/m, show(r));
    assert.match(r.stdout, /^online=\d[\d,-]*$/m, 'the CPU count (glibc, nproc) still reads');
    assert.match(r.stdout, /^cg=[1-9]/m, 'the context\'s own cgroup tree');
    assert.match(r.stdout, /^write=1$/m, show(r));
    assert.equal(readFileSync('/proc/self/mountinfo', 'utf8').includes(root), false, 'no mount of the server on the host');
  });

  test('detects: with the allowlist off (sys-allowlist) the host\'s devices and network show', () => {
    const r = inServer(root, SYS, ['sys-allowlist']);
    assert.equal(r.status, 0, show(r));
    assert.doesNotMatch(r.stdout, /^net=0$/m, `the probe reports the escape when the mechanism is off: ${r.stdout}`);
    assert.match(r.stdout, /^top=.*\bclass\b/m, r.stdout);
  });
});
