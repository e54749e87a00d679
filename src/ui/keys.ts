/**
 * THE key-binding table of vtop.  It drives the dispatch (lookup), the help
 * overlay (helpSections) and the docs; `--readonly` drops every binding that
 * changes the system; a JSON config may rebind keys (validated here).
 *
 * Safety rules, enforced for the defaults and for every override:
 * - a changing action is never on Esc, Backspace, Delete, Enter, Tab,
 *   Space, an arrow, or any Ctrl/Alt chord;
 * - nothing is bound to the terminal multiplexers' prefixes (Ctrl-A screen,
 *   Ctrl-B tmux) or the terminal's own chords (Ctrl-C, Ctrl-Z, Ctrl-S,
 *   Ctrl-Q, Ctrl-\);
 * - one key means one thing.
 */

/** everything a key can do */
export type Command =
  | 'quit' | 'help' | 'redraw' | 'faster' | 'slower'
  | 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end'
  | 'focusNext' | 'focusServers' | 'focusProcesses' | 'nextRunaway' | 'search' | 'nextMatch'
  | 'tag' | 'untagAll'
  | 'detail' | 'logs' | 'tree' | 'sortCpu' | 'sortMem' | 'sortPid' | 'sortName' | 'invertSort'
  | 'filter' | 'clearFilter'
  | 'kill' | 'killHard' | 'killServer' | 'killServerHard'
  | 'start' | 'stop' | 'restart' | 'enter';

/** one row of the table */
export interface KeyBinding {
  command: Command;
  /** key names (see keyName): a printable character, or up/down/pageup/…/esc/tab/enter, ctrl+x */
  keys: readonly string[];
  /** what the help overlay says (at most 26 characters: two columns fit 80 without a cut) */
  help: string;
  group: 'General' | 'Move' | 'View' | 'Act';
  /** changes the system: dropped by --readonly, kept off unsafe keys, confirmed first (except enter) */
  changes: boolean;
}

/** the defaults (htop-like where htop has a key for it) */
export const DEFAULT_BINDINGS: readonly KeyBinding[] = [
  { command: 'help', keys: ['?', 'h'], help: 'this help', group: 'General', changes: false },
  { command: 'quit', keys: ['q'], help: 'quit', group: 'General', changes: false },
  { command: 'faster', keys: ['+', '='], help: 'refresh faster (min 0.5 s)', group: 'General', changes: false },
  { command: 'slower', keys: ['-'], help: 'refresh slower', group: 'General', changes: false },
  { command: 'redraw', keys: ['ctrl+l'], help: 'refresh now and redraw', group: 'General', changes: false },

  { command: 'up', keys: ['up'], help: 'previous row', group: 'Move', changes: false },
  { command: 'down', keys: ['down'], help: 'next row', group: 'Move', changes: false },
  { command: 'pageUp', keys: ['pageup'], help: 'page up', group: 'Move', changes: false },
  { command: 'pageDown', keys: ['pagedown'], help: 'page down', group: 'Move', changes: false },
  { command: 'home', keys: ['home', 'g'], help: 'first row', group: 'Move', changes: false },
  { command: 'end', keys: ['end', 'G'], help: 'last row', group: 'Move', changes: false },
  { command: 'focusNext', keys: ['tab'], help: 'switch servers/processes', group: 'Move', changes: false },
  { command: 'focusServers', keys: ['left'], help: 'focus the server list', group: 'Move', changes: false },
  { command: 'focusProcesses', keys: ['right', 'enter'], help: 'focus the process list', group: 'Move', changes: false },
  { command: 'nextRunaway', keys: ['!'], help: 'next runaway process', group: 'Move', changes: false },
  { command: 'search', keys: ['/'], help: 'search processes', group: 'Move', changes: false },
  { command: 'nextMatch', keys: ['n'], help: 'next search match', group: 'Move', changes: false },
  { command: 'tag', keys: ['space'], help: 'tag process, next row', group: 'Move', changes: false },
  { command: 'untagAll', keys: ['U'], help: 'untag all', group: 'Move', changes: false },

  { command: 'detail', keys: ['d'], help: 'details: caps, limits, IP', group: 'View', changes: false },
  { command: 'logs', keys: ['l'], help: "the server's console log", group: 'View', changes: false },
  { command: 'tree', keys: ['t'], help: 'tree / flat process list', group: 'View', changes: false },
  { command: 'sortCpu', keys: ['P'], help: 'sort by CPU%', group: 'View', changes: false },
  { command: 'sortMem', keys: ['M'], help: 'sort by memory (RSS)', group: 'View', changes: false },
  { command: 'sortPid', keys: ['N'], help: 'sort by PID', group: 'View', changes: false },
  { command: 'sortName', keys: ['C'], help: 'sort by command name', group: 'View', changes: false },
  { command: 'invertSort', keys: ['I'], help: 'invert the sort order', group: 'View', changes: false },
  { command: 'filter', keys: ['\\'], help: 'filter processes by text', group: 'View', changes: false },
  { command: 'clearFilter', keys: ['esc'], help: 'clear filter, close pane', group: 'View', changes: false },

  { command: 'kill', keys: ['k'], help: 'signal process(es): choose', group: 'Act', changes: true },
  { command: 'killHard', keys: ['K'], help: 'SIGKILL process(es)', group: 'Act', changes: true },
  { command: 'killServer', keys: ['x'], help: 'SIGTERM the whole server', group: 'Act', changes: true },
  { command: 'killServerHard', keys: ['X'], help: 'SIGKILL the whole server', group: 'Act', changes: true },
  { command: 'start', keys: ['s'], help: 'start the server', group: 'Act', changes: true },
  { command: 'stop', keys: ['S'], help: 'stop the server', group: 'Act', changes: true },
  { command: 'restart', keys: ['r'], help: 'restart the server', group: 'Act', changes: true },
  { command: 'enter', keys: ['e'], help: 'a shell inside the server', group: 'Act', changes: true },
];

const NAMED_KEYS = new Set([
  'up', 'down', 'left', 'right', 'pageup', 'pagedown', 'home', 'end',
  'tab', 'enter', 'esc', 'backspace', 'delete', 'space',
]);

/** keys a changing action may never use */
const UNSAFE_FOR_CHANGES = new Set([
  'esc', 'backspace', 'delete', 'enter', 'tab', 'space', 'up', 'down', 'left', 'right',
  'pageup', 'pagedown', 'home', 'end',
]);

/** keys nothing may use: multiplexer prefixes and the terminal's own chords */
const RESERVED = new Map([
  ['ctrl+a', 'the GNU screen prefix'],
  ['ctrl+b', 'the tmux prefix'],
  ['ctrl+c', 'interrupt'],
  ['ctrl+z', 'suspend'],
  ['ctrl+s', 'terminal flow control (XOFF)'],
  ['ctrl+q', 'terminal flow control (XON)'],
  ['ctrl+\\', 'quit signal'],
  ['ctrl+d', 'end of input'],
]);

/** the subset of Ink's key object keyName reads */
export interface InkKey {
  upArrow: boolean; downArrow: boolean; leftArrow: boolean; rightArrow: boolean;
  pageUp: boolean; pageDown: boolean; home?: boolean; end?: boolean;
  return: boolean; escape: boolean; tab: boolean; backspace: boolean; delete: boolean;
  ctrl: boolean; meta: boolean; shift?: boolean;
}

/**
 * The key name of one Ink input event, or null when it is not one key
 * (a paste, a stray sequence): such input never triggers anything.
 */
export function keyName(input: string, key: InkKey): string | null {
  if (key.upArrow) return 'up';
  if (key.downArrow) return 'down';
  if (key.leftArrow) return 'left';
  if (key.rightArrow) return 'right';
  if (key.pageUp) return 'pageup';
  if (key.pageDown) return 'pagedown';
  if (key.home) return 'home';
  if (key.end) return 'end';
  if (key.escape) return 'esc';
  if (key.return) return 'enter';
  if (key.tab && !key.shift) return 'tab';
  if (key.backspace) return 'backspace';
  if (key.delete) return 'delete';
  if ([...input].length !== 1) return null;
  if (key.ctrl) return `ctrl+${input.toLowerCase()}`;
  if (key.meta) return `alt+${input}`;
  if (input === ' ') return 'space';
  const c = input.codePointAt(0)!;
  if (c < 0x20 || c === 0x7f) return null;
  return input;
}

/** true when `name` is a key name keyName can produce */
export function isValidKeyName(name: string): boolean {
  if (NAMED_KEYS.has(name)) return true;
  const m = /^(ctrl|alt)\+(.)$/u.exec(name);
  if (m) return m[1] === 'alt' || /^[a-z\\\]\[^_@]$/.test(m[2]!);
  return [...name].length === 1 && name.codePointAt(0)! > 0x20 && name !== '\x7f';
}

/** a key table that cannot be used, naming where and what */
export class KeyConfigError extends Error {
  override name = 'KeyConfigError';
}

/** the effective key table */
export interface Keymap {
  /** the bindings in force, in table order (readonly mode has no changing ones) */
  readonly bindings: readonly KeyBinding[];
  /** key name -> command */
  readonly byKey: ReadonlyMap<string, Command>;
  readonly readonly: boolean;
}

/** the command bound to a key, or undefined */
export function lookup(keymap: Keymap, name: string | null): Command | undefined {
  return name === null ? undefined : keymap.byKey.get(name);
}

/** key overrides: command -> key name(s) */
export type KeyOverrides = Partial<Record<Command, string | string[]>>;

/**
 * Builds the key table: defaults, then overrides, then (readonly) without
 * the changing commands.  Validates the result.
 * @param origin where overrides came from, for error messages
 * @throws KeyConfigError naming the command, key and rule broken
 */
export function buildKeymap(opts: { readonly?: boolean; overrides?: KeyOverrides; origin?: string } = {}): Keymap {
  const origin = opts.origin ?? 'key bindings';
  const known = new Map(DEFAULT_BINDINGS.map((b) => [b.command, b]));
  const overrides = opts.overrides ?? {};
  for (const cmd of Object.keys(overrides)) {
    if (!known.has(cmd as Command)) {
      throw new KeyConfigError(`${origin}: unknown command '${cmd}' (known: ${[...known.keys()].join(', ')})`);
    }
  }
  let bindings: KeyBinding[] = DEFAULT_BINDINGS.map((b) => {
    const o = overrides[b.command];
    if (o === undefined) return b;
    const keys = Array.isArray(o) ? o : [o];
    return { ...b, keys };
  });
  if (opts.readonly) bindings = bindings.filter((b) => !b.changes);

  const byKey = new Map<string, Command>();
  for (const b of bindings) {
    if (b.keys.length === 0) continue;
    for (const k of b.keys) {
      if (typeof k !== 'string' || !isValidKeyName(k)) {
        throw new KeyConfigError(`${origin}: '${b.command}': '${String(k)}' is not a key name (use a character, ${[...NAMED_KEYS].join('/')}, or ctrl+x)`);
      }
      const why = RESERVED.get(k);
      if (why) throw new KeyConfigError(`${origin}: '${b.command}': ${k} is reserved (${why})`);
      if (b.changes && (UNSAFE_FOR_CHANGES.has(k) || k.startsWith('ctrl+') || k.startsWith('alt+'))) {
        throw new KeyConfigError(`${origin}: '${b.command}' changes the system and may not be on ${k} (use a plain letter)`);
      }
      const other = byKey.get(k);
      if (other !== undefined) throw new KeyConfigError(`${origin}: key '${k}' is bound to both '${other}' and '${b.command}'`);
      byKey.set(k, b.command);
    }
  }
  return { bindings, byKey, readonly: !!opts.readonly };
}

/**
 * Parses a vtop config file's text: `{"keys": {"kill": "k", "enter": ["e"]}}`.
 * @throws KeyConfigError naming the file and what is wrong
 */
export function parseKeyConfig(text: string, file: string): KeyOverrides {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new KeyConfigError(`${file}: not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    throw new KeyConfigError(`${file}: expected a JSON object like {"keys": {"kill": "k"}}`);
  }
  for (const k of Object.keys(data)) {
    if (k !== 'keys') throw new KeyConfigError(`${file}: unknown setting '${k}' (known: keys)`);
  }
  const keys = (data as { keys?: unknown }).keys;
  if (keys === undefined) return {};
  if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) {
    throw new KeyConfigError(`${file}: "keys" must be an object mapping command to key(s)`);
  }
  const out: KeyOverrides = {};
  for (const [cmd, v] of Object.entries(keys)) {
    const ok = typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
    if (!ok) throw new KeyConfigError(`${file}: keys.${cmd}: expected a key name or a list of key names`);
    out[cmd as Command] = v as string | string[];
  }
  return out;
}

/** how a key name reads in help: `k`, `↑`, `PgDn`, `Ctrl-L` */
export function displayKey(name: string): string {
  const map: Record<string, string> = {
    up: '↑', down: '↓', left: '←', right: '→', pageup: 'PgUp', pagedown: 'PgDn', home: 'Home', end: 'End',
    tab: 'Tab', enter: 'Enter', esc: 'Esc', backspace: 'BkSp', delete: 'Del', space: 'Space',
  };
  if (map[name]) return map[name];
  const m = /^(ctrl|alt)\+(.)$/u.exec(name);
  if (m) return `${m[1] === 'ctrl' ? 'Ctrl' : 'Alt'}-${m[2]!.toUpperCase()}`;
  return name;
}

/** the first key of a command, as help shows it ('' when unbound) */
export function keyFor(keymap: Keymap, command: Command): string {
  const b = keymap.bindings.find((x) => x.command === command);
  return b && b.keys[0] !== undefined ? displayKey(b.keys[0]) : '';
}

/** the help overlay's content: groups of [keys, text] in table order */
export function helpSections(keymap: Keymap): { group: string; entries: { keys: string; help: string; changes: boolean }[] }[] {
  const groups = new Map<string, { keys: string; help: string; changes: boolean }[]>();
  for (const b of keymap.bindings) {
    if (b.keys.length === 0) continue;
    let list = groups.get(b.group);
    if (!list) groups.set(b.group, (list = []));
    list.push({ keys: b.keys.map(displayKey).join(' '), help: b.help, changes: b.changes });
  }
  return [...groups].map(([group, entries]) => ({ group, entries }));
}
