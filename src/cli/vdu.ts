#!/usr/bin/env node
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
import { EXIT_FAIL, fail, handleHelp, parseArgs, requireRoot, runMain, usageError } from './common.js';

const HELP = `Usage: vdu PATH...
Show the disk use of each PATH in KiB, one "PATH<TAB>NNNK" line each: the
allocated blocks of the regular files with a single link.  Directories,
symbolic links (never followed) and files with more than one link (unified
with other servers) are not counted, and the walk stays on PATH's
filesystem: what a unified server really uses on its own.

Options:
  --help   this text

Exit status: 0 success, 1 some PATH or directory could not be read,
2 usage error.`;

runMain('vdu', async (argv) => {
  const args = parseArgs(argv, []);
  if (handleHelp(args, HELP)) return 0;
  if (args.positionals.length === 0) usageError('no PATH given');
  requireRoot();

  const { toolsDir } = await import('../kernel-bridge/addon.js');
  const tool = join(toolsDir, 'vdu');
  if (!existsSync(tool)) fail(`${tool} is not built; run 'make -C kernel' (or npm run build)`, EXIT_FAIL);

  return new Promise<number>((resolve, reject) => {
    const child = spawn(tool, ['--', ...args.positionals], { stdio: 'inherit' });
    child.on('error', (e) => reject(new Error(`cannot run ${tool}: ${e.message}`)));
    child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
  }).catch((e: unknown) => fail(e instanceof Error ? e.message : String(e), EXIT_FAIL));
});
