/** The top of the screen: host, kernel, uptime, load, CPU, memory, servers, interval. */
import { memo } from 'react';
import { Box } from 'ink';
import { Line } from './line.js';

export interface HeaderProps {
  lines: readonly string[];
  width: number;
}

export const Header = memo(function Header({ lines, width }: HeaderProps) {
  return (
    <Box flexDirection="column" height={lines.length} overflowY="hidden">
      {lines.map((l, i) => (
        <Line key={i} text={l} width={width} style={i === 0 ? 'header' : 'normal'} />
      ))}
    </Box>
  );
});
