#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vserver-stat [--json]: one row per running context with util-vserver's
 * sums over its processes; --json adds the cgroup's own figures.
 *
 * Installed, `vserver-stat` is kernel/out/vserver-stat (kernel/tools/
 * vserver-stat.c): it takes the snapshot while Node starts and hands it
 * over on the fd of VCTX_STAT_SCAN (scannedByFront); run otherwise, this
 * file takes it through the addon.
 */
import type { Snapshot } from '../kernel-bridge/types.js';
import {
  EXIT_FAIL,
  fail,
  handleHelp,
  namesForSnapshot,
  parseArgs,
  PATH_OPTIONS,
  requireRoot,
  resolvePaths,
  runMain,
  usageError,
  writeOut, INSTANCE_HELP
} from './common.js';
import { liveSnapshot } from './live-snapshot.js';
import { isDigits } from '../config/digits.js';

const HELP = `Usage: vserver-stat [--json] [--confdir DIR]
Show one line per running security context.

The columns, util-vserver's sums over the context's processes:
  CTX       context number (0 = root server, 1 = monitoring server)
  PROC      number of processes in the context
  VSZ       virtual memory of its processes (sum)
  RSS       resident memory of its processes (sum)
  userTIME  user-mode CPU time of its processes and their reaped children
  sysTIME   kernel-mode CPU time of its processes and their reaped children
  UPTIME    time since the context's oldest process started
  NAME      server name

Memory is scaled by 1024 (K, M, G, T) with one decimal when it fits; times
read MmSSsXX (XX hundredths), HhMMmSS, DdHHhMM or YyDDdHH.

Options:
  --json            the same rows as JSON, with the cgroup's own figures
                    (memory and where it came from, CPU, pids, OOM kills) and
                    the tree's disk use against its DISK_MAX (project quota)
  --confdir DIR     configuration directory for server names (default
                    $VSERVER_CONFDIR or /etc/vservers)
  --help            display this help and exit
  --version         output version information and exit

Environment:
${INSTANCE_HELP}

Exit status:
  0 success, 1 failure (not root, no kernel layer), 2 usage error.`;

/** the snapshot the front took, if it started this process (VCTX_STAT_SCAN=FD) */
async function scannedByFront(): Promise<Snapshot | null> {
  const spec = process.env.VCTX_STAT_SCAN;
  if (spec === undefined) return null;
  delete process.env.VCTX_STAT_SCAN;
  if (!isDigits(spec)) return fail(`VCTX_STAT_SCAN='${spec}' is not an FD (set by the vserver-stat front, kernel/out/vserver-stat)`, EXIT_FAIL);
  const { readScanPipe } = await import('../kernel-bridge/scan-pipe.js');
  try {
    return readScanPipe(Number(spec));
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e), EXIT_FAIL);
  }
}

runMain('vserver-stat', async (argv) => {
  const args = parseArgs(argv, [{ long: 'json' }, PATH_OPTIONS[0]!]);
  if (handleHelp(args, HELP)) return 0;
  if (args.positionals.length > 0) usageError(`unexpected argument '${args.positionals[0]}'`);
  requireRoot();
  const { confdir } = resolvePaths(args);

  const snapshot = (await scannedByFront()) ?? (await liveSnapshot({ lite: true }));
  const { computeStatRows, formatStatTable, statJson } = await import('../views/vserver-stat.js');
  const rows = computeStatRows(snapshot, namesForSnapshot(snapshot, confdir), { excludePid: process.pid });
  if (args.opts.has('json')) {
    const { diskQuotaOf } = await import('../kernel-bridge/quota.js');
    const disks = new Map(rows.filter((r) => r.context?.root).map((r) => [r.xid, diskQuotaOf(r.context!.root)]));
    await writeOut(JSON.stringify(statJson(rows, disks), null, 2) + '\n');
  }
  else await writeOut(formatStatTable(rows));
  return 0;
});
