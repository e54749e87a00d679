/**
 * Checks that need more than one file but no I/O: the server name, clashes
 * with the other servers' configurations, and whether the address can be
 * the server's on this host (the caller passes the host's addresses).
 */
import { isIPv4 } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import { configError, type ConfigIssue } from './issues.js';
import type { ServerConfig } from './types.js';
import { ipv4UnicastProblem } from './values.js';

export { MAX_NAME_LENGTH, serverNameProblem } from './name.js';

/**
 * Clashes between @config and the other servers' configurations: the same
 * IPROOT, or the same S_CONTEXT.  @others may include @config itself (it is
 * skipped by name).
 */
export function checkConflicts(config: ServerConfig, others: readonly ServerConfig[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const o of others) {
    if (o.name === config.name) continue;
    if (config.ip !== null && o.ip === config.ip) {
      issues.push(configError(config.file, config.lines.IPROOT ?? null, 'IPROOT', config.ip,
        `${config.ip} is already the address of server '${o.name}' (${o.file}:${o.lines.IPROOT ?? '?'}); ` +
        'each server needs an address of its own'));
    }
    if (config.context !== null && o.context === config.context) {
      issues.push(configError(config.file, config.lines.S_CONTEXT ?? null, 'S_CONTEXT', String(config.context),
        `context ${config.context} is already used by server '${o.name}' (${o.file}:${o.lines.S_CONTEXT ?? '?'}); ` +
        'choose another number from 2 to 49151, or leave S_CONTEXT empty for a dynamic one'));
    }
  }
  return issues;
}

/** The IPv4 addresses of the host, from os.networkInterfaces(). */
export function localIPv4Addresses(ifaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const out: string[] = [];
  for (const list of Object.values(ifaces)) {
    for (const a of list ?? []) if (a.family === 'IPv4' || (a.family as unknown) === 4) out.push(a.address);
  }
  return out;
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
