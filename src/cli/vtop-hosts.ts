/**
 * `vtop --host [USER@]HOST ...`: one screen over several hosts.  Each host
 * is read through its own `vtop --stream` on one ssh connection
 * (src/live/remote-host.ts); this host is not read unless named too
 * (`--host localhost`, over ssh like the others: every host alike, each
 * acting through its own helper).  `--once` prints each host's first full
 * frame (`--json`: {"hosts": [...]}) and exits; a host that cannot be
 * reached is listed as such, and the exit status is 1 when none could be.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { shellQuote } from '../actions/chcontext-args.js';
import { LifecycleError } from '../actions/errors.js';
import type { ActionRequest, ActionResult } from '../actions/vtop-port.js';
import { RemoteHostLink } from '../live/remote-host.js';
import { escapeText } from '../kernel-bridge/escape.js';
import { type HostView, hostsJson, hostsText } from '../views/vtop-hosts.js';
import { EXIT_FAIL, fail, keyConfigFile, usageError } from './common.js';

export interface HostsOptions {
  hosts: string[];
  sshConfig?: string;
  once: boolean;
  json: boolean;
  intervalMs: number;
  readonly: boolean;
  noColor: boolean;
  keyConfig?: string;
}

export async function runHosts(o: HostsOptions): Promise<number> {
  if (new Set(o.hosts).size !== o.hosts.length) usageError('--host: a host is named twice');
  const listeners = new Set<() => void>();
  let snapshot: HostView[] = [];
  const changed = () => {
    snapshot = links.map((l) => l.state);
    for (const fn of listeners) fn();
  };
  let links: RemoteHostLink[];
  try {
    links = o.hosts.map((h) => new RemoteHostLink(h, { configFile: o.sshConfig, intervalMs: o.intervalMs, onChange: () => changed() }));
  } catch (e) {
    if (e instanceof LifecycleError) usageError(e.message.replace(/^bad host/, '--host: bad host'));
    throw e;
  }
  snapshot = links.map((l) => l.state);
  try {
    if (o.once) return await once(links, o);
    return await interactive(links, o, {
      subscribe: (fn) => { listeners.add(fn); return () => listeners.delete(fn); },
      getHosts: () => snapshot,
      act: (host, req) => {
        const l = links.find((x) => x.host === host);
        return l ? l.request(req) : Promise.resolve({ ok: false, message: `no host ${host}` });
      },
    });
  } finally {
    await Promise.all(links.map((l) => l.close()));
  }
}

/** every host's second frame (CPU needs two) or its failure, then the text or JSON */
async function once(links: RemoteHostLink[], o: HostsOptions): Promise<number> {
  const settled = (l: RemoteHostLink) => l.state.status === 'unreachable' || l.state.seq >= 2;
  await new Promise<void>((resolve) => {
    const check = () => { if (links.every(settled)) resolve(); else setTimeout(check, 50); };
    for (const l of links) l.connect();
    check();
  });
  const views = links.map((l) => l.state);
  if (o.json) process.stdout.write(JSON.stringify(hostsJson(views), null, 2) + '\n');
  else process.stdout.write(hostsText(views, process.stdout.isTTY ? process.stdout.columns || 80 : Number(process.env['COLUMNS']) || 132) + '\n');
  return views.some((v) => v.status === 'up') ? 0 : EXIT_FAIL;
}

async function interactive(links: RemoteHostLink[], o: HostsOptions, store: import('../ui/hosts-app.js').HostsStore): Promise<number> {
  const { buildKeymap, parseKeyConfig, KeyConfigError } = await import('../ui/keys.js');
  const file = keyConfigFile(o.keyConfig);
  let keymap: import('../ui/keys.js').Keymap;
  try {
    keymap = buildKeymap({ overrides: file ? parseKeyConfig(readFileSync(file, 'utf8'), file) : {}, origin: file, readonly: o.readonly });
  } catch (e) {
    if (e instanceof KeyConfigError) fail(e.message, EXIT_FAIL);
    throw e;
  }
  if (!process.stdin.isTTY) fail('stdin is not a terminal: vtop needs one to read keys (use --once to print a snapshot)', EXIT_FAIL);
  const { createElement } = await import('react');
  const { render } = await import('ink');
  const { HostsApp } = await import('../ui/hosts-app.js');
  const { ThemeContext, makeTheme, colorModeFromEnv } = await import('../ui/theme.js');
  const { EscapeCoalescingStdin } = await import('../ui/escape-coalescing-stdin.js');
  const colorMode = o.noColor ? 'none' : colorModeFromEnv(process.env);
  const enterScreen = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
  const leaveScreen = '\x1b[?25h\x1b[?1049l';
  let onScreen = false;
  const leave = () => {
    if (onScreen) process.stdout.write(leaveScreen);
    onScreen = false;
  };
  process.on('exit', leave);
  // a signal ends it as q would: the screen restored, each host's directory removed ('exit')
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.once(sig, () => { leave(); process.exit(128 + (sig === 'SIGTERM' ? 15 : 1)); });
  for (const l of links) l.connect();
  let selected: string | undefined;
  let status: string | undefined;
  let handoff: { host: string; name: string; done: (r: ActionResult) => void } | null = null;
  let unmount: (() => void) | null = null;
  const act = (host: string, req: ActionRequest): Promise<ActionResult> => {
    if (req.type !== 'enter') return store.act(host, req);
    // a shell needs the terminal: the screen goes while ssh -t runs it
    return new Promise((done) => {
      handoff = { host, name: req.name, done };
      unmount?.();
    });
  };
  for (;;) {
    if (!onScreen) process.stdout.write(enterScreen);
    onScreen = true;
    const inst = render(
      createElement(ThemeContext.Provider, { value: makeTheme(colorMode) },
        createElement(HostsApp, { store: { ...store, act }, keymap, initialKey: selected, onSelect: (k: string) => { selected = k; }, initialStatus: status })),
      { stdin: new EscapeCoalescingStdin(process.stdin) as unknown as NodeJS.ReadStream, exitOnCtrlC: true, patchConsole: true, maxFps: 20 },
    );
    unmount = () => inst.unmount();
    await inst.waitUntilExit().catch(() => undefined);
    inst.cleanup();
    status = undefined;
    const h = handoff as { host: string; name: string; done: (r: ActionResult) => void } | null;
    if (!h) break;
    handoff = null;
    leave();
    const link = links.find((l) => l.host === h.host)!;
    const code = await new Promise<number>((resolve) => {
      const c = spawn('ssh', [...link.ssh.options(), '-t', h.host, '--', ['vserver', h.name, 'enter'].map(shellQuote).join(' ')], { stdio: 'inherit' });
      c.on('error', () => resolve(255));
      c.on('close', (n) => resolve(n ?? 1));
    });
    const r = { ok: code === 0, message: code === 0 ? `left '${h.name}' on ${escapeText(h.host)}` : `enter ${h.name} on ${escapeText(h.host)}: exit ${code}` };
    h.done(r);
    status = r.message;
  }
  leave();
  return 0;
}
