/**
 * One zod schema per NAME.conf key: each takes the unquoted string value
 * and yields the typed value, or issues whose messages say what is allowed.
 * An empty value always means "not set" (the key's default).
 *
 * zod/mini (the same schemas, functional API): ~20 KB in a command's
 * bundle where zod's full API is ~450 KB that every start of `vserver`
 * would parse (bench/results/startup.md).
 */
import { isIPv4, isIPv6 } from 'node:net';
import * as z from 'zod/mini';
import { capMask, capMaskHex, closestName, resolveCapRequests } from './caps.js';
import { parseUlimit, ULIMIT_ALLOWED, type Rlimit } from './ulimit.js';
import { FLAG } from '../generated/tables.js';
import { isDigits } from './digits.js';
import { SERVER_FLAGS, type ConfigKey, type ServerCaps, type ServerFlag, type ServerInit } from './types.js';

type Ctx = z.core.ParsePayload;

/** Record one problem with the value (a key may have several). */
function issue(ctx: Ctx, message: string): void {
  ctx.issues.push({ code: 'custom', message, input: ctx.value });
}

/** Record the problem and give up on the value. */
function fail(ctx: Ctx, message: string): never {
  issue(ctx, message);
  return z.NEVER;
}

/** An integer in [min, max] written in decimal (with an optional '-'). */
function integer(text: string): number | null {
  return isDigits(text.startsWith('-') ? text.slice(1) : text) && Number.isSafeInteger(Number(text)) ? Number(text) : null;
}

/* ------------------------------------------------------------ addresses */

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

/**
 * Why a dotted IPv4 address cannot be a server's own address, or null:
 * 0.0.0.0/8 ("this network"), multicast 224/4, reserved 240/4 and the
 * limited broadcast 255.255.255.255 are not unicast host addresses.
 */
export function ipv4UnicastProblem(ip: string): string | null {
  if (!isIPv4(ip)) return 'not a dotted IPv4 address';
  const first = Number(ip.split('.')[0]);
  if (ip === '255.255.255.255') return 'the broadcast address is not a host address';
  if (first === 0) return `${ip} is in 0.0.0.0/8 ("this host"), not an address others can reach`;
  if (first >= 224 && first <= 239) return `${ip} is a multicast address, not a host address`;
  if (first >= 240) return `${ip} is in the reserved range 240.0.0.0/4, not a host address`;
  return null;
}

/** @ip (a valid IPv6 address) in its canonical RFC 5952 text: lower case, longest zero run as :: */
export function canonicalIPv6(ip: string): string {
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/** the eight 16-bit groups of a valid IPv6 address */
function ipv6Groups(ip: string): number[] {
  const c = canonicalIPv6(ip);
  const [head, tail] = c.includes('::') ? c.split('::') as [string, string] : [c, null];
  const part = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const h = part(head);
  if (tail === null) return h;
  const t = part(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/**
 * Why @ip cannot be a server's IPv6 address, or null: it must be a unicast
 * global or unique-local address (fd00::/8), not ::, the host's ::1, a
 * multicast, link-local (it needs an interface scope) or IPv4-mapped one.
 */
export function ipv6UnicastProblem(ip: string): string | null {
  if (ip.includes('%')) return `${ip} has a zone index (%...): a server's address is a global or unique-local one, without a scope`;
  if (ip.includes('/')) return `${ip} has a prefix length: write the address alone (it is added as /128)`;
  if (!isIPv6(ip)) return `${JSON.stringify(ip)} is not an IPv6 address`;
  const g = ipv6Groups(ip);
  const c = canonicalIPv6(ip);
  if (c === '::') return ':: is the unspecified address, not a host address';
  if (c === '::1') return "::1 is the host's loopback; localhost inside a server is the server's own, without configuring it";
  if (g[0]! >> 8 === 0xff) return `${c} is a multicast address, not a host address`;
  if ((g[0]! & 0xffc0) === 0xfe80) return `${c} is link-local (fe80::/10), which needs an interface scope; use a global or unique-local (fd00::/8) address`;
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `${c} is an IPv4-mapped address; write the IPv4 address itself`;
  return null;
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/**
 * Why @bcast cannot be the broadcast address of @ip/@prefix, or null: it
 * must lie inside that network (IPROOT/IPROOTMASK).
 */
export function broadcastProblem(ip: string, prefix: number, bcast: string): string | null {
  const size = 2 ** (32 - prefix);
  const net = Math.floor(ipToInt(ip) / size) * size;
  const b = ipToInt(bcast);
  if (b >= net && b < net + size) return null;
  return `outside the network ${intToIp(net)}/${prefix} of IPROOT ${ip} and IPROOTMASK /${prefix}` +
    `; its broadcast address is ${intToIp(net + size - 1)} (or leave IPROOTBCAST empty to have it derived)`;
}

/** A prefix length from "24", "/24" or a contiguous dotted netmask. */
function prefixOf(text: string): number | null {
  const p = /^\/?(\d{1,2})$/.exec(text);
  if (p) {
    const n = Number(p[1]);
    return n >= 1 && n <= 32 ? n : null;
  }
  if (!isIPv4(text)) return null;
  const v = ipToInt(text);
  const bits = v.toString(2).padStart(32, '0');
  if (!/^1+0*$/.test(bits)) return null;
  return bits.indexOf('0') < 0 ? 32 : bits.indexOf('0');
}

/* ------------------------------------------------------------ names */

/** Linux interface names (dev_valid_name): 1..15 bytes, no '/', ':', blanks; not '.' or '..'. */
export function interfaceNameProblem(name: string): string | null {
  if (name.length > 15) return 'interface names have at most 15 characters';
  if (name === '.' || name === '..' || /[/:\s]/.test(name) || /[^\x21-\x7e]/.test(name)) {
    return 'an interface name has no /, :, blanks or control characters';
  }
  return null;
}

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$/;

/** RFC 1123 host names, at most 64 characters (the kernel's UTS limit). */
export function hostnameProblem(name: string): string | null {
  if (name.length > 64) return 'at most 64 characters (the kernel\'s limit)';
  const labels = name.split('.');
  if (labels.some((l) => l.length === 0 || l.length > 63 || !LABEL.test(l))) {
    return 'letters, digits and hyphens in dot-separated labels of 1 to 63 characters, ' +
      'not starting or ending with a hyphen (e.g. www.example.com)';
  }
  return null;
}

/* ------------------------------------------------------------ the schemas */

/** a schema: the string value through @fn, which returns the typed value or fail()s */
const str = () => ({
  transform: <T>(fn: (v: string, ctx: Ctx) => T) => z.pipe(z.string(), z.transform(fn)),
});

/** the addresses of IPROOT: one IPv4 address, and one IPv6 address besides when given */
export interface IpRoot {
  v4: string;
  /** canonical (RFC 5952) form, or null */
  v6: string | null;
}

const IPROOT_EXAMPLE = 'e.g. "192.168.1.10" or "192.168.1.10 fd00::10"';

const ipRoot = str().transform((v, ctx): IpRoot | null => {
  if (v === '') return null;
  if (v.includes(',')) {
    return fail(ctx, `separate the addresses with a blank, as util-vserver's IPROOT list did: ${IPROOT_EXAMPLE}`);
  }
  const v4: string[] = [];
  const v6: string[] = [];
  for (const t of v.trim().split(/\s+/)) {
    if (t.includes(':')) {
      const p = ipv6UnicastProblem(t);
      if (p) return fail(ctx, `${p}; ${IPROOT_EXAMPLE}`);
      v6.push(canonicalIPv6(t));
    } else if (!isIPv4(t)) {
      return fail(ctx, `${JSON.stringify(t)} is not a dotted IPv4 address such as 192.168.1.10 (nor an IPv6 address); ` +
        'host names are not resolved (a server\'s address must not depend on DNS when it starts): write the address');
    } else {
      const p = ipv4UnicastProblem(t);
      if (p) return fail(ctx, `${p}; use the unicast IPv4 address of the server`);
      v4.push(t);
    }
  }
  if (v4.length > 1) return fail(ctx, `one IPv4 address only (a server is locked to one), and one IPv6 address besides if any; ${IPROOT_EXAMPLE}`);
  if (v6.length > 1) return fail(ctx, `one IPv6 address only, with the server's IPv4 address; ${IPROOT_EXAMPLE}`);
  if (v4.length === 0) {
    return fail(ctx, `an IPv6 address comes with the server's IPv4 address (a server is locked to one IPv4 address); ${IPROOT_EXAMPLE}`);
  }
  return { v4: v4[0]!, v6: v6[0] ?? null };
});

const ipDev = str().transform((v, ctx): string | null => {
  if (v === '') return null;
  const p = interfaceNameProblem(v);
  return p ? fail(ctx, `${p}; the name of a host network device such as eth0`) : v;
});

const ipMask = str().transform((v, ctx): number | null => {
  if (v === '') return null;
  const p = prefixOf(v);
  return p === null ? fail(ctx, 'a netmask such as 255.255.255.0 or a prefix length 1..32 such as 24') : p;
});

const ipBcast = str().transform((v, ctx): string | null => {
  if (v === '') return null;
  return isIPv4(v) ? v : fail(ctx, 'a dotted IPv4 broadcast address such as 192.168.1.255');
});

const onBoot = str().transform((v, ctx): boolean => {
  const l = v.toLowerCase();
  if (l === '' || l === 'no') return false;
  if (l === 'yes') return true;
  return fail(ctx, "'yes' or 'no'");
});

const nat = str().transform((v, ctx): boolean => {
  const l = v.toLowerCase();
  if (l === '' || l === 'no') return false;
  if (l === 'yes') return true;
  return fail(ctx, "'yes' (the server reaches the outside world from the host's address) or 'no'");
});

const sCaps = str().transform((v, ctx): ServerCaps => {
  const tokens = v.split(/[\s,]+/).filter((t) => t !== '');
  const r = resolveCapRequests(tokens);
  for (const p of r.problems) issue(ctx, p.message);
  return { bounding: r.bounding, added: r.added, dropped: r.dropped, hex: capMaskHex(capMask(r.bounding)) };
});

const sContext = str().transform((v, ctx): number | null => {
  if (v === '') return null;
  const n = integer(v);
  const allowed = 'a static context number from 2 to 49151, or empty for a dynamic one';
  if (n === null) return fail(ctx, allowed);
  if (n === 0) return fail(ctx, `0 is the host (root server); ${allowed}`);
  if (n === 1) return fail(ctx, `1 is the spectator (monitoring server); ${allowed}`);
  if (n >= 49152 && n <= 65535) return fail(ctx, `49152..65535 are allocated dynamically; ${allowed}`);
  if (n < 2 || n > 49151) return fail(ctx, allowed);
  return n;
});

const sDomain = str().transform((v, ctx): string | null => {
  if (v === '') return null;
  if (v.length > 64) return fail(ctx, 'at most 64 characters (the kernel\'s limit)');
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v)) {
    return fail(ctx, 'a NIS domain name: letters, digits, dots, hyphens and underscores');
  }
  return v;
});

const sHostname = str().transform((v, ctx): string | null => {
  if (v === '') return null;
  const p = hostnameProblem(v);
  return p ? fail(ctx, `a host name: ${p}`) : v;
});

const sNice = str().transform((v, ctx): number | null => {
  if (v === '') return null;
  const n = integer(v);
  return n !== null && n >= -20 && n <= 19 ? n : fail(ctx, 'an integer nice level from -20 (highest priority) to 19 (lowest)');
});

const sFlags = str().transform((v, ctx): ServerFlag[] => {
  const seen = new Set<ServerFlag>();
  for (const t of v.split(/[\s,]+/).filter((x) => x !== '')) {
    const f = t.toLowerCase() as ServerFlag;
    if (SERVER_FLAGS.includes(f)) seen.add(f);
    else issue(ctx, `unknown flag '${t}' (did you mean ${closestName(t.toLowerCase(), SERVER_FLAGS)}?); flags: ${SERVER_FLAGS.join(' ')}`);
  }
  return SERVER_FLAGS.filter((f) => seen.has(f));
});

const SYSTEMD = /(^|\/)systemd$/;

const sInit = str().transform((v, ctx): ServerInit | null => {
  const allowed = "'sysv' (rc scripts, runlevel 3), 'sysv:N' (runlevel N, 1..5), 'init' (/sbin/init as PID 1) " +
    'or an absolute command such as /usr/sbin/sshd -D';
  const t = v.trim();
  if (t === '') return null;
  const sysv = /^sysv(?::(\d+))?$/i.exec(t);
  if (sysv) {
    const rl = sysv[1] === undefined ? 3 : Number(sysv[1]);
    return rl >= 1 && rl <= 5 ? { style: 'sysv', runlevel: rl } : fail(ctx, `runlevel ${sysv[1]} cannot start a server; ${allowed}`);
  }
  if (['init', FLAG.fakeinit].includes(t.toLowerCase())) return { style: 'init' };
  const argv = t.split(/\s+/);
  const cmd = argv[0]!;
  if (SYSTEMD.test(cmd)) {
    return fail(ctx, 'systemd cannot be a server\'s init: it needs a writable cgroup tree of its own and mounts of ' +
      "its own (CAP_SYS_ADMIN), which a server is never given; use 'init' with a sysvinit or busybox /sbin/init");
  }
  if (!cmd.startsWith('/')) return fail(ctx, allowed);
  return { style: 'command', argv };
});

const ulimit = str().transform((v, ctx): Rlimit[] => {
  if (v.trim() === '') return [];
  const r = parseUlimit(v);
  if (r.ok) return r.limits;
  for (const e of r.errors) issue(ctx, `${e}; allowed: ${ULIMIT_ALLOWED}`);
  return z.NEVER;
});

const priority = str().transform((v, ctx): number => {
  if (v === '') return 0;
  const n = integer(v);
  return n !== null && n >= -999 && n <= 999 ? n : fail(ctx, 'an integer from -999 to 999 (lower starts first)');
});

const NO_LIMIT = /^(max|unlimited)$/i;
const SIZE_UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** a size limit (MEMORY_MAX, DISK_MAX): bytes with K, M, G or T, at least 1M; empty or max: none */
const sizeMax = (example: string) => str().transform((v, ctx): number | null => {
  if (v === '' || NO_LIMIT.test(v)) return null;
  const allowed = `bytes with an optional K, M, G or T suffix (powers of 1024), at least 1M, e.g. ${example}; or 'max'`;
  const m = /^(\d+)([KMGT]?)$/i.exec(v);
  if (!m) return fail(ctx, allowed);
  const n = Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(n)) return fail(ctx, `too large; ${allowed}`);
  if (n < 1024 * 1024) return fail(ctx, `too small to run anything; ${allowed}`);
  return n;
});

/** the console log's size limit (chcontext --console-max): 64K .. 1G, default 1M */
const consoleMax = str().transform((v, ctx): number | null => {
  if (v === '') return null;
  const allowed = 'bytes with an optional K, M or G suffix (powers of 1024), from 64K to 1G, e.g. 4M';
  const m = /^(\d+)([KMG]?)$/i.exec(v);
  if (!m) return fail(ctx, allowed);
  const n = Number(m[1]) * SIZE_UNITS[m[2]!.toUpperCase()]!;
  return Number.isSafeInteger(n) && n >= 64 * 1024 && n <= 1024 ** 3 ? n : fail(ctx, allowed);
});
const memoryMax = sizeMax('512M');
const diskMax = sizeMax('10G');

/** The kernel's PID_MAX_LIMIT on 64-bit. */
const PID_MAX_LIMIT = 4194304;

const pidsMax = str().transform((v, ctx): number | null => {
  if (v === '' || NO_LIMIT.test(v)) return null;
  const n = integer(v);
  return n !== null && n >= 1 && n <= PID_MAX_LIMIT ? n : fail(ctx, `a number of processes from 1 to ${PID_MAX_LIMIT}, or 'max'`);
});

const cpuWeight = str().transform((v, ctx): number | null => {
  if (v === '') return null;
  const n = integer(v);
  return n !== null && n >= 1 && n <= 10000 ? n : fail(ctx, 'an integer from 1 to 10000 (the default weight is 100)');
});

const cpuMax = str().transform((v, ctx): number | null => {
  if (v === '' || NO_LIMIT.test(v)) return null;
  const allowed = "a percentage of one CPU from 1% to 102400%, e.g. 150% for one and a half CPUs; or 'max'";
  const m = /^(\d+(?:\.\d{1,2})?)%$/.exec(v);
  if (!m) return fail(ctx, allowed);
  const n = Number(m[1]);
  return n >= 1 && n <= 102400 ? n : fail(ctx, allowed);
});

/** The schema of every key: unquoted string in, typed value out. */
export const KEY_SCHEMAS = {
  IPROOT: ipRoot,
  IPROOTDEV: ipDev,
  IPROOTMASK: ipMask,
  IPROOTBCAST: ipBcast,
  NAT: nat,
  ONBOOT: onBoot,
  S_CAPS: sCaps,
  S_CONTEXT: sContext,
  S_DOMAINNAME: sDomain,
  S_HOSTNAME: sHostname,
  S_NICE: sNice,
  S_FLAGS: sFlags,
  S_INIT: sInit,
  ULIMIT: ulimit,
  PRIORITY: priority,
  MEMORY_MAX: memoryMax,
  PIDS_MAX: pidsMax,
  CPU_WEIGHT: cpuWeight,
  CPU_MAX: cpuMax,
  CONSOLE_MAX: consoleMax,
  DISK_MAX: diskMax,
} satisfies Record<ConfigKey, z.ZodMiniType<unknown, string>>;

/** Every key, in the order of the template. */
export const CONFIG_KEYS = Object.keys(KEY_SCHEMAS) as ConfigKey[];

export type KeyValue<K extends ConfigKey> = z.output<(typeof KEY_SCHEMAS)[K]>;
