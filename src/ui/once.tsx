/**
 * `vtop --once` (and vtop with stdout not a terminal): one frame printed
 * with the same views and components as the dashboard, via Ink's
 * renderToString.  Shows the header, every server, and the process tree of
 * every running server (the host's too with `includeHost`).
 */
import { Box } from 'ink';
import { renderToString } from 'ink';
import { buildContextTrees } from '../views/tree.js';
import { headerLines } from '../views/vtop-header.js';
import { frameToJson, type VtopJson } from '../views/vtop-json.js';
import type { VtopFrame } from '../views/vtop-model.js';
import { buildProcRows, DEFAULT_PROC_VIEW, type ProcRow, type ProcViewOptions } from '../views/vtop-procs.js';
import { buildServerRows, DEFAULT_RUNAWAY_INTERVALS, runawayKeys } from '../views/vtop-servers.js';
import { Header } from './header.js';
import { ProcessTable } from './process-table.js';
import { ServerTable } from './server-table.js';
import { type ColorMode, makeTheme, ThemeContext } from './theme.js';

export interface OnceOptions {
  /** @default 80 */
  width?: number;
  /** @default 'none' (text for pipes and files) */
  colorMode?: ColorMode;
  /** also list the host's processes @default false */
  includeHost?: boolean;
  view?: ProcViewOptions;
  runawayIntervals?: number;
}

function model(frame: VtopFrame, o: OnceOptions) {
  const runaways = runawayKeys(frame, o.runawayIntervals ?? DEFAULT_RUNAWAY_INTERVALS);
  const servers = buildServerRows(frame, runaways);
  const trees = buildContextTrees(frame.snapshot);
  const cache = new Map<number, ProcRow[]>();
  const procsOf = (xid: number) => {
    let rows = cache.get(xid);
    if (!rows) {
      rows = buildProcRows({ roots: trees.get(xid) ?? [], cpu: frame.cpu, users: frame.users, runaways,
        clockTicks: frame.snapshot.clockTicks }, o.view ?? DEFAULT_PROC_VIEW);
      cache.set(xid, rows);
    }
    return rows;
  };
  return { servers, procsOf };
}

/** the frame as text, no trailing newline */
export function renderOnce(frame: VtopFrame, o: OnceOptions = {}): string {
  const width = o.width ?? 80;
  const { servers, procsOf } = model(frame, o);
  const shown = servers.filter((s) => s.xid !== null && (s.xid !== 0 || o.includeHost));
  const interval = (frame.cpu.intervalMs / 1000).toFixed(1);
  const tree = (
    <ThemeContext.Provider value={makeTheme(o.colorMode ?? 'none')}>
      <Box flexDirection="column" width={width}>
        <Header lines={headerLines(frame, servers, width)} width={width} />
        <ServerTable rows={servers} selectedKey={undefined} offset={0} height={servers.length} width={width} focused={false} />
        {shown.map((s) => {
          const rows = procsOf(s.xid!);
          return (
            <Box key={s.key} marginTop={1}>
              <ProcessTable title={`${s.label} (xid ${s.xid}): ${rows.length} processes; CPU% = % of one core over ${interval}s`}
                rows={rows} selectedIndex={-1} offset={0} height={rows.length} width={width} focused={false} />
            </Box>
          );
        })}
      </Box>
    </ThemeContext.Provider>
  );
  // no trailing blanks in text meant for pipes and files
  return renderToString(tree, { columns: width }).replace(/ +(\x1b\[[0-9;]*m)?$/gm, '$1');
}

/** the frame as the JSON document `vtop --once --json` prints */
export function onceJson(frame: VtopFrame, o: OnceOptions = {}): VtopJson {
  const { servers, procsOf } = model(frame, o);
  return frameToJson(frame, servers, procsOf);
}
