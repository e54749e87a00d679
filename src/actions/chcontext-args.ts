/**
 * The chcontext command line that starts a server, from its configuration
 * (pure: the caller supplies what needs I/O), and the host command the
 * monitor runs on vreboot / vhalt.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot, toolsDir } from '../kernel-bridge/addon.js';
import type { VctxPaths } from '../config/paths.js';
import type { ServerConfig } from '../config/types.js';
import type { Rlimit, RlimitValue } from '../config/ulimit.js';

export const CHCONTEXT = join(toolsDir, 'chcontext');

/** what the start decided beyond the configuration */
export interface StartPlan {
  root: string;
  /** where 127.0.0.0/8 of the server is mapped */
  loopback: string | null;
  console: string;
  rebootSocket: string;
  onReboot: string;
  onHalt: string;
  /** the init's argv inside the server */
  init: string[];
  /** keep PID 1 while processes remain (sysv rc style, commands without fakeinit) */
  persist: boolean;
  /** the inherited soft limits by resource number (the bridge's inheritedSoftLimits), for hard-only ULIMITs */
  inheritedSoft: ReadonlyMap<number, RlimitValue>;
}

function rlimitName(r: Rlimit): string {
  return r.resource.replace(/^RLIMIT_/, '').toLowerCase();
}

function lower(a: RlimitValue, b: RlimitValue): RlimitValue {
  if (a === 'unlimited') return b;
  if (b === 'unlimited') return a;
  return Math.min(a, b);
}

/**
 * `--rlimit RES=SOFT:HARD`; a hard-only limit brings the inherited soft
 * limit down to it when that is higher (setrlimit refuses soft > hard).
 */
export function rlimitArg(r: Rlimit, inheritedSoft: ReadonlyMap<number, RlimitValue>): string {
  let soft: RlimitValue | null = r.soft;
  if (soft === null && r.hard !== null) {
    const inh = inheritedSoft.get(r.number);
    soft = inh === undefined ? r.hard : lower(inh, r.hard);
  }
  const v = (x: RlimitValue | null) => (x === null ? '-' : String(x));
  return `${rlimitName(r)}=${v(soft)}:${v(r.hard)}`;
}

/** the full chcontext argv (without the program) that starts @config */
export function startArgs(config: ServerConfig, plan: StartPlan): string[] {
  const a: string[] = ['--daemon', '--secure', '--silent', '--name', config.name, '--root', plan.root,
    '--hostname', config.hostname ?? config.name];
  if (config.domainname) a.push('--domainname', config.domainname);
  if (config.context !== null) a.push('--ctx', String(config.context));
  if (config.ip) a.push('--ip', config.ip);
  if (config.ip && config.ip6) a.push('--ip6', config.ip6);
  // the server's private IPv6 loopback (--loopback6) is chcontext's to derive from --loopback
  if (plan.loopback) a.push('--loopback', plan.loopback);
  if (config.ip && config.nat) a.push('--nat');
  for (const c of config.caps.added) a.push('--cap', c);
  for (const c of config.caps.dropped) a.push('--cap', `!${c}`);
  for (const f of config.flags) a.push('--flag', f);
  if (config.memoryMax !== null) a.push('--memory', String(config.memoryMax));
  if (config.pidsMax !== null) a.push('--pids', String(config.pidsMax));
  if (config.cpuWeight !== null) a.push('--cpu-weight', String(config.cpuWeight));
  if (config.cpuMax !== null) a.push('--cpu-max', String(config.cpuMax));
  if (config.nice !== null) a.push('--nice', String(config.nice));
  for (const r of config.rlimits) a.push('--rlimit', rlimitArg(r, plan.inheritedSoft));
  if (plan.persist) a.push('--persist');
  a.push('--accounting', '--console', plan.console);
  if (config.consoleMax !== null) a.push('--console-max', String(config.consoleMax));
  a.push('--reboot-socket', plan.rebootSocket,
    '--on-reboot', plan.onReboot, '--on-halt', plan.onHalt, '--', ...plan.init);
  return a;
}

/** 'it''s' -> 'it'\''s' */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The argv that runs the vserver CLI again (the monitor's vreboot/vhalt
 * commands, vtop's helper): node with this very CLI, from dist/ (compiled)
 * or src/ (tsx); from a bundle (the commands' or vtop's), the installed
 * command's bundle, dist/vserver.cjs (scripts/bundle-cli.mjs).
 */
export function vserverCliArgv(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (!/[/\\]chcontext-args\.(ts|js)$/.test(here)) return [process.execPath, join(projectRoot, 'dist', 'vserver.cjs')];
  const ts = here.endsWith('.ts');
  const cli = join(dirname(here), '..', 'cli', ts ? 'vserver.ts' : 'vserver.js');
  if (!ts) return [process.execPath, cli];
  const loader = import.meta.resolve('tsx');
  return [process.execPath, '--import', loader, cli];
}

/**
 * `VSERVER_REQUESTED_BY='server NAME (vreboot)' exec node .../vserver.js
 * --confdir C --rootdir R --rundir U NAME restart --if-running`: absolute
 * paths only, so it works from the monitor whatever its environment.
 */
export function rebootCommand(name: string, paths: VctxPaths, verb: 'restart' | 'stop', via: 'vreboot' | 'vhalt'): string {
  const argv = [...vserverCliArgv(), '--confdir', paths.confdir, '--rootdir', paths.rootdir, '--rundir', paths.rundir,
    name, verb, '--if-running'];
  return `VSERVER_REQUESTED_BY=${shellQuote(`server ${name} (${via})`)} exec ${argv.map(shellQuote).join(' ')}`;
}

/** 127.128.hi.lo: the loopback reserved for static context @xid (vctx_loopback_for_xid) */
export function loopbackForXid(xid: number): string {
  return `127.128.${(xid >> 8) & 255}.${xid & 255}`;
}

/** FNV-1a of the name: the first loopback a dynamic server tries in 127.129.0.0/16 */
export function loopbackCandidates(name: string): string[] {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  const out: string[] = [];
  for (let i = 0; i < 65536; i++) {
    const v = (h + i) & 0xffff;
    if (v === 0 || v === 0xffff) continue;
    out.push(`127.129.${v >> 8}.${v & 255}`);
  }
  return out;
}
