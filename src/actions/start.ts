/**
 * `vserver NAME start`: check everything, then pre-start hook, IP alias,
 * context (chcontext --daemon), post-start hook.  A failure at any step
 * undoes every step taken before it and names the step.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import {
  checkIpAssignable, checkServerInit, checkServerRoot, formatIssue, formatIssueBare, loadAllServers,
  localIPv4Addresses, resolveInRoot, type ServerConfig,
} from '../config/index.js';
import type { VctxPaths } from '../config/paths.js';
import { addAlias, deviceExists, devicesWith, plannedAlias, removeAlias } from './alias.js';
import {
  CHCONTEXT, loopbackCandidates, loopbackForXid, rebootCommand, startArgs, type StartPlan,
} from './chcontext-args.js';
import { runningContexts, startClashes } from './clashes.js';
import { loadConfigFor } from './config-load.js';
import { LifecycleError, errText } from './errors.js';
import { hookProblem, runHook } from './hooks.js';
import { pingWarning, viewsWarning } from './host-checks.js';
import { acquireLock, lockServer, type HeldLock } from './lock.js';
import { releaseStale, repair } from './repair.js';
import { publishServer } from './server-index.js';
import {
  ensureRunDir, findContext, loopbacksInUse, readState, removeState, runFiles, writeState,
  type AliasRecord, type ServerState,
} from './runtime.js';
import { contextCgroup, dirIno } from '../kernel-bridge/cgroup.js';
import { inheritedSoftLimits } from '../kernel-bridge/host.js';
import { procStat } from '../kernel-bridge/pid.js';

/** how long a start or stop waits for another command on the same server */
export { LOCK_WAIT_SEC } from './lock.js';

export interface StartResult {
  xid: number;
  pid1: number;
  /** non-fatal problems (post-start hook, config warnings) */
  warnings: string[];
}

/** what the host's init would run for the server, as argv inside it */
async function initArgv(config: ServerConfig, root: string): Promise<{ argv: string[]; persist: boolean }> {
  const init = config.init;
  if (init.style === 'init') return { argv: ['/sbin/init'], persist: false };
  if (init.style === 'command') return { argv: init.argv, persist: !config.flags.includes('fakeinit') };
  const rc = (await resolveInRoot(root, '/etc/init.d/rc')).exists ? '/etc/init.d/rc' : '/etc/rc.d/rc';
  return { argv: [rc, String(init.runlevel)], persist: true };
}

/**
 * every reason not to start, one per line; [] when none.  What is worth
 * saying but does not refuse (a clash with a stopped server) goes to
 * @warnings.
 */
export async function startProblems(config: ServerConfig, paths: VctxPaths, warnings: string[] = []): Promise<string[]> {
  const out: string[] = [];
  const all = await loadAllServers(paths.confdir);
  const clashes = startClashes(config, all.servers, runningContexts());
  for (const i of clashes.errors) out.push(formatIssue(i));
  for (const i of clashes.warnings) warnings.push(formatIssueBare(i));
  const ipIssue = checkIpAssignable(config, localIPv4Addresses(networkInterfaces()));
  if (ipIssue) out.push(formatIssue(ipIssue));
  if (config.ipDev && !(await deviceExists(config.ipDev))) {
    out.push(`${config.file}:${config.lines.IPROOTDEV ?? '?'}: IPROOTDEV=${JSON.stringify(config.ipDev)}: no such network device on this host`);
  }
  const rootIssue = await checkServerRoot(paths.rootdir, config.name);
  if (rootIssue) out.push(formatIssue(rootIssue));
  else {
    const initIssue = await checkServerInit(join(paths.rootdir, config.name), config.init, config.file, config.lines.S_INIT ?? null);
    if (initIssue) out.push(formatIssue(initIssue));
  }
  const hook = await hookProblem(paths.confdir, config.name);
  if (hook) out.push(hook);
  return out;
}

function runChcontext(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CHCONTEXT, args, { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout, stderr: stderr || (err && code !== 1 ? err.message : '') });
    });
  });
}

/**
 * The loopback of the server: 127.128.hi.lo of a static XID; for a dynamic
 * one the first address of its name's sequence in 127.129.0.0/16 that no
 * running server of this runtime directory has (the caller holds the
 * allocation lock, so two starts cannot pick the same one).  The two
 * ranges are disjoint, so static and dynamic servers never meet.
 */
function chooseLoopback(config: ServerConfig, paths: VctxPaths): string {
  if (config.context !== null) return loopbackForXid(config.context);
  const used = loopbacksInUse(paths);
  for (const lb of loopbackCandidates(config.name)) if (!used.has(lb)) return lb;
  throw new Error('no free loopback address in 127.129.0.0/16');
}

/**
 * Starts server @name.  @opts.lockHeld: the caller (restart) holds the
 * server's lock already.
 * @throws LifecycleError
 */
export async function start(name: string, paths: VctxPaths, opts: { lockHeld?: boolean } = {}): Promise<StartResult> {
  const { config, warnings: cw } = await loadConfigFor(paths.confdir, name);
  const warnings = cw.map(formatIssueBare);
  const problems = await startProblems(config, paths, warnings);
  if (problems.length) throw new LifecycleError('invalid', 'checks', problems.join('\n'));

  const files = await ensureRunDir(paths, name);
  const lock: HeldLock | null = opts.lockHeld ? null : await lockServer(files.lock, 'start', name);
  try {
    await repair(paths, name);
    if (await findContext(paths, name, { scan: readState(paths, name) !== null })) {
      throw new LifecycleError('already-running', 'running', `server '${name}' is already running`);
    }
    try {
      return await startLocked(config, paths, warnings);
    } catch (e) {
      // the kernel still has the name: a context left empty by a dead monitor is released, once
      if (e instanceof LifecycleError && e.kind === 'already-running' && (await releaseStale(paths, name))) {
        return await startLocked(config, paths, warnings);
      }
      throw e;
    }
  } finally {
    await lock?.release();
  }
}

async function startLocked(config: ServerConfig, paths: VctxPaths, warnings: string[]): Promise<StartResult> {
  const name = config.name;
  const root = join(paths.rootdir, name);
  const files = runFiles(paths, name);
  const undo: Array<{ what: string; fn: () => Promise<void> }> = [];
  let step = 'prepare';
  const state: ServerState = {
    name, xid: null, cgroupIno: null, pid1: null, monitor: null, startedAt: null, flags: config.flags, alias: null,
  };
  const hookEnv = { name, root, ip: config.ip, xid: null as number | null };
  try {
    // the previous boot's console output stays one start longer
    if (existsSync(files.console)) await rename(files.console, `${files.console}.1`).catch(() => {});

    step = 'pre-start';
    const pre = await runHook(paths.confdir, 'pre-start', hookEnv);
    if (!pre.ok) throw new Error(`${pre.error}${pre.output.trim() ? `: ${pre.output.trim().split('\n').pop()}` : ''}`);

    step = 'alias';
    const alias: AliasRecord | null = plannedAlias(config);
    if (alias && !(await devicesWith(alias.ip)).length) {
      state.alias = alias;
      await writeState(paths, state); // the intent first: a crash after adding is repaired
      undo.push({ what: 'alias', fn: async () => { await removeAlias(alias); } });
      await addAlias(alias);
    }

    step = 'context';
    if (config.context !== null && existsSync(contextCgroup(config.context) ?? '/nonexistent')) {
      throw new Error(`context ${config.context} (S_CONTEXT) is already in use by another context`);
    }
    const { argv, persist } = await initArgv(config, root);
    const alloc = config.context === null ? await acquireLock(join(paths.rundir, '.loopback.lock'), 30) : null;
    let xid: number;
    try {
      const loopback = chooseLoopback(config, paths);
      const plan: StartPlan = {
        root, loopback, console: files.console, rebootSocket: files.rebootSocket,
        onReboot: rebootCommand(name, paths, 'restart', 'vreboot'),
        onHalt: rebootCommand(name, paths, 'stop', 'vhalt'),
        init: argv, persist, inheritedSoft: inheritedSoftLimits(),
      };
      const out = await runChcontext(startArgs(config, plan));
      if (out.code !== 0) {
        const msg = out.stderr.trim().replace(/^chcontext: /, '') || `chcontext exited with status ${out.code}`;
        if (/already running/.test(msg)) throw new LifecycleError('already-running', 'context', `server '${name}' is already running`);
        throw new Error(msg);
      }
      const m = /^(\d+) (\d+)/.exec(out.stdout.trim());
      if (!m) throw new Error(`chcontext printed ${JSON.stringify(out.stdout.trim())} instead of "XID PID1"`);
      xid = Number(m[1]);
      const pid1 = Number(m[2]);
      const cg = contextCgroup(xid);
      state.xid = xid;
      state.pid1 = pid1;
      state.cgroupIno = cg ? dirIno(cg) : null;
      state.monitor = procStat(pid1)?.ppid ?? null;
      state.startedAt = Date.now();
      state.loopback = loopback;
      // recorded before the allocation lock goes: the next start sees the loopback taken
      await writeState(paths, state);
    } finally {
      await alloc?.release();
    }
    const pid1 = state.pid1!;
    const ino = state.cgroupIno;
    hookEnv.xid = xid;

    step = 'post-start';
    const post = await runHook(paths.confdir, 'post-start', hookEnv);
    if (!post.ok) warnings.push(`post-start hook: ${post.error}`);

    // an init that exited at once: the monitor has released the context
    if (ino === null || !(await findContext(paths, name, { scan: false }))) {
      await repair(paths, name);
      throw new LifecycleError('failed', 'init',
        `server '${name}' started at context ${xid} but its init (${argv.join(' ')}) exited at once; see: vserver ${name} log`);
    }
    const ping = pingWarning(config.ip !== null);
    if (ping) warnings.push(ping);
    const views = viewsWarning(name);
    if (views) warnings.push(views);
    // what other users may know of it (its name is root's to read in the kernel)
    await publishServer(paths, { name, xid, state: 'running', ip: config.ip, cgroupIno: ino, startedAt: state.startedAt! })
      .catch((e) => warnings.push(`the public index of running servers was not updated: ${errText(e)}`));
    return { xid, pid1, warnings };
  } catch (e) {
    const undone: string[] = [];
    for (const u of undo.reverse()) {
      try {
        await u.fn();
        undone.push(u.what);
      } catch (ue) {
        warnings.push(`undoing ${u.what} failed: ${errText(ue)}`);
      }
    }
    if (state.xid === null) await removeState(paths, name).catch(() => {});
    if (e instanceof LifecycleError) throw e;
    const tail = undone.length ? `; undone: ${undone.join(', ')}` : '';
    throw new LifecycleError('failed', step, `cannot start '${name}': step ${step} failed: ${errText(e)}${tail}`);
  }
}

