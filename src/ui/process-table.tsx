/** The selected server's processes: a title line, column headers, the visible rows. */
import { memo, useMemo } from 'react';
import { Box } from 'ink';
import { type ProcRow, formatProcLine, procColumns } from '../views/vtop-procs.js';
import { headerLine } from '../views/vtop-text.js';
import { Line } from './line.js';
import type { StyleName } from './theme.js';

export interface ProcessTableProps {
  title: string;
  rows: readonly ProcRow[];
  selectedIndex: number;
  offset: number;
  /** rows shown (title and header lines come on top) */
  height: number;
  width: number;
  focused: boolean;
  /** procKeys of the tagged processes */
  tagged?: ReadonlySet<string>;
}

function styleOf(row: ProcRow, selected: boolean, focused: boolean, tagged: boolean): StyleName {
  if (selected) return focused ? 'selected' : 'selectedDim';
  if (tagged) return 'tagged';
  if (row.runaway) return 'runaway';
  if (row.context) return 'dim';
  if (row.state === 'Z' || row.state === 'D') return 'warn';
  return 'normal';
}

export const ProcessTable = memo(function ProcessTable(p: ProcessTableProps) {
  const cols = useMemo(() => procColumns(p.width), [p.width]);
  const head = useMemo(() => headerLine(cols), [cols]);
  const visible = p.rows.slice(p.offset, p.offset + p.height);
  return (
    <Box flexDirection="column" height={p.height + 2} overflowY="hidden">
      <Line text={p.title} width={p.width} style="title" />
      <Line text={head} width={p.width} style="tableHead" />
      {visible.map((r, i) => (
        <ProcLine key={r.key} row={r} cols={cols} width={p.width} tagged={!!p.tagged?.has(r.key)}
          style={styleOf(r, p.offset + i === p.selectedIndex, p.focused, !!p.tagged?.has(r.key))} />
      ))}
    </Box>
  );
});

const ProcLine = memo(function ProcLine(p: { row: ProcRow; cols: ReturnType<typeof procColumns>; width: number; style: StyleName; tagged: boolean }) {
  const text = useMemo(() => formatProcLine(p.row, p.cols, p.tagged), [p.row, p.cols, p.tagged]);
  return <Line text={text} width={p.width} style={p.style} />;
});
