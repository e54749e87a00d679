#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vserver-copy SRC [[USER@]HOST:]DEST [--ip IP] [--ip6 IP6] [--move]: the
 * 2002 manual's fail-over move, on one host or to another over ssh and
 * rsync (src/actions/backup.ts, copyServer; src/actions/ssh.ts).  The
 * receiving end of a copy to another host is this command there,
 * `vserver-copy --receive STEP NAME` (receiveCopy).
 */
import { copyServer, receiveCopy } from '../actions/backup.js';
import { startServer, stopServer } from '../actions/lifecycle.js';
import { deleteServer } from '../actions/delete.js';
import { LifecycleError } from '../actions/errors.js';
import { SshHost, sshHostProblem } from '../actions/ssh.js';
import { serverNameProblem } from '../config/name.js';
import { escapeText } from '../kernel-bridge/escape.js';
import {
  CliError, handleHelp, optString, parseArgs, parseUint, PATH_OPTIONS, PATH_AND_STANDARD_HELP, requireRoot, resolvePaths, runMain, usageError, warning, writeOut, INSTANCE_HELP
} from './common.js';

const HELP = `Usage: vserver-copy [--confdir DIR] [--rootdir DIR] [--rundir DIR] SRC DEST [--ip IP] [--ip6 IP6] [--move]
  or:  vserver-copy [OPTION]... SRC [USER@]HOST:[DEST] [--ip IP] [--ip6 IP6] [--move] [--ssh-config FILE]
Copy or move a virtual server on this host or to another host.

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

To another host, HOST:DEST (DEST defaults to SRC's name): the same steps,
with ssh and rsync (-aHAXS --numeric-ids) into HOST's roots, where vctx
must be installed (its commands on the PATH of an ssh session; the copy is
installed there by 'vserver-copy --receive', with that host's checks).  ssh
runs unattended (BatchMode: a key, no password prompt) on one connection
for the run (a ControlMaster socket in a private temporary directory).  A
running SRC is copied while it runs, then frozen (or, with --move, stopped)
for the last delta pass, and DEST is started on HOST; with --move SRC is
removed only once HOST answers 'vserver DEST running'.  A stopped SRC is
copied and left stopped there (started with --move).  A unified SRC is
copied as its merged tree: re-unify it on HOST to share files again.

Options:
  --ip IP           the copy's IPv4 address
  --ip6 IP6         the copy's IPv6 address
  --move            move: start DEST, then remove SRC
  --timeout S       with --move: seconds SRC's init has to shut down (default 10)
  --allow-clash     keep SRC's address or context number in the copy
  --ssh-config FILE with HOST: ssh's configuration file (ssh -F FILE): port,
                    key, user, known hosts
${PATH_AND_STANDARD_HELP}

Environment:
${INSTANCE_HELP}

Exit status:
  0 copied (moved); 1 failed, nothing left of DEST (SRC as it was, and
  running if it ran; a DEST that would not start stays, stopped); 2 usage
  error; 3 unknown SRC.`;

/** the [USER@]HOST:[NAME] form of DEST, or null for a name on this host */
function remoteDest(dest: string, src: string): { host: string; name: string } | null {
  const at = dest.lastIndexOf(':');
  if (at < 0 || (dest.startsWith('[') && dest.lastIndexOf(']') > at)) return null;
  const host = dest.slice(0, at);
  const problem = sshHostProblem(host);
  if (problem) usageError(`bad host '${escapeText(host)}' in '${escapeText(dest)}': ${problem}`);
  return { host, name: dest.slice(at + 1) || src };
}

async function readStdin(): Promise<string> {
  let s = '';
  for await (const c of process.stdin) s += String(c);
  return s;
}

runMain('vserver-copy', async (argv) => {
  const p = parseArgs(argv, [...PATH_OPTIONS, { long: 'ip', value: true }, { long: 'ip6', value: true }, { long: 'move' },
    { long: 'timeout', value: true }, { long: 'allow-clash' }, { long: 'ssh-config', value: true }, { long: 'receive', value: true }]);
  if (handleHelp(p, HELP)) return 0;
  const step = optString(p, 'receive');
  if (step !== undefined) {
    // the receiving end of a copy from another host (run there by the sender, over ssh)
    const [name, more] = p.positionals;
    if (name === undefined || more !== undefined) usageError('--receive STEP NAME: one server name');
    const problem = serverNameProblem(name);
    if (problem) usageError(`bad server name '${escapeText(name)}': ${problem}`);
    const paths = resolvePaths(p);
    requireRoot();
    const r = await receiveCopy(step, name, paths, step === 'install' ? await readStdin() : '').catch((e: unknown) => {
      throw e instanceof LifecycleError ? new CliError(e.message, e.exitCode) : e;
    });
    await writeOut(JSON.stringify(r) + '\n');
    return 0;
  }
  const [src, destArg, extra] = p.positionals;
  if (src === undefined || destArg === undefined) usageError('give the server to copy and the new name: vserver-copy SRC [HOST:]DEST');
  if (extra !== undefined) usageError(`unexpected argument '${escapeText(extra)}'`);
  const remote = remoteDest(destArg, src);
  const dest = remote ? remote.name : destArg;
  for (const n of [src, dest]) {
    const problem = serverNameProblem(n);
    if (problem) usageError(`bad server name '${escapeText(n)}': ${problem}`);
  }
  if (src === dest && !remote) usageError('SRC and DEST are the same server');
  const sshConfig = optString(p, 'ssh-config');
  if (sshConfig !== undefined && !remote) usageError('--ssh-config goes with a copy to another host (HOST:NAME)');
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
  let host: SshHost | undefined;
  try {
    host = remote ? new SshHost(remote.host, { configFile: sshConfig }) : undefined;
  } catch (e) {
    throw e instanceof LifecycleError ? new CliError(e.message, e.exitCode) : e;
  }
  const on = host ? ` on ${escapeText(host.dest)}` : '';
  const r = await copyServer(src, dest, paths, {
    host, ip: optString(p, 'ip'), ip6: optString(p, 'ip6'), move: p.opts.has('move'), allowClash: p.opts.has('allow-clash'),
    lifecycle: {
      start: async (n) => { for (const w of (await startServer(n, paths)).warnings) warning(w); },
      stop: async (n) => { for (const w of (await stopServer(n, paths, { timeoutSec })).warnings) warning(w); },
      remove: async (n) => { await deleteServer(n, paths); },
    },
    progress: (line) => process.stderr.write(`vserver-copy: ${line}\n`),
  }).catch((e: unknown) => {
    throw e instanceof LifecycleError ? new CliError(e.message, e.exitCode) : e;
  }).finally(() => host?.close());
  for (const w of r.warnings) warning(escapeText(w));
  const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const pause = r.pauseMs === null ? '' : r.moved ? `; downtime ${secs(r.pauseMs)}${host ? ` (stopped until '${dest}' ran${on})` : ''}` : `; '${src}' was frozen for ${secs(r.pauseMs)}`;
  const root = escapeText(r.root);
  await writeOut(r.moved
    ? `Server '${src}' moved to '${dest}'${on} (${root}), running; '${src}' removed${pause}\n`
    : r.started
      ? `Server '${src}' copied to '${dest}'${on} (${root}), running; '${src}' runs too${pause}\n`
      : `Server '${src}' copied to '${dest}'${on} (${root}; configuration ${escapeText(r.conf)}); '${dest}' is stopped${pause}\n`);
  return 0;
});
