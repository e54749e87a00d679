/**
 * Reading NAME.conf files from the configuration directory.
 */
// fs.promises loads on first use (node:fs/promises would load at start: ~1 ms).
// NAME.conf itself is read with readFileSync: a status reads it to report
// its errors, and the first fs.promises call loads node:fs/promises with
// streams, readline and net (~8 ms of a ~25 ms start); a file this small
// is read no sooner asynchronously.
import { promises as fsp, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkTrustedFile } from './checks.js';
import { ConfigError, configError, configWarning, type ConfigIssue } from './issues.js';
import type { BootSettings } from './parse.js';
import type { ServerConfig } from './types.js';
import { serverNameProblem } from './name.js';

export interface LoadOptions {
  /**
   * Refuse a file (or directory) someone other than this uid could change
   * (see checkTrustedFile); null skips the check (read-only tools may).
   * @default 0
   */
  trustedUid?: number | null;
}

export interface Loaded {
  config: ServerConfig;
  warnings: ConfigIssue[];
}

/** The path of server @name's configuration. */
export function configPath(confdir: string, name: string): string {
  return join(confdir, `${name}.conf`);
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/**
 * Read and validate confdir/NAME.conf.  Throws a ConfigError: kind
 * 'bad-name' for an unacceptable name, 'unknown-server' when there is no
 * such file, 'invalid' with every error of the file (or the ownership
 * refusal).  Warnings come back with the configuration.
 */
export async function loadServerConfig(confdir: string, name: string, opts: LoadOptions = {}): Promise<Loaded> {
  const file = configPath(confdir, name);
  const nameProblem = serverNameProblem(name);
  if (nameProblem) throw new ConfigError('bad-name', [configError(confdir, null, null, name, nameProblem)]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') {
      throw new ConfigError('unknown-server', [configError(file, null, null, null,
        `no server '${name}' (no such file); the servers are the *.conf files of ${confdir}`)]);
    }
    throw new ConfigError('invalid', [configError(file, null, null, null,
      `cannot read the configuration: ${(e as Error).message}`)]);
  }
  const trustedUid = opts.trustedUid === undefined ? 0 : opts.trustedUid;
  if (trustedUid !== null) {
    const unsafe = await checkTrustedFile(file, { trustedUid });
    if (unsafe) throw new ConfigError('invalid', [unsafe]);
  }
  // the value schemas (zod) load here, not with this module: listing servers
  // and `vserver NAME status` need no parser
  const { parseServerConfig } = await import('./parse.js');
  const r = parseServerConfig(text, { file, name });
  if (!r.config) throw new ConfigError('invalid', r.errors, r.warnings);
  return { config: r.config, warnings: r.warnings };
}

/**
 * ONBOOT and PRIORITY of confdir/NAME.conf as written, even when another
 * line is bad (nulls when the file cannot be read or the key is bad).
 * Only to know what vserver-all should try and show: a start still loads
 * and checks the whole file.
 */
export async function readBootSettings(confdir: string, name: string): Promise<BootSettings> {
  const file = configPath(confdir, name);
  const text = await fsp.readFile(file, 'utf8').catch(() => null);
  if (text === null) return { onBoot: null, priority: null };
  const { parseServerConfig } = await import('./parse.js');
  return parseServerConfig(text, { file, name }).boot;
}

export interface ServerList {
  /** server names, sorted */
  names: string[];
  /** *.conf files skipped because their name cannot name a server */
  warnings: ConfigIssue[];
}

/**
 * The servers of @confdir: the names of its *.conf files, sorted (by code
 * point, as `ls` in the C locale).  A missing directory has none.
 */
export async function listServers(confdir: string): Promise<ServerList> {
  let entries;
  try {
    entries = await fsp.readdir(confdir, { withFileTypes: true });
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return { names: [], warnings: [] };
    throw e;
  }
  const names: string[] = [];
  const warnings: ConfigIssue[] = [];
  for (const ent of entries) {
    if (!ent.name.endsWith('.conf')) continue;
    if (!ent.isFile() && !ent.isSymbolicLink()) continue;
    const name = ent.name.slice(0, -'.conf'.length);
    const p = serverNameProblem(name);
    if (p) {
      warnings.push(configWarning(join(confdir, ent.name), null, null, name, `skipped: ${p}`));
      continue;
    }
    names.push(name);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { names, warnings };
}

export interface AllServers {
  /** the servers whose configuration is valid, by name */
  servers: ServerConfig[];
  /** the servers that could not be loaded, with why */
  failed: Array<{ name: string; error: ConfigError }>;
  warnings: ConfigIssue[];
}

/**
 * Load every server of @confdir (for vserver-all, for the cross-file checks,
 * for the dashboard).  One bad file does not hide the others.
 */
export async function loadAllServers(confdir: string, opts: LoadOptions = {}): Promise<AllServers> {
  const list = await listServers(confdir);
  const out: AllServers = { servers: [], failed: [], warnings: [...list.warnings] };
  for (const name of list.names) {
    try {
      const l = await loadServerConfig(confdir, name, opts);
      out.servers.push(l.config);
      out.warnings.push(...l.warnings);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      out.failed.push({ name, error: e });
    }
  }
  return out;
}
