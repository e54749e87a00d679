import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildKeymap, DEFAULT_BINDINGS, helpSections, keyName, KeyConfigError, lookup, parseKeyConfig, type InkKey } from '../../../src/ui/keys.js';

const K = (o: Partial<InkKey> = {}): InkKey => ({
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageUp: false, pageDown: false, home: false, end: false,
  return: false, escape: false, tab: false, backspace: false, delete: false, ctrl: false, meta: false, shift: false, ...o,
});

test('the default table is valid and every changing action is on a plain key', () => {
  const km = buildKeymap();
  for (const b of DEFAULT_BINDINGS.filter((x) => x.changes)) {
    for (const k of b.keys) assert.match(k, /^[a-zA-Z]$/, `${b.command} on ${k}`);
  }
  assert.equal(lookup(km, 'k'), 'kill');
  assert.equal(lookup(km, 'K'), 'killHard');
  assert.equal(lookup(km, 'esc'), 'clearFilter');
  assert.equal(lookup(km, 'backspace'), undefined);
  assert.equal(lookup(km, 'ctrl+b'), undefined);
  assert.equal(lookup(km, 'ctrl+a'), undefined);
});

test('readonly drops every changing action from dispatch and help', () => {
  const km = buildKeymap({ readonly: true });
  for (const k of ['k', 'K', 'x', 'X', 's', 'S', 'r', 'e']) assert.equal(lookup(km, k), undefined, k);
  const help = helpSections(km).flatMap((s) => s.entries);
  assert.ok(help.every((e) => !e.changes));
  assert.ok(!helpSections(km).some((s) => s.group === 'Act'));
});

test('keyName: Ctrl and Alt chords, pastes and stray bytes never look like plain keys', () => {
  assert.equal(keyName('k', K()), 'k');
  assert.equal(keyName('k', K({ ctrl: true })), 'ctrl+k');
  assert.equal(keyName('k', K({ meta: true })), 'alt+k');
  assert.equal(keyName('b', K({ ctrl: true })), 'ctrl+b');
  assert.equal(keyName('kkk', K()), null, 'a paste is not a command');
  assert.equal(keyName('[A', K()), null, 'a split escape sequence tail is not a command');
  assert.equal(keyName('', K({ escape: true, meta: true })), 'esc');
  assert.equal(keyName('', K({ backspace: true })), 'backspace');
  assert.equal(keyName('\x01', K()), null);
});

test('overrides are validated: unsafe, reserved, duplicate, unknown', () => {
  const bad = (o: object, re: RegExp) => assert.throws(() => buildKeymap({ overrides: o, origin: 'f.json' }), (e: unknown) =>
    e instanceof KeyConfigError && re.test(e.message) && e.message.startsWith('f.json'));
  bad({ kill: 'backspace' }, /'kill' changes the system and may not be on backspace/);
  bad({ killHard: 'esc' }, /may not be on esc/);
  bad({ stop: 'ctrl+k' }, /may not be on ctrl\+k/);
  bad({ help: 'ctrl+b' }, /reserved \(the tmux prefix\)/);
  bad({ quit: 'ctrl+a' }, /reserved/);
  bad({ kill: 'q' }, /key 'q' is bound to both/);
  bad({ nuke: 'z' }, /unknown command 'nuke'/);
  bad({ kill: 'kk' }, /not a key name/);
  const ok = buildKeymap({ overrides: { kill: 'z', help: ['?', 'f'] } });
  assert.equal(lookup(ok, 'z'), 'kill');
  assert.equal(lookup(ok, 'k'), undefined);
  assert.equal(lookup(ok, 'f'), 'help');
});

test('config files: JSON errors and shapes name the file', () => {
  assert.deepEqual(parseKeyConfig('{"keys":{"kill":"z"}}', 'a.json'), { kill: 'z' });
  assert.throws(() => parseKeyConfig('{', 'a.json'), /^KeyConfigError: a\.json: not valid JSON/);
  assert.throws(() => parseKeyConfig('{"colors":1}', 'a.json'), /a\.json: unknown setting 'colors'/);
  assert.throws(() => parseKeyConfig('{"keys":{"kill":3}}', 'a.json'), /a\.json: keys\.kill: expected a key name/);
});
