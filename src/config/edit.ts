/**
 * Changing keys of a NAME.conf in place (`vserver NAME set`): only the
 * line that sets a key is rewritten — its value, with indentation, an
 * `export ` and a trailing comment kept — and every other line (comments,
 * blank lines, other keys) stays byte for byte.  A key the file does not
 * set gets a line at the end.  Pure: the caller reads and writes the file.
 */
import { lexConfig, valueSpan } from './lexer.js';
import { shellQuote } from './template.js';
import type { ConfigKey } from './types.js';

/** @text with each key of @changes set to its value (the last assignment of a key is the one rewritten) */
export function setConfigValues(text: string, changes: ReadonlyArray<readonly [ConfigKey, string]>): string {
  const lines = text.split('\n');
  const last = new Map<string, number>();
  for (const a of lexConfig(text).assignments) last.set(a.key, a.line);
  const appended: string[] = [];
  for (const [key, value] of changes) {
    const at = last.get(key);
    const span = at === undefined ? null : valueSpan(lines[at - 1]!);
    if (at === undefined || !span) {
      appended.push(`${key}=${shellQuote(value)}`);
      continue;
    }
    const raw = lines[at - 1]!;
    lines[at - 1] = raw.slice(0, span[0]) + shellQuote(value) + raw.slice(span[1]);
  }
  let out = lines.join('\n');
  if (appended.length) {
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    out += appended.join('\n') + '\n';
  }
  return out;
}
