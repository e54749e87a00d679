/**
 * Shared helpers of the command-line tools: the program name, one-line
 * errors with the contract's exit codes, a small option parser with the
 * contract's usage errors, --help and --version, the root check, and the
 * confdir/rootdir/rundir resolution (flag beats environment beats default).
 *
 * Kept free of heavy imports: every command loads this first.
 */
import { closeSync, existsSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instanceName, InstanceError } from '../config/instance.js';
import { resolvePaths as resolveConfigPaths, type VctxPaths } from '../config/paths.js';
import { isDigits } from '../config/digits.js';
import { escapeText } from '../kernel-bridge/escape.js';

/** exit codes of CONTRACT.md */
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNKNOWN = 3;

let program = 'vctx';

/** sets the name every message starts with */
export function setProgram(name: string): void {
  program = name;
}

/** an error that ends the command with a one-line message and an exit code */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** ends the command: `PROGRAM: msg` on stderr, exit `code` (default 1) */
export function fail(msg: string, code: number = EXIT_FAIL): never {
  throw new CliError(msg, code);
}

/**
 * ends the command with a usage error naming the bad flag or argument, exit
 * 2; one line whatever the argument held (control characters escaped)
 */
export function usageError(msg: string): never {
  throw new CliError(`${escapeText(msg)}; try '${program} --help'`, EXIT_USAGE);
}

/** writes `PROGRAM: msg` on stderr */
export function warn(msg: string): void {
  process.stderr.write(`${program}: ${msg}\n`);
}

/** the warnings this command gave (for the status line, see runMain) */
const warnings: string[] = [];

/** writes `PROGRAM: warning: line` on stderr and keeps it for the status line */
export function warning(line: string): void {
  warnings.push(line);
  warn(`warning: ${line}`);
}

/**
 * The command's outcome for a program that runs it (vtop's helper,
 * kernel/tools/vtop-helper.c): with VCTX_STATUS_FD=N in the environment,
 * one JSON line on fd N when the command ends, instead of its stderr's
 * words: {"exit": CODE, "error": MESSAGE or null, "warnings": [LINE...]}
 * (CODE the exit status of CONTRACT.md, MESSAGE what stderr says after
 * "PROGRAM: ").  The variable is removed at once, so nothing the command
 * runs writes there.
 */
export const STATUS_FD_ENV = 'VCTX_STATUS_FD';

function takeStatusFd(): number | null {
  const v = process.env[STATUS_FD_ENV];
  if (v === undefined) return null;
  delete process.env[STATUS_FD_ENV];
  return isDigits(v) && Number(v) > 2 ? Number(v) : null;
}

function writeStatus(fd: number | null, exit: number, error: string | null): void {
  if (fd === null) return;
  try {
    writeSync(fd, JSON.stringify({ exit, error, warnings }) + '\n');
    closeSync(fd);
  } catch {
    // nobody reads it any more
  }
}

/** whether something made Node's process.stdout stream (see ignoreEpipe) */
let stdoutStream = false;

/**
 * Writes text to stdout and resolves when it is flushed (a pipe closed
 * early by the reader, e.g. `| head`, is not an error).
 *
 * Straight to fd 1 (writeSync) while nothing has made process.stdout:
 * setting up Node's stream costs ~2 ms, a tenth of a command's start.  On
 * Linux the stream writes files, pipes and terminals synchronously too, so
 * the two keep their order; a non-blocking stdout that is full (EAGAIN)
 * gets the rest through the stream, which waits.
 */
export function writeOut(text: string): Promise<void> {
  if (text === '') return Promise.resolve();
  let buf = Buffer.from(text, 'utf8');
  if (!stdoutStream) {
    let off = 0;
    try {
      while (off < buf.length) off += writeSync(1, buf, off);
      return Promise.resolve();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
      if (code !== 'EAGAIN') throw e;
      buf = buf.subarray(off);
    }
  }
  return new Promise((resolve) => {
    process.stdout.write(buf, () => resolve());
  });
}

/**
 * `process.stdout` EPIPE is the reader going away, not a failure: the
 * handler goes on the stream when something first makes it (Node's lazy
 * getter, wrapped once), so a command that only uses writeOut never pays
 * for the stream.
 */
function ignoreEpipe(): void {
  const attach = (s: NodeJS.WriteStream): NodeJS.WriteStream => {
    stdoutStream = true;
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
    return s;
  };
  const d = Object.getOwnPropertyDescriptor(process, 'stdout');
  if (!d?.get || !d.configurable) {
    attach(process.stdout);
    return;
  }
  const get = d.get;
  Object.defineProperty(process, 'stdout', {
    configurable: true,
    enumerable: d.enumerable,
    get() {
      Object.defineProperty(process, 'stdout', d); // Node's getter keeps the stream it makes
      return attach(get.call(process) as NodeJS.WriteStream);
    },
  });
}

/**
 * Runs a command's main: a CliError becomes its one-line message and exit
 * code; anything else is a bug and keeps its stack (exit 1).
 */
export function runMain(name: string, main: (argv: string[]) => Promise<number | void> | number | void): void {
  setProgram(name);
  ignoreEpipe();
  const statusFd = takeStatusFd();
  Promise.resolve()
    .then(() => {
      // a bad VCTX_INSTANCE is a usage error before anything else (docs/instances.md)
      try {
        instanceName();
      } catch (e) {
        if (e instanceof InstanceError) throw new CliError(e.message, EXIT_USAGE);
        throw e;
      }
      return main(process.argv.slice(2));
    })
    .then(
      (code) => {
        process.exitCode = typeof code === 'number' ? code : 0;
        writeStatus(statusFd, process.exitCode, null);
      },
      (e: unknown) => {
        if (e instanceof CliError) {
          process.stderr.write(`${program}: ${e.message}\n`);
          process.exitCode = e.exitCode;
          writeStatus(statusFd, e.exitCode, e.message);
        } else {
          process.stderr.write(`${program}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
          process.exitCode = EXIT_FAIL;
          writeStatus(statusFd, EXIT_FAIL, `internal error: ${e instanceof Error ? e.message : String(e)}`);
        }
      },
    );
}

/** refuses to go on unless running as root (uid 0): one line, exit 1 */
export function requireRoot(): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    fail('must be run as root', EXIT_FAIL);
  }
}

/** one option a command accepts */
export interface OptionSpec {
  /** long name without dashes, e.g. 'xid' */
  long: string;
  /** one-letter short form, e.g. 's' */
  short?: string;
  /** true when the option takes a value */
  value?: boolean;
  /** true when the option may be given several times (values collected) */
  multiple?: boolean;
}

export interface ParsedArgs {
  /** flags by long name: true, a value, or a list of values for `multiple` */
  opts: Map<string, string | true | string[]>;
  positionals: string[];
}

export interface ParseOptions {
  /** stop at the first positional (the rest are a command's arguments) */
  stopAtPositional?: boolean;
}

/**
 * Parses argv against a list of options.  Understands `--long`,
 * `--long=VALUE`, `--long VALUE`, `-s VALUE`, `-sVALUE`, bundled short
 * flags, and `--` ending the options.  `--help` and `--version` are always
 * accepted (see handleHelp).
 * @throws CliError (exit 2) naming an unknown option or a missing value
 */
export function parseArgs(argv: string[], specs: OptionSpec[], po: ParseOptions = {}): ParsedArgs {
  const all: OptionSpec[] = [...specs, { long: 'help' }, { long: 'version' }];
  const byLong = new Map(all.map((s) => [s.long, s]));
  const byShort = new Map(all.filter((s) => s.short).map((s) => [s.short!, s]));
  const opts = new Map<string, string | true | string[]>();
  const positionals: string[] = [];

  const set = (spec: OptionSpec, v: string | true): void => {
    if (spec.multiple && typeof v === 'string') {
      const prev = opts.get(spec.long);
      opts.set(spec.long, Array.isArray(prev) ? [...prev, v] : [v]);
    } else {
      opts.set(spec.long, v);
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq < 0 ? undefined : eq);
      const spec = byLong.get(name);
      if (!spec) usageError(`unknown option '--${name}'`);
      if (spec.value) {
        let v: string;
        if (eq >= 0) v = a.slice(eq + 1);
        else if (i + 1 < argv.length) v = argv[++i]!;
        else usageError(`option '--${name}' needs a value`);
        set(spec, v);
      } else {
        if (eq >= 0) usageError(`option '--${name}' takes no value`);
        set(spec, true);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const ch = a[j]!;
        const spec = byShort.get(ch);
        if (!spec) usageError(`unknown option '-${ch}'`);
        if (spec.value) {
          let v: string;
          if (j + 1 < a.length) v = a.slice(j + 1);
          else if (i + 1 < argv.length) v = argv[++i]!;
          else usageError(`option '-${ch}' needs a value`);
          set(spec, v);
          break;
        }
        set(spec, true);
      }
      continue;
    }
    positionals.push(a);
    if (po.stopAtPositional) {
      positionals.push(...argv.slice(i + 1));
      break;
    }
  }
  return { opts, positionals };
}

/** the string value of an option, or undefined */
export function optString(p: ParsedArgs, long: string): string | undefined {
  const v = p.opts.get(long);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v[v.length - 1];
  return undefined;
}

/**
 * Prints the help text on stdout when `--help` was given, or the version
 * line when `--version` was; returns true then (the command exits 0 once
 * it is written).
 */
export function handleHelp(p: ParsedArgs, text: string): boolean {
  // through writeOut: straight to fd 1, without making Node's stdout stream (~2 ms)
  if (p.opts.has('help')) {
    void writeOut(text.endsWith('\n') ? text : text + '\n');
    return true;
  }
  if (p.opts.has('version')) {
    void writeOut(versionLine() + '\n');
    return true;
  }
  return false;
}

/**
 * `PROGRAM (vctx) VERSION`, GNU's form (what help2man reads), with the
 * version of the checkout's package.json: the nearest one named vctx above
 * this file, wherever the build put it (dist/src/cli/, a bundle in dist/).
 */
export function versionLine(): string {
  let version = 'unknown';
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    try {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'vctx' && typeof pkg.version === 'string') {
        version = pkg.version;
        break;
      }
    } catch {
      /* none here */
    }
    if (dirname(d) === d) break;
  }
  return `${program} (vctx) ${version}`;
}

export type { VctxPaths };

/** option specs for `--confdir`, `--rootdir`, `--rundir` */
/** the --help lines of the path options, --help and --version (vserver, vserver-all) */
export const PATH_AND_STANDARD_HELP = `  --confdir DIR     configuration (default $VSERVER_CONFDIR or /etc/vservers)
  --rootdir DIR     server roots (default $VSERVER_ROOTDIR or /vservers)
  --rundir DIR      runtime state and logs (default $VSERVER_RUNDIR or
                    /run/vservers)
  --help            display this help and exit
  --version         output version information and exit`;

/** the --help lines of VCTX_INSTANCE (an "Environment:" entry; docs/instances.md) */
export const INSTANCE_HELP = `  VCTX_INSTANCE     the vctx instance: only its servers, and the default
                    directories end in @NAME (/etc/vservers@NAME ...); unset
                    or empty: the default instance (docs/instances.md)`;

export const PATH_OPTIONS: OptionSpec[] = [
  { long: 'confdir', value: true },
  { long: 'rootdir', value: true },
  { long: 'rundir', value: true },
];

/**
 * Resolves the three directories (config/paths.ts): the flag beats the
 * environment (VSERVER_CONFDIR, VSERVER_ROOTDIR, VSERVER_RUNDIR), which
 * beats the default.  Empty values count as unset.
 */
export function resolvePaths(p: ParsedArgs | null, env: NodeJS.ProcessEnv = process.env): VctxPaths {
  return resolveConfigPaths(
    {
      confdir: p ? optString(p, 'confdir') : undefined,
      rootdir: p ? optString(p, 'rootdir') : undefined,
      rundir: p ? optString(p, 'rundir') : undefined,
    },
    env,
  );
}

/**
 * A minimal read of the configuration for names only: S_CONTEXT -> NAME of
 * every `NAME.conf` in confdir that sets a static context number.  Unreadable
 * files and a missing directory yield nothing (the full parser validates).
 */
export function configuredContextNames(confdir: string): Map<number, string> {
  const out = new Map<number, string>();
  let files: string[];
  try {
    files = readdirSync(confdir);
  } catch {
    return out;
  }
  for (const f of files) {
    if (!f.endsWith('.conf') || f.length <= 5) continue;
    let text: string;
    try {
      text = readFileSync(join(confdir, f), 'utf8');
    } catch {
      continue;
    }
    const m = /^[ \t]*S_CONTEXT[ \t]*=[ \t]*["']?(\d+)["']?[ \t]*(?:#.*)?$/m.exec(text);
    if (m) out.set(Number(m[1]), f.slice(0, -5));
  }
  return out;
}

/** the names of all configured servers (NAME of every NAME.conf) */
export function configuredServers(confdir: string): string[] {
  try {
    return readdirSync(confdir)
      .filter((f) => f.endsWith('.conf') && f.length > 5)
      .map((f) => f.slice(0, -5))
      .sort();
  } catch {
    return [];
  }
}

/** parses a decimal non-negative integer, or returns null */
export function parseUint(s: string): number | null {
  if (!isDigits(s) || s.length > 10) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * The server names of a snapshot's contexts; reads the configuration's
 * S_CONTEXT numbers only when some server context (2..49151) has no name
 * in the snapshot.
 */
export function namesForSnapshot(
  snapshot: import('../kernel-bridge/types.js').Snapshot,
  confdir: string,
): Map<number, string> {
  const names = new Map<number, string>();
  let missing = false;
  for (const c of snapshot.contexts) {
    if (c.name !== '') names.set(c.xid, c.name);
    else if (c.xid >= 2 && c.xid < 49152) missing = true;
  }
  if (!missing) {
    for (const p of snapshot.processes) {
      if (p.xid >= 2 && p.xid < 49152 && !names.has(p.xid)) {
        missing = true;
        break;
      }
    }
  }
  if (missing) {
    for (const [xid, name] of configuredContextNames(confdir)) if (!names.has(xid)) names.set(xid, name);
  }
  return names;
}

/**
 * Resolves a context given as an XID or a server name against a snapshot
 * (and the configuration's names); unknown or not running -> exit 3.
 */
export function resolveContext(
  arg: string,
  snapshot: import('../kernel-bridge/types.js').Snapshot,
  names: ReadonlyMap<number, string>,
  confdir?: string,
): number {
  const running = new Set<number>([0]);
  for (const c of snapshot.contexts) running.add(c.xid);
  for (const p of snapshot.processes) running.add(p.xid);
  const n = parseUint(arg);
  if (n !== null) {
    if (!running.has(n)) fail(`context ${n} is not running`, EXIT_UNKNOWN);
    return n;
  }
  for (const [xid, name] of names) if (name === arg && running.has(xid)) return xid;
  const known = [...names.values()].includes(arg) || (confdir !== undefined && configuredServers(confdir).includes(arg));
  if (known) fail(`server '${escapeText(arg)}' is not running`, EXIT_UNKNOWN);
  fail(`unknown server '${escapeText(arg)}' (give a context number or the name of a running server)`, EXIT_UNKNOWN);
}

/**
 * vtop's key configuration file: --config FILE (which must exist), else the
 * first of $XDG_CONFIG_HOME/vctx/vtop.json (~/.config) and
 * /etc/vctx/vtop.json that exists; undefined for the built-in keys.
 */
export function keyConfigFile(explicit: string | undefined): string | undefined {
  if (explicit !== undefined) {
    if (!existsSync(explicit)) usageError(`--config ${explicit}: no such file`);
    return explicit;
  }
  const xdg = process.env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
  return [join(xdg, 'vctx', 'vtop.json'), '/etc/vctx/vtop.json'].find((f) => existsSync(f));
}
