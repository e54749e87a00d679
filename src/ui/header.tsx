/**
 * The top of the screen: host, kernel, uptime, load, servers, interval on
 * the first line; then the meters (CPU, per core when wide; memory; swap).
 */
import { memo } from 'react';
import { Box, Text } from 'ink';
import type { MeterSpan, MeterTone } from '../views/vtop-meters.js';
import { Line } from './line.js';
import { type StyleName, useTheme } from './theme.js';

export interface HeaderProps {
  /** the text line(s) on top */
  lines: readonly string[];
  /** the meter lines below them */
  meters?: readonly (readonly MeterSpan[])[];
  width: number;
}

const TONE: Record<MeterTone, StyleName> = {
  label: 'meterLabel', bracket: 'meterBracket', cpu: 'meterCpu', used: 'meterUsed', cache: 'meterCache',
  swap: 'meterSwap', figure: 'meterFigure', plain: 'normal',
};

/** one line of spans, each in its tone's style */
export const SpanLine = memo(function SpanLine({ spans }: { spans: readonly MeterSpan[] }) {
  const theme = useTheme();
  return (
    <Text wrap="truncate">
      {spans.map((s, i) => <Text key={i} {...theme.style(TONE[s.tone])}>{s.text}</Text>)}
    </Text>
  );
});

export const Header = memo(function Header({ lines, meters = [], width }: HeaderProps) {
  return (
    <Box flexDirection="column" height={lines.length + meters.length} overflowY="hidden">
      {lines.map((l, i) => (
        <Line key={i} text={l} width={width} style={i === 0 ? 'header' : 'normal'} />
      ))}
      {meters.map((m, i) => <SpanLine key={`m${i}`} spans={m} />)}
    </Box>
  );
});
