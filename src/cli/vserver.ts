#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vserver [OPTIONS] NAME COMMAND [ARGS]: build, start, stop, restart,
 * enter, exec, status, running, delete and log of one virtual server.
 * The verbs live in src/actions; this file parses, prints and maps errors
 * to the CONTRACT exit codes.
 */
import { createReadStream, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { escapeText } from '../kernel-bridge/escape.js';
// fs.promises loads on first use (node:fs/promises would load at start: ~1 ms)
import { promises as fsp } from 'node:fs';
import { LifecycleError, errText } from '../actions/errors.js';
import { statusRunning, statusStopped, unifiedLine } from './vserver-format.js';
import { runForeground } from './foreground.js';
import { adoptFrontKernel } from '../kernel-bridge/front.js';
import {
  CliError, EXIT_FAIL, EXIT_UNKNOWN, EXIT_USAGE, fail, handleHelp, optString, parseArgs, parseUint, PATH_OPTIONS, PATH_AND_STANDARD_HELP,
  requireRoot, resolvePaths, runMain, usageError, warning, writeOut, type OptionSpec, type ParsedArgs, INSTANCE_HELP
} from './common.js';

const HELP = `Usage: vserver [--confdir DIR] [--rootdir DIR] [--rundir DIR] NAME COMMAND [ARGS]
Manage one virtual server: build, start, stop, enter, exec, status.

NAME is configured in CONFDIR/NAME.conf and its root is ROOTDIR/NAME.

Commands:
  build [--template busybox|copy|debootstrap[:SUITE]] [--ip IP] [--ip6 IP6]
        [--nat] [--hostname H] [--ctx N] [--force] [--allow-clash] [--refresh-cache]
        [--unify]
                    write NAME.conf and populate the server's root; an address
                    or context number another server has is refused unless
                    --allow-clash (the two then take turns: one runs at a time).
                    --ip6 adds an IPv6 address to IPROOT ("IP IP6"); --nat
                    writes NAT=yes: a server on an address the host cannot
                    route out (127.x, private) reaches the outside world from
                    the host's address.  The server's /etc/resolv.conf is the
                    host's resolver configuration (loopback resolvers left out).
                    debootstrap keeps its result in $VCTX_CACHE_DIR/debootstrap
                    (default /var/cache/vctx; one tar of ~200 MiB per suite,
                    architecture and mirror) and unpacks it in later builds;
                    an entry older than 7 days, or --refresh-cache, is made anew;
                    --unify unifies the new server (see unify)
  start             start the server (pre-start hook, IP alias, context, init,
                    post-start hook); done when its boot scripts are; exits 1
                    with the console's last lines when its init ends meanwhile
  stop [--timeout S]
                    the init's own shutdown (up to S seconds, default 10), then
                    SIGTERM, 5 s, SIGKILL, naming what it signalled; exits 1
                    listing processes that would not die
  restart [--timeout S]
                    stop (when running) and start
  enter             an interactive login shell inside, on a new pseudo-terminal
  exec CMD [ARG...]
                    run CMD inside with this stdin/stdout/stderr; exits with
                    CMD's code
  set KEY=VALUE [KEY=VALUE...]
                    change MEMORY_MAX, PIDS_MAX, CPU_MAX or CPU_WEIGHT: live
                    while the server runs (its cgroup), and in NAME.conf (only
                    those lines); an invalid value changes nothing (exit 2).
                    DISK_MAX (the tree's ext4/XFS project quota) applies at
                    once, running or not; refused (exit 1) where the file
                    system has no project quotas
  status [--json]   "Vserver 'NAME' is running at context 'N'" (exit 0) or
                    "Vserver 'NAME' is stopped" (exit 3)
  running           exit 0 when running, 1 when not (prints nothing)
  delete [--force]  remove a stopped server (root, NAME.conf, NAME.sh); asks
                    unless --force
  log [-f]          the server's console output (-f: keep following it), with
                    control characters and escape sequences shown escaped
                    (\x1b); kept under the runtime directory, at most
                    CONSOLE_MAX (default 1M) in console.log and as much in
                    console.log.1
  unify             share the server's identical files with other unified
                    servers (one copy on disk and in the page cache): its
                    tree becomes an overlay whose lower layer links into
                    ROOTDIR/.vctx-store; /etc, /var, /home, /root, /srv and
                    dpkg's conffiles stay its own (/etc and dpkg's and
                    debconf's databases packed into its own erofs
                    image), and whatever it changes is copied up into
                    its upper layer.  Says "nothing to do"
                    when already unified; a running server is unified at
                    its next start (and it says so)
  deunify           make a unified (stopped) server's tree a plain tree of
                    its own again (owners, modes, xattrs, hard links kept)
  backup FILE [--no-freeze] [--force]
                    write the server (NAME.conf, NAME.sh, its tree with owners,
                    modes, ACLs, xattrs and file capabilities) to the archive
                    FILE (.tar, .tar.gz, .tar.xz or .tar.zst); a running server
                    is frozen while its tree is read (one moment of it; its
                    processes pause, then go on), unless --no-freeze
  restore FILE [--ip IP] [--ip6 IP6] [--allow-clash]
                    recreate the server of a backup as NAME (a new name or the
                    old one), stopped; --ip/--ip6 give it new addresses
                    (IPROOT and its /etc/hosts lines)

Hooks: an executable CONFDIR/NAME.sh runs as root with pre-start|post-start|
pre-stop|post-stop NAME (60 s each); a failing pre-start aborts the start.
Inside a server, reboot (or vreboot) restarts it, halt or poweroff (or vhalt)
stops it.

Options:
${PATH_AND_STANDARD_HELP}

Environment:
  VCTX_CACHE_DIR    where build --template debootstrap keeps its cache
                    (default /var/cache/vctx; entries in DIR/debootstrap)
${INSTANCE_HELP}

Exit status:
  0 ok; 1 the operation failed; 2 usage error; 3 unknown server or not
  running.`;

// Each verb loads its actions when it runs (the bundle keeps them lazy):
// status and running never evaluate the configuration parser (zod), the
// build templates or child_process.
const lifecycle = () => import('../actions/lifecycle.js');

const COMMAND_OPTIONS: Record<string, OptionSpec[]> = {
  build: [{ long: 'template', short: 't', value: true }, { long: 'ip', value: true }, { long: 'ip6', value: true }, { long: 'nat' },
    { long: 'hostname', value: true }, { long: 'ctx', value: true }, { long: 'force' }, { long: 'allow-clash' }, { long: 'refresh-cache' },
    { long: 'unify' }],
  start: [],
  unify: [],
  deunify: [],
  set: [],
  stop: [{ long: 'timeout', value: true }, { long: 'if-running' }],
  restart: [{ long: 'timeout', value: true }, { long: 'if-running' }],
  enter: [],
  status: [{ long: 'json' }],
  running: [],
  delete: [{ long: 'force' }],
  log: [{ long: 'follow', short: 'f' }],
  backup: [{ long: 'no-freeze' }, { long: 'force' }],
  restore: [{ long: 'ip', value: true }, { long: 'ip6', value: true }, { long: 'allow-clash' }],
};

function timeoutOpt(p: ParsedArgs): number | undefined {
  const t = optString(p, 'timeout');
  if (t === undefined) return undefined;
  const n = parseUint(t);
  if (n === null || n > 86400) usageError(`--timeout: '${t}' is not a number of seconds (0 to 86400)`);
  return n;
}

function printWarnings(ws: readonly string[]): void {
  for (const w of ws) for (const line of w.split('\n')) warning(line);
}

async function confirm(question: string): Promise<boolean> {
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
  rl.close();
  return /^y(es)?$/i.test(answer.trim());
}

/**
 * Console text as it may be shown on a terminal: what the server wrote is
 * escaped with the one escaper (src/kernel-bridge/escape.ts: control
 * characters, terminal escape sequences, bidirectional overrides), but for
 * the line breaks and tabs that make it a log.  A decoder per file keeps a
 * character split across two reads whole.
 */
class LogText {
  private dec = new StringDecoder('utf8');
  text(chunk: Buffer): string {
    return this.dec.write(chunk).split(/([\n\t])/).map((p, i) => (i % 2 ? p : escapeText(p))).join('');
  }
  end(): string {
    return escapeText(this.dec.end());
  }
}

async function followLog(path: string): Promise<never> {
  let log = new LogText();
  let pos = 0;
  let ino = -1;
  let fh: Awaited<ReturnType<typeof fsp.open>> | null = null;
  const buf = Buffer.alloc(65536);
  for (;;) {
    // a new boot moves the log to console.log.1 and starts a new file
    let now = -1;
    try {
      now = statSync(path).ino;
    } catch {
      /* between boots */
    }
    if (now !== ino && now !== -1) {
      if (fh) {
        // what the old file got before the switch
        for (let n = 1; n > 0; pos += n) {
          n = (await fh.read(buf, 0, buf.length, pos)).bytesRead;
          if (n) await writeOut(log.text(buf.subarray(0, n)));
        }
        await writeOut(log.end());
        log = new LogText();
        await fh.close();
      }
      fh = await fsp.open(path, 'r').catch(() => null);
      ino = fh ? now : -1;
      pos = 0;
    }
    const n = fh ? (await fh.read(buf, 0, buf.length, pos)).bytesRead : 0;
    if (n > 0) {
      pos += n;
      await writeOut(log.text(buf.subarray(0, n)));
      continue;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(argv: string[]): Promise<number> {
  const head = parseArgs(argv, PATH_OPTIONS, { stopAtPositional: true });
  const [name, command, ...rest] = head.positionals;
  // what the front asked libvctx (the cgroup layout; the contexts for the
  // verbs that only read them): taken, and removed from the environment,
  // before anything runs
  adoptFrontKernel(command === 'status' || command === 'running');
  if (handleHelp(head, HELP)) return 0;
  if (name === undefined) usageError('no server name given');
  if (command === undefined) usageError(`no command given for server '${name}'`);
  if (command !== 'exec' && !(command in COMMAND_OPTIONS)) {
    usageError(`unknown command '${command}' (build start stop restart enter exec set status running delete log backup restore unify deunify)`);
  }
  let p: ParsedArgs = { opts: new Map(), positionals: [] };
  if (command !== 'exec') {
    p = parseArgs(rest, [...COMMAND_OPTIONS[command]!, ...PATH_OPTIONS]);
    if (handleHelp(p, HELP)) return 0;
    if (command === 'backup' || command === 'restore') {
      if (p.positionals.length !== 1) usageError(`${command} needs one archive: vserver ${name} ${command} FILE`);
    } else if (p.positionals.length && command !== 'set') usageError(`'${command}' takes no argument '${p.positionals[0]}'`);
  } else if (rest[0] === '--') {
    rest.shift();
  }
  for (const [k, v] of p.opts) head.opts.set(k, v);
  const paths = resolvePaths(head);
  requireRoot();

  switch (command) {
    case 'build': {
      const ctxArg = optString(p, 'ctx');
      let ctx: number | undefined;
      if (ctxArg !== undefined) {
        const n = parseUint(ctxArg);
        if (n === null || n < 2 || n > 49151) usageError(`--ctx: '${ctxArg}' is not a static context number (2 to 49151)`);
        ctx = n;
      }
      const template = optString(p, 'template');
      if (p.opts.has('refresh-cache') && !/^debootstrap(:|$)/.test(template ?? '')) {
        usageError('--refresh-cache is for --template debootstrap (the only template with a cache)');
      }
      const { build, BuildError } = await import('../actions/build.js');
      const { cacheDirFrom } = await import('../actions/templates/debootstrap-cache.js');
      const r = await build(name, {
        template, ip: optString(p, 'ip'), ip6: optString(p, 'ip6'), nat: p.opts.has('nat'), hostname: optString(p, 'hostname'), ctx,
        force: p.opts.has('force'), allowClash: p.opts.has('allow-clash'),
        cache: { dir: cacheDirFrom(), refresh: p.opts.has('refresh-cache') },
        onProgress: (await import('./build-progress.js')).buildProgressPrinter(process.stderr),
      }, paths).catch((e: unknown) => {
        throw e instanceof BuildError ? new CliError(e.message, e.exitCode) : e;
      });
      printWarnings(r.warnings);
      await writeOut(`Server '${r.name}' built in ${r.root} (${r.template}, ${(r.elapsedMs / 1000).toFixed(1)} s); configuration ${r.conf}\n`);
      if (p.opts.has('unify')) await writeOut(unifiedLine(await (await import('../actions/unify.js')).unifyServer(name, paths)));
      return 0;
    }
    case 'unify': {
      const { unifyServer } = await import('../actions/unify.js');
      await writeOut(unifiedLine(await unifyServer(name, paths)));
      return 0;
    }
    case 'deunify': {
      const { deunifyServer } = await import('../actions/unify.js');
      const r = await deunifyServer(name, paths);
      await writeOut(r.outcome === 'deunified' ? `Server '${name}' deunified: its tree ${paths.rootdir}/${name} is its own again (${(r.elapsedMs / 1000).toFixed(1)} s)\n`
        : r.outcome === 'cancelled' ? `Server '${name}': the unify waiting for its next start was cancelled\n`
        : `Server '${name}' is not unified: nothing to do\n`);
      return 0;
    }
    case 'start': {
      const { startServer } = await lifecycle();
      const r = await startServer(name, paths);
      printWarnings(r.warnings);
      return 0;
    }
    case 'stop': {
      const timeoutSec = timeoutOpt(p);
      const { haltServer, stopServer } = await lifecycle();
      const r = p.opts.has('if-running') ? await haltServer(name, paths, { timeoutSec }) : await stopServer(name, paths, { timeoutSec });
      if (r) printWarnings(r.warnings);
      return 0;
    }
    case 'restart': {
      const { restartServer } = await lifecycle();
      const r = await restartServer(name, paths, { timeoutSec: timeoutOpt(p), ifRunning: p.opts.has('if-running') });
      printWarnings([...(r.stopped?.warnings ?? []), ...(r.started?.warnings ?? [])]);
      return 0;
    }
    case 'set': {
      const { setServer } = await lifecycle();
      const { quoteValue } = await import('../config/issues.js');
      const r = await setServer(name, p.positionals, paths);
      const what = r.changes.map(([k, v]) => `${k}=${quoteValue(v)}`).join(' ');
      const disk = r.disk === undefined ? '' : r.disk === null ? 'DISK_MAX: no limit (the tree has no project id)\n'
        : `DISK_MAX: ${r.disk.limit === null ? 'no limit' : `${r.disk.limit} bytes`} on project ${r.disk.projectId} of ${paths.rootdir}/${name}\n`;
      const cgroupKeys = r.changes.some(([k]) => k !== 'DISK_MAX');
      await writeOut(disk + (!cgroupKeys ? `${what}: written to ${r.conf}\n` : r.xid !== null
        ? `${what}: applied to '${name}' (context ${r.xid}) and written to ${r.conf}\n`
        : `${what}: written to ${r.conf}; '${name}' is stopped, so it applies at its next start\n`));
      return 0;
    }
    case 'status': {
      const { serverStatus } = await import('../actions/status.js');
      const s = await serverStatus(name, paths);
      if (s.configError) printWarnings([s.configError]);
      if (p.opts.has('json')) {
        await writeOut(JSON.stringify(s) + '\n');
        return s.running ? 0 : EXIT_UNKNOWN;
      }
      if (!s.running) {
        await writeOut(statusStopped(name));
        return EXIT_UNKNOWN;
      }
      await writeOut(statusRunning(name, s.xid!, s.nprocs, s.uptimeSec ?? 0));
      return 0;
    }
    case 'backup': {
      const { backupServer } = await import('../actions/backup.js');
      const r = await backupServer(name, p.positionals[0]!, paths, { freeze: !p.opts.has('no-freeze'), force: p.opts.has('force') });
      printWarnings(r.warnings);
      const how = r.frozenMs !== null ? `, running: frozen for ${(r.frozenMs / 1000).toFixed(1)} s` : r.meta.running ? ', running, not frozen' : '';
      await writeOut(`Server '${name}' backed up to ${r.file} (${(r.bytes / 1048576).toFixed(1)} MiB${how})\n`);
      return 0;
    }
    case 'restore': {
      const { restoreServer } = await import('../actions/backup.js');
      const r = await restoreServer(name, p.positionals[0]!, paths, { ip: optString(p, 'ip'), ip6: optString(p, 'ip6'), allowClash: p.opts.has('allow-clash') });
      printWarnings(r.warnings);
      await writeOut(`Server '${name}' restored in ${r.root} from the backup of '${r.meta.name}' (${r.meta.createdAt}); configuration ${r.conf}; it is stopped\n`);
      return 0;
    }
    case 'running': {
      const { isRunning } = await import('../actions/status.js');
      return (await isRunning(name, paths)) ? 0 : EXIT_FAIL;
    }
    case 'enter': {
      const { contextToEnter, enterArgvFor } = await import('../actions/enter.js');
      const { auditEnter } = await lifecycle();
      let xid: number;
      try {
        xid = await contextToEnter(name, paths);
        if (!process.stdin.isTTY) fail(`enter needs a terminal on stdin; to run a command inside use: vserver ${name} exec CMD`);
      } catch (e) {
        // an enter that was refused is logged too (start, stop and restart log theirs in src/actions)
        await auditEnter('enter', name, `failed: ${errText(e).split('\n')[0]}`);
        throw e;
      }
      const code = await runForeground(enterArgvFor(xid));
      await auditEnter('enter', name, `${code === 0 ? 'ok' : `exit ${code}`}, context ${xid}`);
      return code;
    }
    case 'exec': {
      if (!rest.length) usageError(`exec needs a command: vserver ${name} exec CMD [ARG...]`);
      const { contextToEnter } = await import('../actions/enter.js');
      const { execIn } = await import('./each-server.js');
      return execIn(name, await contextToEnter(name, paths), rest);
    }
    case 'delete': {
      const { deletePlan, deleteServer } = await import('../actions/delete.js');
      const plan = deletePlan(name, paths);
      if (!p.opts.has('force')) {
        if (!process.stdin.isTTY) fail(`not deleting '${name}' without a terminal to confirm on; use --force`);
        const ok = await confirm(`Delete server '${name}': ${plan.paths.join(', ')}? [y/N] `);
        if (!ok) fail('not deleted');
      }
      const removed = await deleteServer(name, paths);
      await writeOut(`Server '${name}' deleted (${removed.join(', ')})\n`);
      return 0;
    }
    case 'log': {
      const { consoleLog } = await import('../actions/log.js');
      const l = consoleLog(name, paths);
      const path = l.path ?? l.previous;
      if (!path) {
        if (!p.opts.has('follow')) return 0;
      } else if (!p.opts.has('follow')) {
        const log = new LogText();
        for await (const chunk of createReadStream(path)) await writeOut(log.text(chunk as Buffer));
        await writeOut(log.end());
        return 0;
      }
      return followLog(l.path ?? `${paths.rundir}/${name}/console.log`);
    }
  }
  return EXIT_USAGE;
}

runMain('vserver', async (argv) => {
  try {
    return await main(argv);
  } catch (e) {
    // a StopTimeout is one too (exit 1); a BuildError is mapped where build runs
    if (e instanceof LifecycleError) throw new CliError(e.message, e.exitCode);
    throw e;
  }
});
