/**
 * Reads the shell-style lines of a NAME.conf WITHOUT a shell: each line is
 * blank, a `#` comment, or one assignment `KEY=value`, where the value is a
 * single shell word made of bare, 'single-quoted' and "double-quoted" parts.
 *
 * Nothing is expanded or executed: `$VAR`, `$(…)`, backticks, `;`, `|`, `&`
 * are kept as the characters they are.  Quoting follows the shell so that a
 * file a shell would read the same way reads the same way here:
 *  - '…' is literal up to the next ';
 *  - "…" is literal except that a backslash before $ ` " \ is dropped;
 *  - outside quotes a backslash makes the next character literal;
 *  - unquoted blanks end the value; only a `#` comment may follow.
 * An optional leading `export ` is accepted.  A value spanning lines, or a
 * line that is not an assignment, is an error with its line number.
 */

export interface Assignment {
  key: string;
  value: string;
  /** 1-based line number */
  line: number;
}

export interface LexProblem {
  line: number;
  /** the key when the line got that far, else null */
  key: string | null;
  /** the offending text (the whole line, or the value part) */
  text: string;
  message: string;
}

export interface LexResult {
  assignments: Assignment[];
  problems: LexProblem[];
}

const KEY_RE = /^([A-Za-z_][A-Za-z0-9_]*)=/;
const BLANK = /[ \t]/;

/** Read one shell word starting at s[i]; returns the value and where it stopped, or an error. */
function readWord(s: string, start: number): { value: string; end: number } | { error: string } {
  let out = '';
  let i = start;
  while (i < s.length) {
    const c = s[i]!;
    if (BLANK.test(c)) break;
    if (c === "'") {
      const close = s.indexOf("'", i + 1);
      if (close < 0) return { error: "unterminated single quote: a value must end on the line it starts" };
      out += s.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < s.length) {
        const d = s[i]!;
        if (d === '"') { closed = true; i++; break; }
        if (d === '\\' && i + 1 < s.length && '$`"\\'.includes(s[i + 1]!)) {
          out += s[i + 1];
          i += 2;
          continue;
        }
        out += d;
        i++;
      }
      if (!closed) return { error: 'unterminated double quote: a value must end on the line it starts' };
    } else if (c === '\\') {
      if (i + 1 >= s.length) return { error: 'a backslash at the end of the line (continuation lines are not supported)' };
      out += s[i + 1];
      i += 2;
    } else {
      out += c;
      i++;
    }
  }
  return { value: out, end: i };
}

/** Split the text of a NAME.conf into assignments and problems. */
export function lexConfig(text: string): LexResult {
  const assignments: Assignment[] = [];
  const problems: LexProblem[] = [];
  const lines = text.split('\n');
  // a final newline does not start another line
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    const s = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let body = s.replace(/^[ \t]+/, '');
    if (body === '' || body.startsWith('#')) return;
    if (/^export[ \t]+/.test(body)) body = body.replace(/^export[ \t]+/, '');
    const m = KEY_RE.exec(body);
    if (!m) {
      const spaced = /^([A-Za-z_][A-Za-z0-9_]*)[ \t]+=/.exec(body);
      problems.push({
        line,
        key: spaced ? spaced[1]! : null,
        text: s,
        message: spaced
          ? `no blanks around '=': write ${spaced[1]}="value"`
          : 'not an assignment: every line is KEY="value", a # comment or blank (the file is read, never run)',
      });
      return;
    }
    const key = m[1]!;
    const rest = body.slice(m[0].length);
    const word = readWord(rest, 0);
    if ('error' in word) {
      problems.push({ line, key, text: rest, message: word.error });
      return;
    }
    const tail = rest.slice(word.end).replace(/^[ \t]+/, '');
    if (tail !== '' && !tail.startsWith('#')) {
      problems.push({
        line,
        key,
        text: rest,
        message: `unquoted blank in the value: put the whole value in quotes, e.g. ${key}="${rest.replace(/"/g, '\\"')}"`,
      });
      return;
    }
    assignments.push({ key, value: word.value, line });
  });
  return { assignments, problems };
}

/**
 * Where the value of the assignment on @line (one line of a NAME.conf) is
 * written: [start, end) columns, quotes included; null when the line is
 * not an assignment.  For rewriting one value in place (edit.ts).
 */
export function valueSpan(line: string): [number, number] | null {
  const s = line.endsWith('\r') ? line.slice(0, -1) : line;
  let body = s.replace(/^[ \t]+/, '');
  if (/^export[ \t]+/.test(body)) body = body.replace(/^export[ \t]+/, '');
  const m = KEY_RE.exec(body);
  if (!m) return null;
  const rest = body.slice(m[0].length);
  const word = readWord(rest, 0);
  if ('error' in word) return null;
  const at = s.length - rest.length;
  return [at, at + word.end];
}
