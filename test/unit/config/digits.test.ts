/** The one "all digits" rule of the TypeScript side (src/config/digits.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDigits } from '../../../src/config/digits.js';

test('isDigits: one or more ASCII digits and nothing else', () => {
  for (const yes of ['0', '7', '42', '0012', '4194304']) assert.equal(isDigits(yes), true, yes);
  for (const no of ['', ' 1', '1 ', '-1', '+1', '1.0', '1e3', '0x1f', '١٢', '１２', '12\n', 'abc']) assert.equal(isDigits(no), false, JSON.stringify(no));
});
