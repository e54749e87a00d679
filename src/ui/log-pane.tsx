/** The selected server's console log: a title line and the lines shown (already escaped by the view). */
import { memo } from 'react';
import { Box } from 'ink';
import type { LogPaneText } from '../views/vtop-logs.js';
import { Line } from './line.js';

export interface LogPaneProps {
  text: LogPaneText;
  /** lines of the pane, its title included */
  height: number;
  width: number;
}

export const LogPane = memo(function LogPane({ text, height, width }: LogPaneProps) {
  return (
    <Box flexDirection="column" height={height} overflowY="hidden">
      <Line text={text.title} width={width} style="title" />
      {text.lines.slice(0, Math.max(0, height - 1)).map((l, i) => <Line key={i} text={l} width={width} />)}
    </Box>
  );
});
