/** The bottom line: the filter being typed, the last result or error, or a key hint. */
import { memo } from 'react';
import { Line } from './line.js';
import type { StyleName } from './theme.js';

export interface StatusLineProps {
  text: string;
  style: StyleName;
  width: number;
}

export const StatusLine = memo(function StatusLine({ text, style, width }: StatusLineProps) {
  return <Line text={text} width={width} style={style} />;
});
