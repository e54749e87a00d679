#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vdu PATH...: disk use in KiB of the allocated blocks of the regular
 * files with a single link under each PATH.  The walk is kernel/out/vdu
 * (C: openat/fstatat, directory entry types); this file checks the
 * arguments and hands over.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { constants } from 'node:os';
import { EXIT_FAIL, fail, handleHelp, parseArgs, requireRoot, runMain, usageError, writeOut } from './common.js';

const HELP = `Usage: vdu [--json] PATH...
Show the disk use of each PATH in KiB, one "PATH<TAB>NNNK" line each: the
allocated blocks of the regular files with a single link.  Directories,
symbolic links (never followed) and files with more than one link (unified
with other servers) are not counted, and the walk stays on PATH's
filesystem: what a unified server really uses on its own.

Options:
  --json   the figures as JSON: {"paths": [{"path": PATH, "kib": N}, ...]}
           (a PATH that cannot be read is left out and named on stderr)
  --help   this text

Exit status: 0 success, 1 some PATH or directory could not be read,
2 usage error.`;

runMain('vdu', async (argv) => {
  const args = parseArgs(argv, [{ long: 'json' }]);
  if (handleHelp(args, HELP)) return 0;
  if (args.positionals.length === 0) usageError('no PATH given');
  requireRoot();

  const { toolsDir } = await import('../kernel-bridge/addon.js');
  const tool = join(toolsDir, 'vdu');
  if (!existsSync(tool)) fail(`${tool} is not built; run 'make -C kernel' (or npm run build)`, EXIT_FAIL);

  const run = (paths: string[], capture: boolean): Promise<{ code: number; out: string }> =>
    new Promise<{ code: number; out: string }>((resolve, reject) => {
      const child = spawn(tool, ['--', ...paths], { stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
      const chunks: Buffer[] = [];
      child.stdout?.on('data', (c: Buffer) => chunks.push(c));
      child.on('error', (e) => reject(new Error(`cannot run ${tool}: ${e.message}`)));
      child.on('close', (code, signal) =>
        resolve({
          code: code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0),
          out: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    }).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e), EXIT_FAIL));

  if (!args.opts.has('json')) return (await run(args.positionals, false)).code;

  // One walk per PATH, so that a PATH holding a tab or a newline cannot
  // confuse the parsing of "PATH<TAB>NNNK".
  const paths: { path: string; kib: number }[] = [];
  let status = 0;
  for (const path of args.positionals) {
    const r = await run([path], true);
    const m = /\t(\d+)K\n$/.exec(r.out);
    if (m && r.out.length === path.length + m[0].length) paths.push({ path, kib: Number(m[1]) });
    if (r.code !== 0) status = r.code;
  }
  await writeOut(JSON.stringify({ paths }, null, 2) + '\n');
  return status;
});
