#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vps [PS-OPTIONS]: runs procps `ps` with the user's options (as the
 * spectator, context 1, when chcontext can put it there) and inserts a
 * CONTEXT column (XID and server name) after the PID column, mapping each
 * row's PID through a snapshot taken right after ps ends.
 *
 * Installed, `vps` is kernel/out/vps (kernel/tools/vps.c): it starts ps
 * and this file at the same time, and takes the snapshot when ps ends
 * (startedPs); run otherwise, this file runs ps itself (runPs).
 */
import { closeSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  EXIT_FAIL,
  fail,
  namesForSnapshot,
  requireRoot,
  resolvePaths,
  runMain,
  versionLine,
  writeOut, INSTANCE_HELP
} from './common.js';
import type { Snapshot } from '../kernel-bridge/types.js';
import { liveSnapshot } from './live-snapshot.js';
import { isDigits } from '../config/digits.js';

const HELP = `Usage: vps [--json] [PS-OPTIONS...]
Show the processes of every context, with a CONTEXT column.

Runs ps(1) with PS-OPTIONS so that it sees the processes of every context,
and adds a CONTEXT column after PID: the context number and the server name
(0 MAIN = the host, 1 ALL_PROC = the monitoring context).  ERR marks a
process that ended before its context could be read.

Every argument except --help, --version and --json is handed to ps
unchanged; the ps output must have a PID column (e.g. vps ax, vps -ef,
vps -eo pid,comm).

Options:
  --json            the rows as JSON: ps's header, and per process its PID,
                    XID, context name and ps's line
  --help            display this help and exit
  --version         output version information and exit

Environment:
  VSERVER_CONFDIR   configuration directory for server names (default
                    /etc/vservers)
${INSTANCE_HELP}

Exit status:
  ps's own; 1 when vps itself fails (not root, no kernel layer).`;

/** ps's output, its exit status, and the host PID and XID ps itself ran as */
interface PsRun {
  stdout: string;
  code: number;
  psPid: number | null;
  psXid: number;
  /** the snapshot taken right after ps ended, when the front took it */
  snapshot?: Snapshot;
}

/**
 * ps as started by the `vps` front (kernel/tools/vps.c) before it became
 * this process: the spectator's ps, run by the front's helper, its output
 * on the first fd of VCTX_VPS_PS=FD,FD; on the second, once ps has ended,
 * "PSPID STATUS" and the snapshot the helper took then (as JSON); null
 * when this process was started otherwise.
 */
async function startedPs(): Promise<PsRun | null> {
  const spec = process.env.VCTX_VPS_PS;
  if (spec === undefined) return null;
  delete process.env.VCTX_VPS_PS;
  const m = /^(\d+),(\d+)$/.exec(spec);
  if (!m) return fail(`VCTX_VPS_PS='${spec}' is not FD,FD (set by the vps front, kernel/out/vps)`, EXIT_FAIL);
  const [psFd, scanFd] = [Number(m[1]), Number(m[2])];
  const stdout = readFileSync(psFd, 'utf8'); // until ps ends
  closeSync(psFd);
  const rest = readFileSync(scanFd, 'utf8'); // until the helper has scanned
  closeSync(scanFd);
  const nl = rest.indexOf('\n');
  const head = /^(\d+) (\d+)$/.exec(nl < 0 ? rest : rest.slice(0, nl));
  if (!head) return fail(`the vps front gave no ps status (${rest === '' ? 'nothing' : JSON.stringify(rest.slice(0, 40))}); rebuild (npm run build)`, EXIT_FAIL);
  const { parseScan } = await import('../kernel-bridge/scan-pipe.js');
  let snapshot: Snapshot;
  try {
    snapshot = parseScan(rest.slice(nl + 1));
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e), EXIT_FAIL);
  }
  return { stdout, code: Number(head[2]), psPid: Number(head[1]), psXid: 1, snapshot };
}

/**
 * Runs `ps ARGS`: as the spectator (`chcontext --silent --ctx 1 -- ps`)
 * when kernel/out/chcontext exists, else directly in the host context.
 * A tiny shell prints ps's PID first (`exec` keeps it), so the row of ps
 * itself, gone before the snapshot, still gets its context.
 */
async function runPs(args: string[]): Promise<PsRun> {
  const { spawn } = await import('node:child_process');
  // node:os (signal numbers) loads here, not at every start through the front (~0.15 ms)
  const { constants } = await import('node:os');
  const { toolsDir } = await import('../kernel-bridge/addon.js');
  const chcontext = join(toolsDir, 'chcontext');
  const script = ['/bin/sh', '-c', 'echo $$; exec ps "$@"', 'ps', ...args];
  const spectate = existsSync(chcontext);
  const [file, ...argv] = spectate ? [chcontext, '--silent', '--ctx', '1', '--', ...script] : script;

  return new Promise((resolve, reject) => {
    const child = spawn(file!, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.on('error', (e) => reject(new Error(`cannot run ${file}: ${e.message}`)));
    child.on('close', (code, signal) => {
      let out = Buffer.concat(chunks).toString('utf8');
      let psPid: number | null = null;
      const nl = out.indexOf('\n');
      const first = nl < 0 ? out : out.slice(0, nl);
      if (isDigits(first)) {
        psPid = Number(first);
        out = nl < 0 ? '' : out.slice(nl + 1);
      }
      const status = code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : EXIT_FAIL);
      resolve({ stdout: out, code: status, psPid, psXid: spectate ? 1 : 0 });
    });
  });
}

runMain('vps', async (argv) => {
  if (argv[0] === '--help') {
    await writeOut(HELP + '\n');
    return 0;
  }
  if (argv[0] === '--version') {
    await writeOut(versionLine() + '\n');
    return 0;
  }
  const json = argv.includes('--json');
  const psArgs = argv.filter((a) => a !== '--json');
  requireRoot();
  const { confdir } = resolvePaths(null);

  let run: PsRun;
  try {
    run = (await startedPs()) ?? (await runPs(psArgs));
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e), EXIT_FAIL);
  }
  if (run.stdout === '') return run.code;

  const snapshot = run.snapshot ?? (await liveSnapshot({ lite: true }));
  const xids = new Map<number, number>();
  for (const p of snapshot.processes) xids.set(p.pid, p.xid);
  if (run.psPid !== null && !xids.has(run.psPid)) xids.set(run.psPid, run.psXid);
  const xidOf = (pid: number): number | undefined => xids.get(pid);
  const names = namesForSnapshot(snapshot, confdir);

  const { insertContextColumn, vpsJson, PsParseError } = await import('../views/vps.js');
  try {
    if (json) await writeOut(JSON.stringify(vpsJson(run.stdout, xidOf, names), null, 2) + '\n');
    else await writeOut(insertContextColumn(run.stdout, xidOf, names));
  } catch (e) {
    if (e instanceof PsParseError) return fail(e.message, EXIT_FAIL);
    throw e;
  }
  return run.code;
});
