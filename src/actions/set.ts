/**
 * `vserver NAME set KEY=VALUE [KEY=VALUE...]`: change a server's limits
 * (MEMORY_MAX, PIDS_MAX, CPU_MAX, CPU_WEIGHT) in NAME.conf and, while it
 * runs, live through its cgroup (cgroup2, or v1 on hybrid hosts); and its
 * DISK_MAX, the project quota of its tree, at once whether it runs or not
 * (disk-limit.ts; refused where the file system has no project quotas).
 *
 * Every value is checked with the configuration's own parsers before
 * anything changes, and the whole file must still read without errors; the
 * live change comes first (the kernel may refuse, e.g. a memory limit below
 * what the server uses on cgroup v1), then the file is replaced atomically
 * (a temporary file renamed over it) with only those keys' lines rewritten;
 * a file that cannot be written puts the live values back.
 */
import { chmod, chown, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  configPath, formatIssue, KEY_SCHEMAS, parseServerConfig, quoteValue, setConfigValues, type ServerConfig,
} from '../config/index.js';
import type { VctxPaths } from '../config/paths.js';
import { setLiveLimits, type LiveLimits } from '../kernel-bridge/context.js';
import { loadConfigFor } from './config-load.js';
import { applyServerDiskLimit, diskLimitProblem, type DiskLimitResult } from './disk-limit.js';
import { LifecycleError, errText } from './errors.js';
import { lockServer } from './lock.js';
import { ensureRunDir, findContext } from './runtime.js';

/** the keys `set` changes, live and in the file */
export const SETTABLE_KEYS = ['MEMORY_MAX', 'PIDS_MAX', 'CPU_MAX', 'CPU_WEIGHT', 'DISK_MAX'] as const;
export type SettableKey = (typeof SETTABLE_KEYS)[number];

export interface SetResult {
  name: string;
  /** the configuration file rewritten */
  conf: string;
  /** the context changed live; null when the server is stopped (file only) */
  xid: number | null;
  /** the keys and values as written */
  changes: Array<[SettableKey, string]>;
  /** DISK_MAX as set on the tree (its project id); absent when DISK_MAX was not changed */
  disk?: DiskLimitResult | null;
}

/**
 * KEY=VALUE arguments, checked with the configuration's parsers.
 * @throws LifecycleError usage (exit 2) naming the argument, key and value
 */
export function parseSetArgs(args: readonly string[], file: string): Array<[SettableKey, string]> {
  if (!args.length) throw new LifecycleError('usage', 'args', `set needs KEY=VALUE (keys: ${SETTABLE_KEYS.join(' ')})`);
  const out: Array<[SettableKey, string]> = [];
  for (const a of args) {
    const eq = a.indexOf('=');
    const key = eq < 0 ? a : a.slice(0, eq);
    if (eq < 0) throw new LifecycleError('usage', 'args', `'${a}' is not KEY=VALUE (keys: ${SETTABLE_KEYS.join(' ')})`);
    if (!(SETTABLE_KEYS as readonly string[]).includes(key)) {
      throw new LifecycleError('usage', 'args', `${key}: not a key set can change; keys: ${SETTABLE_KEYS.join(' ')} (edit ${file} for the others)`);
    }
    if (out.some(([k]) => k === key)) throw new LifecycleError('usage', 'args', `${key} is given twice`);
    const value = a.slice(eq + 1);
    const r = KEY_SCHEMAS[key as SettableKey].safeParse(value);
    if (!r.success) {
      throw new LifecycleError('usage', 'args', `${key}=${quoteValue(value)}: ${r.error.issues.map((i) => i.message).join('; ')}`);
    }
    out.push([key as SettableKey, value]);
  }
  return out;
}

/** the live limits of @config for @keys (what a start would apply) */
function liveLimits(config: ServerConfig, keys: readonly SettableKey[]): LiveLimits {
  const l: LiveLimits = {};
  for (const k of keys) {
    if (k === 'DISK_MAX') continue; // a quota of the file system, not of the cgroup
    if (k === 'MEMORY_MAX') l.memoryMax = config.memoryMax ?? 0;
    else if (k === 'PIDS_MAX') l.pidsMax = config.pidsMax ?? 0;
    else if (k === 'CPU_WEIGHT') l.cpuWeight = config.cpuWeight ?? 0;
    else l.cpuQuotaUs = config.cpuMax === null ? 0 : Math.round(config.cpuMax * 1000);
  }
  return l;
}

/** replaces @file by @text atomically, keeping its owner and mode */
async function replaceFile(file: string, text: string): Promise<void> {
  const st = await stat(file);
  const tmp = join(dirname(file), `.${file.split('/').pop()}.set.${process.pid}`);
  try {
    const fh = await open(tmp, 'wx', st.mode & 0o7777);
    try {
      await fh.writeFile(text);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await chown(tmp, st.uid, st.gid);
    await chmod(tmp, st.mode & 0o7777);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/**
 * Sets @args (KEY=VALUE) for server @name.
 * @throws LifecycleError: usage (2) for a bad argument or value, unknown-server (3),
 *   invalid (1) when the file would not read, failed (1) when the kernel refuses
 */
export async function setServerLimits(name: string, args: readonly string[], paths: VctxPaths): Promise<SetResult> {
  const { config: old } = await loadConfigFor(paths.confdir, name);
  const conf = configPath(paths.confdir, name);
  const changes = parseSetArgs(args, conf);
  const files = await ensureRunDir(paths, name);
  const lock = await lockServer(files.lock, 'set limits of', name);
  try {
    const text = await readFile(conf, 'utf8');
    const next = setConfigValues(text, changes);
    const parsed = parseServerConfig(next, { file: conf, name });
    if (!parsed.config) {
      throw new LifecycleError('invalid', 'config', `not changed: ${parsed.errors.map((i) => formatIssue(i)).join('; ')}`);
    }
    const keys = changes.map(([k]) => k);
    const root = join(paths.rootdir, name);
    const disk = keys.includes('DISK_MAX');
    if (disk) {
      const problem = diskLimitProblem(parsed.config, root);
      if (problem) throw new LifecycleError('failed', 'quota', `not changed: ${problem}`);
    }
    const c = await findContext(paths, name);
    const xid = c && !c.empty ? c.xid : null;
    const cgroupKeys = keys.filter((k) => k !== 'DISK_MAX');
    if (xid !== null && cgroupKeys.length) {
      try {
        setLiveLimits(xid, liveLimits(parsed.config, cgroupKeys));
      } catch (e) {
        throw new LifecycleError('failed', 'cgroup', `not changed: the kernel refused the new limits of '${name}' (context ${xid}): ${errText(e)}`);
      }
    }
    const putBack = () => {
      if (xid !== null && cgroupKeys.length) {
        try {
          setLiveLimits(xid, liveLimits(old, cgroupKeys));
        } catch {
          /* reported by the caller */
        }
      }
    };
    let diskResult: DiskLimitResult | null | undefined;
    if (disk) {
      try {
        diskResult = applyServerDiskLimit(parsed.config, root);
      } catch (e) {
        putBack();
        throw e instanceof LifecycleError ? new LifecycleError(e.kind, e.step, `not changed: ${e.message}`) : e;
      }
    }
    try {
      await replaceFile(conf, next);
    } catch (e) {
      putBack();
      if (disk) {
        try {
          applyServerDiskLimit(old, root);
        } catch {
          /* reported below */
        }
      }
      throw new LifecycleError('failed', 'write', `cannot write ${conf}: ${errText(e)}; the running limits were put back`);
    }
    return { name, conf, xid, changes, ...(disk ? { disk: diskResult ?? null } : {}) };
  } finally {
    await lock.release();
  }
}
