/**
 * What vtop may change, and nothing more: vtop holds an Actions port whose
 * every call is one line to its privileged helper, kernel/tools/vtop-helper.c
 * (started by `startHelper` in context 0, before vtop confines itself).  The
 * helper re-validates each request against a FIXED set (kill a process by
 * PID + start time, signal a whole context, start / stop / restart / enter
 * a configured server), carries it out (kills with libvctx, the server verbs
 * with the vserver CLI: the same src/actions code) and logs it.
 *
 * The protocol, one line each way over the socket that is the helper's fd 3:
 *
 *     ID kill PID STARTTIME SIGNAL              ID ok MESSAGE
 *     ID killctx XID SIGTERM|SIGKILL            ID err MESSAGE
 *     ID start|stop|restart|enter NAME          (and "ready" once it listens)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { VctxPaths } from '../config/paths.js';
import { toolsDir } from '../kernel-bridge/addon.js';
import type { ActionRequest, ActionResult, Actions, ServerRequest } from './vtop-port.js';
import { vserverCliArgv } from './chcontext-args.js';
import { whoAmI } from './syslog.js';

/** the helper's executable (built by make -C kernel) */
export const HELPER = join(toolsDir, 'vtop-helper');

/**
 * One request as a protocol line (without the newline), or null when it
 * cannot be one: a value with a line break in it would end the line early.
 * Values are not checked here; the helper does that.
 */
export function requestLine(id: number, req: ActionRequest): string | null {
  let line: string;
  switch (req.type) {
    case 'kill': line = `${id} kill ${req.pid} ${req.startTime} ${req.signal}`; break;
    case 'killContext': line = `${id} killctx ${req.xid} ${req.signal}`; break;
    case 'killMany': return null; // one kill line per process (dispatchAction)
    default: line = `${id} ${req.type} ${req.name}`;
  }
  return /[\n\r]/.test(line) ? null : line;
}

/** one line from the helper: `ready`, or the result of request `id`; null when it is neither */
export type HelperLine = { ready: true } | { id: number; result: ActionResult };

export function parseHelperLine(line: string): HelperLine | null {
  if (line === 'ready') return { ready: true };
  const m = /^([1-9]\d{0,14}) (ok|err) (.*)$/.exec(line);
  if (!m) return null;
  return { id: Number(m[1]), result: { ok: m[2] === 'ok', message: m[3]! } };
}

/**
 * The Actions port of the confined vtop: each call is one request line to
 * the privileged helper, answered with one line.  `close()` ends the
 * socket; the helper exits when it closes, also when vtop dies.
 */
export class HelperActions implements Actions {
  private nextId = 1;
  private readonly waiting = new Map<number, (r: ActionResult) => void>();
  private readonly socket: Socket;
  private gone: string | null = null;
  private stderrTail = '';
  /** settles when the helper listens (true) or could not start (false) */
  readonly ready: Promise<boolean>;

  /** @param child the helper, with its socket as stdio[3] and stderr piped */
  constructor(private readonly child: ChildProcess, readyTimeoutMs = 10_000) {
    this.socket = child.stdio[3] as Socket;
    let settle: (ok: boolean) => void = () => {};
    this.ready = new Promise((r) => { settle = r; });
    const timer = setTimeout(() => lost(`did not start within ${readyTimeoutMs} ms`), readyTimeoutMs);
    timer.unref();
    const lost = (why: string) => {
      clearTimeout(timer);
      settle(false);
      if (this.gone) return;
      const last = this.stderrTail.trim().split('\n').pop();
      this.gone = `the privileged helper ${why}${last ? `: ${last}` : ''}; actions are unavailable`;
      for (const done of this.waiting.values()) done({ ok: false, message: this.gone });
      this.waiting.clear();
      this.socket.destroy();
    };
    createInterface({ input: this.socket, crlfDelay: Infinity }).on('line', (line) => {
      const m = parseHelperLine(line);
      if (!m) return;
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
    // the socket closes before the exit status is known: wait for the exit (its status says more)
    child.on('exit', (code, signal) => lost(signal ? `was killed by ${signal}` : `exited with ${code}`));
    child.on('error', (e) => lost(`failed: ${e.message}`));
    this.socket.on('error', (e) => lost(`is unreachable: ${e.message}`));
    // a socket closed while the helper lives would leave requests unanswered
    this.socket.on('close', () => setTimeout(() => lost('closed its socket'), 500).unref());
  }

  /** the helper's PID (tests, benchmarks) */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private async send(req: ActionRequest): Promise<ActionResult> {
    if (!(await this.ready) || this.gone) return { ok: false, message: this.gone ?? 'the privileged helper is not running' };
    const id = this.nextId++;
    const line = requestLine(id, req);
    if (line === null) return { ok: false, message: 'refused: a request cannot contain a line break' };
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.write(`${line}\n`, (e) => {
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

  /**
   * Ends the socket: the helper exits once the actions under way have
   * finished (a stop is not cut short); this process does not wait for it.
   */
  close(): void {
    this.socket.end();
    this.socket.unref();
    (this.child.stderr as Socket | null)?.unref();
    this.child.unref();
  }
}

/**
 * Start the privileged helper; this must happen BEFORE this process
 * confines itself, and it is all that must: the child exists (in this
 * process's context, with the same terminal for `enter`, its fd 3 one end
 * of a socketpair) when this returns, and requests wait until it listens,
 * so the caller confines itself and draws meanwhile.  The server verbs run
 * the vserver CLI, as given after `--`, with the paths and who asked in the
 * environment.  The helper signals only processes of servers (context 2 and
 * up), checked on its side; @opts.allowHostKill (vtop --allow-host-kill)
 * tells it to accept the host's processes too.
 * @throws when the helper is not built
 */
export function startHelper(paths: VctxPaths, opts: { allowHostKill?: boolean } = {}): HelperActions {
  if (!existsSync(HELPER)) throw new Error(`${HELPER} is not built (npm run build)`);
  const child = spawn(HELPER, [...(opts.allowHostKill ? ['--allow-host-kill'] : []), '--', ...vserverCliArgv()], {
    stdio: ['inherit', 'inherit', 'pipe', 'pipe'],
    env: {
      ...process.env,
      VSERVER_CONFDIR: paths.confdir, VSERVER_ROOTDIR: paths.rootdir, VSERVER_RUNDIR: paths.rundir,
      // the system log names who ran vtop, and that it went through vtop
      VSERVER_REQUESTED_BY: `${whoAmI()} via vtop`,
    },
  });
  return new HelperActions(child);
}
