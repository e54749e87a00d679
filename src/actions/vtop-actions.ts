/**
 * What vtop may change, and nothing more: a FIXED set of requests (kill a
 * process by PID + start time, signal a whole context, start / stop /
 * restart / enter a configured server), re-validated here on the
 * privileged side, carried out with the same src/actions and
 * src/kernel-bridge code as the CLI, and written to the system log.
 *
 * Two faces:
 * - `createActions(paths)`: the implementation itself, used in the
 *   privileged helper (src/actions/vtop-helper.ts, context 0);
 * - `startHelper(paths)`: what the confined vtop holds: an Actions port
 *   whose every call is one message to the helper over the IPC socketpair.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { VctxPaths } from '../config/paths.js';
import { projectRoot } from '../kernel-bridge/addon.js';
import { xidOfPid } from '../kernel-bridge/context.js';
import { killContext, killPid } from '../kernel-bridge/kill.js';
import type { ActionRequest, ActionResult, Actions, KillSignal, ServerRequest } from '../ui/actions-port.js';
import { audit } from './syslog.js';

/** the only signals vtop sends */
export const KILL_SIGNALS: readonly KillSignal[] = ['SIGTERM', 'SIGKILL'];
/** the highest PID Linux hands out (PID_MAX_LIMIT on 64-bit) */
const PID_MAX = 4_194_304;
/** context numbers a whole-context signal may name: not 0 (the host), not 1 (the spectator) */
const XID_MIN = 2;
const XID_MAX = 65_535;
/** how long `stop` waits for a server's own shutdown (CONTRACT: default 10 s) */
const STOP_TIMEOUT_SEC = 10;

/** a request that passed validation, or the one-line reason it did not */
export type Validated = { ok: true; req: ActionRequest } | { ok: false; message: string };

const FIELDS: Record<ActionRequest['type'], readonly string[]> = {
  kill: ['type', 'pid', 'startTime', 'signal'],
  killContext: ['type', 'xid', 'signal'],
  start: ['type', 'name'],
  stop: ['type', 'name'],
  restart: ['type', 'name'],
  enter: ['type', 'name'],
};

const isInt = (v: unknown, min: number, max: number): v is number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;

/**
 * Check a request as it arrives from the unprivileged side: the type is one
 * of the fixed set, no field is missing or extra, numbers are integers in
 * range, the signal is SIGTERM or SIGKILL, the start time is a real one
 * (0 would skip the reused-PID check), a name is a valid server name with a
 * configuration in `paths.confdir`.
 */
export async function validateRequest(raw: unknown, paths: VctxPaths): Promise<Validated> {
  const no = (message: string): Validated => ({ ok: false, message: `refused: ${message}` });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return no('not a request');
  const r = raw as Record<string, unknown>;
  const type = r['type'];
  if (typeof type !== 'string' || !Object.hasOwn(FIELDS, type)) return no('unknown request type');
  const fields = FIELDS[type as ActionRequest['type']];
  const extra = Object.keys(r).find((k) => !fields.includes(k));
  if (extra !== undefined) return no(`unexpected field in a ${type} request`);
  const sig = r['signal'];
  const signalOk = typeof sig === 'string' && (KILL_SIGNALS as readonly string[]).includes(sig);
  switch (type) {
    case 'kill':
      if (!isInt(r['pid'], 1, PID_MAX)) return no('not a process ID');
      if (!isInt(r['startTime'], 1, Number.MAX_SAFE_INTEGER)) return no('not a start time');
      if (!signalOk) return no('only SIGTERM and SIGKILL may be sent');
      return { ok: true, req: { type, pid: r['pid'] as number, startTime: r['startTime'] as number, signal: sig as KillSignal } };
    case 'killContext':
      if (!isInt(r['xid'], 0, XID_MAX)) return no('not a context number');
      if ((r['xid'] as number) < XID_MIN) return no(`context ${String(r['xid'])} cannot be signalled as a whole`);
      if (!signalOk) return no('only SIGTERM and SIGKILL may be sent');
      return { ok: true, req: { type, xid: r['xid'] as number, signal: sig as KillSignal } };
    default: {
      const name = r['name'];
      if (typeof name !== 'string') return no('no server name');
      // the configuration code is loaded on the first request that names a server (the helper starts lighter)
      const [{ serverNameProblem }, { configPath }] = await Promise.all([import('../config/validate.js'), import('../config/load.js')]);
      const problem = serverNameProblem(name);
      if (problem) return no(problem);
      if (!existsSync(configPath(paths.confdir, name))) return no(`no server '${name}' in ${paths.confdir}`);
      return { ok: true, req: { type: type as 'start' | 'stop' | 'restart' | 'enter', name } };
    }
  }
}

/** what a request does and to which server, as the system log names them */
function logWhat(req: ActionRequest, xid: number | null): { action: string; server: string } {
  switch (req.type) {
    case 'kill': return { action: `kill ${req.signal} pid ${req.pid} (start time ${req.startTime}) in`, server: `context ${xid ?? '?'}` };
    case 'killContext': return { action: `kill ${req.signal} every process of`, server: `context ${req.xid}` };
    default: return { action: req.type, server: req.name };
  }
}

function errText(e: unknown): { code: string; message: string } {
  if (e instanceof Error) return { code: String((e as { code?: unknown }).code ?? ''), message: e.message.split('\n')[0]! };
  return { code: '', message: String(e) };
}

/** the lifecycle verbs (the CLI's own), loaded on first use: a helper that only kills never loads them */
const lifecycle = (): Promise<typeof import('./lifecycle.js')> => import('./lifecycle.js');

/** the XID of a process right now, or null */
function xidOf(pid: number): number | null {
  try {
    return xidOfPid(pid);
  } catch {
    return null;
  }
}

/** runs the shell inside NAME on our terminal; resolves with its exit and chcontext's last error line */
function runOnTerminal(argv: readonly string[]): Promise<{ code: number; lastError: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['inherit', 'inherit', 'pipe'] });
    let err = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { err = (err + d).slice(-2000); });
    child.on('error', (e) => resolve({ code: 127, lastError: e.message }));
    child.on('close', (code, signal) => resolve({
      code: code ?? 128 + (signal ? 1 : 0), lastError: err.trim().split('\n').pop() ?? '',
    }));
  });
}

/**
 * The implementation: carries out requests that `validateRequest` accepted.
 * Every call is logged (who, what, which server, result).  `enter` runs
 * the login shell on this process's own terminal (fds 0 and 1) and
 * resolves when it exits.
 */
export function createActions(paths: VctxPaths): Actions {
  const act = async (req: ActionRequest, run: () => Promise<ActionResult>, xid: number | null = null): Promise<ActionResult> => {
    let result: ActionResult;
    try {
      result = await run();
    } catch (e) {
      result = { ok: false, message: errText(e).message };
    }
    const { action, server } = logWhat(req, xid);
    await audit(action, server, `${result.ok ? 'ok' : 'failed'}: ${result.message}`);
    return result;
  };

  const lifecycleAct = async (run: (l: Awaited<ReturnType<typeof lifecycle>>) => Promise<string>): Promise<ActionResult> => {
    try {
      return { ok: true, message: await run(await lifecycle()) };
    } catch (e) {
      return { ok: false, message: errText(e).message };
    }
  };

  return {
    kill: async (r) => {
      // the context for the log and the message (a cheap read), then the signal
      const xid = xidOf(r.pid);
      let outcome: { code: string; message: string } | null = null;
      try {
        killPid(r.pid, r.startTime, r.signal);
      } catch (e) {
        outcome = errText(e);
      }
      const where = xid === null ? '' : ` (context ${xid})`;
      return act({ type: 'kill', ...r }, async () => {
        if (!outcome) return { ok: true, message: `sent ${r.signal} to PID ${r.pid}${where}` };
        const { code, message } = outcome;
        if (code === 'ESRCH') return { ok: false, message: `PID ${r.pid} is already gone: nothing sent` };
        if (code === 'EPERM') return { ok: false, message: `EPERM: PID ${r.pid}${where}: ${message}` };
        return { ok: false, message: `${code ? `${code}: ` : ''}${message}` };
      }, xid);
    },

    killContext: (r) => act({ type: 'killContext', ...r }, async () => {
      try {
        const n = killContext(r.xid, r.signal);
        return { ok: true, message: `sent ${r.signal} to ${n} process${n === 1 ? '' : 'es'} of context ${r.xid}` };
      } catch (e) {
        const { code, message } = errText(e);
        if (code === 'ESRCH') return { ok: false, message: `context ${r.xid} is already gone: nothing sent` };
        return { ok: false, message: `${code ? `${code}: ` : ''}${message}` };
      }
    }),

    // start, stop and restart write the system log themselves (lifecycle.ts), as for the CLI
    start: (r: ServerRequest) => lifecycleAct(async (l) => {
      const st = await l.startServer(r.name, paths);
      return `started ${r.name} at context ${st.xid}${st.warnings.length ? ` (${st.warnings[0]})` : ''}`;
    }),

    stop: (r: ServerRequest) => lifecycleAct(async (l) => {
      const st = await l.stopServer(r.name, paths, { timeoutSec: STOP_TIMEOUT_SEC });
      const how = st.how === 'shutdown' ? 'shut down' : st.how === 'term' ? 'ended by SIGTERM' : st.how === 'kill' ? 'killed' : 'already gone';
      return `stopped ${r.name} (context ${st.xid} ${how})`;
    }),

    restart: (r: ServerRequest) => lifecycleAct(async (l) => {
      const st = await l.restartServer(r.name, paths, { timeoutSec: STOP_TIMEOUT_SEC });
      return st.started ? `restarted ${r.name} at context ${st.started.xid}` : `${r.name} was not running: nothing done`;
    }),

    enter: async (r: ServerRequest) => {
      const l = await lifecycle();
      let argv: string[];
      try {
        argv = l.enterArgv(r.name, paths);
      } catch (e) {
        const message = errText(e).message;
        await l.auditEnter('enter', r.name, `failed: ${message}`);
        return { ok: false, message };
      }
      const { code, lastError } = await runOnTerminal(argv);
      await l.auditEnter('enter', r.name, code === 0 ? 'ok' : `exit ${code}${lastError ? `: ${lastError}` : ''}`);
      if (code === 0) return { ok: true, message: `back from ${r.name}` };
      return { ok: false, message: lastError ? `enter ${r.name}: ${lastError}` : `back from ${r.name} (the shell exited with ${code})` };
    },
  };
}

// ---------------------------------------------------------------- the client

/** one message vtop sends to the helper */
export interface HelperRequest {
  id: number;
  req: unknown;
}

/** one message the helper sends back: the result of request `id`, or `ready` once it listens */
export type HelperReply = { id: number; result: ActionResult } | { ready: true };

/**
 * The helper's entry file: beside this one (.ts under tsx, .js when built
 * with tsc), or the built one when this code runs from a bundle.  Never
 * this process's own entry file.
 */
export function helperPath(): string {
  const self = fileURLToPath(import.meta.url);
  if (/[/\\]vtop-actions\.(ts|js)$/.test(self)) return self.replace(/vtop-actions\.(ts|js)$/, 'vtop-helper.$1');
  return join(projectRoot, 'dist', 'src', 'actions', 'vtop-helper.js');
}

/**
 * The Actions port of the confined vtop: each call is one request to the
 * privileged helper (a child process in context 0 joined by an IPC
 * socketpair), answered with one line.  `close()` disconnects; the helper
 * exits on disconnect, also when vtop dies.
 */
export class HelperActions implements Actions {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: ActionResult) => void>();
  private gone: string | null = null;
  private stderrTail = '';
  /** settles when the helper listens (true) or could not start (false) */
  readonly ready: Promise<boolean>;

  constructor(private readonly child: ChildProcess, readyTimeoutMs = 10_000) {
    let settle: (ok: boolean) => void = () => {};
    this.ready = new Promise((r) => { settle = r; });
    const timer = setTimeout(() => lost(`did not start within ${readyTimeoutMs} ms`), readyTimeoutMs);
    timer.unref();
    child.on('message', (m: HelperReply) => {
      if ('ready' in m) {
        clearTimeout(timer);
        settle(true);
        return;
      }
      const done = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      done?.(m.result);
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { this.stderrTail = (this.stderrTail + d).slice(-1000); });
    const lost = (why: string) => {
      clearTimeout(timer);
      settle(false);
      if (this.gone) return;
      const last = this.stderrTail.trim().split('\n').pop();
      this.gone = `the privileged helper ${why}${last ? `: ${last}` : ''}; actions are unavailable`;
      for (const done of this.waiting.values()) done({ ok: false, message: this.gone });
      this.waiting.clear();
      if (child.exitCode === null && child.signalCode === null && child.connected) child.disconnect();
    };
    child.on('exit', (code, signal) => lost(signal ? `was killed by ${signal}` : `exited with ${code}`));
    child.on('disconnect', () => lost('disconnected'));
    child.on('error', (e) => lost(`failed: ${e.message}`));
  }

  /** the helper's PID (tests, benchmarks) */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private async send(req: ActionRequest): Promise<ActionResult> {
    if (!(await this.ready) || this.gone) return { ok: false, message: this.gone ?? 'the privileged helper is not running' };
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      const msg: HelperRequest = { id, req };
      this.child.send(msg, (e) => {
        if (e && this.waiting.delete(id)) resolve({ ok: false, message: `cannot reach the privileged helper: ${e.message}` });
      });
    });
  }

  kill(r: Parameters<Actions['kill']>[0]) { return this.send({ type: 'kill', pid: r.pid, startTime: r.startTime, signal: r.signal }); }
  killContext(r: Parameters<Actions['killContext']>[0]) { return this.send({ type: 'killContext', xid: r.xid, signal: r.signal }); }
  start(r: ServerRequest) { return this.send({ type: 'start', name: r.name }); }
  stop(r: ServerRequest) { return this.send({ type: 'stop', name: r.name }); }
  restart(r: ServerRequest) { return this.send({ type: 'restart', name: r.name }); }
  enter(r: ServerRequest) { return this.send({ type: 'enter', name: r.name }); }

  /** disconnects: the helper exits */
  close(): void {
    if (this.child.connected) this.child.disconnect();
  }
}

/**
 * Start the privileged helper; this must happen BEFORE this process
 * confines itself, and it is all that must: the child exists (in this
 * process's context, with the same terminal for `enter`, joined by an IPC
 * socketpair) when this returns, and requests wait until it listens, so
 * the caller confines itself and draws meanwhile.  The helper runs with a
 * small young generation and without the optimizing compilers: it idles,
 * and it should weigh little.
 */
export function startHelper(paths: VctxPaths): HelperActions {
  const child = fork(helperPath(), [], {
    stdio: ['inherit', 'inherit', 'pipe', 'ipc'],
    execArgv: [...process.execArgv, '--max-semi-space-size=1', '--lite-mode'],
    env: {
      ...process.env,
      VSERVER_CONFDIR: paths.confdir, VSERVER_ROOTDIR: paths.rootdir, VSERVER_RUNDIR: paths.rundir,
    },
    serialization: 'json',
  });
  return new HelperActions(child);
}
