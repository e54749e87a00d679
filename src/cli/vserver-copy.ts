#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vserver-copy SRC DEST [--ip IP] [--ip6 IP6] [--move]: the 2002 manual's
 * fail-over move on one host (src/actions/backup.ts, copyServer).
 */
import { copyServer } from '../actions/backup.js';
import { startServer, stopServer } from '../actions/lifecycle.js';
import { deleteServer } from '../actions/delete.js';
import { LifecycleError } from '../actions/errors.js';
import { serverNameProblem } from '../config/name.js';
import {
  CliError, handleHelp, optString, parseArgs, parseUint, PATH_OPTIONS, PATH_AND_STANDARD_HELP, requireRoot, resolvePaths, runMain, usageError, warning, writeOut, INSTANCE_HELP
} from './common.js';

const HELP = `Usage: vserver-copy [--confdir DIR] [--rootdir DIR] [--rundir DIR] SRC DEST [--ip IP] [--ip6 IP6] [--move]
Copy or move a virtual server to a new name on this host.

SRC's configuration (NAME.conf, NAME.sh) and tree (owners, modes, ACLs,
xattrs, file capabilities, hard links) are copied with rsync to the new
server DEST, which is left stopped and ready to start.  A running SRC is
copied while it runs, then frozen for a last pass (a second or so), so the
copy is one moment of it.  DEST keeps SRC's addresses unless --ip/--ip6
give new ones (IPROOT and the copy's /etc/hosts lines); two servers with
one address take turns, so a copy without --move needs --ip, or
--allow-clash.

With --move (the manual's fail-over): SRC is stopped for the last pass, DEST
is started, and SRC is removed only once DEST runs; if DEST does not start,
SRC is started again and kept.  The downtime is reported.

Options:
  --ip IP           the copy's IPv4 address
  --ip6 IP6         the copy's IPv6 address
  --move            move: start DEST, then remove SRC
  --timeout S       with --move: seconds SRC's init has to shut down (default 10)
  --allow-clash     keep SRC's address or context number in the copy
${PATH_AND_STANDARD_HELP}

Environment:
${INSTANCE_HELP}

Exit status:
  0 copied (moved); 1 failed, nothing left of DEST (SRC as it was); 2 usage
  error; 3 unknown SRC.`;

runMain('vserver-copy', async (argv) => {
  const p = parseArgs(argv, [...PATH_OPTIONS, { long: 'ip', value: true }, { long: 'ip6', value: true }, { long: 'move' },
    { long: 'timeout', value: true }, { long: 'allow-clash' }]);
  if (handleHelp(p, HELP)) return 0;
  const [src, dest, extra] = p.positionals;
  if (src === undefined || dest === undefined) usageError('give the server to copy and the new name: vserver-copy SRC DEST');
  if (extra !== undefined) usageError(`unexpected argument '${extra}'`);
  for (const n of [src, dest]) {
    const problem = serverNameProblem(n);
    if (problem) usageError(`bad server name '${n}': ${problem}`);
  }
  if (src === dest) usageError('SRC and DEST are the same server');
  let timeoutSec: number | undefined;
  const t = optString(p, 'timeout');
  if (t !== undefined) {
    const n = parseUint(t);
    if (n === null || n > 86400) usageError(`--timeout: '${t}' is not a number of seconds (0 to 86400)`);
    if (!p.opts.has('move')) usageError('--timeout goes with --move (the source is stopped only then)');
    timeoutSec = n;
  }
  const paths = resolvePaths(p);
  requireRoot();
  const r = await copyServer(src, dest, paths, {
    ip: optString(p, 'ip'), ip6: optString(p, 'ip6'), move: p.opts.has('move'), allowClash: p.opts.has('allow-clash'),
    lifecycle: {
      start: async (n) => { for (const w of (await startServer(n, paths)).warnings) warning(w); },
      stop: async (n) => { for (const w of (await stopServer(n, paths, { timeoutSec })).warnings) warning(w); },
      remove: async (n) => { await deleteServer(n, paths); },
    },
    progress: (line) => process.stderr.write(`vserver-copy: ${line}\n`),
  }).catch((e: unknown) => {
    throw e instanceof LifecycleError ? new CliError(e.message, e.exitCode) : e;
  });
  for (const w of r.warnings) warning(w);
  const pause = r.pauseMs === null ? '' : r.moved ? `; downtime ${(r.pauseMs / 1000).toFixed(2)} s` : `; '${src}' was frozen for ${(r.pauseMs / 1000).toFixed(2)} s`;
  await writeOut(r.moved
    ? `Server '${src}' moved to '${dest}' (${r.root}), running; '${src}' removed${pause}\n`
    : `Server '${src}' copied to '${dest}' (${r.root}; configuration ${r.conf}); '${dest}' is stopped${pause}\n`);
  return 0;
});
