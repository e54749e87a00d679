/**
 * NAME.conf text -> a validated ServerConfig, or every error at once.
 * Pure: no I/O (see load.ts for reading files, checks.ts for the checks
 * that need the file system).
 */
import { closestName, editDistance } from './caps.js';
import { configError, configWarning, type ConfigIssue } from './issues.js';
import { lexConfig, type Assignment } from './lexer.js';
import { FLAG } from '../generated/tables.js';
import { SERVER_FLAGS, type ConfigKey, type ServerConfig, type ServerFlag } from './types.js';
import { broadcastProblem, CONFIG_KEYS, KEY_SCHEMAS, type KeyValue } from './values.js';

export interface ParseResult {
  /** null when there are errors: nothing may be started */
  config: ServerConfig | null;
  errors: ConfigIssue[];
  warnings: ConfigIssue[];
  /**
   * ONBOOT and PRIORITY as read even when other keys are bad (null when the
   * key itself is bad): vserver-all still knows a broken server was meant
   * to boot, and reports it.
   */
  boot: BootSettings;
}

export interface BootSettings {
  onBoot: boolean | null;
  priority: number | null;
}

export interface ParseOptions {
  /** the file name to put in messages */
  file: string;
  /** the server's name */
  name: string;
}

const KNOWN = new Set<string>(CONFIG_KEYS);

function isConfigKey(key: string): key is ConfigKey {
  return KNOWN.has(key);
}

/** Parse and validate the text of a NAME.conf. */
export function parseServerConfig(text: string, opts: ParseOptions): ParseResult {
  const { file } = opts;
  const errors: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];

  const lexed = lexConfig(text);
  for (const p of lexed.problems) errors.push(configError(file, p.line, p.key, p.text, p.message));

  // the last assignment of a key wins, as in a shell
  const byKey = new Map<ConfigKey, Assignment>();
  for (const a of lexed.assignments) {
    if (!isConfigKey(a.key)) {
      const near = closestName(a.key.toUpperCase(), CONFIG_KEYS);
      const hint = editDistance(a.key.toUpperCase(), near) <= 2 ? ` (did you mean ${near}?)` : '';
      warnings.push(configWarning(file, a.line, a.key, a.value,
        `unknown key ${a.key} ignored${hint}; known keys: ${CONFIG_KEYS.join(' ')}`));
      continue;
    }
    const prev = byKey.get(a.key);
    if (prev) {
      warnings.push(configWarning(file, a.line, a.key, a.value,
        `${a.key} is set again; the value of line ${prev.line} is replaced, as a shell would`));
    }
    byKey.set(a.key, a);
  }

  // every key through its schema; a missing key reads as empty (its default)
  const values: Partial<{ [K in ConfigKey]: KeyValue<K> }> = {};
  const lines: Partial<Record<ConfigKey, number>> = {};
  for (const key of CONFIG_KEYS) {
    const a = byKey.get(key);
    const r = KEY_SCHEMAS[key].safeParse(a?.value ?? '');
    if (a) lines[key] = a.line;
    if (r.success) {
      (values as Record<string, unknown>)[key] = r.data;
    } else {
      for (const i of r.error.issues) errors.push(configError(file, a?.line ?? null, key, a?.value ?? '', i.message));
    }
  }
  const at = (key: ConfigKey) => byKey.get(key);
  const keyError = (key: ConfigKey, message: string) =>
    errors.push(configError(file, at(key)?.line ?? null, key, at(key)?.value ?? '', message));
  const keyWarning = (key: ConfigKey, message: string) =>
    warnings.push(configWarning(file, at(key)?.line ?? null, key, at(key)?.value ?? '', message));

  // --- rules between keys
  const flags = new Set<ServerFlag>(values.S_FLAGS ?? []);
  let init = values.S_INIT ?? null;
  if (init === null) {
    init = flags.has(FLAG.fakeinit) ? { style: 'init' } : { style: 'sysv', runlevel: 3 };
  } else if (init.style === 'init') {
    flags.add(FLAG.fakeinit);
  } else if (init.style === 'sysv' && flags.has(FLAG.fakeinit)) {
    keyError('S_INIT', `the ${FLAG.fakeinit} flag of S_FLAGS runs /sbin/init as PID 1, which contradicts S_INIT=sysv; ` +
      `remove ${FLAG.fakeinit} from S_FLAGS or set S_INIT=init`);
  }

  if (values.IPROOTDEV && !values.IPROOT) {
    keyError('IPROOTDEV', 'IPROOTDEV needs IPROOT, the address to add to the device');
  }
  if (values.IPROOT && values.IPROOTBCAST) {
    const p = broadcastProblem(values.IPROOT.v4, values.IPROOTMASK ?? 32, values.IPROOTBCAST);
    if (p) keyError('IPROOTBCAST', values.IPROOTMASK === null || values.IPROOTMASK === undefined ? `${p}; IPROOTMASK is empty, so the network is IPROOT alone` : p);
  }
  if (values.NAT && !values.IPROOT) {
    keyWarning('NAT', 'NAT is ignored without IPROOT: a server without an address of its own uses the host\'s addresses');
  }
  for (const k of ['IPROOTMASK', 'IPROOTBCAST'] as const) {
    if (values[k] !== null && values[k] !== undefined && !values.IPROOTDEV) {
      keyWarning(k, `${k} is ignored without IPROOTDEV (the address is not added by vctx)`);
    }
  }

  let rlimits = values.ULIMIT ?? [];
  if (rlimits.some((l) => l.resource === 'RLIMIT_RSS')) {
    keyWarning('ULIMIT', 'ulimit -m (resident set size) is not enforced by Linux; limit memory with MEMORY_MAX');
  }

  // nproc: ULIMIT -u becomes the whole server's process limit, PIDS_MAX wins
  let pidsMax: number | null = values.PIDS_MAX ?? null;
  let pidsMaxFrom: ServerConfig['pidsMaxFrom'] = pidsMax !== null ? 'PIDS_MAX' : null;
  if (flags.has(FLAG.nproc)) {
    const u = rlimits.find((l) => l.resource === 'RLIMIT_NPROC');
    rlimits = rlimits.filter((l) => l.resource !== 'RLIMIT_NPROC');
    if (pidsMax === null && u) {
      const v = u.hard ?? u.soft;
      if (typeof v === 'number') {
        pidsMax = v;
        pidsMaxFrom = 'ULIMIT';
      }
    } else if (pidsMax === null && !byKey.has('PIDS_MAX')) {
      keyWarning('S_FLAGS', 'the nproc flag has no limit of its own: the server\'s process limit is the hard RLIMIT_NPROC vserver runs with; set ULIMIT="-H -u N" or PIDS_MAX=N');
    }
  }

  const byLine = (a: ConfigIssue, b: ConfigIssue) => (a.line ?? 0) - (b.line ?? 0);
  errors.sort(byLine);
  warnings.sort(byLine);
  const boot: BootSettings = {
    onBoot: values.ONBOOT === undefined ? null : values.ONBOOT,
    priority: values.PRIORITY === undefined ? null : values.PRIORITY,
  };
  if (errors.length) return { config: null, errors, warnings, boot };

  const config: ServerConfig = {
    name: opts.name,
    file,
    ip: values.IPROOT?.v4 ?? null,
    ip6: values.IPROOT?.v6 ?? null,
    ipDev: values.IPROOTDEV ?? null,
    ipPrefix: values.IPROOTMASK ?? null,
    ipBroadcast: values.IPROOTBCAST ?? null,
    nat: values.NAT ?? false,
    onBoot: values.ONBOOT ?? false,
    caps: values.S_CAPS!,
    context: values.S_CONTEXT ?? null,
    domainname: values.S_DOMAINNAME ?? null,
    hostname: values.S_HOSTNAME ?? null,
    nice: values.S_NICE ?? null,
    flags: SERVER_FLAGS.filter((f) => flags.has(f)),
    init,
    rlimits,
    priority: values.PRIORITY ?? 0,
    memoryMax: values.MEMORY_MAX ?? null,
    pidsMax,
    pidsMaxFrom,
    cpuWeight: values.CPU_WEIGHT ?? null,
    cpuMax: values.CPU_MAX ?? null,
    consoleMax: values.CONSOLE_MAX ?? null,
    diskMax: values.DISK_MAX ?? null,
    lines,
  };
  return { config, errors, warnings, boot };
}
