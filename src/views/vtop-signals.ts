/**
 * The signal chooser's list (htop's F9): the signals vtop may send a
 * process, from the one table (kernel/tables/vctx-tables.json vtopSignals,
 * which vtop's helper re-checks), each with its number here.  Pure.
 */
import { constants } from 'node:os';
import { VTOP_SIGNALS, type VtopSignal } from '../generated/tables.js';
import { clip } from './vtop-text.js';

export interface SignalChoice {
  name: VtopSignal;
  number: number;
  what: string;
}

export const SIGNAL_CHOICES: readonly SignalChoice[] = VTOP_SIGNALS.map(([name, what]) => ({
  name, what, number: (constants.signals as Record<string, number>)[name] ?? 0,
}));

/** where the chooser's cursor starts: SIGTERM */
export const DEFAULT_SIGNAL_INDEX = Math.max(0, SIGNAL_CHOICES.findIndex((s) => s.name === 'SIGTERM'));

/** a choice as a line of the chooser: ` 15 SIGTERM  terminate: ask to end` */
export function signalLine(c: SignalChoice, width: number): string {
  return clip(`${String(c.number).padStart(3)} ${c.name.padEnd(8)} ${c.what}`, width);
}
