// src/ui/fast-output.ts against Ink's own Output: the same operations must
// give the same screen: the same character with the same styles in every
// cell (the escape sequences may be spelled differently).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Chalk } from 'chalk';
import { styledCharsFromTokens, tokenize } from '@alcalzone/ansi-tokenize';
import FastOutput from '../../../src/ui/fast-output.js';
import { projectRoot } from '../../../src/kernel-bridge/addon.js';

type Transformer = (line: string, index: number) => string;
type Op =
  | ['write', number, number, string, Transformer[]?]
  | ['clip', { x1?: number; x2?: number; y1?: number; y2?: number }]
  | ['unclip'];

interface OutputLike {
  write(x: number, y: number, text: string, o: { transformers: Transformer[] }): void;
  clip(c: object): void;
  unclip(): void;
  get(): { output: string; height: number };
}
type OutputClass = new (o: { width: number; height: number }) => OutputLike;

// Ink does not export its Output: loaded from its file
const InkOutput = (await import(pathToFileURL(join(projectRoot, 'node_modules', 'ink', 'build', 'output.js')).href)).default as OutputClass;
const c = new Chalk({ level: 3 });

function run(Cls: OutputClass, width: number, height: number, ops: readonly Op[]): { output: string; height: number } {
  const o = new Cls({ width, height });
  for (const op of ops) {
    if (op[0] === 'write') o.write(op[1], op[2], op[3], { transformers: op[4] ?? [] });
    else if (op[0] === 'clip') o.clip(op[1]);
    else o.unclip();
  }
  return o.get();
}

/** a row as cells: each character with the set of styles it is drawn in; unstyled trailing blanks dropped */
function cells(line: string): string[] {
  const out = styledCharsFromTokens(tokenize(line)).map((ch) => `${ch.value}|${ch.styles.map((s) => s.code).sort().join(',')}`);
  while (out.length && out[out.length - 1] === ' |') out.pop();
  return out;
}

function same(width: number, height: number, ops: readonly Op[], what: string): string {
  const ink = run(InkOutput, width, height, ops);
  const fast = run(FastOutput as unknown as OutputClass, width, height, ops);
  assert.equal(fast.height, ink.height, `${what}: height`);
  const a = ink.output.split('\n');
  const b = fast.output.split('\n');
  assert.equal(b.length, a.length, `${what}: rows`);
  for (let r = 0; r < a.length; r++) assert.deepEqual(cells(b[r]!), cells(a[r]!), `${what}: row ${r}\nink:  ${JSON.stringify(a[r])}\nfast: ${JSON.stringify(b[r])}`);
  return fast.output;
}

test('side-by-side text, gaps, multi-line writes and rows left empty', () => {
  const out = same(40, 6, [
    ['write', 0, 0, 'XID NAME'],
    ['write', 12, 0, c.bold('STATE')],
    ['write', 2, 1, 'one\ntwo\nthree'],
    ['write', 20, 2, c.green('running') + ' ' + c.inverse(' sel ')],
  ], 'plain');
  assert.equal(out.split('\n')[5], '', 'an untouched row is empty');
  assert.match(out.split('\n')[0]!, /^XID NAME {4}/);
});

test('a write over earlier text cuts it and keeps the styles of what is left', () => {
  same(30, 3, [
    ['write', 0, 0, c.red('abcdefghijklmnopqrstuvwxyz')],
    ['write', 5, 0, c.bgBlue.white('XYZ')],
    ['write', 0, 1, 'left ' + c.underline('middle') + ' right'],
    ['write', 3, 1, c.inverse('    ')],
    ['write', 10, 1, 'over the end of everything'],
    ['write', 0, 2, c.yellow('0123456789')],
    ['write', 0, 2, 'ab'],
    ['write', 8, 2, c.bold('!!')],
    ['write', 4, 2, c.cyan('c')],
  ], 'overlap');
});

test('an overlay box over a table (the confirm dialog)', () => {
  const table: Op[] = [];
  for (let y = 0; y < 10; y++) table.push(['write', 0, y, `${String(y).padStart(3)} ${c.green('process')} ${'x'.repeat(30)}`]);
  same(50, 10, [
    ...table,
    ['write', 10, 3, '┌────────────┐\n│ ' + c.bold('Send?') + '      │\n│ [y] [N]    │\n└────────────┘'],
  ], 'dialog');
});

test('wide characters, emoji and combining marks', () => {
  same(20, 3, [
    ['write', 0, 0, '漢字かな ok'],
    ['write', 0, 1, c.magenta('é̂ x') + ' 👍 end'],
    ['write', 3, 2, '中文'],
    ['write', 8, 2, 'tail'],
  ], 'wide');
});

test('clipping as Ink clips: horizontal, vertical, nested, and text outside altogether', () => {
  same(30, 8, [
    ['clip', { x1: 2, x2: 12, y1: 1, y2: 5 }],
    ['write', 0, 0, 'row zero never shown\nrow one: clipped on both sides\nrow two ' + c.red('red part that is long')],
    ['write', 20, 2, 'right of the clip'],
    ['write', 4, 6, 'below the clip'],
    ['clip', { x1: undefined, x2: undefined, y1: 3, y2: 4 }],
    ['write', 5, 2, 'a\nb\nc\nd'],
    ['unclip'],
    ['unclip'],
    ['write', 0, 7, 'after unclip'],
  ], 'clip');
});

test('transformers get each line and its index', () => {
  const upper: Transformer = (line, i) => `${i}:${line.toUpperCase()}`;
  same(20, 3, [['write', 1, 0, 'ab\ncd\nef', [upper]]], 'transform');
});

test('text beyond the width and below the height', () => {
  same(10, 2, [
    ['write', 6, 0, 'longer than the width'],
    ['write', 0, 1, 'two\nthree\nfour'],
  ], 'bounds');
});

test('500 random screens of overlapping styled writes', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const styles = [(s: string) => s, c.red, c.bold, c.inverse, c.bgGreen.black, c.underline.blue, c.dim];
  const words = ['a', 'process', '12345', '  ', 'xid 7', 'sleeper', '│', '…', 'web1'];
  for (let i = 0; i < 500; i++) {
    const width = 5 + rnd(40);
    const height = 1 + rnd(6);
    const ops: Op[] = [];
    for (let n = 1 + rnd(8); n > 0; n--) {
      let text = '';
      for (let k = 1 + rnd(4); k > 0; k--) text += styles[rnd(styles.length)]!(words[rnd(words.length)]!) + (rnd(3) ? '' : '\n');
      ops.push(['write', rnd(width), rnd(height), text]);
    }
    same(width, height, ops, `screen ${i}: ${JSON.stringify(ops)}`);
  }
});
