#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vapt SERVER... -- APT-ARGS... | vapt --all -- APT-ARGS...: apt-get inside
 * each named server in turn (util-vserver's vapt-get), a result line per
 * server, exit 1 when one failed.
 */
import { execTargets } from '../actions/vserver-all.js';
import { handleHelp, parseArgs, PATH_OPTIONS, PATH_AND_STANDARD_HELP, requireRoot, resolvePaths, runMain, usageError, INSTANCE_HELP } from './common.js';
import { runInEach } from './each-server.js';

const HELP = `Usage: vapt [--confdir DIR] [--rootdir DIR] [--rundir DIR] SERVER... -- APT-ARGS...
  or:  vapt [--confdir DIR] [--rootdir DIR] [--rundir DIR] --all -- APT-ARGS...
Run apt-get with the same arguments in each server, one after the other.

Each server's turn starts with a line "--- NAME (context N): apt-get ARGS"
and apt-get's own output, with the terminal and standard input of vapt (so
apt-get asks its questions there unless given -y), and ends with a result
line: "NAME: ok", "NAME: FAILED: WHY" (apt-get's exit status, or a server
that is unknown, not running or private) or, with --all, "NAME: skipped:
not running" for a stopped server.  A failure does not stop the others.

Options:
  --all             every configured server (stopped ones are skipped)
${PATH_AND_STANDARD_HELP}

Examples:
  vapt web1 web2 -- update
  vapt --all -- -y upgrade

Environment:
${INSTANCE_HELP}

Exit status:
  0 when apt-get succeeded in every server it ran in, 1 when one failed
  (each is named), 2 usage error.`;

runMain('vapt', async (argv) => {
  const dd = argv.indexOf('--');
  const p = parseArgs(dd < 0 ? argv : argv.slice(0, dd), [...PATH_OPTIONS, { long: 'all' }]);
  if (handleHelp(p, HELP)) return 0;
  const all = p.opts.has('all');
  if (all && p.positionals.length) usageError(`--all and server names exclude each other ('${p.positionals[0]}')`);
  if (!all && !p.positionals.length) usageError('no server given (SERVER... or --all)');
  if (dd < 0) usageError(`no '--' before apt-get's arguments (vapt ${all ? '--all' : 'SERVER...'} -- APT-ARGS...)`);
  const aptArgs = argv.slice(dd + 1);
  if (!aptArgs.length) usageError("no apt-get arguments after '--' (e.g. vapt SERVER -- update)");
  const paths = resolvePaths(p);
  requireRoot();
  return runInEach(await execTargets(paths, all ? null : p.positionals), ['apt-get', ...aptArgs]);
});
