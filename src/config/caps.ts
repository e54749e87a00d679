/**
 * The capability table of vctx: every Linux capability this tool knows
 * (numbers 0..40, as in <linux/capability.h>), and the three sets of
 * CONTRACT.md "Capabilities of a server":
 *
 *  - default: kept by every server (and by `chcontext --secure`);
 *  - addable: may be added with `S_CAPS` / `--cap`;
 *  - refused: never given to a server, each with the reason and what to
 *    do instead.  A capability newer than this table is refused as unknown.
 *
 * Pure data and pure functions: the config parser, the CLI (`--cap`,
 * `reducecap --show`) and the dashboard all import it.
 */

/** Which of the three sets a capability belongs to. */
export type CapSet = 'default' | 'addable' | 'refused';

export interface CapInfo {
  /** capability number (bit in the capability masks) */
  readonly number: number;
  /** short name without prefix, upper case: 'NET_RAW' */
  readonly name: string;
  /** full name: 'CAP_NET_RAW' */
  readonly capName: string;
  readonly set: CapSet;
  /** what the capability allows, one short phrase */
  readonly description: string;
  /** for refused capabilities: why, and what to do instead */
  readonly refusal?: string;
}

type Row = [number, string, CapSet, string, string?];

/* Designated rows: number, name, set, description, refusal. */
const ROWS: readonly Row[] = [
  [0, 'CHOWN', 'default', 'change the owner of any file'],
  [1, 'DAC_OVERRIDE', 'default', 'bypass file read, write and execute permission checks'],
  [2, 'DAC_READ_SEARCH', 'refused', 'bypass read and search checks; open files by handle',
    'open_by_handle_at() reaches files outside the server\'s root directory (the "shocker" escape); ' +
    'DAC_OVERRIDE, which every server keeps, already lets root read any file inside the server'],
  [3, 'FOWNER', 'default', 'bypass checks that require owning the file'],
  [4, 'FSETID', 'default', 'keep set-user-ID and set-group-ID bits when changing a file'],
  [5, 'KILL', 'default', 'send signals to processes of other users (inside the server)'],
  [6, 'SETGID', 'default', 'change group IDs'],
  [7, 'SETUID', 'default', 'change user IDs'],
  [8, 'SETPCAP', 'default', 'drop capabilities from the bounding set'],
  [9, 'LINUX_IMMUTABLE', 'addable', 'set the immutable and append-only file attributes'],
  [10, 'NET_BIND_SERVICE', 'default', 'bind to ports below 1024'],
  [11, 'NET_BROADCAST', 'addable', 'send broadcasts and listen to multicast'],
  [12, 'NET_ADMIN', 'refused', 'configure interfaces, routes and the firewall',
    'network configuration (addresses, routes, firewall) is the host\'s job on a shared network stack; ' +
    'set IPROOT and IPROOTDEV and the host configures the server\'s address when it starts'],
  [13, 'NET_RAW', 'refused', 'use raw and packet sockets',
    'raw sockets forge packets from any address, around the server\'s IP lock; ' +
    'ping works through ICMP datagram sockets where the host\'s net.ipv4.ping_group_range allows them'],
  [14, 'IPC_LOCK', 'addable', 'lock memory (mlock, huge pages)'],
  [15, 'IPC_OWNER', 'addable', 'bypass permission checks on System V IPC objects'],
  [16, 'SYS_MODULE', 'refused', 'load and unload kernel modules',
    'modules are loaded into the kernel every server shares; load them on the host (modprobe) before starting the server'],
  [17, 'SYS_RAWIO', 'refused', 'raw I/O: ioperm, iopl, /dev/mem, SCSI commands',
    'raw I/O reaches the host\'s hardware and memory directly; give the server a device node with MKNOD if it needs one'],
  [18, 'SYS_CHROOT', 'default', 'use chroot()'],
  [19, 'SYS_PTRACE', 'refused', 'trace any process',
    'it lets the server trace every process it can see, including host tools entered into it; ' +
    'programs can still trace their own children and processes of the same user (strace, gdb of your own program)'],
  [20, 'SYS_PACCT', 'refused', 'switch process accounting on and off',
    'process accounting (acct) is one switch for the whole host; turn it on from the host'],
  [21, 'SYS_ADMIN', 'refused', 'mounts, namespaces and many other system operations',
    'it reaches the host kernel (mounts, namespaces, quotas, keyrings, and much more) and undoes the containment; ' +
    'mounts a server needs are made by the host when it starts the server'],
  [22, 'SYS_BOOT', 'refused', 'reboot and load a new kernel',
    'reboot and kexec act on the whole machine; use vreboot or vhalt inside the server, which ask the host through /dev/reboot'],
  [23, 'SYS_NICE', 'refused', 'raise priorities and use real-time scheduling',
    'raised priorities and real-time scheduling starve the host and the other servers; ' +
    'set the server\'s share with S_NICE, CPU_WEIGHT and CPU_MAX'],
  [24, 'SYS_RESOURCE', 'addable', 'raise resource limits up to the server\'s limits'],
  [25, 'SYS_TIME', 'refused', 'set the system clock',
    'the clock is shared with the host; keep it right with NTP on the host'],
  [26, 'SYS_TTY_CONFIG', 'addable', 'vhangup and terminal configuration'],
  [27, 'MKNOD', 'addable', 'create device nodes (the device allowlist still applies)'],
  [28, 'LEASE', 'addable', 'take file leases'],
  [29, 'AUDIT_WRITE', 'default', 'write records to the audit log'],
  [30, 'AUDIT_CONTROL', 'refused', 'configure the audit subsystem',
    'the audit rules are the host\'s, and a server could switch auditing off; configure auditing on the host'],
  [31, 'SETFCAP', 'refused', 'set file capabilities',
    'file capabilities give power to whoever runs the file, including the host or another server sharing unified files; ' +
    'add the capability the program needs to S_CAPS instead'],
  [32, 'MAC_OVERRIDE', 'refused', 'bypass mandatory access control',
    'it bypasses the host\'s mandatory access control (AppArmor, SELinux, Smack) that also protects the host'],
  [33, 'MAC_ADMIN', 'refused', 'configure mandatory access control',
    'it changes the host\'s mandatory access control policy; load policies on the host'],
  [34, 'SYSLOG', 'refused', 'read and clear the kernel log',
    'the kernel log (dmesg) is the host\'s, with its addresses and other servers\' messages; read it on the host'],
  [35, 'WAKE_ALARM', 'refused', 'set alarms that wake the machine',
    'it wakes the whole machine from suspend'],
  [36, 'BLOCK_SUSPEND', 'refused', 'keep the machine from suspending',
    'it keeps the whole machine from suspending'],
  [37, 'AUDIT_READ', 'refused', 'read the audit log over netlink',
    'the audit log is the host\'s and holds other servers\' events; read it on the host'],
  [38, 'PERFMON', 'refused', 'performance monitoring',
    'performance monitoring observes the kernel and every process on the host; profile from the host'],
  [39, 'BPF', 'refused', 'load eBPF programs and maps',
    'eBPF programs run in the shared kernel, and could detach the programs that lock the server to its address'],
  [40, 'CHECKPOINT_RESTORE', 'refused', 'checkpoint and restore processes',
    'it chooses PIDs and reads the state of other processes; checkpoint a server from the host'],
];

/** Every capability this tool knows, indexed by number (0..CAP_LAST). */
export const CAPABILITIES: readonly CapInfo[] = ROWS.map(([number, name, set, description, refusal]) => ({
  number,
  name,
  capName: `CAP_${name}`,
  set,
  description,
  ...(refusal !== undefined ? { refusal } : {}),
}));

/** The highest capability number this tool knows (CAP_CHECKPOINT_RESTORE). */
export const CAP_LAST = CAPABILITIES.length - 1;

const BY_NAME = new Map(CAPABILITIES.map((c) => [c.name, c]));

function namesOf(set: CapSet): readonly string[] {
  return CAPABILITIES.filter((c) => c.set === set).map((c) => c.name);
}

/** Kept by every server (short names, by number). */
export const SERVER_DEFAULT_CAPS = namesOf('default');
/** May be added with S_CAPS / --cap (short names, by number). */
export const ADDABLE_CAPS = namesOf('addable');
/** Never given to a server (short names, by number); see capRefusal(). */
export const REFUSED_CAPS = namesOf('refused');

/** 'CAP_NET_RAW', 'cap_net_raw', 'net_raw' -> 'NET_RAW' (not checked). */
export function normalizeCapName(name: string): string {
  const up = name.trim().toUpperCase();
  return up.startsWith('CAP_') ? up.slice(4) : up;
}

/** Look a capability up by name (`CAP_X` or `X`, any case) or undefined. */
export function capByName(name: string): CapInfo | undefined {
  return BY_NAME.get(normalizeCapName(name));
}

/** Look a capability up by number, or undefined beyond CAP_LAST. */
export function capByNumber(n: number): CapInfo | undefined {
  return CAPABILITIES[n];
}

/** Why a capability is refused, or undefined when it is not refused (or unknown). */
export function capRefusal(name: string): string | undefined {
  return capByName(name)?.refusal;
}

/** Levenshtein distance between two strings. */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * The known name closest to @name, for "did you mean" messages: the
 * smallest edit distance, ties broken by a shared prefix, then by number.
 */
export function closestName(name: string, candidates: readonly string[]): string {
  let best = candidates[0] ?? '';
  let bestScore = Infinity;
  for (const c of candidates) {
    let d = editDistance(name, c);
    if (c.startsWith(name) || name.startsWith(c)) d -= 0.5;
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return best;
}

/** The known capability name closest to an unknown one ('NET_RAWW' -> 'CAP_NET_RAW'). */
export function closestCapName(name: string): string {
  return `CAP_${closestName(normalizeCapName(name), CAPABILITIES.map((c) => c.name))}`;
}

/** A bounding-set mask of the given capability names (unknown names ignored). */
export function capMask(names: Iterable<string>): bigint {
  let mask = 0n;
  for (const n of names) {
    const c = capByName(n);
    if (c) mask |= 1n << BigInt(c.number);
  }
  return mask;
}

/** Short names of the capabilities set in @mask, by number (bits beyond CAP_LAST ignored). */
export function capNamesFromMask(mask: bigint): string[] {
  return CAPABILITIES.filter((c) => (mask >> BigInt(c.number)) & 1n).map((c) => c.name);
}

/** A mask as the 0x-hex string the kernel bridge uses ('0x00000000a80425fb'). */
export function capMaskHex(mask: bigint): string {
  return `0x${mask.toString(16).padStart(16, '0')}`;
}

/** One problem with a capability request, ready to become a config error. */
export interface CapProblem {
  /** the token as written ('CAP_NET_RAW', '!foo') */
  token: string;
  message: string;
}

/** The capabilities a server ends up with, from the default set and its requests. */
export interface CapRequestResult {
  /** final bounding set, short names by number */
  bounding: string[];
  /** capabilities added beyond the default set */
  added: string[];
  /** default capabilities dropped with '!' */
  dropped: string[];
  problems: CapProblem[];
}

/**
 * Apply capability requests (`CAP_X`/`X` adds, `!CAP_X` drops; any case)
 * to the server default set.  Adding a refused or unknown capability, or
 * adding and dropping the same one, is a problem; the problems are
 * collected, one per bad token.  Adding a default one, or dropping one
 * not held, changes nothing and is accepted.
 */
export function resolveCapRequests(tokens: readonly string[]): CapRequestResult {
  const set = new Set(SERVER_DEFAULT_CAPS);
  const problems: CapProblem[] = [];
  const adds = new Map<string, string>();
  const drops = new Map<string, string>();
  for (const token of tokens) {
    const drop = token.startsWith('!');
    const bare = drop ? token.slice(1) : token;
    const cap = capByName(bare);
    if (!cap) {
      problems.push({
        token,
        message: bare.trim() === ''
          ? `'!' must be followed by a capability name, e.g. !CAP_CHOWN`
          : `unknown capability '${bare}' (did you mean ${closestCapName(bare)}?); ` +
            `this tool knows CAP_CHOWN (0) to CAP_${CAPABILITIES[CAP_LAST]!.name} (${CAP_LAST}), newer ones are refused`,
      });
      continue;
    }
    if (drop) {
      drops.set(cap.name, token);
      continue;
    }
    if (cap.set === 'refused') {
      problems.push({ token, message: `${cap.capName} is refused to servers: ${cap.refusal}` });
      continue;
    }
    adds.set(cap.name, token);
  }
  for (const [name, token] of adds) {
    if (drops.has(name)) {
      problems.push({ token, message: `CAP_${name} is both added and dropped ('${drops.get(name)}'); keep one` });
    }
  }
  const added: string[] = [];
  const dropped: string[] = [];
  for (const name of adds.keys()) {
    if (!set.has(name)) added.push(name);
    set.add(name);
  }
  for (const name of drops.keys()) {
    if (set.has(name) && !adds.has(name)) dropped.push(name);
    if (!adds.has(name)) set.delete(name);
  }
  const byNumber = (a: string, b: string) => capByName(a)!.number - capByName(b)!.number;
  return {
    bounding: [...set].sort(byNumber),
    added: added.sort(byNumber),
    dropped: dropped.sort(byNumber),
    problems,
  };
}
