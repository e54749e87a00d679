/**
 * The one door from vtop to the system: every changing thing the UI can do
 * is a request on this interface.  The actions side owns it; the UI
 * (src/ui/app.tsx) only dispatches on it.  The CLI injects the live one,
 * the client of the privileged helper (./vtop-actions.ts); tests inject
 * RecordingActions.  Components never reach the bridge themselves.
 */

import type { VtopSignal } from '../generated/tables.js';

/** a signal vtop may send a process (kernel/tables/vctx-tables.json vtopSignals: its helper accepts these only) */
export type KillSignal = VtopSignal;

/** signal exactly this process: the pid AND the start time vtop showed (never a reused PID) */
export interface KillRequest {
  pid: number;
  /** /proc/PID/stat field 22, clock ticks after boot, as in the snapshot */
  startTime: number;
  signal: KillSignal;
}

/** the same signal to several processes (vtop's tagged ones), each exactly as shown */
export interface KillManyRequest {
  targets: readonly { pid: number; startTime: number }[];
  signal: KillSignal;
}

/** signal every process of context XID (vkill --xid N): SIGTERM or SIGKILL */
export interface KillContextRequest {
  xid: number;
  signal: 'SIGTERM' | 'SIGKILL';
}

/** a configured server, by name */
export interface ServerRequest {
  name: string;
}

/** every request, tagged: what RecordingActions records and what the system log line names */
export type ActionRequest =
  | ({ type: 'kill' } & KillRequest)
  | ({ type: 'killMany' } & KillManyRequest)
  | ({ type: 'killContext' } & KillContextRequest)
  | ({ type: 'start' } & ServerRequest)
  | ({ type: 'stop' } & ServerRequest)
  | ({ type: 'restart' } & ServerRequest)
  | ({ type: 'enter' } & ServerRequest);

/** what an action tells the user: one line for the status bar */
export interface ActionResult {
  ok: boolean;
  message: string;
}

/**
 * The actions vtop dispatches.  Each returns a one-line result; a rejected
 * promise is shown as an error too.  `enter` runs an interactive shell on
 * the terminal: the implementation the CLI injects releases the terminal
 * from the UI around it.
 */
export interface Actions {
  kill(req: KillRequest): Promise<ActionResult>;
  killContext(req: KillContextRequest): Promise<ActionResult>;
  start(req: ServerRequest): Promise<ActionResult>;
  stop(req: ServerRequest): Promise<ActionResult>;
  restart(req: ServerRequest): Promise<ActionResult>;
  enter(req: ServerRequest): Promise<ActionResult>;
}

/**
 * Sends one signal to several processes, one kill request each (so each is
 * re-checked by PID and start time), side by side; one line for all of them.
 */
export async function killMany(actions: Actions, req: KillManyRequest): Promise<ActionResult> {
  const results = await Promise.all(req.targets.map((t) =>
    actions.kill({ pid: t.pid, startTime: t.startTime, signal: req.signal })
      .catch((e: unknown) => ({ ok: false, message: e instanceof Error ? e.message : String(e) }))));
  const failed = results.filter((r) => !r.ok);
  const n = req.targets.length;
  if (failed.length === 0) return { ok: true, message: `sent ${req.signal} to ${n} process${n === 1 ? '' : 'es'} (PID ${req.targets.map((t) => t.pid).join(', ')})` };
  return { ok: false, message: `${req.signal}: ${n - failed.length} of ${n} sent; ${failed.map((r) => r.message).join('; ')}` };
}

/** calls the method of `actions` that a tagged request names */
export function dispatchAction(actions: Actions, req: ActionRequest): Promise<ActionResult> {
  switch (req.type) {
    case 'kill':
      return actions.kill({ pid: req.pid, startTime: req.startTime, signal: req.signal });
    case 'killMany':
      return killMany(actions, req);
    case 'killContext':
      return actions.killContext({ xid: req.xid, signal: req.signal });
    case 'start':
      return actions.start({ name: req.name });
    case 'stop':
      return actions.stop({ name: req.name });
    case 'restart':
      return actions.restart({ name: req.name });
    case 'enter':
      return actions.enter({ name: req.name });
  }
}

/** a one-line description of a request (confirm dialogs, status line) */
export function describeRequest(req: ActionRequest): string {
  switch (req.type) {
    case 'kill':
      return `send ${req.signal} to PID ${req.pid}`;
    case 'killMany':
      return `send ${req.signal} to ${req.targets.length} processes`;
    case 'killContext':
      return `send ${req.signal} to every process of context ${req.xid}`;
    default:
      return `${req.type} server '${req.name}'`;
  }
}

/**
 * Actions that change nothing and record every call, for tests and demos.
 * Each call resolves with `respond(req)` (default: ok, "done: …").
 */
export class RecordingActions implements Actions {
  readonly calls: ActionRequest[] = [];
  constructor(private readonly respond: (req: ActionRequest) => ActionResult | Promise<ActionResult> =
    (req) => ({ ok: true, message: `done: ${describeRequest(req)} (recorded, nothing sent)` })) {}

  private async record(req: ActionRequest): Promise<ActionResult> {
    this.calls.push(req);
    return this.respond(req);
  }
  kill(r: KillRequest) { return this.record({ type: 'kill', ...r }); }
  killContext(r: KillContextRequest) { return this.record({ type: 'killContext', ...r }); }
  start(r: ServerRequest) { return this.record({ type: 'start', ...r }); }
  stop(r: ServerRequest) { return this.record({ type: 'stop', ...r }); }
  restart(r: ServerRequest) { return this.record({ type: 'restart', ...r }); }
  enter(r: ServerRequest) { return this.record({ type: 'enter', ...r }); }
}
