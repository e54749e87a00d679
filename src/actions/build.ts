/**
 * `vserver NAME build`: write NAME.conf and populate ROOTDIR/NAME from a
 * template (busybox, copy, debootstrap[:SUITE]).
 *
 * The root is built in a staging directory ROOTDIR/.NAME.build (a name no
 * server can have) and renamed into place only when complete, together
 * with the configuration; so a failure at any step leaves nothing behind
 * (and, with --force, the old server intact), and the error names the step.
 * The staging directory doubles as the lock against two builds of the same
 * name; one left by a killed build is removed by the next.
 *
 * The roots directory gets mode 0000, owned by root (the seed's "chmod 000
 * /vservers"): a server's processes live pivoted inside their own root and
 * never traverse it, host root bypasses mode bits, and nobody else can walk
 * from one server's files to another's.
 */
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { mountsBelow } from '../kernel-bridge/host.js';
import { processesRootedIn } from '../kernel-bridge/pid.js';
import { isUnified } from './unify.js';
import { dirname, join, resolve } from 'node:path';
import {
  checkServerInit, checkServerRoot, configPath, ConfigError, formatIssue, instanceName, instancePaths, formatIssueBare,
  loadAllServers, parseServerConfig, renderConfigTemplate, serverNameProblem,
} from '../config/index.js';
import { buildClashes } from './clashes.js';
import { pingWarning } from './host-checks.js';
import { buildBusybox } from './templates/busybox.js';
import type { HostResolverFiles, ProgressFn, TemplateContext, TemplateResult } from './templates/common.js';
import { TemplateError, writeResolvConf } from './templates/common.js';
import type { BootstrapCache } from './templates/debootstrap-cache.js';
import { buildCopy } from './templates/copy.js';
import { buildDebootstrap, suiteProblem } from './templates/debootstrap.js';

export type { BuildProgress, ProgressFn } from './templates/common.js';

/** the templates of CONTRACT "build --template" */
export type BuildTemplateName = 'busybox' | 'copy' | 'debootstrap' | `debootstrap:${string}`;

export interface BuildOptions {
  /** @default 'busybox' */
  template?: BuildTemplateName | string;
  /** IPROOT of the server (and its line in /etc/hosts): its IPv4 address, or the whole list ("V4 V6") */
  ip?: string;
  /** IPROOT's IPv6 address, written after the IPv4 one */
  ip6?: string;
  /** NAT=yes: the server reaches the outside world from the host's address (needs an address) */
  nat?: boolean;
  /** S_HOSTNAME; @default the name */
  hostname?: string;
  /** S_CONTEXT: a static context number */
  ctx?: number;
  /** replace an existing server of that name (its root and configuration) */
  force?: boolean;
  /**
   * build although the address or context number is another server's (the
   * two are meant to take turns: start refuses while the other runs)
   */
  allowClash?: boolean;
  /** progress events (the CLI prints them on stderr) */
  onProgress?: ProgressFn;
  /** copy template: copy these host paths instead of the whole system (tests) */
  copyPaths?: readonly string[];
  /** debootstrap template: the mirror instead of the host's Debian mirror */
  mirror?: string;
  /** debootstrap template: keep and reuse debootstrap's result there (the CLI: VCTX_CACHE_DIR or /var/cache/vctx); omitted: no cache */
  cache?: BootstrapCache;
  /** where the host's resolver configuration is read (tests) */
  resolver?: HostResolverFiles;
}

export interface BuildPaths {
  confdir: string;
  rootdir: string;
  rundir: string;
}

export interface BuildResult {
  name: string;
  /** the server's root directory */
  root: string;
  /** its configuration file */
  conf: string;
  template: string;
  /** S_INIT and S_FLAGS written for the template */
  init: string;
  flags: string[];
  /** things the user should know (e.g. a roots directory others can enter) */
  warnings: string[];
  /** milliseconds the build took */
  elapsedMs: number;
}

/** Why a build failed: usage (exit 2), or the operation (exit 1). */
export type BuildErrorKind = 'usage' | 'exists' | 'failed';

/** A build failure: one line naming the step that failed and what was wrong. */
export class BuildError extends Error {
  readonly kind: BuildErrorKind;
  /** the step: 'name', 'options', 'clash', 'exists', 'prepare', 'busybox', 'copy', 'debootstrap', 'vreboot', 'dns', 'config', 'install' */
  readonly step: string;
  /** CONTRACT exit code */
  readonly exitCode: 1 | 2;

  constructor(kind: BuildErrorKind, step: string, message: string) {
    super(message);
    this.name = 'BuildError';
    this.kind = kind;
    this.step = step;
    this.exitCode = kind === 'usage' ? 2 : 1;
  }
}

type ParsedTemplate =
  | { kind: 'busybox' }
  | { kind: 'copy' }
  | { kind: 'debootstrap'; suite?: string };

/** 'debootstrap:trixie' -> { kind, suite }; null when unknown */
export function parseTemplateName(t: string): ParsedTemplate | null {
  if (t === 'busybox' || t === 'copy' || t === 'debootstrap') return { kind: t };
  const m = /^debootstrap:(.*)$/.exec(t);
  if (m) return { kind: 'debootstrap', suite: m[1] };
  return null;
}

/** S_FLAGS and S_INIT of the rendered configuration set to what the template needs */
function applyTemplateToConfig(text: string, result: TemplateResult): string {
  const flagsLine = /^S_FLAGS="([^"]*)"$/m.exec(text);
  const flags = new Set((flagsLine?.[1] ?? '').split(/\s+/).filter(Boolean));
  for (const f of result.flags) flags.add(f);
  let out = text;
  if (flagsLine) out = out.replace(/^S_FLAGS="[^"]*"$/m, `S_FLAGS="${[...flags].join(' ')}"`);
  else out += `S_FLAGS="${[...flags].join(' ')}"\n`;
  if (/^S_INIT="[^"]*"$/m.test(out)) out = out.replace(/^S_INIT="[^"]*"$/m, `S_INIT="${result.init}"`);
  else out += `S_INIT="${result.init}"\n`;
  return out;
}

function errText(e: unknown): string {
  if (e instanceof ConfigError) return e.issues.map((i) => formatIssue(i)).join('; ');
  return e instanceof Error ? e.message : String(e);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Build server @name.  Throws a BuildError; on failure nothing the build
 * created is left (staging root, configuration, directories it made).
 */
export async function build(name: string, opts: BuildOptions, paths: BuildPaths): Promise<BuildResult> {
  const started = Date.now();
  const progress: ProgressFn = opts.onProgress ?? (() => {});
  const warnings: string[] = [];
  const template = opts.template ?? 'busybox';

  // ---- everything that needs no disk: a usage error leaves nothing behind
  const nameProblem = serverNameProblem(name);
  if (nameProblem) throw new BuildError('usage', 'name', `bad server name '${name}': ${nameProblem}`);
  const parsed = parseTemplateName(template);
  if (!parsed) throw new BuildError('usage', 'options', `unknown template '${template}'; use busybox, copy or debootstrap[:SUITE]`);
  if (parsed.kind === 'debootstrap' && parsed.suite !== undefined) {
    const p = suiteProblem(parsed.suite);
    if (p) throw new BuildError('usage', 'options', `--template ${template}: ${p}`);
  }
  let confText: string;
  try {
    confText = renderConfigTemplate({ name, ip: opts.ip, ip6: opts.ip6, nat: opts.nat, hostname: opts.hostname, ctx: opts.ctx, template });
  } catch (e) {
    throw new BuildError('usage', 'options', errText(e));
  }
  const hostname = /^S_HOSTNAME="([^"]*)"$/m.exec(confText)?.[1] || name;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new BuildError('failed', 'prepare', 'vserver build needs root (it creates files owned by root for the server)');
  }

  const confdir = resolve(paths.confdir);
  const rootdir = resolve(paths.rootdir);
  const root = join(rootdir, name);
  const conf = configPath(confdir, name);
  const staging = join(rootdir, `.${name}.build`);
  const pidFile = `${staging}.pid`;
  const confTmp = join(confdir, `.${name}.conf.build`);

  // another server's address or context number: refused before anything is written
  const planned = parseServerConfig(confText, { file: conf, name }).config;
  if (planned) {
    const clashes = buildClashes(planned, (await loadAllServers(confdir)).servers, opts.allowClash ?? false);
    if (clashes.errors.length) throw new BuildError('failed', 'clash', clashes.errors.map(formatIssue).join('\n'));
    for (const w of clashes.warnings) warnings.push(formatIssueBare(w));
  }

  const rootIssue = await checkServerRoot(rootdir, name, { mustExist: false }).catch((e: Error) => e);
  if (rootIssue) throw new BuildError('failed', 'exists', rootIssue instanceof Error ? rootIssue.message : formatIssue(rootIssue));
  const rootExists = await lstat(root).then(() => true, () => false);
  const confExists = await lstat(conf).then(() => true, () => false);
  if ((rootExists || confExists) && !opts.force) {
    const what = [rootExists ? root : null, confExists ? conf : null].filter(Boolean).join(' and ');
    throw new BuildError('exists', 'exists', `server '${name}' already exists (${what}); use --force to build it anew`);
  }
  if (rootExists) {
    const users = await processesRootedIn(root);
    if (users.length) {
      throw new BuildError('failed', 'exists', `process ${users.join(', ')} runs inside ${root} (is server '${name}' running? stop it first); not replacing it`);
    }
    if (isUnified(rootdir, name)) {
      throw new BuildError('failed', 'exists', `server '${name}' is unified (${root} is its overlay); build --force does not replace a unified tree: run 'vserver ${name} deunify' (or delete) first`);
    }
    const mounted = await mountsBelow(root);
    if (mounted.length) {
      throw new BuildError('failed', 'exists', `${mounted[mounted.length - 1]} is mounted (is server '${name}' running? stop it first); not replacing ${root}`);
    }
  }

  // ---- from here on, undo what was created if anything fails
  const created: string[] = [];
  let step = 'prepare';
  let installed = false;
  let old: string | null = null;
  try {
    for (const d of [confdir, rootdir]) {
      if (!existsSync(d)) {
        let top = d;
        while (!existsSync(dirname(top))) top = dirname(top);
        await mkdir(d, { recursive: true, mode: 0o755 });
        created.push(top);
      }
    }
    const rootdirCreated = created.some((c) => rootdir === c || rootdir.startsWith(c + '/'));
    if (rootdirCreated || rootdir === instancePaths(instanceName()).rootdir) {
      await chown(rootdir, 0, 0);
      await chmod(rootdir, 0o000);
    } else {
      const m = (await stat(rootdir)).mode & 0o7777;
      if (m & 0o077) {
        warnings.push(`the roots directory ${rootdir} has mode 0${m.toString(8)}: other users can walk into the servers' files; ` +
          `the seed's advice is: chmod 000 ${rootdir}`);
      }
    }

    // the staging directory is the lock; one left by a dead build is taken over
    if (existsSync(staging)) {
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (pid > 0 && isAlive(pid)) throw new BuildError('failed', 'prepare', `a build of '${name}' is running (process ${pid})`);
      progress({ step: 'prepare', detail: `removing ${staging}, left by an interrupted build` });
      await removeTree(staging);
    }
    await mkdir(staging, { mode: 0o755 });
    created.push(staging);
    await writeFile(pidFile, `${process.pid}\n`, { mode: 0o600 });
    created.push(pidFile);
    await chmod(staging, 0o755);

    const ctx: TemplateContext = {
      name, root: staging, ip: planned?.ip ?? undefined, ip6: planned?.ip6 ?? undefined, hostname,
      hostExcludes: [confdir, rootdir, resolve(paths.rundir)],
      progress, warn: (m) => warnings.push(m),
    };
    step = parsed.kind;
    let result: TemplateResult;
    if (parsed.kind === 'busybox') result = await buildBusybox(ctx);
    else if (parsed.kind === 'copy') result = await buildCopy(ctx, { paths: opts.copyPaths });
    else result = await buildDebootstrap(ctx, { suite: parsed.suite, mirror: opts.mirror, cache: opts.cache });
    // DNS inside: the host's resolver configuration, as a file of the server's own
    step = 'dns';
    await writeResolvConf(ctx, opts.resolver);
    await chown(staging, 0, 0);
    await chmod(staging, 0o755);

    step = 'config';
    const text = applyTemplateToConfig(confText, result);
    const check = parseServerConfig(text, { file: conf, name });
    const bad = [...check.errors, ...check.warnings];
    if (!check.config || bad.length) throw new Error(bad.map(formatIssue).join('; '));
    const initIssue = await checkServerInit(staging, check.config.init, conf, check.config.lines.S_INIT ?? null);
    if (initIssue) throw new Error(formatIssue(initIssue));
    await writeFile(confTmp, text, { mode: 0o600 });
    created.push(confTmp);
    await chown(confTmp, 0, 0);
    await chmod(confTmp, 0o600);

    step = 'install';
    if (rootExists) {
      old = join(rootdir, `.${name}.old`);
      await removeTree(old);
      await rename(root, old);
    }
    try {
      await rename(staging, root);
    } catch (e) {
      if (old) await rename(old, root);
      throw e;
    }
    installed = true;
    await rename(confTmp, conf);
    // built: what follows is tidying up, whose failure is only worth a warning
    await rm(pidFile, { force: true }).catch(() => {});
    if (old) {
      progress({ step: 'install', detail: `removing the old root of '${name}'` });
      await removeTree(old).catch((e: Error) => warnings.push(`the old root ${old} could not be removed: ${e.message}`));
    }
    const ping = pingWarning(check.config.ip !== null);
    if (ping) warnings.push(ping);
    progress({ step: 'done', detail: `server '${name}' built in ${root}` });
    return {
      name, root, conf, template, init: result.init, flags: check.config.flags, warnings,
      elapsedMs: Date.now() - started,
    };
  } catch (e) {
    const undo = installed ? [root, ...created] : created;
    for (const p of undo.reverse()) await removeTree(p).catch(() => {});
    // with --force, the old server comes back when the new one could not be installed
    if (installed && old && existsSync(old) && !existsSync(root)) await rename(old, root).catch(() => {});
    if (e instanceof BuildError) throw e;
    const s = e instanceof TemplateError ? e.step : step;
    throw new BuildError('failed', s, `build of '${name}' failed at step '${s}': ${errText(e)}; nothing was left behind`);
  }
}

/**
 * rm -rf that never crosses into a mount: refuses when something is
 * mounted at or below @dir (a running server), and refuses '/'.
 */
export async function removeTree(dir: string): Promise<void> {
  const abs = resolve(dir);
  if (abs === '/') throw new Error('refusing to remove /');
  if (!(await lstat(abs).then(() => true, () => false))) return;
  const mounted = await mountsBelow(abs);
  if (mounted.length) throw new Error(`${mounted[mounted.length - 1]} is mounted; not removing ${abs}`);
  const st = await lstat(abs);
  if (st.isDirectory()) {
    await rm(abs, { recursive: true, force: true, maxRetries: 2 });
  } else {
    await rm(abs, { force: true });
  }
}
