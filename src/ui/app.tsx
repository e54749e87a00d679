/**
 * vtop: the interactive dashboard.  Frames come from an injected FrameStore
 * (the feed), intent goes out through the injected Actions port; this
 * component holds only UI state (selection, sort, filter, overlays) and
 * turns keys into commands through the one key table.
 */
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { Box, useApp, useInput } from 'ink';
import { buildContextTrees } from '../views/tree.js';
import { formatDuration } from '../views/format.js';
import type { VtopFrame } from '../views/vtop-model.js';
import { computeLayout, scrollTo } from '../views/vtop-layout.js';
import { buildProcRows, DEFAULT_PROC_VIEW, type ProcRow, type ProcViewOptions, type SortKey } from '../views/vtop-procs.js';
import { buildServerRows, DEFAULT_RUNAWAY_INTERVALS, runawayKeys, type ServerRow } from '../views/vtop-servers.js';
import { headerLines } from '../views/vtop-header.js';
import { clip, safe } from '../views/vtop-text.js';
import { type ActionRequest, type Actions, describeRequest, dispatchAction } from './actions-port.js';
import { ConfirmDialog, type ConfirmState } from './confirm-dialog.js';
import { DetailPane } from './detail-pane.js';
import { Header } from './header.js';
import { HelpOverlay } from './help-overlay.js';
import { type Command, type InkKey, type Keymap, keyFor, keyName, lookup } from './keys.js';
import { Line } from './line.js';
import { ProcessTable } from './process-table.js';
import { ServerTable } from './server-table.js';
import { StatusLine } from './status-line.js';
import type { StyleName } from './theme.js';
import { type TerminalSize, useTerminalSize } from './use-terminal-size.js';

/** where frames come from (VtopFeed implements it) */
export interface FrameStore {
  subscribe(fn: () => void): () => void;
  getFrame(): VtopFrame | null;
  refreshNow(): void;
  setIntervalMs(ms: number): void;
  readonly intervalMs: number;
}

/** the UI state worth keeping across a remount (around `enter`) */
export interface UiState {
  focus: 'servers' | 'procs';
  serverKey: string | undefined;
  serverName: string;
  procKey: string | null;
  procIndex: number;
  view: ProcViewOptions;
  detail: boolean;
}

export const INITIAL_UI: UiState = {
  focus: 'servers', serverKey: undefined, serverName: '', procKey: null, procIndex: 0,
  view: DEFAULT_PROC_VIEW, detail: false,
};

export interface VtopAppProps {
  store: FrameStore;
  actions: Actions;
  keymap: Keymap;
  /** interval steps for +/- */
  stepInterval: (ms: number, dir: -1 | 1) => number;
  /** consecutive hot intervals before a process is a runaway @default 3 */
  runawayIntervals?: number;
  /** the CPU% that counts as hot (for messages; the feed's tracker decides) @default 80 */
  runawayPercent?: number;
  /** fixed terminal size (tests); else the terminal's, following resizes */
  size?: TerminalSize;
  initial?: Partial<UiState>;
  /** told about every UI state change (the CLI keeps it to remount after `enter`) */
  onUiState?: (s: UiState) => void;
  /** a message for the status line at start (e.g. an action's result after a remount) */
  initialStatus?: string;
  /** called after `q` (the app has unmounted itself) */
  onQuit?: () => void;
}

interface Pending {
  request: ActionRequest;
  confirm: ConfirmState;
}

const SORT_OF: Partial<Record<Command, SortKey>> = { sortCpu: 'cpu', sortMem: 'mem', sortPid: 'pid', sortName: 'name' };
const SORT_LABEL: Record<SortKey, string> = { cpu: 'CPU%', mem: 'RSS', pid: 'PID', name: 'name' };

export function VtopApp(props: VtopAppProps) {
  const { store, actions, keymap } = props;
  const frame = useSyncExternalStore(store.subscribe, store.getFrame);
  const size = useTerminalSize(props.size);
  const { exit } = useApp();

  const [ui, setUi] = useState<UiState>({ ...INITIAL_UI, ...props.initial });
  const [help, setHelp] = useState(false);
  const [filterEditing, setFilterEditing] = useState(false);
  const [pending, setPending] = useState<Pending | null>(null);
  const [status, setStatus] = useState<{ text: string; style: StyleName } | null>(
    props.initialStatus ? { text: props.initialStatus, style: 'normal' } : null);
  const [serverOffset, setServerOffset] = useState(0);
  const [procOffset, setProcOffset] = useState(0);

  const onUiState = props.onUiState;
  useEffect(() => onUiState?.(ui), [ui, onUiState]);

  // ---- derived data, recomputed only when its inputs change ----
  const runawayIntervals = props.runawayIntervals ?? DEFAULT_RUNAWAY_INTERVALS;
  const runaways = useMemo(() => (frame ? runawayKeys(frame, runawayIntervals) : new Set<string>()), [frame, runawayIntervals]);
  const serverRows = useMemo(() => (frame ? buildServerRows(frame, runaways) : []), [frame, runaways]);
  const trees = useMemo(() => (frame ? buildContextTrees(frame.snapshot) : new Map()), [frame?.snapshot]);

  const serverIndex = useMemo(() => {
    let i = serverRows.findIndex((r) => r.key === ui.serverKey);
    if (i < 0 && ui.serverName) i = serverRows.findIndex((r) => r.name === ui.serverName);
    return i < 0 ? 0 : i;
  }, [serverRows, ui.serverKey, ui.serverName]);
  const server: ServerRow | undefined = serverRows[serverIndex];
  const xid = server?.xid ?? null;

  const procRows = useMemo<ProcRow[]>(() => {
    if (!frame || xid === null) return [];
    return buildProcRows({ roots: trees.get(xid) ?? [], cpu: frame.cpu, users: frame.users, runaways, clockTicks: frame.snapshot.clockTicks }, ui.view);
  }, [frame, trees, xid, runaways, ui.view]);

  const procIndex = useMemo(() => {
    if (procRows.length === 0) return -1;
    const i = ui.procKey === null ? -1 : procRows.findIndex((r) => r.key === ui.procKey);
    return i >= 0 ? i : Math.min(Math.max(0, ui.procIndex), procRows.length - 1);
  }, [procRows, ui.procKey, ui.procIndex]);
  const proc: ProcRow | undefined = procIndex >= 0 ? procRows[procIndex] : undefined;

  const layout = computeLayout(size.rows, size.columns, serverRows.length);
  const sOff = scrollTo(serverOffset, serverIndex, layout.servers, serverRows.length);
  const pOff = scrollTo(procOffset, Math.max(0, procIndex), layout.procs, procRows.length);
  useEffect(() => {
    if (sOff !== serverOffset) setServerOffset(sOff);
    if (pOff !== procOffset) setProcOffset(pOff);
  }, [sOff, pOff, serverOffset, procOffset]);

  const header = useMemo(() => {
    if (!frame) return ['vtop: waiting for the first snapshot…'];
    const [a, b] = headerLines(frame, serverRows, layout.width);
    const ro = keymap.readonly ? clip(a + '  [read-only]', layout.width) : a;
    return [ro, b];
  }, [frame, serverRows, layout.width, keymap.readonly]);

  // ---- selection helpers ----
  const selectServer = useCallback((i: number) => {
    const r = serverRows[Math.max(0, Math.min(i, serverRows.length - 1))];
    if (!r) return;
    setUi((u) => (u.serverKey === r.key ? u : { ...u, serverKey: r.key, serverName: r.name, procKey: null, procIndex: 0 }));
    setProcOffset(0);
  }, [serverRows]);

  const selectProc = useCallback((i: number) => {
    const r = procRows[Math.max(0, Math.min(i, procRows.length - 1))];
    if (!r) return;
    setUi((u) => ({ ...u, procKey: r.key, procIndex: Math.max(0, Math.min(i, procRows.length - 1)) }));
  }, [procRows]);

  const say = (text: string, style: StyleName = 'normal') => setStatus({ text, style });

  // ---- actions ----
  const run = useCallback((req: ActionRequest) => {
    say(`${describeRequest(req)} …`, 'dim');
    dispatchAction(actions, req).then(
      (r) => setStatus({ text: r.message, style: r.ok ? 'ok' : 'error' }),
      (e: unknown) => setStatus({ text: `${describeRequest(req)} failed: ${e instanceof Error ? e.message : String(e)}`, style: 'error' }),
    ).finally(() => store.refreshNow());
  }, [actions, store]);

  const ask = (request: ActionRequest, title: string, lines: string[], confirmLabel: string) =>
    setPending({ request, confirm: { title, lines, confirmLabel, focus: 0 } });

  const serverLabel = (r: ServerRow) => (r.xid === null ? r.label : `${r.label} (xid ${r.xid})`);

  const act = (cmd: Command) => {
    if (cmd === 'kill' || cmd === 'killHard') {
      if (!proc || !frame) return say('no process selected', 'error');
      const signal = cmd === 'kill' ? 'SIGTERM' : 'SIGKILL';
      const age = formatDuration(frame.snapshot.uptime * 1000 - (proc.startTime * 1000) / (frame.snapshot.clockTicks || 100));
      ask({ type: 'kill', pid: proc.pid, startTime: proc.startTime, signal },
        `Send ${signal} to process ${proc.pid}?`,
        [`PID ${proc.pid}${proc.innerPid !== null ? ` (${proc.innerPid} inside)` : ''} in ${server ? serverLabel(server) : `xid ${proc.xid}`}, user ${proc.user}, started ${age} ago`,
          proc.command],
        signal === 'SIGKILL' ? 'Kill -9' : 'Terminate');
      return;
    }
    if (!server) return say('no server selected', 'error');
    if (cmd === 'killServer' || cmd === 'killServerHard') {
      if (server.xid === null) return say(`${server.label} is not running`, 'error');
      if (server.xid === 0) return say('refusing to signal every process of the host (select a server)', 'error');
      const signal = cmd === 'killServer' ? 'SIGTERM' : 'SIGKILL';
      ask({ type: 'killContext', xid: server.xid, signal }, `Send ${signal} to every process of ${serverLabel(server)}?`,
        [`${server.nprocs} process${server.nprocs === 1 ? '' : 'es'}; to shut the server down cleanly use stop (${keyFor(keymap, 'stop') || 'stop'}) instead`],
        signal === 'SIGKILL' ? 'Kill -9 all' : 'Terminate all');
      return;
    }
    if (!server.name) return say(`${server.label} is not a configured server`, 'error');
    const name = server.name;
    if (cmd === 'start') {
      if (server.state !== 'stopped') return say(`${server.label} is already running`, 'error');
      return ask({ type: 'start', name }, `Start server ${server.label}?`, [`runs /etc/vservers-style start of ${server.label}`], 'Start');
    }
    if (server.state === 'stopped') return say(`${server.label} is not running`, 'error');
    if (cmd === 'stop') {
      return ask({ type: 'stop', name }, `Stop server ${serverLabel(server)}?`,
        [`${server.nprocs} processes; its init shuts down, then SIGTERM, then SIGKILL`], 'Stop');
    }
    if (cmd === 'restart') {
      return ask({ type: 'restart', name }, `Restart server ${serverLabel(server)}?`, [`${server.nprocs} processes will be stopped`], 'Restart');
    }
    if (cmd === 'enter') {
      if (server.context?.flags.includes('private')) return say(`${server.label} is private: nobody enters it`, 'error');
      run({ type: 'enter', name });
    }
  };

  const jumpToRunaway = () => {
    if (!frame || runaways.size === 0) {
      return say(`no runaway process (≥${props.runawayPercent ?? 80}% of one core for ${runawayIntervals} intervals)`, 'dim');
    }
    const list = frame.snapshot.processes
      .filter((p) => runaways.has(`${p.pid}:${p.startTime}`))
      .sort((a, b) => a.xid - b.xid || a.pid - b.pid);
    const cur = proc ? { xid: proc.xid, pid: proc.pid } : { xid: -1, pid: -1 };
    const next = list.find((p) => p.xid > cur.xid || (p.xid === cur.xid && p.pid > cur.pid)) ?? list[0]!;
    const row = serverRows.find((r) => r.xid === next.xid);
    setUi((u) => ({
      ...u, focus: 'procs', detail: false, serverKey: row?.key ?? u.serverKey, serverName: row?.name ?? u.serverName,
      procKey: `${next.pid}:${next.startTime}`, view: { ...u.view, filter: '' },
    }));
    say(`runaway: PID ${next.pid} ${safe(next.comm)} in ${row ? serverLabel(row) : `xid ${next.xid}`}`, 'runaway');
  };

  const move = (delta: number | 'home' | 'end') => {
    const inProcs = ui.focus === 'procs' && !ui.detail;
    const cur = inProcs ? Math.max(0, procIndex) : serverIndex;
    const total = inProcs ? procRows.length : serverRows.length;
    const target = delta === 'home' ? 0 : delta === 'end' ? total - 1 : cur + delta;
    if (inProcs) selectProc(target);
    else selectServer(target);
  };

  const command = (cmd: Command) => {
    const page = Math.max(1, ui.focus === 'procs' ? layout.procs - 1 : layout.servers - 1);
    switch (cmd) {
      case 'quit':
        exit();
        props.onQuit?.();
        return;
      case 'help': setHelp(true); return;
      case 'redraw': store.refreshNow(); return;
      case 'faster':
      case 'slower': {
        const ms = props.stepInterval(store.intervalMs, cmd === 'faster' ? -1 : 1);
        store.setIntervalMs(ms);
        say(`refresh every ${(ms / 1000).toFixed(1)} s`, 'dim');
        return;
      }
      case 'up': move(-1); return;
      case 'down': move(1); return;
      case 'pageUp': move(-page); return;
      case 'pageDown': move(page); return;
      case 'home': move('home'); return;
      case 'end': move('end'); return;
      case 'focusNext': setUi((u) => ({ ...u, focus: u.focus === 'servers' ? 'procs' : 'servers' })); return;
      case 'focusServers': setUi((u) => ({ ...u, focus: 'servers' })); return;
      case 'focusProcesses': setUi((u) => ({ ...u, focus: 'procs', detail: false })); return;
      case 'nextRunaway': jumpToRunaway(); return;
      case 'detail': setUi((u) => ({ ...u, detail: !u.detail })); return;
      case 'tree': setUi((u) => ({ ...u, view: { ...u.view, tree: !u.view.tree } })); return;
      case 'invertSort': setUi((u) => ({ ...u, view: { ...u.view, invert: !u.view.invert } })); return;
      case 'sortCpu': case 'sortMem': case 'sortPid': case 'sortName': {
        const sort = SORT_OF[cmd]!;
        setUi((u) => ({ ...u, view: { ...u.view, sort, invert: false } }));
        return;
      }
      case 'filter': setFilterEditing(true); setUi((u) => ({ ...u, focus: 'procs', detail: false })); return;
      case 'clearFilter':
        setUi((u) => ({ ...u, detail: false, view: { ...u.view, filter: '' } }));
        setStatus(null);
        return;
      default: act(cmd);
    }
  };

  useInput((input, key) => {
    const name = keyName(input, key as InkKey);
    if (help) {
      setHelp(false);
      return;
    }
    if (pending) {
      const c = pending.confirm;
      if (name === 'left' || name === 'right' || name === 'tab') {
        setPending({ ...pending, confirm: { ...c, focus: c.focus === 0 ? 1 : 0 } });
      } else if (name === 'y' || name === 'Y' || (name === 'enter' && c.focus === 1)) {
        setPending(null);
        run(pending.request);
      } else if (name === 'enter' || name === 'esc' || name === 'n' || name === 'N' || name === 'q') {
        setPending(null);
        say('cancelled', 'dim');
      }
      return;
    }
    if (filterEditing) {
      if (name === 'enter') setFilterEditing(false);
      else if (name === 'esc') {
        setFilterEditing(false);
        setUi((u) => ({ ...u, view: { ...u.view, filter: '' } }));
      } else if (name === 'backspace' || name === 'delete') {
        setUi((u) => ({ ...u, view: { ...u.view, filter: [...u.view.filter].slice(0, -1).join('') } }));
      } else if (name === 'ctrl+u') {
        setUi((u) => ({ ...u, view: { ...u.view, filter: '' } }));
      } else if (!key.ctrl && !key.meta && input && !/[\x00-\x1f\x7f-\x9f]/.test(input)) {
        // typed or pasted text goes into the filter, never to commands
        setUi((u) => ({ ...u, view: { ...u.view, filter: (u.view.filter + input).slice(0, 200) } }));
      }
      return;
    }
    const cmd = lookup(keymap, name);
    if (cmd) command(cmd);
  });

  // ---- status line ----
  const statusLine = useMemo((): { text: string; style: StyleName } => {
    if (filterEditing) return { text: `/ filter: ${ui.view.filter}█   (Enter keeps, Esc clears)`, style: 'key' };
    if (status) return status;
    const k = (c: Command) => keyFor(keymap, c);
    const parts = [`${k('help')} help`, `${k('quit')} quit`, `${k('filter')} filter`, `${k('sortCpu')}/${k('sortMem')}/${k('sortPid')}/${k('sortName')} sort`,
      `${k('tree')} tree`, `${k('detail')} details`, `${k('nextRunaway')} runaway`];
    if (!keymap.readonly) parts.push(`${k('kill')}/${k('killHard')} kill`, `${k('start')}/${k('stop')}/${k('restart')} start/stop/restart`);
    return { text: parts.join('  '), style: 'dim' };
  }, [filterEditing, ui.view.filter, status, keymap]);

  // ---- render ----
  if (layout.tooSmall) {
    return <Line text={clip(`vtop needs at least 40x10; this terminal is ${size.columns}x${size.rows}`, layout.width)} width={layout.width} />;
  }
  const intervalS = ((frame?.intervalMs ?? store.intervalMs) / 1000).toFixed(1);
  const viewDesc = `${ui.view.tree ? 'tree' : 'list'}, by ${SORT_LABEL[ui.view.sort]}${ui.view.invert ? ' (inverted)' : ''}` +
    (ui.view.filter ? `, filter "${safe(ui.view.filter)}"` : '');
  const title = server
    ? `${server.label}${server.xid !== null ? ` (xid ${server.xid})` : ''}: ${procRows.length} processes, ${viewDesc}; CPU% = % of one core over ${intervalS}s`
    : 'no server';
  const body = layout.procs + 2;

  return (
    <Box flexDirection="column" width={layout.width} height={layout.height} overflow="hidden">
      <Header lines={header.slice(0, layout.header)} width={layout.width} />
      {help ? (
        <HelpOverlay keymap={keymap} height={layout.servers + 1 + body} width={layout.width} />
      ) : (
        <>
          <ServerTable rows={serverRows} selectedKey={server?.key} offset={sOff} height={layout.servers}
            width={layout.width} focused={ui.focus === 'servers'} />
          {pending ? (
            <ConfirmDialog state={pending.confirm} height={body} width={layout.width} />
          ) : ui.detail ? (
            <DetailPane row={server} height={body} width={layout.width} confdir={frame?.confdir ?? '/etc/vservers'} />
          ) : (
            <ProcessTable title={clip(title, layout.width)} rows={procRows} selectedIndex={procIndex} offset={pOff}
              height={layout.procs} width={layout.width} focused={ui.focus === 'procs'} />
          )}
        </>
      )}
      <StatusLine text={clip(statusLine.text, layout.width)} style={statusLine.style} width={layout.width} />
    </Box>
  );
}
