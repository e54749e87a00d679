/** The server list: one line per context (host first) and per stopped configured server. */
import { memo, useMemo } from 'react';
import { Box } from 'ink';
import { type ServerRow, type SparkScale, formatServerLine, serverColumns } from '../views/vtop-servers.js';
import { clip, headerLine } from '../views/vtop-text.js';
import { Line } from './line.js';
import type { StyleName } from './theme.js';

export interface ServerTableProps {
  rows: readonly ServerRow[];
  selectedKey: string | undefined;
  /** first row shown */
  offset: number;
  /** lines for rows (the column header line comes on top) */
  height: number;
  /** rows shown from `offset` @default height */
  shown?: number;
  /** what the window hides (`↓ 3 more below`), on the last line; '' or undefined when nothing is */
  hidden?: string;
  width: number;
  focused: boolean;
  /** the sparklines' time and scale (none without) */
  spark?: SparkScale;
}

function styleOf(row: ServerRow, selected: boolean, focused: boolean): StyleName {
  if (selected) return focused ? 'selected' : 'selectedDim';
  if (row.runaways > 0) return 'runaway';
  if (row.pressure !== undefined && row.pressure >= 0.9) return 'bad';
  if (row.state === 'stopped') return 'dim';
  return 'normal';
}

export const ServerTable = memo(function ServerTable({ rows, selectedKey, offset, height, shown, hidden, width, focused, spark }: ServerTableProps) {
  const hasSpark = spark !== undefined;
  const cols = useMemo(() => serverColumns(width, hasSpark), [width, hasSpark]);
  const head = useMemo(() => headerLine(cols), [cols]);
  const visible = rows.slice(offset, offset + (shown ?? height));
  return (
    <Box flexDirection="column" height={height + 1} overflowY="hidden">
      <Line text={head} width={width} style="tableHead" />
      {visible.map((r) => (
        <ServerLine key={r.key} row={r} cols={cols} width={width} style={styleOf(r, r.key === selectedKey, focused)} spark={spark} />
      ))}
      {hidden ? <Line text={clip(hidden, width)} width={width} style="dim" /> : null}
    </Box>
  );
});

const ServerLine = memo(function ServerLine(p: { row: ServerRow; cols: ReturnType<typeof serverColumns>; width: number; style: StyleName; spark: SparkScale | undefined }) {
  const text = useMemo(() => formatServerLine(p.row, p.cols, p.spark), [p.row, p.cols, p.spark]);
  return <Line text={text} width={p.width} style={p.style} />;
});
