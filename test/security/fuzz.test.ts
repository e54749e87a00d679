/**
 * Property-based fuzzing (fast-check) of every parser that takes text from
 * a user or a file: the NAME.conf parser (src/config) and the argument
 * parsers of every command - the bundled CLIs (vserver through its C front,
 * vserver-all, vserver-stat and vps through theirs, vpstree, vkill, vtop)
 * and the C tools (chcontext, chbind, reducecap, vdu, vserver-info) - on
 * hostile input: long values, control characters, shell metacharacters,
 * path traversal, odd numbers, invalid UTF-8 (config files).
 *
 * NUL bytes: argv cannot carry them (execve ends each argument at its first
 * NUL: Node refuses such an argument with ERR_INVALID_ARG_VALUE before any
 * tool runs), so they are fuzzed only where they can arrive - in
 * configuration files.
 *
 * Each run must end with no crash (an exit code of the contract, 0-3, or
 * 126/127 for a command a C tool could not execute; never a signal), no
 * stack trace or internal error, and, when it fails, one line of error
 * that names the problem (control characters shown escaped, so a line
 * break in the input never breaks the line).
 *
 * The whole run happens in a mount namespace of its own where every mount
 * but the run's temporary directory is read-only (checked mount by mount
 * before the first run), so nothing can be written outside it; a tool
 * that tried anyway (EROFS) is reported.  The outer test makes the
 * namespace (unshare -m) and runs this file again inside it.
 *
 * Left out on purpose: verbs and options that signal or stop real
 * processes whatever the file system (`stop`, `restart`, `kill`, vkill's
 * PIDs as bare numbers, `--confdir`/`--rootdir`/`--rundir`, which stay on
 * the temporary directory): a random argv must not end a service of the host.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { formatIssue } from '../../src/config/issues.js';
import { parseServerConfig } from '../../src/config/parse.js';
import { commandPath } from '../helpers/commands.js';
import { projectRoot, toolsDir } from '../helpers/kernel.js';

const isRoot = process.getuid?.() === 0;
const INSIDE = process.env.VCTX_FUZZ_NS === '1';
const SELF = fileURLToPath(import.meta.url);
/** runs per command (fast-check's numRuns); VCTX_FUZZ_RUNS raises it */
const RUNS = Number(process.env.VCTX_FUZZ_RUNS) || 40;

/* ------------------------------------------------------------ hostile text */

const LONG = 'A'.repeat(70_000);
const interesting = [
  '', ' ', '-', '--', '---', '-=', '--=', '=', '-h', '--help', '--version', '-1', '0', '-0', '4294967296', '99999999999999999999',
  '1e3', '0x10', 'NaN', 'Infinity', '%s%s%s%n', '%x', '${IFS}', '$(id)', '`id`', '; id', '| id', '&& id', "' OR 1=1", '"', "'", '\\',
  '*', '?', '[', '~', '~root', '!', '#', '\n', '\r\n', '\t', '\x1b[2J\x1b[H', '\x1b]0;pwned\x07', '\x7f', '\u0085', '\u202e', '\ufeff',
  '../../../../etc/passwd', '../..', './.', '/etc/shadow', '/proc/self/mem', '/dev/tcp/127.0.0.1/1', 'a/../../b', 'web1/../../x',
  'x'.repeat(65), 'x'.repeat(256), 'x'.repeat(4097), LONG, '127.0.0.1', '0.0.0.0', '::', '256.1.1.1', '127.0.0.1/33', 'lo', 'eth0:1',
  'CAP_SYS_ADMIN', '!CAP_CHOWN', 'ALL', 'ULIMIT', 'MEMORY_MAX=1T', 'S_CAPS=CAP_SYS_ADMIN', 'KEY=', '=value', 'é', '日本', '\ud83d\ude00',
];
/** argv words: curated hostile ones, random text, and joins of them (never a NUL: argv cannot carry one) */
const word = fc.oneof(
  fc.constantFrom(...interesting),
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.string({ maxLength: 12, unit: 'grapheme-ascii' }),
  // one argv string is at most MAX_ARG_STRLEN (128 KiB), or exec fails (E2BIG) before any command runs: LONG + LONG is cut
  fc.tuple(fc.constantFrom(...interesting), fc.constantFrom(...interesting)).map(([a, b]) => (a + b).slice(0, 131_000)),
).map((s) => s.replace(/\0/g, ''));

/* ------------------------------------------------------------ commands */

interface Tool {
  name: string;
  /** argv before the fuzzed words */
  argv: (dir: string) => string[];
  /** words the command knows, mixed with the hostile ones */
  known: string[];
  /** exit codes beside 0-3: a C tool that could not execute CMD says 126/127 */
  exec?: boolean;
  /** a word this tool must never get (it would act on the host) */
  forbid?: (w: string) => boolean;
  /** the tool prints another program's usage (ps), not one line */
  foreignErrors?: boolean;
  /** one error line per bad operand (du's way), each `TOOL: ...` */
  linePerOperand?: boolean;
}

const dangerous = (w: string) => /^(stop|restart|kill|halt|reboot|--confdir|--rootdir|--rundir)(=|$)/.test(w);
const number = (w: string) => /^\s*[+-]?\d+\s*$/.test(w);
const vsDirs = (d: string) => ['--confdir', join(d, 'etc'), '--rootdir', join(d, 'vs'), '--rundir', join(d, 'run')];

const TOOLS: Tool[] = [
  {
    name: 'vserver', argv: (d) => [commandPath('vserver'), ...vsDirs(d)],
    known: ['fz1', 'status', 'running', 'build', 'start', 'enter', 'exec', 'set', 'log', 'delete', '--force', '--ip', '--template',
      'busybox', '--hostname', '--ip6', '--nat', '--json', '--timeout', '--allow-clash'],
    forbid: dangerous,
  },
  { name: 'vserver-all', argv: (d) => [commandPath('vserver-all'), ...vsDirs(d)], known: ['status', '--json', '--timeout'], forbid: dangerous },
  { name: 'vserver-stat', argv: () => [commandPath('vserver-stat')], known: ['--json', '--help', '--sort'], forbid: dangerous },
  { name: 'vps', argv: () => [commandPath('vps')], known: ['ax', 'aux', '-e', '-o', 'pid,comm', '--xid'], forbid: dangerous, foreignErrors: true },
  { name: 'vpstree', argv: () => [commandPath('vpstree')], known: ['-p', '--xid', '1'], forbid: dangerous },
  // vkill: no bare numbers, which are PIDs and context numbers of real processes
  { name: 'vkill', argv: () => [commandPath('vkill')], known: ['--xid', '-s', 'TERM', 'KILL', '-l', '--help'], forbid: (w) => dangerous(w) || number(w) },
  { name: 'vtop', argv: () => [process.execPath, commandPath('vtop'), '--once'], known: ['--json', '--readonly', '--interval', '0.5', '--once'], forbid: dangerous },
  {
    name: 'chcontext', argv: () => [join(toolsDir, 'chcontext')], exec: true,
    known: ['--secure', '--ctx', '--xid', '--cap', '--flag', '--hostname', '--root', '--ip', '--pty', '--daemon', '--silent', '--'],
    forbid: (w) => dangerous(w) || number(w),
  },
  { name: 'chbind', argv: () => [join(toolsDir, 'chbind')], exec: true, known: ['--ip', '--ip6', '--nat', '--'], forbid: dangerous },
  { name: 'reducecap', argv: () => [join(toolsDir, 'reducecap')], exec: true, known: ['--secure', '--cap', '--show', '--pid', '--'], forbid: (w) => dangerous(w) || number(w) },
  // vdu walks what it is given: no '/' or '..' alone (the whole host)
  { name: 'vdu', argv: () => [join(toolsDir, 'vdu')], linePerOperand: true, known: ['--help', '-s', '--xid'], forbid: (w) => dangerous(w) || /^[/.]*$/.test(w) || w.startsWith('/proc/self/root') },
  { name: 'vserver-info', argv: () => [join(toolsDir, 'vserver-info')], known: ['xid', '-'], forbid: (w) => dangerous(w) || number(w) },
];

/* ------------------------------------------------------------ checks */

const TRACE = /^\s+at .+:\d+:\d+\)?$|internal error|TypeError|RangeError|ReferenceError|SyntaxError|Segmentation fault|core dumped|stack smashing|AddressSanitizer|Aborted/m;
const erofs: string[] = [];

function checkRun(t: Tool, args: string[], r: ReturnType<typeof spawnSync>): void {
  const out = String(r.stdout ?? '');
  const err = String(r.stderr ?? '');
  const story = () => `${t.name} ${JSON.stringify(args).slice(0, 400)}\n  exit ${r.status} signal ${r.signal}\n  stderr: ${JSON.stringify(err.slice(0, 800))}`;
  // (not assert.equal: its report would print the error's whole argv, LONG words and all)
  assert.ok(r.error === undefined, `${story()}\n  spawn: ${r.error}`);
  assert.equal(r.signal, null, `crashed (signal): ${story()}`);
  const allowed = [0, 1, 2, 3, ...(t.exec ? [126, 127] : [])];
  assert.ok(allowed.includes(r.status!), `exit code outside the contract: ${story()}`);
  assert.doesNotMatch(err, TRACE, `a stack trace or internal error: ${story()}`);
  assert.doesNotMatch(out, TRACE, `a stack trace or internal error on stdout: ${story()}`);
  if (/Read-only file system|EROFS/.test(err)) erofs.push(`${t.name} ${JSON.stringify(args).slice(0, 200)}: ${err.trim().split('\n')[0]}`);
  if (r.status !== 0 && !t.foreignErrors) {
    const lines = err.replace(/\n$/, '').split('\n').filter((l) => !new RegExp(`^${t.name}: warning`).test(l));
    // C tools may add "Try 'TOOL --help' for more information."
    const body = lines.filter((l) => !/^Try '.*--help'/.test(l));
    if (t.linePerOperand) assert.ok(body.every((l) => l.startsWith(`${t.name}: `)) && body.length <= args.length, `not one error line per operand: ${story()}`);
    else assert.ok(body.length <= 1, `the error is not one line: ${story()}`);
    // `vserver NAME running` answers by its exit code alone (1: not running), by contract
    // (`vserver -- NAME running` too: `--` ends the options before the name)
    const words = args[0] === '--' ? args.slice(1) : args;
    const silentAnswer = t.name === 'vserver' && r.status === 1 && words[1] === 'running' && body.join('') === '';
    if (!silentAnswer) assert.ok(body.length >= 1 && body[0]!.trim().length > 0, `a failure without an error line: ${story()}`);
  }
}

/* ------------------------------------------------------------ the namespace */

/** every mount point but @keep made read-only in this (new) mount namespace; returns those that stayed writable */
function readOnlyExcept(keep: string): string[] {
  const unesc = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').map((l) => {
    const f = l.split(' ');
    return { mp: unesc(f[4]!), opts: f[5]! };
  });
  // never in the host's namespace: everything there would go read-only for everyone
  const outer = process.env.VCTX_FUZZ_OUTER_NS;
  if (!outer || readlinkSync('/proc/self/ns/mnt') === outer) {
    throw new Error('refusing to remount: not in a mount namespace of its own (run through the outer test, which makes one with unshare -m)');
  }
  let r = spawnSync('mount', ['--make-rprivate', '/']);
  assert.equal(r.status, 0, `mount --make-rprivate /: ${r.stderr}`);
  r = spawnSync('mount', ['--bind', keep, keep]);
  assert.equal(r.status, 0, `mount --bind ${keep}: ${r.stderr}`);
  for (const m of mounts()) {
    if (m.mp === keep || m.opts.split(',').includes('ro')) continue;
    spawnSync('mount', ['-o', 'remount,bind,ro', m.mp]);
  }
  // the topmost mount on each mount point decides
  const top = new Map<string, string>();
  for (const m of mounts()) top.set(m.mp, m.opts);
  return [...top].filter(([mp, o]) => mp !== keep && !o.split(',').includes('ro')).map(([mp]) => mp);
}

/* ------------------------------------------------------------ outside: make the namespace, run inside */

if (!INSIDE) {
  describe('fuzz: the parsers on hostile input, in a read-only mount namespace', { skip: !isRoot && 'needs root (a mount namespace of its own)' }, () => {
    test('every parser, inside unshare -m with all but its temporary directory read-only', { timeout: 15 * 60_000 }, () => {
      // build the bundles out here, where the tree is writable
      for (const t of ['vserver', 'vserver-all', 'vserver-stat', 'vps', 'vpstree', 'vkill', 'vtop'] as const) commandPath(t);
      const dir = mkdtempSync(join(tmpdir(), 'vctx-fuzz-'));
      try {
        mkdirSync(join(dir, 'tmp'));
        const r = spawnSync('unshare', ['--mount', '--propagation', 'private', '--', process.execPath, '--import', 'tsx', '--test',
          '--test-reporter=spec', SELF], {
          cwd: projectRoot, encoding: 'utf8', maxBuffer: 64 << 20,
          // NODE_TEST_CONTEXT would make the inner runner report to ours instead of running its tests
          env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_TEST_CONTEXT')), VCTX_FUZZ_NS: '1', VCTX_FUZZ_OUTER_NS: readlinkSync('/proc/self/ns/mnt'), VCTX_FUZZ_DIR: dir, TMPDIR: join(dir, 'tmp'), FORCE_COLOR: '0' },
        });
        const report = `${r.stdout}\n${r.stderr}`;
        for (const l of report.split('\n').filter((x) => /^\s*(✔|✖|#)/.test(x))) console.log(`  ${l.trim()}`);
        assert.equal(r.status, 0, `the fuzz run inside the namespace failed:\n${report.slice(-12000)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

/* ------------------------------------------------------------ inside */

if (INSIDE) {
  const dir = process.env.VCTX_FUZZ_DIR!;

  describe('fuzz inside the namespace', () => {
    before(() => {
      const writable = readOnlyExcept(dir);
      assert.deepEqual(writable, [], `these mounts could not be made read-only: ${writable.join(', ')}`);
      for (const d of ['etc', 'vs', 'run', 'work']) mkdirSync(join(dir, d), { recursive: true });
    });
    after(() => {
      if (erofs.length) console.log(`# ${erofs.length} runs tried to write outside the temporary directory (refused by the read-only namespace):\n# ${erofs.slice(0, 20).join('\n# ')}`);
    });

    test('the namespace: a write outside the temporary directory fails with EROFS', () => {
      assert.throws(() => writeFileSync(join(projectRoot, `.fuzz-${process.pid}`), 'x'), /EROFS/);
      assert.throws(() => writeFileSync('/etc/.vctx-fuzz', 'x'), /EROFS/);
      writeFileSync(join(dir, 'ok'), 'x');
    });

    test('NUL bytes cannot reach a command through argv (Node refuses them before exec)', () => {
      assert.throws(() => spawnSync(join(toolsDir, 'vserver-info'), ['a\0b']), { code: 'ERR_INVALID_ARG_VALUE' });
    });

    test('config parser: any text, NUL bytes and invalid UTF-8 included, gives a result or errors naming file and line', () => {
      const line = fc.oneof(
        fc.constantFrom(...interesting),
        fc.tuple(fc.constantFrom('IPROOT', 'S_CAPS', 'ULIMIT', 'S_HOSTNAME', 'MEMORY_MAX', 'S_FLAGS', 'S_CONTEXT', 'CPU_MAX', 'NAT', 'X'),
          fc.oneof(fc.constantFrom(...interesting), fc.string({ unit: 'binary', maxLength: 80 }))).map(([k, v]) => `${k}=${v}`),
        fc.tuple(fc.constantFrom('IPROOT', 'S_CAPS', 'ULIMIT'), fc.string({ unit: 'binary', maxLength: 40 })).map(([k, v]) => `${k}="${v}`),
        fc.string({ unit: 'binary', maxLength: 120 }),
        fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('utf8')),
      );
      fc.assert(fc.property(fc.array(line, { maxLength: 30 }), (lines) => {
        const text = lines.join('\n');
        const r = parseServerConfig(text, { file: '/etc/vservers/fz.conf', name: 'fz' });
        assert.ok(r.config !== null || r.errors.length > 0, 'no configuration and no error');
        for (const e of [...r.errors, ...r.warnings]) {
          assert.equal(e.file, '/etc/vservers/fz.conf');
          assert.ok(e.line === null || (e.line >= 1 && e.line <= lines.length + text.split('\n').length), `line ${e.line} out of range`);
          assert.ok(e.message.length > 0, 'an issue without a message');
          // what the commands print: one line, the file and line named, whatever the value held
          const shown = formatIssue(e);
          assert.ok(!shown.includes('\n'), `an issue printed on more than one line: ${JSON.stringify(shown)}`);
          assert.ok(shown.includes('fz.conf'), `the file is not named: ${shown}`);
        }
      }), { numRuns: 20 * RUNS });
    });

    test('config parser: a 1 MiB value and 100,000 lines', () => {
      const big = `S_HOSTNAME="${'a'.repeat(1 << 20)}"\n${'X=1\n'.repeat(100_000)}`;
      const r = parseServerConfig(big, { file: 'fz.conf', name: 'fz' });
      assert.ok(r.errors.length > 0 || r.config !== null);
    });

    for (const t of TOOLS) {
      test(`${t.name}: hostile argv`, { timeout: 10 * 60_000 }, () => {
        const w = fc.oneof({ weight: 3, arbitrary: word }, { weight: 2, arbitrary: fc.constantFrom(...t.known) })
          .filter((x) => !(t.forbid?.(x) ?? false));
        fc.assert(fc.property(fc.array(w, { minLength: 1, maxLength: 6 }), (args) => {
          const argv = [...t.argv(dir), ...args];
          const r = spawnSync(argv[0]!, argv.slice(1), {
            cwd: join(dir, 'work'), encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL', input: '',
            // the C tools that run a command find none (a random word could name one that never ends)
            env: { PATH: t.exec ? join(dir, 'work') : process.env.PATH, TMPDIR: process.env.TMPDIR, HOME: join(dir, 'work'), TERM: 'dumb', NO_COLOR: '1' },
          });
          checkRun(t, args, r);
        }), { numRuns: RUNS });
      });
    }
  });
}
