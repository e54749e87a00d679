/**
 * The server's addresses on IPROOTDEV: added at start (`ip addr add
 * IP/PREFIX [broadcast B] dev DEV label DEV:NAME`, and for IPROOT's IPv6
 * address `ip -6 addr add IP6/128 dev DEV nodad`), removed at stop.  An
 * address the host already has is not added — and then not removed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { canonicalIPv6 } from '../config/values.js';
import type { ServerConfig } from '../config/types.js';
import type { AliasRecord } from './runtime.js';

const exec = promisify(execFile);

/** IFNAMSIZ - 1 */
const MAX_LABEL = 15;

/** the label of the alias: DEV:NAME, cut to 15 characters; null when DEV leaves no room */
export function aliasLabel(dev: string, name: string): string | null {
  const safe = /^[A-Za-z0-9_.-]+$/.test(name) ? name : 'vs';
  if (dev.length + 2 > MAX_LABEL) return null;
  return `${dev}:${safe}`.slice(0, MAX_LABEL);
}

/** the alias a start would add for @config, or null (no IPROOTDEV) */
export function plannedAlias(config: ServerConfig): AliasRecord | null {
  if (!config.ip || !config.ipDev) return null;
  return {
    ip: config.ip, prefix: config.ipPrefix ?? 32, dev: config.ipDev,
    broadcast: config.ipBroadcast, label: aliasLabel(config.ipDev, config.name), ip6: config.ip6,
  };
}

/**
 * What a start of @config adds: plannedAlias less the addresses some device
 * of the host has already (those are neither added nor removed); null when
 * there is nothing to add.
 */
export async function aliasToAdd(config: ServerConfig): Promise<AliasRecord | null> {
  const plan = plannedAlias(config);
  if (!plan) return null;
  const v4Present = (await devicesWith(plan.ip)).length > 0;
  const ip6 = plan.ip6 && !(await devicesWith(plan.ip6)).length ? plan.ip6 : null;
  if (v4Present && !ip6) return null;
  return { ...plan, ip6, ...(v4Present ? { v4Present: true } : {}) };
}

/** the `ip` arguments that add @a, one list per address */
export function aliasAddCommands(a: AliasRecord): string[][] {
  const out: string[][] = [];
  if (!a.v4Present) {
    const args = ['addr', 'add', `${a.ip}/${a.prefix}`];
    if (a.broadcast) args.push('broadcast', a.broadcast);
    args.push('dev', a.dev);
    if (a.label) args.push('label', a.label);
    out.push(args);
  }
  // nodad: the address is usable at once (no duplicate detection to wait for, no "tentative" bind failure)
  if (a.ip6) out.push(['-6', 'addr', 'add', `${a.ip6}/128`, 'dev', a.dev, 'nodad']);
  return out;
}

/** the `ip` arguments that remove @a, one list per address */
export function aliasDelCommands(a: AliasRecord): string[][] {
  const out: string[][] = [];
  if (!a.v4Present) out.push(['addr', 'del', `${a.ip}/${a.prefix}`, 'dev', a.dev]);
  if (a.ip6) out.push(['-6', 'addr', 'del', `${a.ip6}/128`, 'dev', a.dev]);
  return out;
}

interface IpAddrJson {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

async function ipJson(args: string[]): Promise<IpAddrJson[]> {
  const { stdout } = await exec('ip', ['-j', ...args], { maxBuffer: 16 << 20 });
  return stdout.trim() ? (JSON.parse(stdout) as IpAddrJson[]) : [];
}

/** the devices that have @ip (IPv4, or IPv6 in any spelling) */
export async function devicesWith(ip: string): Promise<string[]> {
  const v6 = ip.includes(':');
  const want = v6 ? canonicalIPv6(ip) : ip;
  const out: string[] = [];
  for (const l of await ipJson([v6 ? '-6' : '-4', 'addr', 'show'])) {
    const has = l.addr_info?.some((a) => (v6 ? a.family === 'inet6' && canonicalIPv6(a.local) === want : a.family === 'inet' && a.local === want));
    if (has) out.push(l.ifname);
  }
  return out;
}

export async function deviceExists(dev: string): Promise<boolean> {
  return exec('ip', ['link', 'show', 'dev', dev]).then(() => true, () => false);
}

function errText(e: unknown): string {
  const x = e as { stderr?: string; message?: string };
  return (x.stderr?.trim() || x.message || String(e)).split('\n')[0]!;
}

/** adds @a's addresses; when the IPv6 one fails, the IPv4 one just added is removed again */
export async function addAlias(a: AliasRecord): Promise<void> {
  const adds = aliasAddCommands(a);
  const dels = aliasDelCommands(a);
  for (let i = 0; i < adds.length; i++) {
    try {
      await exec('ip', adds[i]!);
    } catch (e) {
      for (const d of dels.slice(0, i)) await exec('ip', d).catch(() => {});
      throw new Error(`ip ${adds[i]!.join(' ')}: ${errText(e)}`);
    }
  }
}

/** removes the alias; an address already gone is fine */
export async function removeAlias(a: AliasRecord): Promise<void> {
  for (const args of aliasDelCommands(a)) {
    const ip = args[args.indexOf('del') + 1]!.replace(/\/\d+$/, '');
    if (!(await devicesWith(ip).catch(() => [a.dev])).includes(a.dev)) continue;
    try {
      await exec('ip', args);
    } catch (e) {
      const msg = errText(e);
      if (/Cannot assign requested address|Cannot find device/.test(msg)) continue;
      throw new Error(`ip ${args.join(' ')}: ${msg}`);
    }
  }
}
