/**
 * vtop's privileged helper: forked by vtop (as root, in context 0) before
 * vtop confines itself to the spectator context.  It reads requests from
 * the IPC socketpair, re-validates each one (src/actions/vtop-actions.ts:
 * a fixed set, typed and range-checked, names checked against the
 * confdir), carries it out and answers one line.  It draws nothing, parses
 * no process names, and exits when vtop goes away (IPC disconnect).
 *
 * Not a command: started only by vtop with an IPC channel.
 */
import { resolvePaths } from '../config/paths.js';
import type { ActionRequest, ActionResult, Actions } from '../ui/actions-port.js';
import { audit, whoAmI } from './syslog.js';
import { createActions, validateRequest, type HelperReply, type HelperRequest } from './vtop-actions.js';

if (typeof process.send !== 'function') {
  process.stderr.write('vtop-helper: started by vtop only (no IPC channel)\n');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  process.stderr.write('vtop-helper: must run as root\n');
  process.exit(1);
}

// the paths come from vtop through the environment (flag > env > default was resolved there)
const paths = resolvePaths({});
// the system log names who ran vtop, and that it went through vtop
process.env['VSERVER_REQUESTED_BY'] = `${whoAmI()} via vtop`;
const actions: Actions = createActions(paths);
const send = (m: HelperReply) => {
  if (process.connected) process.send!(m);
};

function perform(req: ActionRequest): Promise<ActionResult> {
  switch (req.type) {
    case 'kill': return actions.kill({ pid: req.pid, startTime: req.startTime, signal: req.signal });
    case 'killContext': return actions.killContext({ xid: req.xid, signal: req.signal });
    case 'start': return actions.start({ name: req.name });
    case 'stop': return actions.stop({ name: req.name });
    case 'restart': return actions.restart({ name: req.name });
    case 'enter': return actions.enter({ name: req.name });
  }
}

process.on('message', (m: unknown) => {
  const msg = m as Partial<HelperRequest> | null;
  if (typeof msg !== 'object' || msg === null || !Number.isSafeInteger(msg.id)) return;
  const id = msg.id!;
  validateRequest(msg.req, paths).then(async (v) => {
    if (v.ok) return perform(v.req);
    // a refused request is worth a line too: the drawing side asked for something it may not have
    await audit('request', 'from vtop', v.message);
    return { ok: false, message: v.message };
  }).then(
    (result) => send({ id, result }),
    (e: unknown) => send({ id, result: { ok: false, message: e instanceof Error ? e.message : String(e) } }),
  );
});

// vtop gone (q, a crash, SIGKILL): the socketpair closes and so do we
process.on('disconnect', () => process.exit(0));
// terminal signals are vtop's to handle; while a shell runs inside a server, its relay has the terminal
process.on('SIGINT', () => {});
process.on('SIGHUP', () => process.exit(0));
send({ ready: true });
