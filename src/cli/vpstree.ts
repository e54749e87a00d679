#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vpstree [--json] [--ascii|--unicode] [CONTEXT...]: the process trees of
 * every context (or the contexts named), each headed by `XID NAME`.
 */
import {
  handleHelp,
  namesForSnapshot,
  parseArgs,
  PATH_OPTIONS,
  requireRoot,
  resolveContext,
  resolvePaths,
  runMain,
  usageError,
  writeOut, INSTANCE_HELP
} from './common.js';
import { liveSnapshot } from './live-snapshot.js';

const HELP = `Usage: vpstree [--json] [--ascii|--unicode] [--confdir DIR] [CONTEXT...]
Show the process trees of every running context.

Each context is headed by its number and name.  A process shows its host
PID, its PID inside the context in brackets where that differs, and its
command line.  CONTEXT is a context number or the name of a running server;
without one, every context is shown (0 = root server, 1 = monitoring server).

Options:
  --json            the trees as JSON (contexts -> trees -> children)
  --ascii           draw the tree lines with ASCII characters
  --unicode         draw them with box-drawing characters (default: box-drawing
                    when the locale is UTF-8)
  --confdir DIR     configuration directory for server names (default
                    $VSERVER_CONFDIR or /etc/vservers)
  --help            display this help and exit
  --version         output version information and exit

Environment:
${INSTANCE_HELP}

Exit status:
  0 success, 1 failure, 2 usage error, 3 unknown or stopped server.`;

function localeIsUtf8(env: NodeJS.ProcessEnv): boolean {
  const l = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /utf-?8/i.test(l);
}

runMain('vpstree', async (argv) => {
  const args = parseArgs(argv, [{ long: 'json' }, { long: 'ascii' }, { long: 'unicode' }, PATH_OPTIONS[0]!]);
  if (handleHelp(args, HELP)) return 0;
  if (args.opts.has('ascii') && args.opts.has('unicode')) usageError(`options '--ascii' and '--unicode' exclude each other`);
  requireRoot();
  const { confdir } = resolvePaths(args);

  const snapshot = await liveSnapshot();
  const names = namesForSnapshot(snapshot, confdir);
  const wanted = args.positionals.map((a) => resolveContext(a, snapshot, names, confdir));

  const { buildContextTrees } = await import('../views/tree.js');
  const all = buildContextTrees(snapshot);
  const trees = wanted.length === 0 ? all : new Map(wanted.map((x) => [x, all.get(x) ?? []] as const));

  const view = await import('../views/vpstree.js');
  if (args.opts.has('json')) {
    await writeOut(JSON.stringify(view.vpstreeJson(trees, names)) + '\n');
    return 0;
  }
  const unicode = args.opts.has('unicode') || (!args.opts.has('ascii') && localeIsUtf8(process.env));
  const width = process.stdout.isTTY ? process.stdout.columns || 0 : 0;
  await writeOut(view.formatVpstree(trees, names, { glyphs: unicode ? view.UNICODE_GLYPHS : view.ASCII_GLYPHS, width }));
  return 0;
});
