import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lexConfig } from '../../../src/config/lexer.js';

describe('lexConfig: quoting like a shell, nothing run', () => {
  const cases: Array<[string, string]> = [
    ['KEY=value', 'value'],
    ['KEY="double quoted"', 'double quoted'],
    ["KEY='single quoted'", 'single quoted'],
    ['KEY=', ''],
    ['KEY=""', ''],
    ["KEY=''", ''],
    ['KEY="a"\'b\'c', 'abc'],
    ['KEY="say \\"hi\\""', 'say "hi"'],
    ['KEY="back\\\\slash"', 'back\\slash'],
    ['KEY="\\$HOME"', '$HOME'],
    ['KEY="keep \\n as is"', 'keep \\n as is'],
    ["KEY='no \\escape'", 'no \\escape'],
    ['KEY=a\\ b', 'a b'],
    ['KEY="$(rm -rf /)"', '$(rm -rf /)'],
    ['KEY=$(rm)', '$(rm)'],
    ['KEY="`reboot`"', '`reboot`'],
    ['KEY=a;b', 'a;b'],
    ['KEY="a; rm -rf /"', 'a; rm -rf /'],
    ['KEY=a|b&c>d', 'a|b&c>d'],
    ['KEY="$VAR"', '$VAR'],
    ['KEY=a#b', 'a#b'],
    ['KEY="v"   # comment', 'v'],
    ['KEY=v # comment', 'v'],
    ['  KEY="indented"', 'indented'],
    ['export KEY="exported"', 'exported'],
    ['KEY="crlf"\r', 'crlf'],
  ];
  for (const [line, value] of cases) {
    it(`${JSON.stringify(line)} -> ${JSON.stringify(value)}`, () => {
      const r = lexConfig(line + '\n');
      assert.deepEqual(r.problems, []);
      assert.deepEqual(r.assignments, [{ key: 'KEY', value, line: 1 }]);
    });
  }

  it('skips comments and blank lines and counts lines from 1', () => {
    const r = lexConfig('# comment\n\n   \n\t# indented comment\nA=1\nB=2');
    assert.deepEqual(r.assignments, [{ key: 'A', value: '1', line: 5 }, { key: 'B', value: '2', line: 6 }]);
  });

  const bad: Array<[string, RegExp]> = [
    ['echo hello', /not an assignment/],
    ['rm -rf /', /not an assignment/],
    ['$(touch /tmp/x)', /not an assignment/],
    ['KEY = value', /no blanks around '='/],
    ['KEY="unterminated', /unterminated double quote/],
    ["KEY='unterminated", /unterminated single quote/],
    ['KEY=two words', /unquoted blank/],
    ['KEY= value', /unquoted blank/],
    ['KEY="a" ; touch /tmp/x', /unquoted blank/],
    ['KEY=trailing\\', /continuation/],
    ['1KEY=v', /not an assignment/],
  ];
  for (const [line, re] of bad) {
    it(`rejects ${JSON.stringify(line)} with its line number`, () => {
      const r = lexConfig(`# first\n${line}\n`);
      assert.equal(r.assignments.length, 0);
      assert.equal(r.problems.length, 1);
      assert.equal(r.problems[0]!.line, 2);
      assert.match(r.problems[0]!.message, re);
    });
  }

  it('names the key when the line got that far', () => {
    const r = lexConfig('S_HOSTNAME="open\n');
    assert.equal(r.problems[0]!.key, 'S_HOSTNAME');
  });
});
