// util-vserver's memory and time formats, every range boundary.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeForTerminal, formatDuration, formatMemory, ticksToMs, truncate } from '../../../src/views/format.js';

const K = 1024;
const M = K * K;
const G = M * K;
const T = G * K;

const memoryCases: [number, string][] = [
  [0, '0 '],
  [1, '1 '],
  [286, '286 '],
  [999, '999 '],
  // 1000..1023 bytes no longer fit in 3 digits: tenths of the next unit
  [1000, '0.9K'],
  [1023, '0.9K'],
  [1024, '1K'],
  [1024 + 102, '1K'], // 0.099 KiB: tenths truncate to 0, no decimal
  [1024 + 103, '1.1K'],
  [1536, '1.5K'],
  [999 * K, '999K'],
  [999 * K + 1023, '999.9K'],
  [1000 * K, '0.9M'],
  [M, '1M'],
  [14 * M + 820 * K, '14.8M'],
  [14 * M + 819 * K, '14.7M'], // tenths truncate, never round
  [999 * M + 1023 * K, '999.9M'],
  [G, '1G'],
  [G + 103 * M, '1.1G'],
  [G + 102 * M, '1G'],
  [T, '1T'],
  [999 * T, '999T'],
  [1000 * T, '0.9+'],
  [1024 * T, '1+'],
  [-5, '0 '],
  [12.7, '12 '],
];

for (const [bytes, want] of memoryCases) {
  test(`formatMemory(${bytes}) = '${want}'`, () => {
    assert.equal(formatMemory(bytes), want);
  });
}

test('formatMemory never exceeds the 7-column field', () => {
  for (let b = 1; b < 2 ** 53; b = Math.floor(b * 1.37) + 1) {
    assert.ok(formatMemory(b).length <= 7, `${b} -> ${formatMemory(b)}`);
  }
});

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const D = 24 * H;

const durationCases: [number, string][] = [
  [0, '0m00s00'],
  [9, '0m00s00'],
  [10, '0m00s01'],
  [50, '0m00s05'], // hundredths, not milliseconds
  [990, '0m00s99'],
  [999, '0m00s99'],
  [S, '0m01s00'],
  [MIN - 1, '0m59s99'],
  [MIN, '1m00s00'],
  [12 * MIN + 34 * S + 320, '12m34s32'],
  [H - 1, '59m59s99'],
  [H, '1h00m00'],
  [2 * H + 33 * MIN + 3 * S + 999, '2h33m03'],
  [D - 1, '23h59m59'],
  [D, '1d00h00'],
  [4 * D + H + 3 * MIN, '4d01h03'],
  [999 * D + D - 1, '999d23h59'],
  [1000 * D, '2y270d00'],
  [1095 * D + 5 * H, '3y00d05'],
  [365 * 10 * D + 7 * D, '10y07d00'],
  [999 * 999 * D, '2734y91d00'],
  [999 * 999 * D + D - 1, '2734y91d23'],
  [(999 * 999 + 1) * D, 'INVALID'],
  [-1, '0m00s00'],
];

for (const [ms, want] of durationCases) {
  test(`formatDuration(${ms}) = '${want}'`, () => {
    assert.equal(formatDuration(ms), want);
  });
}

test('formatDuration fits the 10-column field: 9 characters up to 99 years, 10 up to 999', () => {
  for (let ms = 1; ms < 100 * 365 * D; ms = Math.floor(ms * 1.5) + 7) {
    assert.ok(formatDuration(ms).length <= 9, `${ms} -> ${formatDuration(ms)}`);
  }
  for (let ms = 100 * 365 * D; ms < 1000 * 365 * D; ms = Math.floor(ms * 1.1) + 7) {
    assert.ok(formatDuration(ms).length <= 10, `${ms} -> ${formatDuration(ms)}`);
  }
});

test('ticksToMs truncates like util-vserver (ticks*1000/hz)', () => {
  assert.equal(ticksToMs(10275, 100), 102750);
  assert.equal(ticksToMs(1, 250), 4);
  assert.equal(ticksToMs(1, 3), 333);
  assert.equal(ticksToMs(5, 0), 50); // a broken hz falls back to 100
});

const escapeCases: [string, string][] = [
  ['web', 'web'],
  ['tab\tname', 'tab\\tname'],
  ['new\nline', 'new\\nline'],
  ['cr\r', 'cr\\r'],
  ['esc\x1b[31m', 'esc\\x1b[31m'],
  ['del\x7f', 'del\\x7f'],
  ['back\\slash', 'back\\\\slash'],
  ['c1\u009b', 'c1\\u{9b}'],
  ['ls\u2028', 'ls\\u{2028}'],
  ['héllo wörld', 'héllo wörld'],
  ['日本', '日本'],
];

for (const [raw, want] of escapeCases) {
  test(`escapeForTerminal(${JSON.stringify(raw)})`, () => {
    assert.equal(escapeForTerminal(raw), want);
  });
}

test('truncate cuts whole code points', () => {
  assert.equal(truncate('abc', 20), 'abc');
  assert.equal(truncate('a-server-name-longer-than-twenty', 20), 'a-server-name-longer');
  assert.equal(truncate('😀😀😀', 2), '😀😀');
});
