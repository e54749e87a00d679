/**
 * One line of text, never wider than its width and never wrapped.  Memoized
 * on its props, so a keypress that moves the selection re-renders only the
 * two lines whose style changed.
 */
import { memo } from 'react';
import { Text } from 'ink';
import { type StyleName, useTheme } from './theme.js';

export interface LineProps {
  text: string;
  /** @default 'normal' */
  style?: StyleName;
  /** pads to this width (so an inverse bar spans the line) */
  width: number;
}

export const Line = memo(function Line({ text, style = 'normal', width }: LineProps) {
  const theme = useTheme();
  const len = [...text].length;
  const padded = len < width ? text + ' '.repeat(width - len) : text;
  return (
    <Text wrap="truncate" {...theme.style(style)}>
      {padded}
    </Text>
  );
});
