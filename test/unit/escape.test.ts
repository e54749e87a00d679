/**
 * The two escapers of server-sourced text agree: libvctx's (C, through the
 * addon) and escapeText (TypeScript) give the same output for every input
 * of test/fixtures/escape-golden.json, in both styles.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { escapeText } from '../../src/kernel-bridge/escape.js';
import { terminalEscape } from '../../src/kernel-bridge/snapshot.js';

const golden = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/escape-golden.json'), 'utf8')) as {
  cases: [string, string, string][];
};

for (const [input, text, hex] of golden.cases) {
  test(`escape ${JSON.stringify(input)}: C and TypeScript agree`, () => {
    assert.equal(escapeText(input, 'text'), text, 'escapeText, text');
    assert.equal(escapeText(input, 'hex'), hex, 'escapeText, hex');
    assert.equal(terminalEscape(input, 'text'), text, 'vctx_escape');
    assert.equal(terminalEscape(input, 'hex'), hex, 'vctx_escape_hex');
  });
}
