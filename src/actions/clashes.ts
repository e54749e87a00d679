/**
 * The one cross-server check, used by build, start and `vserver-all
 * status`: what a server's configuration shares with another server's
 * (findClashes: the same IPROOT, S_CONTEXT or host name), judged against
 * what the kernel runs.  Every message names both servers and both files.
 *
 *  - build refuses an address or context number another server has,
 *    unless told (--allow-clash) that the two are meant to take turns;
 *  - start refuses only what makes it impossible or harmful now: a clash
 *    with a server that runs, or an address or context number held by a
 *    running context of another name (another confdir, a chcontext);
 *  - status shows every clash, for both servers.
 * A shared host name is only ever a warning.
 */
import {
  clashConsequence, clashIssue, findClashes, type Clash, type ConfigIssue, type ServerConfig,
} from '../config/index.js';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cgroupLayout } from '../kernel-bridge/cgroup.js';
import { listContexts } from '../kernel-bridge/context.js';

/** a running top-level context, as far as the checks care */
export interface RunningEntry {
  xid: number;
  name: string;
  ip: string | null;
  /** its IPv6 address, where the kernel reports one */
  ip6?: string | null;
}

/** the kernel's running top-level contexts (servers and chcontexts); [] without the addon */
export function runningContexts(): RunningEntry[] {
  try {
    return listContexts()
      .filter((c) => c.parentXid === 0 && c.xid > 1 && c.nprocs > 0)
      .map((c) => ({ xid: c.xid, name: c.name, ip: c.ip, ip6: c.ip6 ?? null }));
  } catch {
    return [];
  }
}

/** a running context of another instance (docs/instances.md): its addresses are the same kernel's */
export interface ElsewhereEntry extends RunningEntry {
  instance: string;
}

/**
 * The running top-level contexts of every other instance on this host,
 * with their addresses (the xattrs libvctx keeps on each context's cgroup,
 * read with getfattr in one run): each instance's address locks know only
 * its own servers, so start compares addresses across instances here.
 * [] without cgroup2, other instances, or getfattr (never throws).
 */
export function runningElsewhere(): ElsewhereEntry[] {
  const l = cgroupLayout();
  if (!l) return [];
  const own = basename(l.contexts);
  const dirs: { dir: string; instance: string; xid: number }[] = [];
  try {
    for (const t of readdirSync(l.v2)) {
      const m = /^vctx(?:@(.+))?$/.exec(t);
      if (!m || t === own) continue;
      for (const x of readdirSync(join(l.v2, t))) {
        if (!/^\d+$/.test(x) || Number(x) < 2) continue;
        const dir = join(l.v2, t, x);
        try {
          if (/^populated 1$/m.test(readFileSync(join(dir, 'cgroup.events'), 'utf8'))) dirs.push({ dir, instance: m[1] ?? '', xid: Number(x) });
        } catch {
          /* gone meanwhile */
        }
      }
    }
  } catch {
    return [];
  }
  if (!dirs.length) return [];
  const r = spawnSync('getfattr', ['--absolute-names', '-d', '-m', '^trusted\\.vctx\\.(name|ip|ip6)$', ...dirs.map((d) => d.dir)], { encoding: 'utf8' });
  if (r.error || typeof r.stdout !== 'string') return [];
  const attrs = new Map<string, Record<string, string>>();
  let cur: Record<string, string> | null = null;
  for (const line of r.stdout.split('\n')) {
    const f = /^# file: (.*)$/.exec(line);
    if (f) attrs.set(f[1]!, (cur = {}));
    const a = /^trusted\.vctx\.(name|ip|ip6)="(.*)"$/.exec(line);
    if (a && cur) cur[a[1]!] = a[2]!;
  }
  return dirs.map((d) => {
    const a = attrs.get(d.dir) ?? {};
    return { instance: d.instance, xid: d.xid, name: a.name ?? '', ip: a.ip || null, ip6: a.ip6 || null };
  });
}

export interface ClashCheck {
  /** reasons to refuse, one ConfigIssue each */
  errors: ConfigIssue[];
  /** clashes that do not refuse, one ConfigIssue each (severity warning) */
  warnings: ConfigIssue[];
}

/**
 * Build: an address or context number of another server is refused unless
 * @allowClash; a shared host name is a warning.
 */
export function buildClashes(config: ServerConfig, all: readonly ServerConfig[], allowClash: boolean): ClashCheck {
  const out: ClashCheck = { errors: [], warnings: [] };
  for (const c of findClashes(config, all)) {
    if (!c.exclusive) out.warnings.push(clashIssue(c, 'warning', clashConsequence(c)));
    else if (allowClash) out.warnings.push(clashIssue(c, 'warning', `${clashConsequence(c)} (built with --allow-clash)`));
    else {
      out.errors.push(clashIssue(c, 'error', `${clashConsequence(c)}; choose another ${c.key === 'IPROOT' ? 'address' : 'context number'}, ` +
        'or give --allow-clash when the two are meant to take turns'));
    }
  }
  return out;
}

/**
 * Start: a clash with a server that runs is refused (saying which runs, at
 * which context); one with a stopped server is a warning.  A running
 * context of another name that holds the address or the context number
 * refuses too: the start could not work.
 */
export function startClashes(config: ServerConfig, all: readonly ServerConfig[], running: readonly RunningEntry[],
  elsewhere: readonly ElsewhereEntry[] = []): ClashCheck {
  const out: ClashCheck = { errors: [], warnings: [] };
  const byName = new Map(running.map((r) => [r.name, r]));
  for (const c of findClashes(config, all)) {
    const r = byName.get(c.other.name);
    if (c.exclusive && r) {
      out.errors.push(clashIssue(c, 'error', `'${c.other.name}' is running (context ${r.xid}) and the two cannot run at the same time; ` +
        `stop it first (vserver ${c.other.name} stop) or give '${c.server.name}' ${c.key === 'IPROOT' ? 'an address' : 'a context number'} of its own`));
    } else {
      out.warnings.push(clashIssue(c, 'warning', c.exclusive ? `${clashConsequence(c)}: starting '${c.other.name}' is refused while '${c.server.name}' runs` : clashConsequence(c)));
    }
  }
  const configured = new Set(all.map((s) => s.name));
  for (const r of running) {
    if (r.name === config.name || (r.name !== '' && configured.has(r.name))) continue;
    const who = r.name ? `context ${r.xid} ('${r.name}', not a server of this configuration directory)` : `context ${r.xid} (a chcontext, no server)`;
    if (config.ip !== null && r.ip === config.ip) {
      out.errors.push({ severity: 'error', file: config.file, line: config.lines.IPROOT ?? null, key: 'IPROOT', value: config.ip,
        message: `${config.ip} is the address of running ${who}; stop it first or give '${config.name}' an address of its own` });
    }
    if (config.ip6 !== null && r.ip6 === config.ip6) {
      out.errors.push({ severity: 'error', file: config.file, line: config.lines.IPROOT ?? null, key: 'IPROOT', value: config.ip6,
        message: `${config.ip6} is the IPv6 address of running ${who}; stop it first or give '${config.name}' an address of its own` });
    }
    if (config.context !== null && r.xid === config.context) {
      out.errors.push({ severity: 'error', file: config.file, line: config.lines.S_CONTEXT ?? null, key: 'S_CONTEXT', value: String(config.context),
        message: `context ${config.context} is in use by running ${who}; stop it first or choose another number (2 to 49151)` });
    }
  }
  // another instance's running server: the same kernel, so the same address would be two servers' at once
  for (const r of elsewhere) {
    const who = `${r.name ? `server '${r.name}'` : 'a chcontext'} (context ${r.xid}) of instance '${r.instance || 'the default'}'`;
    for (const [mine, theirs, what] of [[config.ip, r.ip, 'address'], [config.ip6, r.ip6, 'IPv6 address']] as const) {
      if (mine !== null && theirs === mine) {
        out.errors.push({ severity: 'error', file: config.file, line: config.lines.IPROOT ?? null, key: 'IPROOT', value: mine,
          message: `${mine} is the ${what} of running ${who}; instances share the host's addresses: stop it first or give '${config.name}' an address of its own` });
      }
    }
  }
  return out;
}

/** Status: every clash of @config, each a warning naming both servers. */
export function statusClashes(config: ServerConfig, all: readonly ServerConfig[]): ConfigIssue[] {
  return findClashes(config, all).map((c: Clash) => clashIssue(c, 'warning', clashConsequence(c)));
}
