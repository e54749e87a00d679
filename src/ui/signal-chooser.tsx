/**
 * The signal chooser (htop's F9): which signal to send the selected or
 * tagged processes.  SIGTERM is preselected; ↑/↓ choose, Enter (or y)
 * sends, Esc (or n, q) cancels.
 */
import { memo } from 'react';
import { Box } from 'ink';
import { SIGNAL_CHOICES, signalLine } from '../views/vtop-signals.js';
import { clip } from '../views/vtop-text.js';
import { Line } from './line.js';

export interface ChooserState {
  title: string;
  /** what will be signalled, one line each (shown while they fit) */
  lines: string[];
  /** the choice under the cursor (index in SIGNAL_CHOICES) */
  index: number;
}

export interface SignalChooserProps {
  state: ChooserState;
  height: number;
  width: number;
}

export const SignalChooser = memo(function SignalChooser({ state, height, width }: SignalChooserProps) {
  const list = SIGNAL_CHOICES.length;
  const about = state.lines.slice(0, Math.max(0, height - list - 2));
  return (
    <Box flexDirection="column" height={height} overflowY="hidden">
      <Line text={clip(state.title, width)} width={width} style="danger" />
      {about.map((l, i) => <Line key={`a${i}`} text={clip(`  ${l}`, width)} width={width} />)}
      {SIGNAL_CHOICES.map((c, i) => (
        <Line key={c.name} text={clip(`${i === state.index ? '>' : ' '}${signalLine(c, width - 1)}`, width)} width={width}
          style={i === state.index ? 'buttonFocus' : c.name === 'SIGKILL' ? 'warn' : 'normal'} />
      ))}
      <Line text={clip('↑/↓ choose, Enter or y: send, Esc/n: cancel', width)} width={width} style="dim" />
    </Box>
  );
});
