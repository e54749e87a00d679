/**
 * The server's address on IPROOTDEV: added at start (`ip addr add
 * IP/PREFIX [broadcast B] dev DEV label DEV:NAME`), removed at stop.  An
 * address the host already has is not added — and then not removed.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
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
    broadcast: config.ipBroadcast, label: aliasLabel(config.ipDev, config.name),
  };
}

interface IpAddrJson {
  ifname: string;
  addr_info?: Array<{ family: string; local: string; prefixlen: number }>;
}

async function ipJson(args: string[]): Promise<IpAddrJson[]> {
  const { stdout } = await exec('ip', ['-j', ...args], { maxBuffer: 16 << 20 });
  return stdout.trim() ? (JSON.parse(stdout) as IpAddrJson[]) : [];
}

/** the devices that have @ip */
export async function devicesWith(ip: string): Promise<string[]> {
  const out: string[] = [];
  for (const l of await ipJson(['-4', 'addr', 'show'])) {
    if (l.addr_info?.some((a) => a.family === 'inet' && a.local === ip)) out.push(l.ifname);
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

export async function addAlias(a: AliasRecord): Promise<void> {
  const args = ['addr', 'add', `${a.ip}/${a.prefix}`];
  if (a.broadcast) args.push('broadcast', a.broadcast);
  args.push('dev', a.dev);
  if (a.label) args.push('label', a.label);
  try {
    await exec('ip', args);
  } catch (e) {
    throw new Error(`ip ${args.join(' ')}: ${errText(e)}`);
  }
}

/** removes the alias; an alias already gone is fine */
export async function removeAlias(a: AliasRecord): Promise<void> {
  if (!(await devicesWith(a.ip).catch(() => [a.dev])).includes(a.dev)) return;
  try {
    await exec('ip', ['addr', 'del', `${a.ip}/${a.prefix}`, 'dev', a.dev]);
  } catch (e) {
    const msg = errText(e);
    if (/Cannot assign requested address|Cannot find device/.test(msg)) return;
    throw new Error(`ip addr del ${a.ip}/${a.prefix} dev ${a.dev}: ${msg}`);
  }
}
