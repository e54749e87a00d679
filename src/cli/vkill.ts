#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vkill [--xid N] [-s SIG] [--] [PID...]: signal processes in whatever
 * context they live.  Each PID is resolved through a snapshot to exactly
 * one process (host PID + start time), so a PID reused in between is never
 * signalled.  --xid N takes the PIDs as seen inside context N; no PID with
 * --xid signals every process of context N.
 */
import { note } from '../actions/syslog.js';
import {
  EXIT_FAIL,
  EXIT_USAGE,
  fail,
  handleHelp,
  namesForSnapshot,
  optString,
  parseArgs,
  parseUint,
  PATH_OPTIONS,
  requireRoot,
  resolveContext,
  resolvePaths,
  runMain,
  usageError,
  warn, INSTANCE_HELP
} from './common.js';
import { liveSnapshot } from './live-snapshot.js';
import { parseSignal, planKill, signalName } from './vkill-plan.js';

const HELP = `Usage: vkill [--xid N|NAME] [-s SIG] [--] [PID...]
Send a signal to processes in whatever security context they live.

PID is a host PID; with --xid, a PID as seen inside that context.  The
process signalled is exactly the one the PID named when vkill looked: if it
has ended (or its PID was reused) vkill says so and signals nothing.  Single
processes of private servers cannot be signalled.

Options:
  -c, --xid N|NAME  the context the PIDs belong to (number or server name);
                    without PIDs, every process of that context is signalled
  -s SIG            the signal: a number, a name (HUP) or SIGHUP (default
                    SIGTERM)
  --confdir DIR     configuration directory for server names (default
                    $VSERVER_CONFDIR or /etc/vservers)
  --help            display this help and exit
  --version         output version information and exit

Environment:
${INSTANCE_HELP}

Exit status:
  0 every signal delivered, 1 some failed, 2 usage error, 3 unknown or
  stopped server.`;

interface KernelLikeError {
  message: string;
  code?: string;
}

function errorOf(e: unknown): KernelLikeError {
  if (e instanceof Error) return { message: e.message, code: (e as { code?: string }).code };
  return { message: String(e) };
}

/** best-effort line in the system log; never fails the command */
const syslog = (msg: string): Promise<void> => note('vkill', msg);

runMain('vkill', async (argv) => {
  const args = parseArgs(argv, [
    { long: 'xid', short: 'c', value: true },
    { long: 'signal', short: 's', value: true },
    PATH_OPTIONS[0]!,
  ]);
  if (handleHelp(args, HELP)) return 0;

  const sigArg = optString(args, 'signal');
  let sig = 15;
  if (sigArg !== undefined) {
    const s = parseSignal(sigArg);
    if (s === null) fail(`Invalid signal specified (-s '${sigArg}'); try 'vkill --help'`, EXIT_USAGE);
    sig = s;
  }
  const xidArg = optString(args, 'xid');
  if (xidArg === undefined && args.positionals.length === 0) fail(`No pid specified; try 'vkill --help'`, EXIT_USAGE);
  const pids = args.positionals.map((a) => {
    const n = parseUint(a);
    if (n === null || n === 0) usageError(`'${a}' is not a PID (a positive number)`);
    return n;
  });

  requireRoot();
  const { confdir } = resolvePaths(args);
  const snapshot = await liveSnapshot();
  const names = namesForSnapshot(snapshot, confdir);
  const xid = xidArg === undefined ? null : resolveContext(xidArg, snapshot, names, confdir);

  const { killPid, killContext } = await import('../kernel-bridge/kill.js');
  const sname = signalName(sig);

  if (xid !== null && pids.length === 0) {
    if (xid === 0) fail('refusing to signal every process of the host (context 0); name the PIDs', EXIT_FAIL);
    if (xid === 1) fail('refusing to signal every process of the monitoring context (1); name the PIDs', EXIT_FAIL);
    try {
      const n = killContext(xid, sig);
      await syslog(`${sname} to every process of context ${xid}: ok (${n} processes)`);
    } catch (e) {
      const err = errorOf(e);
      await syslog(`${sname} to every process of context ${xid}: failed: ${err.message}`);
      fail(err.message, EXIT_FAIL);
    }
    return 0;
  }

  let failed = 0;
  for (const t of planKill(snapshot, xid, pids)) {
    if (t.proc === null) {
      warn(t.reason);
      failed++;
      continue;
    }
    const where = `pid ${t.proc.pid} (context ${t.proc.xid})`;
    try {
      killPid(t.proc.pid, t.proc.startTime, sig);
      await syslog(`${sname} to ${where}: ok`);
    } catch (e) {
      const err = errorOf(e);
      failed++;
      if (err.code === 'ESRCH') {
        const inCtx = xid !== null ? ` in context ${xid}` : '';
        warn(`(pid ${t.arg}${inCtx}): No such process`);
      } else {
        warn(err.message);
      }
      await syslog(`${sname} to ${where}: failed: ${err.message}`);
    }
  }
  return failed === 0 ? 0 : EXIT_FAIL;
});
