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
import { buildProcRows, DEFAULT_PROC_VIEW, nextMatch, type ProcRow, type ProcViewOptions, type SortKey } from '../views/vtop-procs.js';
import { buildServerRows, DEFAULT_RUNAWAY_INTERVALS, runawayKeys, type ServerRow } from '../views/vtop-servers.js';
import { fitParts, topLine } from '../views/vtop-header.js';
import { meterLines } from '../views/vtop-meters.js';
import { logPane, logTop } from '../views/vtop-logs.js';
import { DEFAULT_SIGNAL_INDEX, SIGNAL_CHOICES } from '../views/vtop-signals.js';
import { clip, safe } from '../views/vtop-text.js';
import { type ActionRequest, type Actions, describeRequest, dispatchAction } from '../actions/vtop-port.js';
import { ConfirmDialog, type ConfirmState } from './confirm-dialog.js';
import { DetailPane } from './detail-pane.js';
import { Header } from './header.js';
import { helpPages, HelpOverlay } from './help-overlay.js';
import { type Command, type InkKey, type Keymap, keyFor, keyName, lookup } from './keys.js';
import { Line } from './line.js';
import { LogPane } from './log-pane.js';
import { type ChooserState, SignalChooser } from './signal-chooser.js';
import { ProcessTable } from './process-table.js';
import { ServerTable } from './server-table.js';
import { StatusLine } from './status-line.js';
import { type StyleName, useTheme } from './theme.js';
import { type TerminalSize, useTerminalSize } from './use-terminal-size.js';

/** where frames come from (VtopFeed implements it) */
export interface FrameStore {
  subscribe(fn: () => void): () => void;
  getFrame(): VtopFrame | null;
  refreshNow(): void;
  setIntervalMs(ms: number): void;
  readonly intervalMs: number;
  /** follow server `name`'s console log in the frames (frame.log); null stops */
  watchLog?(name: string | null): void;
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
  /** the logs pane is open (in the process pane's place) */
  logs: boolean;
  /** the tagged processes' procKeys (PID:start time), in the order tagged */
  tags: readonly string[];
  /** the text searched for ('' none) */
  search: string;
}

export const INITIAL_UI: UiState = {
  focus: 'servers', serverKey: undefined, serverName: '', procKey: null, procIndex: 0,
  view: DEFAULT_PROC_VIEW, detail: false, logs: false, tags: [], search: '',
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

/** the signal chooser, open: for whom, and the choice */
interface Choosing {
  targets: { pid: number; startTime: number }[];
  state: ChooserState;
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
  searchEditing: boolean;
  pending: Pending | null;
  choosing: Choosing | null;
  /** the logs pane's first line, null following the end */
  logOffset: number | null;
  logTotal: number;
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
  const [searchEditing, setSearchState] = useState(false);
  const [pending, setPendingState] = useState<Pending | null>(null);
  const [choosing, setChoosingState] = useState<Choosing | null>(null);
  const [logOffset, setLogOffsetState] = useState<number | null>(null);
  const theme = useTheme();
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

  const width = Math.max(1, size.columns);
  const meters = useMemo(() => (frame ? meterLines(frame.host, width, theme.mode === 'none') : []), [frame?.host, width, theme.mode]);
  const layout = computeLayout(size.rows, size.columns, serverRows.length, 1 + meters.length);
  const tagSet = useMemo(() => new Set(ui.tags), [ui.tags]);
  const spark = useMemo(() => (frame?.takenAt !== undefined ? { now: frame.takenAt, scale: frame.host.cpus * 100 } : undefined),
    [frame?.takenAt, frame?.host.cpus]);
  // the logs pane follows the selected server while it is open
  const logName = ui.logs && server?.name ? server.name : null;
  useEffect(() => {
    store.watchLog?.(logName);
  }, [store, logName]);
  useEffect(() => () => store.watchLog?.(null), [store]);
  const logText = useMemo(() => (ui.logs ? logPane(frame?.log, server?.name || server?.label || '', layout.procs + 1, layout.width, logOffset) : null),
    [ui.logs, frame?.log, server?.name, server?.label, layout.procs, layout.width, logOffset]);
  // a list longer than its window says how much it hides, and scrolls to the selection
  const sWin = listWindow(serverOffset, serverIndex, layout.servers, serverRows.length);
  const sOff = sWin.offset;
  const pOff = scrollTo(procOffset, Math.max(0, procIndex), layout.procs, procRows.length);
  useEffect(() => {
    if (sOff !== serverOffset) setServerOffset(sOff);
    if (pOff !== procOffset) setProcOffset(pOff);
  }, [sOff, pOff, serverOffset, procOffset]);

  const readonlyReason = keymap.readonly ? props.readonlyReason ?? 'no actions' : undefined;
  // the help takes the whole screen but the status line
  const helpHeight = layout.height - 1;
  const helpPageCount = useMemo(() => helpPages(keymap, helpHeight, layout.width, readonlyReason).length,
    [keymap, helpHeight, layout.width, readonlyReason]);

  const live = useRef<Live>(null as unknown as Live);
  live.current = {
    ui, help, helpPageCount, filterEditing, searchEditing, pending, choosing, logOffset, logTotal: frame?.log?.lines.length ?? 0,
    frame, serverRows, procRows, procsFor: server?.key, runaways, roots, rootsXid: xid, layout,
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
  const setSearchEditing = (v: boolean) => { live.current.searchEditing = v; setSearchState(v); };
  const setChoosing = (v: Choosing | null) => { live.current.choosing = v; setChoosingState(v); };
  const setLogOffset = (v: number | null) => { live.current.logOffset = v; setLogOffsetState(v); };

  const header = useMemo(() => {
    if (!frame) return ['vtop: waiting for the first snapshot…'];
    return [topLine(frame, serverRows, layout.width, { readonly: readonlyReason })];
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

  /** the tagged processes still there (by PID and start time), with what the screen knows of them */
  const taggedTargets = () => {
    const L = live.current;
    if (!L.frame || L.ui.tags.length === 0) return [];
    const want = new Set(L.ui.tags);
    return L.frame.snapshot.processes.filter((p) => want.has(`${p.pid}:${p.startTime}`));
  };

  const act = (cmd: Command) => {
    const { srv, proc } = selection();
    const fr = live.current.frame;
    if (cmd === 'kill' || cmd === 'killHard') {
      const tagged = taggedTargets();
      if (tagged.length > 0) {
        const targets = tagged.map((p) => ({ pid: p.pid, startTime: p.startTime }));
        const lines = tagged.map((p) => `PID ${p.pid} in xid ${p.xid}: ${safe(p.cmdline || `[${p.comm}]`)}`);
        const title = `${tagged.length} tagged process${tagged.length === 1 ? '' : 'es'}`;
        if (cmd === 'kill') {
          setChoosing({ targets, state: { title: `Send a signal to ${title}:`, lines, index: DEFAULT_SIGNAL_INDEX } });
        } else {
          ask({ type: 'killMany', targets, signal: 'SIGKILL' }, `Send SIGKILL to ${title}?`, lines, 'Kill -9 all');
        }
        return;
      }
      if (!proc || !fr) return say('no process selected', 'error');
      const age = formatDuration(fr.snapshot.uptime * 1000 - (proc.startTime * 1000) / (fr.snapshot.clockTicks || 100));
      const about = [`PID ${proc.pid}${proc.innerPid !== null ? ` (${proc.innerPid} inside)` : ''} in ${srv ? serverLabel(srv) : `xid ${proc.xid}`}, user ${proc.user}, started ${age} ago`,
        proc.command];
      if (cmd === 'kill') {
        setChoosing({ targets: [{ pid: proc.pid, startTime: proc.startTime }], state: { title: `Send a signal to process ${proc.pid}:`, lines: about, index: DEFAULT_SIGNAL_INDEX } });
        return;
      }
      ask({ type: 'kill', pid: proc.pid, startTime: proc.startTime, signal: 'SIGKILL' }, `Send SIGKILL to process ${proc.pid}?`, about, 'Kill -9');
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

  /** selects process row i of the selected server (focus on the processes) */
  const selectProc = (rows: readonly ProcRow[], i: number) =>
    setUi((u) => ({ ...u, focus: 'procs', detail: false, logs: false, procKey: rows[i]!.key, procIndex: i }));

  /** jumps to the next row matching the search (from the selection; `inclusive`: the selection itself counts) */
  const findNext = (text: string, inclusive: boolean): boolean => {
    const { rows, pi } = selection();
    if (!rows || rows.length === 0 || !text.trim()) return false;
    const i = nextMatch(rows, text, Math.max(0, pi), inclusive);
    if (i < 0) return false;
    selectProc(rows, i);
    return true;
  };

  const toggleTag = () => {
    const L = live.current;
    if (L.ui.focus !== 'procs' || L.ui.detail || L.ui.logs) return say('select a process to tag (→ focuses the process list)', 'dim');
    const { rows, pi, proc } = selection();
    if (!proc || !rows) return say('no process selected', 'error');
    const tags = L.ui.tags.includes(proc.key) ? L.ui.tags.filter((k) => k !== proc.key) : [...L.ui.tags, proc.key];
    const i = Math.min(pi + 1, rows.length - 1);
    setUi((u) => ({ ...u, tags, procKey: rows[i]!.key, procIndex: i }));
    say(tags.length ? `${tags.length} tagged: ${keyFor(keymap, 'kill') || 'kill'} signals them all, ${keyFor(keymap, 'untagAll') || 'untag all'} untags` : 'no process tagged', 'dim');
  };

  const scrollLog = (delta: number | 'home' | 'end') => {
    const L = live.current;
    const height = L.layout.procs + 1;
    const top = logTop(L.logTotal, height, L.logOffset);
    const last = Math.max(0, L.logTotal - height);
    const next = delta === 'home' ? 0 : delta === 'end' ? last : Math.max(0, Math.min(last, top + delta));
    setLogOffset(next >= last ? null : next);
  };

  const move = (delta: number | 'home' | 'end') => {
    const L = live.current;
    if (L.ui.logs) return scrollLog(delta);
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
      case 'focusProcesses': setUi((u) => ({ ...u, focus: 'procs', detail: false, logs: false })); return;
      case 'nextRunaway': jumpToRunaway(); return;
      case 'search':
        setSearchEditing(true);
        setUi((u) => ({ ...u, search: '' }));
        return;
      case 'nextMatch':
        if (!L.ui.search) return say(`nothing searched for (${keyFor(keymap, 'search') || 'search'} to search)`, 'dim');
        if (!findNext(L.ui.search, false)) say(`no process matches "${safe(L.ui.search)}"`, 'error');
        return;
      case 'tag': toggleTag(); return;
      case 'untagAll':
        setUi((u) => (u.tags.length ? { ...u, tags: [] } : u));
        say('no process tagged', 'dim');
        return;
      case 'detail': setUi((u) => ({ ...u, detail: !u.detail, logs: false })); return;
      case 'logs': {
        const { srv } = selection();
        if (!L.ui.logs && !srv?.name) return say(`${srv?.label ?? 'this'} is not a configured server: it has no console log`, 'error');
        setLogOffset(null);
        setUi((u) => ({ ...u, logs: !u.logs, detail: false }));
        return;
      }
      case 'tree': setUi((u) => ({ ...u, view: { ...u.view, tree: !u.view.tree } })); return;
      case 'invertSort': setUi((u) => ({ ...u, view: { ...u.view, invert: !u.view.invert } })); return;
      case 'sortCpu': case 'sortMem': case 'sortPid': case 'sortName': {
        const sort = SORT_OF[cmd]!;
        setUi((u) => ({ ...u, view: { ...u.view, sort, invert: false } }));
        return;
      }
      case 'filter': setFilterEditing(true); setUi((u) => ({ ...u, focus: 'procs', detail: false, logs: false })); return;
      case 'clearFilter':
        setUi((u) => (u.detail || u.logs || u.view.filter ? { ...u, detail: false, logs: false, view: { ...u.view, filter: '' } } : u));
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
    if (L.choosing) {
      const c = L.choosing;
      const n = SIGNAL_CHOICES.length;
      if (name === 'up' || name === 'down') {
        setChoosing({ ...c, state: { ...c.state, index: (c.state.index + (name === 'up' ? n - 1 : 1)) % n } });
      } else if (name === 'home' || name === 'end') {
        setChoosing({ ...c, state: { ...c.state, index: name === 'home' ? 0 : n - 1 } });
      } else if (name === 'enter' || name === 'y' || name === 'Y') {
        const signal = SIGNAL_CHOICES[c.state.index]!.name;
        setChoosing(null);
        if (c.targets.length === 1) run({ type: 'kill', pid: c.targets[0]!.pid, startTime: c.targets[0]!.startTime, signal });
        else {
          run({ type: 'killMany', targets: c.targets, signal });
          setUi((u) => ({ ...u, tags: [] }));
        }
      } else if (name === 'esc' || name === 'n' || name === 'N' || name === 'q') {
        setChoosing(null);
        say('cancelled', 'dim');
      }
      return;
    }
    if (L.searchEditing) {
      if (name === 'enter') setSearchEditing(false);
      else if (name === 'esc') {
        setSearchEditing(false);
        setUi((u) => ({ ...u, search: '' }));
      } else if (name === 'backspace' || name === 'delete' || name === 'ctrl+u' ||
        (!key.ctrl && !key.meta && input && !/[\x00-\x1f\x7f-\x9f]/.test(input))) {
        const text = name === 'ctrl+u' ? '' : name === 'backspace' || name === 'delete' ? [...L.ui.search].slice(0, -1).join('') : (L.ui.search + input).slice(0, 200);
        setUi((u) => ({ ...u, search: text }));
        // as it is typed: the first match from the selection on
        if (text) findNext(text, true);
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
    if (filterEditing) return { text: `${keyFor(keymap, 'filter')} filter: ${ui.view.filter}█   (Enter keeps, Esc clears)`, style: 'key' };
    if (searchEditing) return { text: `${keyFor(keymap, 'search')} search: ${ui.search}█   (Enter keeps, then ${keyFor(keymap, 'nextMatch')} for the next; Esc clears)`, style: 'key' };
    if (status) return status;
    const k = (c: Command) => keyFor(keymap, c);
    // the hints that do not fit go whole, the least needed first (never help and quit)
    const parts = [{ text: `${k('help')} help`, drop: 0 }, { text: `${k('quit')} quit`, drop: 0 }, { text: `${k('search')} search`, drop: 3 },
      { text: `${k('filter')} filter`, drop: 3 }, { text: `${k('logs')} log`, drop: 2 }, { text: `${k('tag')} tag`, drop: 4 },
      { text: `${k('sortCpu')}/${k('sortMem')}/${k('sortPid')}/${k('sortName')} sort`, drop: 4 },
      { text: `${k('tree')} tree`, drop: 5 }, { text: `${k('detail')} details`, drop: 2 }, { text: `${k('nextRunaway')} runaway`, drop: 3 }];
    if (!keymap.readonly) {
      parts.push({ text: `${k('kill')}/${k('killHard')} kill`, drop: 1 }, { text: `${k('start')}/${k('stop')}/${k('restart')} start/stop/restart`, drop: 1 });
    }
    return { text: fitParts(parts, layout.width), style: 'dim' };
  }, [filterEditing, searchEditing, ui.view.filter, ui.search, status, keymap, layout.width]);

  // ---- render ----
  if (layout.tooSmall) {
    return <Line text={clip(`vtop needs at least 40x10; this terminal is ${size.columns}x${size.rows}`, layout.width)} width={layout.width} />;
  }
  const intervalS = ((frame && frame.cpu.intervalMs > 0 ? frame.cpu.intervalMs : frame?.intervalMs ?? store.intervalMs) / 1000).toFixed(1);
  const viewDesc = `${ui.view.tree ? 'tree' : 'list'}, by ${SORT_LABEL[ui.view.sort]}${ui.view.invert ? ' (inverted)' : ''}` +
    (ui.view.filter ? `, filter "${safe(ui.view.filter)}"` : '') + (ui.tags.length ? `, ${ui.tags.length} tagged` : '');
  const title = server
    ? `${server.label}${server.xid !== null ? ` (xid ${server.xid})` : ''}: ${procRows.length} processes, ${viewDesc}; CPU% = % of one core over ${intervalS}s`
    : 'no server';
  const body = layout.procs + 2;

  return (
    <Box flexDirection="column" width={layout.width} height={layout.height} overflowY="hidden">
      {help !== null ? null : <Header lines={header.slice(0, layout.header)} meters={frame ? meters.slice(0, Math.max(0, layout.header - 1)) : []} width={layout.width} />}
      {help !== null ? (
        <HelpOverlay keymap={keymap} height={helpHeight} width={layout.width} page={help} readonlyReason={readonlyReason} />
      ) : (
        <>
          <ServerTable rows={serverRows} selectedKey={server?.key} offset={sOff} height={layout.servers} shown={sWin.shown}
            hidden={hiddenLine(sWin)} width={layout.width} focused={ui.focus === 'servers'} spark={spark} />
          {pending ? (
            <ConfirmDialog state={pending.confirm} height={body} width={layout.width} />
          ) : choosing ? (
            <SignalChooser state={choosing.state} height={body} width={layout.width} />
          ) : ui.logs && logText ? (
            <LogPane text={logText} height={body} width={layout.width} />
          ) : ui.detail ? (
            <DetailPane row={server} height={body} width={layout.width} confdir={frame?.confdir ?? '/etc/vservers'} canAct={!keymap.readonly} />
          ) : (
            <ProcessTable title={clip(title, layout.width)} rows={procRows} selectedIndex={procIndex} offset={pOff}
              height={layout.procs} width={layout.width} focused={ui.focus === 'procs'} tagged={tagSet} />
          )}
        </>
      )}
      <StatusLine text={clip(statusLine.text, layout.width)} style={statusLine.style} width={layout.width} />
    </Box>
  );
}
