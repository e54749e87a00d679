/**
 * `vtop --host`: the servers of several hosts, grouped by host (one
 * heading line each, unreachable ones said so), a selection over the
 * servers, and the server actions of the key table (x X s S r e; ? lists
 * them), each confirmed (Cancel focused) and dispatched to the store's
 * `act`, which forwards it to that host's own helper.  Keys not meaningful
 * here (the process list's) say so in the status line.
 */
import { useState, useSyncExternalStore } from 'react';
import { Box, useApp, useInput } from 'ink';
import type { ActionRequest, ActionResult } from '../actions/vtop-port.js';
import { describeRequest } from '../actions/vtop-port.js';
import { type HostView, hostHeading, hostsHeader, hostsRows, serverLine } from '../views/vtop-hosts.js';
import { clip } from '../views/vtop-text.js';
import { ConfirmDialog, type ConfirmState } from './confirm-dialog.js';
import { type Keymap, keyFor, keyName, lookup } from './keys.js';
import { Line } from './line.js';
import { useTerminalSize } from './use-terminal-size.js';

export interface HostsStore {
  subscribe(fn: () => void): () => void;
  getHosts(): readonly HostView[];
  /** sends @req to @host; `enter` is the caller's (it needs the terminal) */
  act(host: string, req: ActionRequest): Promise<ActionResult>;
}

export interface HostsAppProps {
  store: HostsStore;
  keymap: Keymap;
  /** the selection kept over a remount (after enter) */
  initialKey?: string;
  onSelect?: (key: string) => void;
  initialStatus?: string;
}

export function HostsApp({ store, keymap, initialKey, onSelect, initialStatus }: HostsAppProps) {
  const hosts = useSyncExternalStore(store.subscribe, store.getHosts);
  const size = useTerminalSize();
  const { exit } = useApp();
  const width = Math.max(20, size.columns);
  const rows = hostsRows(hosts);
  const [key, setKey] = useState<string | undefined>(initialKey);
  const [status, setStatus] = useState<string>(initialStatus ?? `? keys · q quit · ${hosts.length} host${hosts.length === 1 ? '' : 's'}`);
  const [pending, setPending] = useState<{ host: string; request: ActionRequest; confirm: ConfirmState } | null>(null);
  const servers = rows.filter((r) => r.kind === 'server');
  let at = servers.findIndex((r) => r.key === key);
  if (at < 0 && servers.length) at = 0;
  const sel = at >= 0 ? servers[at]! : undefined;
  const select = (i: number) => {
    const r = servers[Math.max(0, Math.min(servers.length - 1, i))];
    if (r) {
      setKey(r.key);
      onSelect?.(r.key);
    }
  };
  const run = (host: string, request: ActionRequest) => {
    setStatus(`${host}: ${describeRequest(request)}…`);
    store.act(host, request).then(
      (r) => setStatus(`${host}: ${clip(r.message, 300)}`),
      (e: unknown) => setStatus(`${host}: ${e instanceof Error ? e.message : String(e)}`));
  };

  useInput((input, k) => {
    const name = keyName(input, k);
    if (pending) {
      if (name === 'left' || name === 'right' || name === 'tab') setPending({ ...pending, confirm: { ...pending.confirm, focus: pending.confirm.focus === 0 ? 1 : 0 } });
      else if (name === 'y' || name === 'Y' || (name === 'enter' && pending.confirm.focus === 1)) {
        setPending(null);
        run(pending.host, pending.request);
      } else if (name === 'enter' || name === 'esc' || name === 'n' || name === 'N' || name === 'q') {
        setPending(null);
        setStatus('cancelled');
      }
      return;
    }
    const cmd = lookup(keymap, name);
    if (!cmd) return;
    switch (cmd) {
      case 'quit': exit(); return;
      case 'up': select(at - 1); return;
      case 'down': select(at + 1); return;
      case 'pageUp': select(at - 10); return;
      case 'pageDown': select(at + 10); return;
      case 'home': select(0); return;
      case 'end': select(servers.length - 1); return;
      case 'help':
        setStatus(['killServer', 'killServerHard', 'start', 'stop', 'restart', 'enter'].filter((c) => keymap.bindings.some((b) => b.command === c))
          .map((c) => `${keyFor(keymap, c as never)} ${c}`).join(' · ') + ' · ↑↓ select · q quit' + (keymap.readonly ? ' (read-only)' : ''));
        return;
      default: break;
    }
    if (!sel || sel.kind !== 'server') return;
    const h = sel.host;
    const s = sel.server;
    if (h.status !== 'up') {
      setStatus(`${h.host} is unreachable`);
      return;
    }
    let req: ActionRequest;
    if (cmd === 'killServer' || cmd === 'killServerHard') {
      if (s.xid === null) return void setStatus(`'${s.name}' is not running on ${h.host}`);
      req = { type: 'killContext', xid: s.xid, signal: cmd === 'killServer' ? 'SIGTERM' : 'SIGKILL' };
    } else if (cmd === 'start' || cmd === 'stop' || cmd === 'restart' || cmd === 'enter') {
      req = { type: cmd, name: s.name };
    } else {
      setStatus('with --host: the server actions only (x X s S r e); the process list is in vtop on that host (ssh -t HOST vtop)');
      return;
    }
    if (req.type === 'enter') return run(h.host, req);
    setPending({
      host: h.host, request: req,
      confirm: { title: `${describeRequest(req)} on ${h.host}?`, lines: [`server '${s.name}' (context ${s.xid ?? '-'}, ${s.state})`, `carried out by ${h.host}'s own helper`], confirmLabel: req.type === 'killContext' ? 'Kill' : 'Do it', focus: 0 },
    });
  });

  const body = Math.max(1, size.rows - 2);
  let offset = 0;
  const selRow = rows.findIndex((r) => r.key === sel?.key);
  if (selRow >= body) offset = selRow - body + 1;
  return (
    <Box flexDirection="column" width={width} height={size.rows}>
      <Line text={clip(hostsHeader(width), width)} width={width} style="tableHead" />
      {pending ? (
        <ConfirmDialog state={pending.confirm} height={body} width={width} />
      ) : (
        <Box flexDirection="column" height={body} overflowY="hidden">
          {rows.slice(offset, offset + body).map((r) => r.kind === 'host'
            ? <Line key={r.key} text={clip(`── ${hostHeading(r.host)}`, width)} width={width} style={r.host.status === 'unreachable' ? 'bad' : 'dim'} />
            : <Line key={r.key} text={clip(serverLine(r.server, width), width)} width={width} style={r.key === sel?.key ? 'selected' : r.server.state === 'stopped' ? 'dim' : 'normal'} />)}
        </Box>
      )}
      <Line text={clip(status, width)} width={width} style="header" />
    </Box>
  );
}
