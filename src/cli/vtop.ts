#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS node
/**
 * vtop: the live dashboard of contexts and their processes.
 *
 * This file is the seam where the world is wired in: it builds the
 * SnapshotSource (recorded fixtures with --fixture, else the native one),
 * the host probe, disk-use cache and user names, and the Actions port the
 * UI dispatches to.  Live and as root, it first starts the privileged helper
 * (kernel/tools/vtop-helper.c: context 0, a fixed set of re-validated
 * requests over a socketpair) and then confines itself as the
 * spectator (context 1: sees every process, can signal none), so the code
 * that parses and draws what servers put in their process names can change
 * nothing by itself.  Other users get no helper: read-only.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import type { SnapshotSource } from '../kernel-bridge/types.js';
import {
  EXIT_FAIL, PATH_OPTIONS, configuredServers, fail, handleHelp, keyConfigFile, optString, parseArgs, resolvePaths, runMain, usageError,
  INSTANCE_HELP, type VctxPaths,
} from './common.js';
import { isDigits } from '../config/digits.js';

/** how often vtop collects its heap in full when node runs it with --expose-gc (the bundle) */
const GC_EVERY_MS = 5000;
const HELP = `Usage: vtop [OPTION]...
  or:  vtop --once [--json] [OPTION]...
  or:  vtop --host [USER@]HOST [--host [USER@]HOST]... [--once [--json]]
Show the live dashboard of the host and its virtual servers.

Every server with its processes, CPU (% of one core over the last interval,
like top; the host's too, with a meter per core on wide terminals, and each
server's last minute as a sparkline), memory (RSS sum: its processes' resident
memory; cgroup mem against its limit), uptime, IP and disk use; the selected
server's process tree, searchable; its console log; details (capabilities,
limits, namespaces); and, for root, a signal to the selected or tagged
processes (SIGTERM preselected), start/stop/restart/enter with a confirmation
whose default is Cancel.  Press ? inside for the keys.
Run by another user it is read-only (the header says so): server names come
from the runtime directory's public index, kept by vserver start and stop.

Options:
  --once            print one snapshot and exit (also when stdout is not a
                    terminal)
  --json            with --once: print it as JSON
  --readonly        no action that changes anything (always so for non-root
                    users)
  --allow-host-kill let kill reach the host's own processes too; without it
                    the privileged helper signals only processes of servers
                    (context 2 and up), whatever the screen asks
  --interval S      refresh every S seconds (default 2, at least 0.5); + and -
                    change it
  --fixture PATH    replay recorded snapshots (a JSON file or a directory of
                    them) instead of reading the kernel; actions are recorded,
                    not sent (repeatable)
  --no-color        no colours (also when NO_COLOR is set or TERM=dumb)
  --host [USER@]HOST  (repeatable) the servers of these hosts, grouped by
                    host, instead of this one's (name this host too to see it:
                    every host is read alike, over ssh).  Each host runs its
                    own 'vtop --stream' over one ssh connection (BatchMode, a
                    ControlMaster socket per host); x X s S r go to that
                    host's own privileged helper on the same connection, e
                    runs 'ssh -t HOST vserver NAME enter'.  A host that drops
                    is shown UNREACHABLE with ssh's reason and dialled again
                    every 3 s; the others go on.  With --once, each host's
                    servers (--json: {"hosts": [{host, reachable, error,
                    hostname, servers}]}); exit 1 when no host answered
  --ssh-config FILE with --host: ssh's configuration file (ssh -F FILE)
  --stream          this host's frames as JSON lines on stdout (the --once
                    --json document with seq and readonly) and server
                    requests as JSON lines on stdin, for another host's
                    vtop --host
  --config FILE     key bindings file (default: ~/.config/vctx/vtop.json, then
                    /etc/vctx/vtop.json), e.g. {"keys": {"kill": "k", "enter":
                    ["e"]}}
  --confdir DIR     server configurations (default $VSERVER_CONFDIR or
                    /etc/vservers)
  --rootdir DIR     server roots (default $VSERVER_ROOTDIR or /vservers)
  --rundir DIR      runtime directory with the public index of running servers
                    (default $VSERVER_RUNDIR or /run/vservers)
  --help            display this help and exit
  --version         output version information and exit

Environment:
${INSTANCE_HELP}

Exit status:
  0 success, 1 failure (no live source, bad fixture or config), 2 usage
  error.`;

async function nativeSource(): Promise<SnapshotSource> {
  let mod: typeof import('../kernel-bridge/snapshot.js');
  try {
    mod = await import('../kernel-bridge/snapshot.js');
  } catch (e) {
    return fail(`live snapshots are not available (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); ` +
      'build with npm run build, or replay a recording with --fixture PATH', EXIT_FAIL);
  }
  try {
    return new mod.NativeSnapshotSource();
  } catch (e) {
    return fail(`cannot read the kernel's state: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`, EXIT_FAIL);
  }
}

/**
 * The live Actions: the privileged helper (kernel/tools/vtop-helper.c),
 * started while this process is still in context 0.  Null (read-only, with
 * the reason in `note`) when it cannot start.
 */
async function liveActions(paths: VctxPaths, note: (s: string) => void, allowHostKill: boolean): Promise<import('../actions/vtop-actions.js').HelperActions | null> {
  try {
    const { startHelper } = await import('../actions/vtop-actions.js');
    return startHelper(paths, { allowHostKill });
  } catch (e) {
    note(`no actions (${(e instanceof Error ? e.message : String(e)).split('\n')[0]}): read-only`);
    return null;
  }
}

/**
 * Confine this process as the spectator (context 1): it keeps seeing every
 * process but can signal or trace none but itself, from here on.  Only root
 * can; a failure ends vtop rather than drawing unconfined.
 */
async function confine(): Promise<void> {
  try {
    const { spectate } = await import('../kernel-bridge/context.js');
    spectate();
  } catch (e) {
    fail(`cannot confine vtop to the spectator context 1: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`, EXIT_FAIL);
  }
}

function readUsers(): Map<number, string> {
  const out = new Map<number, string>();
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && isDigits(f[2]!) && !out.has(Number(f[2]))) out.set(Number(f[2]), f[0]!);
    }
  } catch {
    /* numeric uids then */
  }
  return out;
}

/** disk use of one root with kernel/out/vdu (the vdu command), in bytes */
function vduMeasure(tool: string): (root: string) => Promise<number> {
  return (root) => new Promise((resolve, reject) => {
    const child = spawn(tool, ['--', root], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.on('error', reject);
    child.on('close', () => {
      const m = /\t(\d+)K\s*$/.exec(out);
      if (m) resolve(Number(m[1]) * 1024);
      else reject(new Error(`vdu ${root}: no result`));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// React's production build unless told otherwise: the development build costs
// vtop about a sixth more CPU per frame, and React and Ink are loaded lazily,
// after this line
process.env['NODE_ENV'] ??= 'production';

runMain('vtop', async (argv) => {
  const args = parseArgs(argv, [
    { long: 'once' }, { long: 'json' }, { long: 'readonly' }, { long: 'allow-host-kill' }, { long: 'no-color' },
    { long: 'interval', value: true }, { long: 'fixture', value: true, multiple: true }, { long: 'config', value: true },
    { long: 'host', value: true, multiple: true }, { long: 'ssh-config', value: true }, { long: 'stream' },
    ...PATH_OPTIONS,
  ]);
  if (handleHelp(args, HELP)) return 0;
  if (args.positionals.length) usageError(`unexpected argument '${args.positionals[0]}'`);
  const hosts = args.opts.get('host') as string[] | undefined;
  if (optString(args, 'ssh-config') !== undefined && !hosts) usageError('--ssh-config goes with --host');
  if (hosts && (args.opts.has('fixture') || args.opts.has('stream'))) usageError('--host does not go with --fixture or --stream');
  if (args.opts.has('stream') && (args.opts.has('once') || args.opts.has('json'))) usageError('--stream does not go with --once or --json');
  const paths = resolvePaths(args);

  let intervalMs = 2000;
  const iv = optString(args, 'interval');
  if (iv !== undefined) {
    const s = Number(iv);
    if (!/^\d+(\.\d+)?$/.test(iv) || !(s >= 0.5) || s > 3600) usageError(`--interval '${iv}': expected seconds, 0.5 to 3600`);
    intervalMs = Math.round(s * 1000);
  }
  const json = args.opts.has('json');
  const stream = args.opts.has('stream');
  const once = !stream && (args.opts.has('once') || json || !process.stdout.isTTY);
  if (hosts) {
    const { runHosts } = await import('./vtop-hosts.js');
    return runHosts({ hosts, sshConfig: optString(args, 'ssh-config'), once, json, intervalMs,
      readonly: args.opts.has('readonly'), noColor: args.opts.has('no-color'), keyConfig: optString(args, 'config') });
  }
  const isRoot = typeof process.getuid !== 'function' || process.getuid() === 0;
  const fixtures = args.opts.get('fixture') as string[] | undefined;

  // keys (validated before anything starts, so a bad file is a clear error)
  const { buildKeymap, parseKeyConfig, KeyConfigError } = await import('../ui/keys.js');
  let keymapArgs: Parameters<typeof buildKeymap>[0] = {};
  if (!once && !stream) {
    const file = keyConfigFile(optString(args, 'config'));
    try {
      const overrides = file ? parseKeyConfig(readFileSync(file, 'utf8'), file) : {};
      keymapArgs = { overrides, origin: file };
      buildKeymap(keymapArgs);
    } catch (e) {
      if (e instanceof KeyConfigError) fail(e.message, EXIT_FAIL);
      fail(`${file}: ${e instanceof Error ? e.message : String(e)}`, EXIT_FAIL);
    }
  }

  // the data path
  const { VtopFeed, stepInterval } = await import('../live/vtop-feed.js');
  const { staticHostProbe, liveHostProbe } = await import('../live/host-probe.js');
  const { DiskUseCache, staticDiskUse } = await import('../live/disk-use-cache.js');
  const { RecordingActions } = await import('../actions/vtop-port.js');
  let source: SnapshotSource;
  let feedOpts: Omit<ConstructorParameters<typeof VtopFeed>[0], 'source'>;
  let actions: import('../actions/vtop-port.js').Actions | null;
  let note = '';
  if (fixtures) {
    const { FixtureSnapshotSource, FixtureError, fixtureFiles } = await import('../kernel-bridge/fixture-source.js');
    for (const f of fixtures) {
      try {
        fixtureFiles(f);
      } catch (e) {
        usageError(`--fixture ${f}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    let fx: InstanceType<typeof FixtureSnapshotSource>;
    try {
      fx = new FixtureSnapshotSource(fixtures);
    } catch (e) {
      if (e instanceof FixtureError) fail(e.message, EXIT_FAIL);
      throw e;
    }
    source = fx;
    const x = fx.extras;
    feedOpts = {
      host: staticHostProbe(x.host), configured: () => x.configured ?? [], diskUse: staticDiskUse(x.diskUse ?? {}),
      users: new Map(Object.entries(x.users ?? {}).map(([k, v]) => [Number(k), v])),
    };
    actions = new RecordingActions();
  } else {
    source = await nativeSource();
    const { toolsDir } = await import('../kernel-bridge/addon.js');
    feedOpts = {
      host: liveHostProbe(), configured: () => configuredServers(paths.confdir), users: readUsers(),
      // vdu is root's (it would count only what another user may read): unknown then
      diskUse: isRoot ? new DiskUseCache({ measure: vduMeasure(join(toolsDir, 'vdu')) }) : staticDiskUse({}),
    };
    // a tree's project quota (DISK_MAX) is root's to read, like vdu's figure
    if (isRoot) feedOpts.diskQuota = (await import('../kernel-bridge/quota.js')).diskQuotaOf;
    if (!isRoot) {
      // names are root's to read in the kernel: other users get them from the public index,
      // believed only for contexts the kernel confirms (a stale entry names nothing)
      const { applyServerIndex, readServerIndex } = await import('../actions/server-index.js');
      const { dirIno } = await import('../kernel-bridge/cgroup.js');
      feedOpts.annotate = (s) => applyServerIndex(s, readServerIndex(paths.rundir), dirIno);
      feedOpts.configured = () => [...new Set([...configuredServers(paths.confdir), ...readServerIndex(paths.rundir).map((e) => e.name)])];
    }
    if (!once && !stream) {
      // the first frame from a stat-only scan (the first full one reads every status and cmdline file)
      const { NativeSnapshotSource } = await import('../kernel-bridge/snapshot.js');
      const quick = new NativeSnapshotSource({ lite: true });
      feedOpts.quickFirst = () => quick.snapshot();
    }
    // the helper is started while we are still in context 0; then we confine ourselves
    actions = isRoot && !once && !args.opts.has('readonly') ? await liveActions(paths, (s) => { note = s; }, args.opts.has('allow-host-kill')) : null;
    if (isRoot) await confine();
  }
  const readonly = args.opts.has('readonly') || !isRoot || actions === null;
  // in words, for the header
  const readonlyReason = !isRoot ? 'not run as root' : args.opts.has('readonly') ? '--readonly' : 'no privileged helper';
  // the logs pane reads the file `vserver NAME log` reads (this boot's, else the last one's)
  const { consoleLog } = await import('../actions/log.js');
  const logPath = (name: string) => {
    const l = consoleLog(name, paths);
    return l.path ?? l.previous;
  };
  const feed = new VtopFeed({ ...feedOpts, source, intervalMs, confdir: paths.confdir, rootdir: paths.rootdir, logPath });

  const { colorModeFromEnv } = await import('../ui/theme.js');
  const colorMode = args.opts.has('no-color') ? 'none' : colorModeFromEnv(process.env);

  if (stream) {
    const { streamFrames } = await import('./vtop-stream.js');
    try {
      await streamFrames(feed, stream && actions ? actions : null, readonly ? readonlyReason : null);
    } finally {
      if (actions && 'close' in actions && typeof actions.close === 'function') actions.close();
    }
    return 0;
  }

  if (once) {
    await feed.refresh();
    if (source.live) await sleep(Math.min(intervalMs, 1000));
    const frame = await feed.refresh();
    const { renderOnce, onceJson } = await import('../ui/once.js');
    if (json) {
      process.stdout.write(JSON.stringify(onceJson(frame), null, 2) + '\n');
    } else {
      const width = process.stdout.isTTY ? process.stdout.columns || 80 : Number(process.env['COLUMNS']) || 132;
      process.stdout.write(renderOnce(frame, { width, colorMode: process.stdout.isTTY ? colorMode : 'none' }) + '\n');
    }
    return 0;
  }

  if (!process.stdin.isTTY) fail('stdin is not a terminal: vtop needs one to read keys (use --once to print a snapshot)', EXIT_FAIL);
  const keymap = buildKeymap({ ...keymapArgs, readonly });
  try {
    await interactive({ feed, actions: actions ?? new RecordingActions(), keymap, colorMode, stepInterval, note, readonlyReason });
  } finally {
    if (actions && 'close' in actions && typeof actions.close === 'function') actions.close();
  }
  return 0;
});

/** runs the dashboard on the terminal until q; remounts around `enter` */
async function interactive(o: {
  feed: InstanceType<typeof import('../live/vtop-feed.js').VtopFeed>;
  actions: import('../actions/vtop-port.js').Actions;
  keymap: import('../ui/keys.js').Keymap;
  colorMode: import('../ui/theme.js').ColorMode;
  stepInterval: (ms: number, dir: -1 | 1) => number;
  note: string;
  readonlyReason: string;
}): Promise<void> {
  const { createElement } = await import('react');
  const { render } = await import('ink');
  const { VtopApp } = await import('../ui/app.js');
  const { ThemeContext, makeTheme } = await import('../ui/theme.js');
  const { EscapeCoalescingStdin } = await import('../ui/escape-coalescing-stdin.js');

  // alternate screen (q leaves the terminal as it was), cursor hidden, mouse reporting off
  const enterScreen = '\x1b[?1049h\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?25l\x1b[H\x1b[2J';
  const leaveScreen = '\x1b[?25h\x1b[?1049l';
  let onScreen = false;
  const enter = () => {
    if (!onScreen) process.stdout.write(enterScreen);
    onScreen = true;
  };
  const leave = () => {
    if (onScreen) process.stdout.write(leaveScreen);
    onScreen = false;
  };
  process.on('exit', leave);
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.once(sig, () => { leave(); process.exit(128 + (sig === 'SIGTERM' ? 15 : 1)); });

  let ui: Partial<import('../ui/app.js').UiState> = {};
  const pending: { handoff: { name: string; done: (r: import('../actions/vtop-port.js').ActionResult) => void } | null } = { handoff: null };
  let unmount: (() => void) | null = null;
  // `enter` needs the terminal: the UI is unmounted while the shell runs
  const actions: import('../actions/vtop-port.js').Actions = {
    kill: (r) => o.actions.kill(r), killContext: (r) => o.actions.killContext(r), start: (r) => o.actions.start(r),
    stop: (r) => o.actions.stop(r), restart: (r) => o.actions.restart(r),
    enter: (r) => new Promise((done) => {
      pending.handoff = { name: r.name, done };
      unmount?.();
    }),
  };

  let status: string | undefined = o.note || undefined;
  o.feed.start();
  // The installed bundle's #! line runs node with --expose-gc (scripts/bundle-vtop.mjs): a full,
  // compacting collection every few seconds keeps the old space near what is live (each refresh
  // promotes the last frame's objects; left alone the heap grows some 5 MiB before V8 collects it)
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === 'function') setInterval(() => gc(), GC_EVERY_MS).unref();
  for (;;) {
    enter();
    const stdin = new EscapeCoalescingStdin(process.stdin);
    const inst = render(
      createElement(ThemeContext.Provider, { value: makeTheme(o.colorMode) },
        createElement(VtopApp, {
          store: o.feed, actions, keymap: o.keymap, stepInterval: o.stepInterval, initial: ui,
          onUiState: (s) => { ui = s; }, initialStatus: status, readonlyReason: o.readonlyReason,
        })),
      {
        stdin: stdin as unknown as NodeJS.ReadStream, exitOnCtrlC: true, patchConsole: true,
        incrementalRendering: false, maxFps: 20, kittyKeyboard: { mode: 'disabled' },
      },
    );
    unmount = () => inst.unmount();
    await inst.waitUntilExit().catch(() => undefined);
    inst.cleanup();
    status = undefined;
    const h = pending.handoff;
    if (!h) break;
    pending.handoff = null;
    leave();
    let result: import('../actions/vtop-port.js').ActionResult;
    try {
      result = await o.actions.enter({ name: h.name });
    } catch (e) {
      result = { ok: false, message: `enter ${h.name}: ${e instanceof Error ? e.message : String(e)}` };
    }
    h.done(result);
    status = result.message;
  }
  o.feed.stop();
  leave();
}
