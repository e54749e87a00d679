/**
 * The attack suite's shared harness (issue 12).  A case is an attack tried
 * as root from inside a real server:
 *
 *     const lab = new Lab('cve');                    // temp confdir/rootdir/rundir
 *     before(() => lab.setup());                     // compiles the probes
 *     after(() => lab.cleanup());                    // stops and removes everything
 *     const s = await lab.server('a');               // busybox server, attack-probe in /bin
 *     await s.start();                               // full containment: must be SAFE
 *     assertSafe(c, await s.probe(c));
 *     await s.restart(c.weaken);                     // VCTX_TEST_WEAKEN=<mechanism>
 *     assertEscape(c, await s.probe(c));             // the case must see the escape
 *
 * A case (AttackCase) names the attack, the probe (a mode of
 * attack-probe.c, run through `vserver NAME exec`, or a function for host
 * side set-ups), the safe outcome, the escape outcome and the mechanism(s)
 * the test switch turns off (libvctx's vctx_weakened(), kernel/lib/testswitch.c,
 * reads VCTX_TEST_WEAKEN in whoever creates the context: `vserver start`
 * passes it on to chcontext).  runCase runs it once normally (must be
 * safe) and once weakened (must report the escape: a probe never seen to
 * fail proves nothing); an escape fails with the case's whole story.
 *
 * Servers are built with the CLI (`vserver --confdir .. --rootdir ..
 * --rundir .. NAME build`), busybox by default; `template: 'debootstrap'`
 * builds the Debian server of test/integration/real-server.test.ts (the
 * machine's Debian mirror, about 50 s; test/helpers/debian-services.mjs
 * installs services into it) for a case that needs a real distribution.
 * Root only; every test file holds the suite's share of the root lock
 * through scripts/test.mjs (one file at a time).
 */
import assert from 'node:assert/strict';
import { spawn, type StdioOptions } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeTree } from '../../src/actions/build.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { commandPath } from '../helpers/commands.js';
import { compileC, projectRoot, removeCompiled, toolsDir, waitFor } from '../helpers/kernel.js';

export const isRoot = process.getuid?.() === 0;

/** what a probe run showed */
export interface Outcome {
  /** SAFE / ESCAPE from the probe's line; 'refused' when the host tool refused to run it (also safe) */
  verdict: 'safe' | 'escape' | 'refused' | 'error';
  code: number;
  stdout: string;
  stderr: string;
  /** the probe's one line (or the refusal) */
  line: string;
}

export interface AttackCase {
  /** short name, also the test's */
  name: string;
  /** who does what (the published escape it follows, where there is one) */
  attack: string;
  /** what the probe inside tries and looks at */
  probe: string;
  /** what the server must see */
  safe: string;
  /** what the probe reports when the attack works */
  escape: string;
  /** the mechanisms VCTX_TEST_WEAKEN turns off to show the case detects the attack */
  weaken: string[];
  /** argv of attack-probe inside the server (its mode and arguments) ... */
  argv?: (ctx: CaseContext) => string[];
  /** ... or a host-side runner of its own */
  run?: (s: Server, ctx: CaseContext) => Promise<Outcome>;
  /**
   * a kernel without the feature (ENOSYS with the mechanism off): the
   * weakened run cannot show the escape; the text names why, and the
   * case is skipped with it
   */
  absentWhen?: (weakened: Outcome) => string | null;
}

/** what a case may use of the lab */
export interface CaseContext {
  lab: Lab;
  /** a host file outside every server root, for breakout probes to look for */
  marker: string;
}

interface Res { code: number; stdout: string; stderr: string }

/** runs argv; @stdio replaces the default (stdin closed, stdout/stderr collected) */
export function runArgv(argv: string[], opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions; ms?: number } = {}): Promise<Res> {
  return new Promise((resolve) => {
    const c = spawn(argv[0]!, argv.slice(1), {
      env: opts.env ?? process.env, cwd: projectRoot, stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    c.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[harness: killed after ${opts.ms ?? 60_000} ms]`;
      c.kill('SIGKILL');
    }, opts.ms ?? 60_000);
    c.once('error', (e) => { clearTimeout(timer); resolve({ code: 127, stdout, stderr: stderr + e.message }); });
    c.once('close', (code, sig) => { clearTimeout(timer); resolve({ code: code ?? 128 + (sig ? 9 : 0), stdout, stderr }); });
  });
}

/** reads attack-probe's verdict from a run */
export function outcomeOf(r: Res): Outcome {
  const line = r.stdout.split('\n').find((l) => /^(SAFE|ESCAPE|PROBE ERROR): /.test(l)) ?? '';
  let verdict: Outcome['verdict'] = 'error';
  if (line.startsWith('SAFE: ') && r.code === 0) verdict = 'safe';
  else if (line.startsWith('ESCAPE: ') && r.code === 3) verdict = 'escape';
  return { verdict, code: r.code, stdout: r.stdout, stderr: r.stderr, line: line || r.stderr.trim().split('\n').pop() || '' };
}

const story = (c: AttackCase, o: Outcome, weakened: string) =>
  `\n  case:    ${c.name}${weakened}\n  attack:  ${c.attack}\n  probe:   ${c.probe}\n  safe:    ${c.safe}\n  escape:  ${c.escape}\n` +
  `  saw:     ${o.line}\n  exit ${o.code}; stdout: ${o.stdout.trim().slice(-1500)}\n  stderr: ${o.stderr.trim().slice(-1500)}\n`;

/** a normal run: the outcome must be safe; an escape fails loudly */
export function assertSafe(c: AttackCase, o: Outcome): void {
  if (o.verdict === 'escape') assert.fail(`!!! ESCAPE: root inside a server got through !!!${story(c, o, '')}`);
  assert.ok(o.verdict === 'safe' || o.verdict === 'refused', `the probe did not run to a verdict${story(c, o, '')}`);
}

/** a weakened run: the case must report the escape, or it proves nothing */
export function assertEscape(c: AttackCase, o: Outcome): void {
  assert.equal(o.verdict, 'escape',
    `the case does not detect its attack: with ${c.weaken.join(',')} off it still reports safe${story(c, o, ` (VCTX_TEST_WEAKEN=${c.weaken.join(',')})`)}`);
}

/* ------------------------------------------------------------------ servers */

export type Template = 'busybox' | 'debootstrap';

export class Server {
  /** the mechanisms the running context was started without */
  weakened: string[] = [];
  running = false;

  constructor(readonly lab: Lab, readonly name: string, readonly ip: string) {}

  get root(): string { return join(this.lab.dir, 'vs', this.name); }

  /** `vserver NAME ARGS...` in the lab's directories, with @env added */
  vs(args: string[], opts: { env?: Record<string, string>; stdio?: StdioOptions; ms?: number; prefix?: string[] } = {}): Promise<Res> {
    const argv = [...(opts.prefix ?? []), commandPath('vserver'), ...this.lab.dirArgs(), this.name, ...args];
    return runArgv(argv, { env: { ...process.env, ...opts.env }, stdio: opts.stdio, ms: opts.ms });
  }

  /** starts the server; @weaken: VCTX_TEST_WEAKEN for its context */
  async start(weaken: string[] = []): Promise<void> {
    const env: Record<string, string> = {};
    if (weaken.length) env.VCTX_TEST_WEAKEN = weaken.join(',');
    const r = await this.vs(['start'], { env, ms: 120_000 });
    assert.equal(r.code, 0, `vserver ${this.name} start${weaken.length ? ` (VCTX_TEST_WEAKEN=${weaken})` : ''}: ${r.stdout}${r.stderr}`);
    this.running = true;
    this.weakened = weaken;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    const r = await this.vs(['stop'], { ms: 60_000 });
    this.running = false;
    if (r.code !== 0) this.lab.forceStop(this.name);
  }

  /** stop, then start with @weaken (none: full containment) */
  async restart(weaken: string[] = []): Promise<void> {
    await this.stop();
    await this.start(weaken);
  }

  /** runs attack-probe ARGS inside through `vserver NAME exec` */
  async exec(argv: string[], opts: { stdio?: StdioOptions; prefix?: string[] } = {}): Promise<Outcome> {
    return outcomeOf(await this.vs(['exec', ...argv], { stdio: opts.stdio, prefix: opts.prefix }));
  }

  /** the XID of the running server */
  xid(): number {
    const c = new NativeSnapshotSource().snapshot().contexts.find((x) => x.name === this.name);
    assert.ok(c, `server ${this.name} has no context`);
    return c.xid;
  }

  /** runs @c's probe the way it says */
  probe(c: AttackCase): Promise<Outcome> {
    const ctx: CaseContext = { lab: this.lab, marker: this.lab.marker };
    if (c.run) return c.run(this, ctx);
    return this.exec(['/bin/attack-probe', ...c.argv!(ctx)]);
  }
}

export class Lab {
  dir = '';
  probe = '';
  ptyRun = '';
  marker = '';
  private servers: Server[] = [];
  private octet: number;

  /** @tag: a few letters for the servers' names (unique per run) */
  constructor(readonly tag: string) {
    this.octet = 20 + Math.floor(Math.random() * 200);
  }

  dirArgs(): string[] {
    return ['--confdir', join(this.dir, 'etc'), '--rootdir', join(this.dir, 'vs'), '--rundir', join(this.dir, 'run')];
  }

  /** the temp directories and the compiled probes */
  async setup(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), `vctx-sec-${this.tag}-`));
    chmodSync(this.dir, 0o755);
    for (const d of ['etc', 'vs', 'run']) mkdirSync(join(this.dir, d));
    const src = (n: string) => readFileSync(join(projectRoot, 'test', 'security', `${n}.c`), 'utf8');
    this.probe = compileC('attack-probe', src('attack-probe'));
    this.ptyRun = compileC('pty-run', src('pty-run'));
    this.marker = join(this.dir, `host-marker-${process.pid}`);
    writeFileSync(this.marker, 'the host\n');
  }

  /** builds server NAME-<tag> (busybox, or the Debian of the real-server test) with the probe in /bin */
  async server(name: string, opts: { template?: Template; ms?: number } = {}): Promise<Server> {
    const run = Math.floor(Math.random() * 1e5).toString(36);
    const s = new Server(this, `${this.tag}${name}${run}`, `127.0.0.${this.octet + this.servers.length}`);
    this.servers.push(s);
    const args = ['build', '--ip', s.ip];
    if (opts.template === 'debootstrap') args.push('--template', 'debootstrap');
    const r = await s.vs(args, { ms: opts.ms ?? (opts.template === 'debootstrap' ? 15 * 60_000 : 120_000) });
    assert.equal(r.code, 0, `vserver ${s.name} build: ${r.stdout}${r.stderr}`);
    mkdirSync(join(s.root, 'bin'), { recursive: true });
    copyFileSync(this.probe, join(s.root, 'bin', 'attack-probe'));
    chmodSync(join(s.root, 'bin', 'attack-probe'), 0o755);
    return s;
  }

  /** a context left behind by a failed stop: SIGKILL it and wait until it is gone */
  forceStop(name: string): void {
    const c = new NativeSnapshotSource().snapshot().contexts.find((x) => x.name === name);
    if (c) killContext(c.xid, 9);
  }

  /** stops every server, unmounts what is left below the lab and removes it */
  async cleanup(): Promise<void> {
    for (const s of this.servers) {
      try {
        await s.stop();
      } catch {
        this.forceStop(s.name);
      }
    }
    for (const s of this.servers) {
      await waitFor(() => !new NativeSnapshotSource().snapshot().contexts.some((c) => c.name === s.name), 10_000)
        .catch(() => this.forceStop(s.name));
    }
    if (this.dir && existsSync(this.dir)) {
      for (const mp of await mountsBelow(this.dir)) await runArgv(['umount', '-l', mp]);
      await removeTree(this.dir);
    }
    if (this.probe) removeCompiled(this.probe);
    if (this.ptyRun) removeCompiled(this.ptyRun);
  }
}

/** chcontext, for the cases that make a context without `vserver` */
export const CHCONTEXT = join(toolsDir, 'chcontext');

/**
 * The usual test body: each case safe against the normal server, then, per
 * mechanism, the server restarted without it and each of its cases must
 * report the escape.  @test is node:test's.
 */
export function defineCases(
  test: (name: string, opts: { timeout?: number; skip?: string | boolean }, fn: (t: { skip(msg: string): void }) => Promise<void>) => unknown,
  lab: Lab, server: () => Server, cases: AttackCase[],
): void {
  for (const c of cases) {
    test(`${c.name}: safe with every mechanism on`, { timeout: 120_000, skip: !isRoot && 'needs root' }, async () => {
      const s = server();
      if (!s.running || s.weakened.length) await s.restart([]);
      assertSafe(c, await s.probe(c));
    });
  }
  // one restart per set of weakened mechanisms
  const sets = new Map<string, AttackCase[]>();
  for (const c of cases) sets.set(c.weaken.join(','), [...(sets.get(c.weaken.join(',')) ?? []), c]);
  for (const [set, group] of sets) {
    for (const c of group) {
      test(`${c.name}: detected with ${set} off`, { timeout: 120_000, skip: !isRoot && 'needs root' }, async (t) => {
        const s = server();
        if (!s.running || s.weakened.join(',') !== set) await s.restart(c.weaken);
        const o = await s.probe(c);
        const absent = c.absentWhen?.(o);
        if (absent) {
          console.log(`# ${c.name}: ${absent}`);
          t.skip(absent);
          return;
        }
        assertEscape(c, o);
        console.log(`# ${c.name}, with ${set} off: ${o.line}`);
      });
    }
  }
  void lab;
}
