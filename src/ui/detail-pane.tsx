/** The selected server's details (caps, limits, IP lock, namespaces, paths). */
import { memo, useMemo } from 'react';
import { Box } from 'ink';
import { detailLines } from '../views/vtop-detail.js';
import type { ServerRow } from '../views/vtop-servers.js';
import { Line } from './line.js';

export interface DetailPaneProps {
  row: ServerRow | undefined;
  /** lines available */
  height: number;
  width: number;
  confdir: string;
  /** the user can act on servers (else no hint offers an action) @default true */
  canAct?: boolean;
}

export const DetailPane = memo(function DetailPane({ row, height, width, confdir, canAct = true }: DetailPaneProps) {
  const lines = useMemo(() => (row ? detailLines(row, width, confdir, canAct) : [{ text: 'no server selected', tone: 'dim' as const }]),
    [row, width, confdir, canAct]);
  const shown = lines.length > height ? [...lines.slice(0, height - 1), { text: `… ${lines.length - height + 1} more lines (widen or heighten the terminal)`, tone: 'dim' as const }] : lines;
  return (
    <Box flexDirection="column" height={height} overflowY="hidden">
      {shown.map((l, i) => (
        <Line key={i} text={l.text} width={width} style={l.tone} />
      ))}
    </Box>
  );
});
