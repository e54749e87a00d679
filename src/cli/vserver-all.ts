#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vserver-all start|stop|status|exec: start the servers with ONBOOT=yes by
 * PRIORITY (lower first), stop every running server in reverse order, list
 * them all, or run a command in each running one.  Used by scripts/vservers.service at boot and shutdown.
 */
import { allStates, execTargets, startAll, stopAll, type AllOutcome } from '../actions/vserver-all.js';
import {
  EXIT_FAIL, handleHelp, warn, warning, optString, parseArgs, parseUint, PATH_OPTIONS, PATH_AND_STANDARD_HELP, requireRoot, resolvePaths, runMain,
  usageError, writeOut, INSTANCE_HELP
} from './common.js';
import { formatUptime } from './vserver-format.js';

const HELP = `Usage: vserver-all [--confdir DIR] [--rootdir DIR] [--rundir DIR] COMMAND [--timeout S] [--json]
  or:  vserver-all [--confdir DIR] [--rootdir DIR] [--rundir DIR] exec -- CMD [ARG...]
Start, stop, list or run a command in every configured virtual server.

Commands:
  start             start every server with ONBOOT=yes, by PRIORITY (lower
                    first, then by name); a server with ONBOOT=yes whose
                    configuration has an error is reported as FAILED, never
                    skipped
  stop              stop every running server, in the reverse order
  status            one line per configured server: NAME, state, context,
                    ONBOOT, PRIORITY; then, one line each, every
                    configuration error and every clash with another server
                    (the same IPROOT, S_CONTEXT or host name), under both
                    servers' names
  exec -- CMD...    run CMD in every running server, one after the other,
                    with this terminal: a line "--- NAME (context N): CMD"
                    before each, then its output, then "NAME: ok" or
                    "NAME: FAILED: WHY"; a stopped server is "NAME: skipped:
                    not running" (as with vapt --all)

The systemd unit vservers.service runs vserver-all start at boot and
vserver-all stop at shutdown (setup.sh --enable-onboot enables it).

Options:
  --timeout S       with stop: seconds each server's init has to shut down
                    (default 10)
  --json            with status: the servers as a JSON array
${PATH_AND_STANDARD_HELP}

Environment:
${INSTANCE_HELP}

Exit status:
  0 when every server did what was asked, 1 when one failed (each is named),
  2 usage error.`;

function line(o: AllOutcome): string {
  switch (o.result) {
    case 'started': return `${o.name}: started at context ${o.xid}`;
    case 'stopped': return `${o.name}: stopped`;
    case 'already-running': return `${o.name}: already running`;
    case 'not-running': return `${o.name}: not running`;
    default: return `${o.name}: FAILED: ${(o.error ?? '').split('\n').join('; ')}`;
  }
}

runMain('vserver-all', async (argv) => {
  // exec's command follows '--', untouched by the option parser
  const dd = argv.indexOf('--');
  const p = parseArgs(dd < 0 ? argv : argv.slice(0, dd), [...PATH_OPTIONS, { long: 'timeout', value: true }, { long: 'json' }]);
  if (handleHelp(p, HELP)) return 0;
  const [cmd, extra] = p.positionals;
  if (cmd === undefined) usageError('no command given (start, stop, status or exec)');
  if (extra !== undefined) usageError(`unexpected argument '${extra}'`);
  if (!['start', 'stop', 'status', 'exec'].includes(cmd)) usageError(`unknown command '${cmd}' (start, stop, status or exec)`);
  if (cmd === 'exec') {
    if (dd < 0 || dd === argv.length - 1) usageError('exec needs a command after \'--\': vserver-all exec -- CMD [ARG...]');
    for (const o of ['timeout', 'json']) if (p.opts.has(o)) usageError(`--${o} does not go with exec`);
    const paths = resolvePaths(p);
    requireRoot();
    const { runInEach } = await import('./each-server.js');
    return runInEach(await execTargets(paths, null), argv.slice(dd + 1));
  }
  if (dd >= 0) usageError(`unexpected argument '--' (only exec takes a command)`);
  let timeoutSec: number | undefined;
  const t = optString(p, 'timeout');
  if (t !== undefined) {
    const n = parseUint(t);
    if (n === null) usageError(`--timeout: '${t}' is not a number of seconds`);
    timeoutSec = n;
  }
  const paths = resolvePaths(p);
  requireRoot();
  if (cmd === 'status') {
    const all = await allStates(paths);
    if (p.opts.has('json')) {
      await writeOut(JSON.stringify(all) + '\n');
      return 0;
    }
    const rows = all.map((s) => [s.name, s.configError ? 'invalid config' : s.running ? 'running' : 'stopped',
      s.running ? String(s.xid) : '-', s.running ? formatUptime(s.uptimeSec ?? 0) : '-', s.onBoot === null ? '?' : s.onBoot ? 'yes' : 'no', String(s.priority)]);
    const head = ['NAME', 'STATE', 'CTX', 'UPTIME', 'ONBOOT', 'PRIORITY'];
    const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ') + '\n';
    const problems = all.flatMap((s) => s.problems.map((l) => `${s.name}: ${l}\n`));
    await writeOut(fmt(head) + rows.map(fmt).join('') + problems.join(''));
    return 0;
  }
  // a warning shared by several servers (a host setting) is printed once
  const warned = new Set<string>();
  const print = (o: AllOutcome) => {
    process.stdout.write(line(o) + '\n');
    for (const w of o.warnings) {
      const shared = /^the host's /.test(w);
      if (warned.has(shared ? w : `${o.name}\0${w}`)) continue;
      warned.add(shared ? w : `${o.name}\0${w}`);
      warning(shared ? w : `${o.name}: ${w}`);
    }
  };
  const out = cmd === 'start' ? await startAll(paths, print) : await stopAll(paths, { timeoutSec }, print);
  const failed = out.filter((o) => o.result === 'failed');
  if (failed.length) {
    warn(`${failed.length} of ${out.length} server${out.length > 1 ? 's' : ''} could not be ${cmd === 'start' ? 'started' : 'stopped'}: ${failed.map((o) => o.name).join(', ')}`);
    return EXIT_FAIL;
  }
  return 0;
});
