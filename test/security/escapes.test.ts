/**
 * The attack suite: known container escapes and the peers' escape tests,
 * tried as root from inside a real (busybox) server, against the
 * mechanisms vctx has (docs/security.md).  Every case runs twice: with
 * every mechanism on it must be safe; with its mechanism switched off by
 * libvctx's test switch (VCTX_TEST_WEAKEN, kernel/lib/testswitch.c) it must
 * report the escape - so it is known to detect its attack.
 *
 * Sources: runc CVE-2019-5736 (host runtime binary through /proc/PID/exe),
 * runc CVE-2024-21626 (a host descriptor leaked into the container), the
 * cgroup v1 release_agent escape CVE-2022-0492, bubblewrap CVE-2017-5226
 * (TIOCSTI on the caller's terminal), and from runc/crun/bubblewrap/LXC/
 * systemd-nspawn's tests and moby's seccomp profile: mount, umount and
 * pivot_root, the fchdir and double chroot breakouts, open_by_handle_at
 * ("shocker"), the kernel keyring, perf_event_open, bpf(), userfaultfd,
 * kexec, setns, writes to /proc/sys and /proc/sysrq-trigger, mknod of the
 * host's disk, raw and packet sockets, the host's abstract unix sockets.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { spawn } from 'node:child_process';
import {
  type AttackCase, CHCONTEXT, Lab, type Outcome, Server, assertSafe, defineCases, isRoot, outcomeOf, runArgv,
} from './harness.js';

const lab = new Lab('at');
let srv: Server;

/** a probe through `vserver NAME exec`, its stdin a new terminal (pty-run) that reports injected input */
async function onTerminal(s: Server, argv: string[]): Promise<Outcome> {
  const o = await s.exec(argv, { prefix: [s.lab.ptyRun] });
  const m = /pty-run: injected (\d+) bytes/.exec(o.stderr);
  assert.ok(m, `pty-run did not report: ${o.stderr}`);
  if (Number(m[1]) > 0 && o.verdict !== 'escape') {
    return { ...o, verdict: 'escape', line: `ESCAPE: ${m[1]} bytes appeared in the caller's terminal input (${o.line})` };
  }
  return o;
}

/** the probe with a host directory as its stdin */
async function withHostDirStdin(s: Server): Promise<Outcome> {
  const fd = openSync(s.lab.dir, 'r');
  try {
    // the check is the entering tool's (chcontext --ctx): the switch goes to it
    const env = s.weakened.length ? { VCTX_TEST_WEAKEN: s.weakened.join(',') } : undefined;
    const r = await s.vs(['exec', '/bin/attack-probe', 'fds'], { stdio: [fd, 'pipe', 'pipe'], env });
    const o = outcomeOf(r);
    // refused on the host, before anything runs inside: safe, and it must say why
    if (o.verdict === 'error' && r.code === 1 && /standard input is a directory/.test(r.stderr)) {
      return { ...o, verdict: 'refused', line: r.stderr.trim() };
    }
    return o;
  } finally {
    closeSync(fd);
  }
}

/** a second context on the server's root, made by chcontext with an inherited host directory as fd 3 */
async function leakedAtCreation(s: Server): Promise<Outcome> {
  const weaken = s.weakened;
  const fd = openSync(s.lab.dir, 'r');
  try {
    const env = { ...process.env, ...(weaken.length ? { VCTX_TEST_WEAKEN: weaken.join(',') } : {}) };
    const r = await runArgv([CHCONTEXT, '--secure', '--silent', '--root', s.root, '--', '/bin/attack-probe', 'fds'],
      { env, stdio: ['ignore', 'pipe', 'pipe', fd] });
    return outcomeOf(r);
  } finally {
    closeSync(fd);
  }
}

/** the host listens on an abstract unix socket; the probe connects */
async function abstractSocket(s: Server): Promise<Outcome> {
  const name = `vctx-attack-${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  // python3's bind takes the abstract name whole (node's listen stops at the NUL)
  const server = spawn('python3', ['-c', `import socket,time\ns=socket.socket(socket.AF_UNIX)\ns.bind('\\0${name}')\ns.listen(8)\nprint('up',flush=True)\ntime.sleep(60)`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise((r) => server.stdout!.once('data', r));
    return await s.exec(['/bin/attack-probe', 'abstract', name]);
  } finally {
    server.kill('SIGKILL');
  }
}

const cases: AttackCase[] = [
  {
    name: 'CVE-2019-5736 host runtime binary',
    attack: 'root inside opens /proc/PID/exe of vctx-init or vctx-guard (forks of the host\'s chcontext that host tools enter through) to overwrite the host binary, or ptraces them',
    probe: 'attack-probe exe: O_PATH open of /proc/PID/exe of every vctx-* process, reopen for writing, PTRACE_ATTACH',
    safe: 'EACCES on exe and EPERM on ptrace: PID 1 and the guard are not dumpable',
    escape: 'a descriptor of the host\'s runtime binary (write then stops only at ETXTBSY), or a traced guard',
    weaken: ['dumpable'],
    argv: () => ['exe'],
  },
  {
    name: 'CVE-2024-21626 host directory as stdio of exec',
    attack: 'vserver NAME exec is given a host directory as stdin; the process inside fchdir()s to it and climbs out of its root',
    probe: 'attack-probe fds with stdin = the lab directory on the host',
    safe: 'vserver exec refuses: "standard input is a directory", nothing runs inside',
    escape: 'fd 0 leads to a root that is not the server\'s',
    weaken: ['stdio'],
    run: (s) => withHostDirStdin(s),
  },
  {
    name: 'CVE-2024-21626 leaked descriptor at context creation',
    attack: 'the process creating a context holds a host directory open without O_CLOEXEC; the server\'s first process inherits it',
    probe: 'chcontext --secure --root ROOT -- attack-probe fds, with the lab directory as fd 3',
    safe: 'only 0-2 reach the command; no descriptor or cwd leads out of the root',
    escape: 'fd 3 leads to the host\'s tree',
    weaken: ['closefds'],
    run: (s) => leakedAtCreation(s),
  },
  {
    name: 'CVE-2022-0492 cgroup v1 release_agent',
    attack: 'mount a cgroup v1 hierarchy inside the server and write its release_agent, which the host runs as root',
    probe: 'attack-probe cgroup-v1: mount -t cgroup (rdma, memory, name=systemd, a new named one, pids), open release_agent for writing (nothing written)',
    safe: 'EPERM: no CAP_SYS_ADMIN',
    escape: 'a cgroup v1 hierarchy mounted (and release_agent writable where the hierarchy\'s root is shown)',
    weaken: ['caps'],
    argv: () => ['cgroup-v1'],
  },
  {
    name: 'CVE-2017-5226 TIOCSTI into the caller\'s terminal',
    attack: 'a process run by vserver NAME exec from an admin\'s terminal pushes input into that terminal with TIOCSTI (and TIOCLINUX), to run as host root when the command ends',
    probe: 'attack-probe tiocsti on fd 0, a host pseudo-terminal (pty-run), which reports any byte left in its input',
    safe: 'TIOCSTI EPERM (not the process\'s controlling terminal, no CAP_SYS_ADMIN), TIOCLINUX refused, no byte injected',
    escape: 'a byte pushed into the host terminal\'s input',
    weaken: ['caps'],
    run: (s) => onTerminal(s, ['/bin/attack-probe', 'tiocsti']),
  },
  {
    name: 'mount, umount and pivot_root',
    attack: 'mount a fresh proc (without the masks) or a tmpfs, detach the masked /proc, pivot_root (runc/crun/LXC tests)',
    probe: 'attack-probe mount: mount tmpfs, mount proc, umount the /proc/acpi mask, pivot_root',
    safe: 'EPERM on each',
    escape: 'any of them succeeds',
    weaken: ['caps'],
    argv: () => ['mount'],
  },
  {
    name: 'chroot breakout (fchdir and double chroot)',
    attack: 'CAP_SYS_CHROOT, which servers keep: chroot into a subdirectory, fchdir to a descriptor of the old root or chdir("..") past the new one, chroot(".")',
    probe: 'attack-probe chroot MARKER: looks for a file of the host outside every root',
    safe: 'the climb ends at the server\'s own "/" (pivot_root, the old root detached)',
    escape: 'the host file is reached',
    weaken: ['pivot_root'],
    argv: (ctx) => ['chroot', ctx.marker],
  },
  {
    name: 'open_by_handle_at (shocker)',
    attack: 'open files of the host file system by handle (CAP_DAC_READ_SEARCH), e.g. its root inode 2',
    probe: 'attack-probe handle: name_to_handle_at /etc, open_by_handle_at, then inode 2',
    safe: 'EPERM',
    escape: 'a file opened by handle',
    weaken: ['caps'],
    argv: () => ['handle'],
  },
  {
    name: 'kernel keyring',
    attack: 'keyrings are per uid and not namespaced: uid 0 inside reads or fills the host root\'s user keyring (moby\'s seccomp profile)',
    probe: 'attack-probe keyring: add_key to @u (invalidated again), keyctl',
    safe: 'ENOSYS from the seccomp filter',
    escape: 'a key added to uid 0\'s user keyring',
    weaken: ['seccomp'],
    argv: () => ['keyring'],
  },
  {
    name: 'perf_event_open on the whole machine',
    attack: 'watch every process of the host through a CPU-wide perf event (moby profile)',
    probe: 'attack-probe perf: perf_event_open(pid -1, cpu 0)',
    safe: 'EACCES (no CAP_PERFMON; perf_event_paranoid)',
    escape: 'a CPU-wide event',
    weaken: ['caps'],
    argv: () => ['perf'],
  },
  {
    name: 'bpf()',
    attack: 'list and fetch the host\'s eBPF programs (the address lock among them) to detach them (moby profile)',
    probe: 'attack-probe bpf: BPF_PROG_GET_NEXT_ID, BPF_MAP_CREATE',
    safe: 'EPERM',
    escape: 'the program ids are listed',
    weaken: ['caps'],
    argv: () => ['bpf'],
  },
  {
    name: 'userfaultfd',
    attack: 'a userfaultfd that catches kernel-mode faults holds a kernel race open (moby profile)',
    probe: 'attack-probe userfaultfd',
    safe: 'EPERM (vm.unprivileged_userfaultfd=0 and no CAP_SYS_PTRACE)',
    escape: 'the descriptor is created',
    weaken: ['caps'],
    argv: () => ['userfaultfd'],
  },
  {
    name: 'kexec',
    attack: 'servers keep CAP_SYS_BOOT for reboot(2); kexec_load would replace the host\'s kernel',
    probe: 'attack-probe kexec: kexec_file_load(-1, -1) and kexec_load(1 segment, NULL): past the permission check they fail with EBADF/EFAULT',
    safe: 'EPERM from the seccomp filter',
    escape: 'the permission check is passed',
    weaken: ['seccomp'],
    argv: () => ['kexec'],
    absentWhen: (o) => (/kexec_file_load: ENOSYS, kexec_load: ENOSYS/.test(o.line)
      ? 'this kernel has no kexec (ENOSYS even with the seccomp filter off): the case cannot be shown to detect it here'
      : null),
  },
  {
    name: 'setns',
    attack: 'join another namespace (the host\'s, through a descriptor that reached the server)',
    probe: 'attack-probe setns into its own UTS, IPC and mount namespaces (the permission check is the same)',
    safe: 'EPERM: no CAP_SYS_ADMIN (and the seccomp filter of the lock flag)',
    escape: 'setns succeeds',
    weaken: ['caps', 'seccomp'],
    argv: () => ['setns'],
  },
  {
    name: 'write /proc/sys',
    attack: 'uid 0 may write most sysctls, which are the host\'s (runc/LXC read-only /proc/sys)',
    probe: 'attack-probe sysctl: writes kernel.printk_ratelimit\'s own value back',
    safe: 'EROFS: /proc/sys is bound read-only',
    escape: 'the write succeeds',
    weaken: ['proc-allowlist'],
    argv: () => ['sysctl'],
  },
  {
    name: '/proc/sysrq-trigger',
    attack: 'one byte into /proc/sysrq-trigger reboots or crashes the host (masked by runc, LXC, nspawn)',
    probe: 'attack-probe sysrq: is it the real proc file, open for writing (nothing written)',
    safe: 'masked (not the proc file)',
    escape: 'the real file opens for writing',
    weaken: ['proc-allowlist'],
    argv: () => ['sysrq'],
    absentWhen: (o) => (/sysrq-trigger: ENOENT/.test(o.line)
      ? 'this kernel has no /proc/sysrq-trigger (CONFIG_MAGIC_SYSRQ off): the case cannot be shown to detect it here'
      : null),
  },
  {
    name: 'mknod of the host\'s disk',
    attack: 'create the block device node of the disk under the server\'s root and read it',
    probe: 'attack-probe mknod: mknod b MAJ:MIN of "/" (then open, read a sector)',
    safe: 'EPERM: no CAP_MKNOD',
    escape: 'the node of the host\'s disk exists in the server (its open is then up to the device allowlist)',
    weaken: ['caps', 'devices'],
    argv: () => ['mknod'],
  },
  {
    name: 'raw and packet sockets',
    attack: 'forge packets from any address around the IPv4 lock (CAP_NET_RAW)',
    probe: 'attack-probe raw: socket(AF_INET, SOCK_RAW), socket(AF_PACKET)',
    safe: 'EPERM (or EAFNOSUPPORT from the socket-family allowlist)',
    escape: 'a raw or packet socket',
    weaken: ['caps', 'sockets'],
    argv: () => ['raw'],
  },
  {
    name: 'the host\'s abstract unix sockets',
    attack: 'servers share the host\'s network namespace, so its abstract unix sockets (no file, no permissions) are reachable',
    probe: 'attack-probe abstract NAME: connect to a listener the test made on the host',
    safe: 'EPERM: Landlock scopes abstract sockets to the context',
    escape: 'connected',
    weaken: ['landlock'],
    run: (s) => abstractSocket(s),
  },
];

describe('attack suite: known escapes (root inside a real server)', { skip: !isRoot && 'needs root (real servers)' }, () => {
  before(async () => {
    await lab.setup();
    srv = await lab.server('a');
    await srv.start();
  });
  after(async () => {
    await lab.cleanup();
  });

  test('the server runs the probe as root with the server\'s containment', async () => {
    if (!srv.running || srv.weakened.length) await srv.restart([]);
    const r = await srv.vs(['exec', '/bin/sh', '-c', 'id -u; cat /dev/vctx/xid']);
    assert.equal(r.code, 0, r.stderr);
    const [uid, xid] = r.stdout.trim().split('\n');
    assert.equal(uid, '0');
    assert.equal(Number(xid), srv.xid());
  });

  test('a weakened start leaves out what it names (caps: the server keeps CAP_SYS_ADMIN)', async () => {
    await srv.stop();
    const r = await srv.vs(['start'], { env: { VCTX_TEST_WEAKEN: 'caps' } });
    srv.running = r.code === 0;
    srv.weakened = ['caps'];
    assert.equal(r.code, 0, r.stderr);
    const p = await srv.exec(['/bin/attack-probe', 'mount']);
    assert.equal(p.verdict, 'escape', `with caps off the server has CAP_SYS_ADMIN: ${p.line}`);
  });

  defineCases(test, lab, () => srv, cases);

  test('probe self-check: a host-side run of attack-probe refuses (it unmounts /proc and the like)', async () => {
    const r = await runArgv([lab.probe, 'mount']);
    assert.equal(r.code, 2);
    assert.match(r.stdout, /refusing to run outside a server's context/);
  });

  test('the escapes are not seen on the host after the weakened runs', async () => {
    if (srv.weakened.length) await srv.restart([]);
    // a fresh full-containment run of every case once more: a weakened start must leave nothing behind
    for (const c of cases.filter((x) => !x.run)) assertSafe(c, await srv.probe(c));
  });
});

