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
  /** pads to this width when the style has a background (so an inverse bar spans the line) */
  width: number;
}

export const Line = memo(function Line({ text, style = 'normal', width }: LineProps) {
  const theme = useTheme();
  const look = theme.style(style);
  // Ink tokenises every cell it is given on every frame: only a bar needs the trailing blanks
  const len = look.inverse || look.backgroundColor ? [...text].length : width;
  const padded = len < width ? text + ' '.repeat(width - len) : text;
  return (
    <Text wrap="truncate" {...look}>
      {padded}
    </Text>
  );
});
