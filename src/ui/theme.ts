/**
 * Colours of vtop.  Only the 16 basic ANSI colours are used (they follow the
 * user's terminal palette and work on any terminal); `none` (NO_COLOR,
 * TERM=dumb, --no-color) uses no colour at all, only bold/inverse/dim,
 * and every highlight also has a text mark (`!` for runaways).
 */
import { createContext, useContext } from 'react';
import type { Tone } from '../views/vtop-detail.js';

export type ColorMode = '16' | 'none';

/** the props of an Ink <Text> a style sets */
export interface TextStyle {
  color?: string;
  backgroundColor?: string;
  bold?: boolean;
  dimColor?: boolean;
  inverse?: boolean;
}

export type StyleName = Tone | 'selected' | 'selectedDim' | 'runaway' | 'header' | 'tableHead' | 'key' | 'error' | 'ok' | 'button' | 'buttonFocus' | 'danger'
  | 'tagged' | 'meterLabel' | 'meterBracket' | 'meterCpu' | 'meterUsed' | 'meterCache' | 'meterSwap' | 'meterFigure';

const COLOR16: Record<StyleName, TextStyle> = {
  title: { color: 'cyan', bold: true },
  normal: {},
  dim: { dimColor: true },
  warn: { color: 'yellow' },
  bad: { color: 'red', bold: true },
  good: { color: 'green' },
  selected: { inverse: true },
  selectedDim: { inverse: true, dimColor: true },
  runaway: { color: 'red', bold: true },
  header: { bold: true },
  tableHead: { color: 'black', backgroundColor: 'green' },
  key: { color: 'cyan', bold: true },
  error: { color: 'red', bold: true },
  ok: { color: 'green' },
  button: {},
  buttonFocus: { inverse: true, bold: true },
  danger: { color: 'red', bold: true },
  tagged: { color: 'yellow', bold: true },
  meterLabel: { color: 'cyan', bold: true },
  meterBracket: { bold: true },
  meterCpu: { color: 'green' },
  meterUsed: { color: 'green' },
  meterCache: { color: 'yellow' },
  meterSwap: { color: 'red' },
  meterFigure: { dimColor: true },
};

const MONO: Record<StyleName, TextStyle> = {
  title: { bold: true },
  normal: {},
  dim: { dimColor: true },
  warn: { bold: true },
  bad: { bold: true },
  good: {},
  selected: { inverse: true },
  selectedDim: { inverse: true, dimColor: true },
  runaway: { bold: true },
  header: { bold: true },
  tableHead: { inverse: true },
  key: { bold: true },
  error: { bold: true },
  ok: {},
  button: {},
  buttonFocus: { inverse: true, bold: true },
  danger: { bold: true },
  // a tagged row has its `*`, a meter's parts their own characters (| used, : cache)
  tagged: { bold: true },
  meterLabel: { bold: true },
  meterBracket: { bold: true },
  meterCpu: {},
  meterUsed: {},
  meterCache: {},
  meterSwap: {},
  meterFigure: {},
};

export interface Theme {
  mode: ColorMode;
  style(name: StyleName): TextStyle;
}

export function makeTheme(mode: ColorMode): Theme {
  const table = mode === 'none' ? MONO : COLOR16;
  return { mode, style: (n) => table[n] };
}

/**
 * The colour mode the environment asks for: `none` when NO_COLOR is set
 * (to anything non-empty, per no-color.org) or TERM is dumb.
 */
export function colorModeFromEnv(env: NodeJS.ProcessEnv): ColorMode {
  if (env['NO_COLOR'] !== undefined && env['NO_COLOR'] !== '') return 'none';
  if (env['TERM'] === 'dumb') return 'none';
  return '16';
}

export const ThemeContext = createContext<Theme>(makeTheme('16'));

export function useTheme(): Theme {
  return useContext(ThemeContext);
}
