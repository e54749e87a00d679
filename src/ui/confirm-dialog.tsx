/** A yes/no question before a changing action.  Cancel is focused when it opens. */
import { memo } from 'react';
import { Box, Text } from 'ink';
import { clip } from '../views/vtop-text.js';
import { Line } from './line.js';
import { useTheme } from './theme.js';

export interface ConfirmState {
  title: string;
  lines: string[];
  /** the confirming button's label, e.g. 'Kill' */
  confirmLabel: string;
  /** 0 = Cancel (the default), 1 = confirm */
  focus: 0 | 1;
}

export interface ConfirmDialogProps {
  state: ConfirmState;
  height: number;
  width: number;
}

export const ConfirmDialog = memo(function ConfirmDialog({ state, height, width }: ConfirmDialogProps) {
  const theme = useTheme();
  const inner = Math.max(10, width - 4);
  const body = state.lines.slice(0, Math.max(0, height - 5));
  return (
    <Box flexDirection="column" height={height} overflowY="hidden">
      <Box flexDirection="column" borderStyle="single" width={width} paddingX={1}>
        <Line text={clip(state.title, inner)} width={inner} style="danger" />
        {body.map((l, i) => (
          <Line key={i} text={clip(l, inner)} width={inner} />
        ))}
        <Box>
          <Text {...theme.style(state.focus === 0 ? 'buttonFocus' : 'button')}>{' Cancel '}</Text>
          <Text>{'   '}</Text>
          <Text {...theme.style(state.focus === 1 ? 'buttonFocus' : 'danger')}>{` ${state.confirmLabel} `}</Text>
          <Text {...theme.style('dim')}>{clip('   ←/→ choose, Enter: do it, y: confirm, Esc/n: cancel', Math.max(0, inner - 22 - state.confirmLabel.length))}</Text>
        </Box>
      </Box>
    </Box>
  );
});
