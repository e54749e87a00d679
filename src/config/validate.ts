/**
 * Checks that need more than one file but no I/O: the server name, clashes
 * with the other servers' configurations, and whether the address can be
 * the server's on this host (the caller passes the host's addresses).
 */
import { isIPv4 } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { configError, type ConfigIssue } from './issues.js';
import type { ServerConfig } from './types.js';
import { canonicalIPv6, ipv4UnicastProblem } from './values.js';

export { MAX_NAME_LENGTH, serverNameProblem } from './name.js';

/** One server's side of a clash: its name and where the clashing key is set. */
export interface ClashSide {
  name: string;
  file: string;
  /** the line of the key, null when it is not in the file (a default) */
  line: number | null;
}

/**
 * What two servers' configurations share that they must not (or should
 * not): the same IPROOT or the same S_CONTEXT (the two cannot run at the
 * same time), or the same host name (they can run, but are told apart by
 * name only in logs and /etc/hosts).
 */
export interface Clash {
  key: 'IPROOT' | 'S_CONTEXT' | 'S_HOSTNAME';
  /** the shared value */
  value: string;
  /** the server checked */
  server: ClashSide;
  /** the other server */
  other: ClashSide;
  /** false for a clash that only deserves a warning (S_HOSTNAME) */
  exclusive: boolean;
}

const side = (c: ServerConfig, key: Clash['key']): ClashSide => ({ name: c.name, file: c.file, line: c.lines[key] ?? null });

/**
 * The clashes between @config and the other servers' configurations (the
 * one check of build, start and `vserver-all status`).  @others may
 * include @config itself (skipped by name).
 */
export function findClashes(config: ServerConfig, others: readonly ServerConfig[]): Clash[] {
  const out: Clash[] = [];
  const host = (c: ServerConfig) => c.hostname ?? c.name;
  for (const o of others) {
    if (o.name === config.name) continue;
    if (config.ip !== null && o.ip === config.ip) {
      out.push({ key: 'IPROOT', value: config.ip, server: side(config, 'IPROOT'), other: side(o, 'IPROOT'), exclusive: true });
    }
    if (config.ip6 !== null && o.ip6 === config.ip6) {
      out.push({ key: 'IPROOT', value: config.ip6, server: side(config, 'IPROOT'), other: side(o, 'IPROOT'), exclusive: true });
    }
    if (config.context !== null && o.context === config.context) {
      out.push({ key: 'S_CONTEXT', value: String(config.context), server: side(config, 'S_CONTEXT'), other: side(o, 'S_CONTEXT'), exclusive: true });
    }
    if (host(config) === host(o)) {
      out.push({ key: 'S_HOSTNAME', value: host(config), server: side(config, 'S_HOSTNAME'), other: side(o, 'S_HOSTNAME'), exclusive: false });
    }
  }
  return out;
}

const where = (s: ClashSide) => (s.line === null ? s.file : `${s.file}:${s.line}`);

/**
 * The clash as a ConfigIssue of the server checked, naming both servers and
 * both files; @tail says what follows from it (refused, or a warning's advice).
 */
export function clashIssue(c: Clash, severity: 'error' | 'warning', tail: string): ConfigIssue {
  const what = c.key === 'IPROOT' ? `also the address of server '${c.other.name}'`
    : c.key === 'S_CONTEXT' ? `also the context number of server '${c.other.name}'`
      : `also the host name of server '${c.other.name}'`;
  const issue = configError(c.server.file, c.server.line, c.key, c.value, `${what} (${where(c.other)})${tail ? `; ${tail}` : ''}`);
  return { ...issue, severity };
}

/** what an exclusive clash means, for messages */
export function clashConsequence(c: Clash): string {
  if (!c.exclusive) return 'both can run, but only their names tell them apart in logs and /etc/hosts';
  return `'${c.server.name}' and '${c.other.name}' cannot run at the same time`;
}

/** The IPv4 addresses of the host, from os.networkInterfaces(). */
export function localIPv4Addresses(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const out: string[] = [];
  for (const list of Object.values(ifaces)) {
    for (const a of list ?? []) if (a.family === 'IPv4' || (a.family as unknown) === 4) out.push(a.address);
  }
  return out;
}

/** The IPv6 addresses of the host (canonical text), from os.networkInterfaces(). */
export function localIPv6Addresses(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const out: string[] = [];
  for (const list of Object.values(ifaces)) {
    for (const a of list ?? []) {
      if (a.family === 'IPv6' || (a.family as unknown) === 6) out.push(canonicalIPv6(a.address.replace(/%.*$/, '')));
    }
  }
  return out;
}

/**
 * Whether the server's IPv6 address (IPROOT's second one) can be its own on
 * this host: without IPROOTDEV vctx adds nothing, so the host must have it
 * already (IPv6 has no loopback range like 127.0.0.0/8).  @localAddresses
 * from localIPv6Addresses(os.networkInterfaces()).
 */
export function checkIp6Assignable(config: ServerConfig, localAddresses: readonly string[]): ConfigIssue | null {
  const ip6 = config.ip6;
  if (ip6 === null || config.ipDev !== null || localAddresses.includes(ip6)) return null;
  return configError(config.file, config.lines.IPROOT ?? null, 'IPROOT', [config.ip, ip6].join(' '),
    `${ip6} is not an address of this host, and without IPROOTDEV vctx does not add it; ` +
    'set IPROOTDEV to the device to add it to (e.g. eth0, or lo for a unique-local test address), or configure the address on the host');
}

/**
 * Whether the server's address can be its own on this host.  It must be a
 * unicast IPv4 address (not 0.0.0.0/8, multicast, reserved or broadcast,
 * nor the broadcast address of its IPROOTMASK).  Without IPROOTDEV vctx
 * adds no address, so it must already be one of @localAddresses (127/8
 * always counts).  The caller gets @localAddresses from
 * localIPv4Addresses(os.networkInterfaces()).
 */
export function checkIpAssignable(config: ServerConfig, localAddresses: readonly string[]): ConfigIssue | null {
  const ip = config.ip;
  if (ip === null) return null;
  const err = (message: string) => configError(config.file, config.lines.IPROOT ?? null, 'IPROOT', ip, message);
  const p = ipv4UnicastProblem(ip);
  if (p) return err(`${p}; use the unicast IPv4 address of the server`);
  const octets = ip.split('.').map(Number);
  const n = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  if (config.ipPrefix !== null && config.ipPrefix <= 30) {
    const hostMask = (2 ** (32 - config.ipPrefix)) - 1;
    if ((n & hostMask) >>> 0 === hostMask) {
      return err(`${ip} is the broadcast address of its /${config.ipPrefix} network; use a host address`);
    }
    if ((n & hostMask) >>> 0 === 0) {
      return err(`${ip} is the network address of its /${config.ipPrefix} network; use a host address`);
    }
  }
  if (config.ipDev === null) {
    if (octets[0] === 127) return null;
    if (!localAddresses.filter((a) => isIPv4(a)).includes(ip)) {
      return err(`${ip} is not an address of this host, and without IPROOTDEV vctx does not add it; ` +
        'set IPROOTDEV to the device to add it to (e.g. eth0), or configure the address on the host');
    }
  }
  return null;
}
