// Shared CLI helpers: option parsing and usage errors, path resolution,
// the minimal S_CONTEXT name read, context resolution.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CliError,
  configuredContextNames,
  EXIT_UNKNOWN,
  EXIT_USAGE,
  parseArgs,
  parseUint,
  PATH_OPTIONS,
  resolveContext,
  resolvePaths,
  setProgram,
  type OptionSpec,
} from '../../../src/cli/common.js';
import { FixtureSnapshotSource } from '../../../src/kernel-bridge/fixture-source.js';
import { contextNames } from '../../../src/views/names.js';

setProgram('vkill');
const specs: OptionSpec[] = [{ long: 'xid', short: 'c', value: true }, { long: 'signal', short: 's', value: true }, { long: 'json' }];

function usage(argv: string[]): CliError {
  try {
    parseArgs(argv, specs);
  } catch (e) {
    assert.ok(e instanceof CliError);
    return e;
  }
  throw new Error('no error');
}

const goodCases: [string[], Record<string, string | true>, string[]][] = [
  [['-s', '9', '123'], { signal: '9' }, ['123']],
  [['-s9', '123'], { signal: '9' }, ['123']],
  [['--signal=HUP', '1', '2'], { signal: 'HUP' }, ['1', '2']],
  [['--xid', '49152'], { xid: '49152' }, []],
  [['-c', 'web', '--', '-5'], { xid: 'web' }, ['-5']],
  [['1', '--json', '2'], { json: true }, ['1', '2']],
  [['--help'], { help: true }, []],
  [['-'], {}, ['-']],
];

for (const [argv, opts, pos] of goodCases) {
  test(`parseArgs ${JSON.stringify(argv)}`, () => {
    const p = parseArgs(argv, specs);
    assert.deepEqual(Object.fromEntries(p.opts), opts);
    assert.deepEqual(p.positionals, pos);
  });
}

const badCases: [string[], string][] = [
  [['--bogus'], "unknown option '--bogus'; try 'vkill --help'"],
  [['-x'], "unknown option '-x'; try 'vkill --help'"],
  [['-s'], "option '-s' needs a value; try 'vkill --help'"],
  [['--xid'], "option '--xid' needs a value; try 'vkill --help'"],
  [['--json=1'], "option '--json' takes no value; try 'vkill --help'"],
];

for (const [argv, msg] of badCases) {
  test(`usage error ${JSON.stringify(argv)}: one line, exit 2`, () => {
    const e = usage(argv);
    assert.equal(e.exitCode, EXIT_USAGE);
    assert.equal(e.message, msg);
    assert.ok(!e.message.includes('\n'));
  });
}

test('stopAtPositional leaves the rest to the command', () => {
  const p = parseArgs(['--json', 'ax', '--json', '-o', 'pid'], specs, { stopAtPositional: true });
  assert.deepEqual(p.positionals, ['ax', '--json', '-o', 'pid']);
});

test('paths: flag beats environment beats default', () => {
  const env = { VSERVER_CONFDIR: '/env/conf', VSERVER_RUNDIR: '' };
  const p = parseArgs(['--confdir', '/flag/conf'], PATH_OPTIONS);
  assert.deepEqual(resolvePaths(p, env), { confdir: '/flag/conf', rootdir: '/vservers', rundir: '/run/vservers' });
  assert.deepEqual(resolvePaths(null, env), { confdir: '/env/conf', rootdir: '/vservers', rundir: '/run/vservers' });
  assert.deepEqual(resolvePaths(null, {}), { confdir: '/etc/vservers', rootdir: '/vservers', rundir: '/run/vservers' });
});

test('configuredContextNames reads S_CONTEXT of NAME.conf', () => {
  const d = mkdtempSync(join(tmpdir(), 'vctx-conf-'));
  try {
    writeFileSync(join(d, 'web.conf'), '# web\nIPROOT="10.0.0.1"\nS_CONTEXT="42"\n');
    writeFileSync(join(d, 'db.conf'), "S_CONTEXT=43 # static\n");
    writeFileSync(join(d, 'dyn.conf'), 'S_HOSTNAME="dyn"\n');
    writeFileSync(join(d, 'notes.txt'), 'S_CONTEXT=44\n');
    writeFileSync(join(d, 'bad.conf'), '#S_CONTEXT=45\nS_CONTEXT="x"\n');
    assert.deepEqual([...configuredContextNames(d)].sort(), [[42, 'web'], [43, 'db']]);
    assert.deepEqual([...configuredContextNames(join(d, 'missing'))], []);
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});

test('parseUint', () => {
  assert.equal(parseUint('0'), 0);
  assert.equal(parseUint('49152'), 49152);
  assert.equal(parseUint('-1'), null);
  assert.equal(parseUint('1e3'), null);
  assert.equal(parseUint(''), null);
  assert.equal(parseUint('12345678901'), null);
});

test('resolveContext: numbers and running server names; unknown -> exit 3', () => {
  const s = new FixtureSnapshotSource(join(import.meta.dirname, '../../fixtures/observe/host.json')).snapshot();
  const names = contextNames(s);
  assert.equal(resolveContext('web', s, names), 2);
  assert.equal(resolveContext('49152', s, names), 49152);
  assert.equal(resolveContext('0', s, names), 0);
  for (const [arg, msg] of [
    ['77', 'context 77 is not running'],
    ['nosuch', "unknown server 'nosuch' (give a context number or the name of a running server)"],
  ] as const) {
    try {
      resolveContext(arg, s, names);
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof CliError);
      assert.equal(e.exitCode, EXIT_UNKNOWN);
      assert.equal(e.message, msg);
    }
  }
});
