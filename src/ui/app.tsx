/**
 * vtop: the interactive dashboard.  Frames come from an injected FrameStore
 * (the feed), intent goes out through the injected Actions port; this
 * component holds only UI state (selection, sort, filter, overlays) and
 * turns keys into commands through the one key table.
 */
import { useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import { Box, useApp, useInput } from 'ink';
import { buildContextTrees, type TreeNode } from '../views/tree.js';
import { formatDuration } from '../views/format.js';
import type { VtopFrame } from '../views/vtop-model.js';
import type { Snapshot } from '../kernel-bridge/types.js';
import { FLAG } from '../generated/tables.js';
import { computeLayout, hiddenLine, listWindow, scrollTo } from '../views/vtop-layout.js';
import { buildProcRows, DEFAULT_PROC_VIEW, type ProcRow, type ProcViewOptions, type SortKey } from '../views/vtop-procs.js';
import { buildServerRows, DEFAULT_RUNAWAY_INTERVALS, runawayKeys, type ServerRow } from '../views/vtop-servers.js';
import { fitParts, headerLines } from '../views/vtop-header.js';
import { clip, safe } from '../views/vtop-text.js';
import { type ActionRequest, type Actions, describeRequest, dispatchAction } from '../actions/vtop-port.js';
import { ConfirmDialog, type ConfirmState } from './confirm-dialog.js';
import { DetailPane } from './detail-pane.js';
import { Header } from './header.js';
import { helpPages, HelpOverlay } from './help-overlay.js';
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
  /** why nothing can be changed, in words (the header says it), with a read-only keymap @default 'no actions' */
  readonlyReason?: string;
}

interface Pending {
  request: ActionRequest;
  confirm: ConfirmState;
}

const SORT_OF: Partial<Record<Command, SortKey>> = { sortCpu: 'cpu', sortMem: 'mem', sortPid: 'pid', sortName: 'name' };
const SORT_LABEL: Record<SortKey, string> = { cpu: 'CPU%', mem: 'RSS', pid: 'PID', name: 'name' };

function resolveServerIndex(rows: readonly ServerRow[], ui: UiState): number {
  let i = rows.findIndex((r) => r.key === ui.serverKey);
  if (i < 0 && ui.serverName) i = rows.findIndex((r) => r.name === ui.serverName);
  return i < 0 ? 0 : i;
}

function resolveProcIndex(rows: readonly ProcRow[], ui: UiState): number {
  if (rows.length === 0) return -1;
  const i = ui.procKey === null ? -1 : rows.findIndex((r) => r.key === ui.procKey);
  return i >= 0 ? i : Math.min(Math.max(0, ui.procIndex), rows.length - 1);
}

/** what the key handler reads: always the latest, even for several keys arriving in one read */
interface Live {
  ui: UiState;
  /** the help page shown, null when the help is closed */
  help: number | null;
  helpPageCount: number;
  filterEditing: boolean;
  pending: Pending | null;
  frame: VtopFrame | null;
  serverRows: ServerRow[];
  /** the rows of ui's server, or null when the server changed since the last render */
  procRows: ProcRow[] | null;
  procsFor: string | undefined;
  runaways: ReadonlySet<string>;
  /** the process trees of context rootsXid */
  roots: TreeNode[];
  rootsXid: number | null;
  layout: ReturnType<typeof computeLayout>;
}

const rootsOf = (snapshot: Snapshot, xid: number): TreeNode[] => buildContextTrees(snapshot, xid).get(xid) ?? [];

export function VtopApp(props: VtopAppProps) {
  const { store, actions, keymap } = props;
  const frame = useSyncExternalStore(store.subscribe, store.getFrame);
  const size = useTerminalSize(props.size);
  const { exit } = useApp();

  const [ui, setUiState] = useState<UiState>({ ...INITIAL_UI, ...props.initial });
  const [help, setHelpState] = useState<number | null>(null);
  const [filterEditing, setFilterState] = useState(false);
  const [pending, setPendingState] = useState<Pending | null>(null);
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
  const serverIndex = resolveServerIndex(serverRows, ui);
  const server: ServerRow | undefined = serverRows[serverIndex];
  const xid = server?.xid ?? null;
  // the selected context's trees only (every context's would be a node per process on the host, each refresh)
  const roots = useMemo(() => (frame && xid !== null ? rootsOf(frame.snapshot, xid) : []), [frame?.snapshot, xid]);

  const procRows = useMemo<ProcRow[]>(() => {
    if (!frame || xid === null) return [];
    return buildProcRows({ roots, cpu: frame.cpu, users: frame.users, runaways, clockTicks: frame.snapshot.clockTicks,
      partial: frame.partial }, ui.view);
  }, [frame, roots, xid, runaways, ui.view]);
  const procIndex = resolveProcIndex(procRows, ui);

  const layout = computeLayout(size.rows, size.columns, serverRows.length);
  // a list longer than its window says how much it hides, and scrolls to the selection
  const sWin = listWindow(serverOffset, serverIndex, layout.servers, serverRows.length);
  const sOff = sWin.offset;
  const pOff = scrollTo(procOffset, Math.max(0, procIndex), layout.procs, procRows.length);
  useEffect(() => {
    if (sOff !== serverOffset) setServerOffset(sOff);
    if (pOff !== procOffset) setProcOffset(pOff);
  }, [sOff, pOff, serverOffset, procOffset]);

  const readonlyReason = keymap.readonly ? props.readonlyReason ?? 'no actions' : undefined;
  const helpHeight = layout.servers + 1 + layout.procs + 2;
  const helpPageCount = useMemo(() => helpPages(keymap, helpHeight, layout.width, readonlyReason).length,
    [keymap, helpHeight, layout.width, readonlyReason]);

  const live = useRef<Live>(null as unknown as Live);
  live.current = {
    ui, help, helpPageCount, filterEditing, pending, frame, serverRows, procRows, procsFor: server?.key, runaways, roots, rootsXid: xid, layout,
  };

  // setters that keep `live` current for the next key of the same read
  const setUi = (f: (u: UiState) => UiState) => {
    const L = live.current;
    const n = f(L.ui);
    if (n === L.ui) return;
    if (resolveServerIndex(L.serverRows, n) !== resolveServerIndex(L.serverRows, L.ui) || n.view !== L.ui.view) L.procRows = null;
    L.ui = n;
    setUiState(n);
  };
  const setHelp = (v: number | null) => { live.current.help = v; setHelpState(v); };
  const setFilterEditing = (v: boolean) => { live.current.filterEditing = v; setFilterState(v); };
  const setPending = (v: Pending | null) => { live.current.pending = v; setPendingState(v); };

  const header = useMemo(() => {
    if (!frame) return ['vtop: waiting for the first snapshot…'];
    return headerLines(frame, serverRows, layout.width, { readonly: readonlyReason });
  }, [frame, serverRows, layout.width, readonlyReason]);

  const say = (text: string, style: StyleName = 'normal') => setStatus({ text, style });

  // ---- actions ----
  const run = (req: ActionRequest) => {
    say(`${describeRequest(req)} …`, 'dim');
    dispatchAction(actions, req).then(
      (r) => setStatus({ text: r.message, style: r.ok ? 'ok' : 'error' }),
      (e: unknown) => setStatus({ text: `${describeRequest(req)} failed: ${e instanceof Error ? e.message : String(e)}`, style: 'error' }),
    ).finally(() => store.refreshNow());
  };

  const ask = (request: ActionRequest, title: string, lines: string[], confirmLabel: string) =>
    setPending({ request, confirm: { title, lines, confirmLabel, focus: 0 } });

  const serverLabel = (r: ServerRow) => (r.xid === null ? r.label : `${r.label} (xid ${r.xid})`);

  /** the server and process selected right now (process null when not known yet) */
  const selection = () => {
    const L = live.current;
    const srv = L.serverRows[resolveServerIndex(L.serverRows, L.ui)];
    if (L.procRows === null) {
      // the server changed earlier in this same read: build its rows now
      L.procRows = !L.frame || !srv || srv.xid === null ? [] : buildProcRows({ roots: L.rootsXid === srv.xid ? L.roots : rootsOf(L.frame.snapshot, srv.xid), cpu: L.frame.cpu,
        users: L.frame.users, runaways: L.runaways, clockTicks: L.frame.snapshot.clockTicks, partial: L.frame.partial }, L.ui.view);
    }
    const rows = L.procRows;
    const pi = rows ? resolveProcIndex(rows, L.ui) : -1;
    return { srv, rows, pi, proc: rows && pi >= 0 ? rows[pi] : undefined };
  };

  const act = (cmd: Command) => {
    const { srv, proc } = selection();
    const fr = live.current.frame;
    if (cmd === 'kill' || cmd === 'killHard') {
      if (!proc || !fr) return say('no process selected', 'error');
      const signal = cmd === 'kill' ? 'SIGTERM' : 'SIGKILL';
      const age = formatDuration(fr.snapshot.uptime * 1000 - (proc.startTime * 1000) / (fr.snapshot.clockTicks || 100));
      ask({ type: 'kill', pid: proc.pid, startTime: proc.startTime, signal },
        `Send ${signal} to process ${proc.pid}?`,
        [`PID ${proc.pid}${proc.innerPid !== null ? ` (${proc.innerPid} inside)` : ''} in ${srv ? serverLabel(srv) : `xid ${proc.xid}`}, user ${proc.user}, started ${age} ago`,
          proc.command],
        signal === 'SIGKILL' ? 'Kill -9' : 'Terminate');
      return;
    }
    if (!srv) return say('no server selected', 'error');
    if (cmd === 'killServer' || cmd === 'killServerHard') {
      if (srv.xid === null) return say(`${srv.label} is not running`, 'error');
      if (srv.xid === 0) return say('refusing to signal every process of the host (select a server)', 'error');
      const signal = cmd === 'killServer' ? 'SIGTERM' : 'SIGKILL';
      ask({ type: 'killContext', xid: srv.xid, signal }, `Send ${signal} to every process of ${serverLabel(srv)}?`,
        [`${srv.nprocs} process${srv.nprocs === 1 ? '' : 'es'}; to shut the server down cleanly use stop (${keyFor(keymap, 'stop') || 'stop'}) instead`],
        signal === 'SIGKILL' ? 'Kill -9 all' : 'Terminate all');
      return;
    }
    if (!srv.name) return say(`${srv.label} is not a configured server`, 'error');
    const name = srv.name;
    if (cmd === 'start') {
      if (srv.state !== 'stopped') return say(`${srv.label} is already running`, 'error');
      return ask({ type: 'start', name }, `Start server ${srv.label}?`, [`as 'vserver ${srv.label} start' would`], 'Start');
    }
    if (srv.state === 'stopped') return say(`${srv.label} is not running`, 'error');
    if (cmd === 'stop') {
      return ask({ type: 'stop', name }, `Stop server ${serverLabel(srv)}?`,
        [`${srv.nprocs} processes; its init shuts down, then SIGTERM, then SIGKILL`], 'Stop');
    }
    if (cmd === 'restart') {
      return ask({ type: 'restart', name }, `Restart server ${serverLabel(srv)}?`, [`${srv.nprocs} processes will be stopped, then it starts again`], 'Restart');
    }
    if (cmd === 'enter') {
      if (srv.context?.flags.includes(FLAG.private)) return say(`${srv.label} is private: nobody enters it`, 'error');
      run({ type: 'enter', name });
    }
  };

  const jumpToRunaway = () => {
    const L = live.current;
    if (!L.frame || L.runaways.size === 0) {
      return say(`no runaway process (≥${props.runawayPercent ?? 80}% of one core for ${runawayIntervals} intervals)`, 'dim');
    }
    const list = L.frame.snapshot.processes
      .filter((p) => L.runaways.has(`${p.pid}:${p.startTime}`))
      .sort((a, b) => a.xid - b.xid || a.pid - b.pid);
    const { srv, proc } = selection();
    const cur = proc ? { xid: proc.xid, pid: proc.pid } : { xid: srv?.xid ?? -1, pid: -1 };
    const next = list.find((p) => p.xid > cur.xid || (p.xid === cur.xid && p.pid > cur.pid)) ?? list[0]!;
    const row = L.serverRows.find((r) => r.xid === next.xid);
    setUi((u) => ({
      ...u, focus: 'procs', detail: false, serverKey: row?.key ?? u.serverKey, serverName: row?.name ?? u.serverName,
      procKey: `${next.pid}:${next.startTime}`, view: { ...u.view, filter: '' },
    }));
    say(`runaway: PID ${next.pid} ${safe(next.comm)} in ${row ? serverLabel(row) : `xid ${next.xid}`}`, 'runaway');
  };

  const move = (delta: number | 'home' | 'end') => {
    const L = live.current;
    if (L.ui.focus === 'procs' && !L.ui.detail) {
      const { rows, pi } = selection();
      if (!rows || rows.length === 0) return;
      const target = delta === 'home' ? 0 : delta === 'end' ? rows.length - 1 : Math.max(0, pi) + delta;
      const i = Math.max(0, Math.min(target, rows.length - 1));
      setUi((u) => ({ ...u, procKey: rows[i]!.key, procIndex: i }));
    } else {
      const rows = L.serverRows;
      if (rows.length === 0) return;
      const cur = resolveServerIndex(rows, L.ui);
      const target = delta === 'home' ? 0 : delta === 'end' ? rows.length - 1 : cur + delta;
      const r = rows[Math.max(0, Math.min(target, rows.length - 1))]!;
      setUi((u) => (u.serverKey === r.key ? u : { ...u, serverKey: r.key, serverName: r.name, procKey: null, procIndex: 0 }));
      setProcOffset(0);
    }
  };

  const command = (cmd: Command) => {
    const L = live.current;
    const page = Math.max(1, L.ui.focus === 'procs' ? L.layout.procs - 1 : L.layout.servers - 1);
    switch (cmd) {
      case 'quit':
        exit();
        props.onQuit?.();
        return;
      case 'help': setHelp(0); return;
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
        setUi((u) => (u.detail || u.view.filter ? { ...u, detail: false, view: { ...u.view, filter: '' } } : u));
        setStatus(null);
        return;
      default: act(cmd);
    }
  };

  useInput((input, key) => {
    const L = live.current;
    const name = keyName(input, key as InkKey);
    if (L.help !== null) {
      // Space / PgDn / ↓ turn the page, PgUp / ↑ back; any other key (or Space on the last page) closes
      if ((name === 'space' || name === 'pagedown' || name === 'down') && L.help + 1 < L.helpPageCount) setHelp(L.help + 1);
      else if ((name === 'pageup' || name === 'up') && L.help > 0) setHelp(L.help - 1);
      else if (name !== 'pageup' && name !== 'up') setHelp(null);
      return;
    }
    if (L.pending) {
      const p = L.pending;
      const c = p.confirm;
      if (name === 'left' || name === 'right' || name === 'tab') {
        setPending({ ...p, confirm: { ...c, focus: c.focus === 0 ? 1 : 0 } });
      } else if (name === 'y' || name === 'Y' || (name === 'enter' && c.focus === 1)) {
        setPending(null);
        run(p.request);
      } else if (name === 'enter' || name === 'esc' || name === 'n' || name === 'N' || name === 'q') {
        setPending(null);
        say('cancelled', 'dim');
      }
      return;
    }
    if (L.filterEditing) {
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
    // the hints that do not fit go whole, the least needed first (never help and quit)
    const parts = [{ text: `${k('help')} help`, drop: 0 }, { text: `${k('quit')} quit`, drop: 0 }, { text: `${k('filter')} filter`, drop: 3 },
      { text: `${k('sortCpu')}/${k('sortMem')}/${k('sortPid')}/${k('sortName')} sort`, drop: 4 },
      { text: `${k('tree')} tree`, drop: 5 }, { text: `${k('detail')} details`, drop: 2 }, { text: `${k('nextRunaway')} runaway`, drop: 3 }];
    if (!keymap.readonly) {
      parts.push({ text: `${k('kill')}/${k('killHard')} kill`, drop: 1 }, { text: `${k('start')}/${k('stop')}/${k('restart')} start/stop/restart`, drop: 1 });
    }
    return { text: fitParts(parts, layout.width), style: 'dim' };
  }, [filterEditing, ui.view.filter, status, keymap, layout.width]);

  // ---- render ----
  if (layout.tooSmall) {
    return <Line text={clip(`vtop needs at least 40x10; this terminal is ${size.columns}x${size.rows}`, layout.width)} width={layout.width} />;
  }
  const intervalS = ((frame && frame.cpu.intervalMs > 0 ? frame.cpu.intervalMs : frame?.intervalMs ?? store.intervalMs) / 1000).toFixed(1);
  const viewDesc = `${ui.view.tree ? 'tree' : 'list'}, by ${SORT_LABEL[ui.view.sort]}${ui.view.invert ? ' (inverted)' : ''}` +
    (ui.view.filter ? `, filter "${safe(ui.view.filter)}"` : '');
  const title = server
    ? `${server.label}${server.xid !== null ? ` (xid ${server.xid})` : ''}: ${procRows.length} processes, ${viewDesc}; CPU% = % of one core over ${intervalS}s`
    : 'no server';
  const body = layout.procs + 2;

  return (
    <Box flexDirection="column" width={layout.width} height={layout.height} overflowY="hidden">
      <Header lines={header.slice(0, layout.header)} width={layout.width} />
      {help !== null ? (
        <HelpOverlay keymap={keymap} height={helpHeight} width={layout.width} page={help} readonlyReason={readonlyReason} />
      ) : (
        <>
          <ServerTable rows={serverRows} selectedKey={server?.key} offset={sOff} height={layout.servers} shown={sWin.shown}
            hidden={hiddenLine(sWin)} width={layout.width} focused={ui.focus === 'servers'} />
          {pending ? (
            <ConfirmDialog state={pending.confirm} height={body} width={layout.width} />
          ) : ui.detail ? (
            <DetailPane row={server} height={body} width={layout.width} confdir={frame?.confdir ?? '/etc/vservers'} canAct={!keymap.readonly} />
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
