/**
 * A real server for the attack cases of test/security/ (sockets, io_uring,
 * counters, console): a busybox server built by `vserver NAME build` in a
 * temporary confdir/rootdir/rundir, with test/helpers/sys-probe.c compiled
 * in as /bin/sys-probe, started by `vserver NAME start` - once normally and
 * once with VCTX_TEST_WEAKEN naming the mechanism under test, so that every
 * case is seen to detect its attack.
 *
 *     const s = await ProbeServer.create('sk');
 *     try { await s.start(); ...s.exec(['/bin/sys-probe', ...]) } finally { await s.destroy(); }
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, removeTree } from '../../src/actions/build.js';
import { stop } from '../../src/actions/stop.js';
import { readState } from '../../src/actions/runtime.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { killContext } from '../../src/kernel-bridge/kill.js';
import { NativeSnapshotSource } from '../../src/kernel-bridge/snapshot.js';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { commandPath } from './commands.js';
import { compileC, removeCompiled } from './kernel.js';

export interface Res { code: number; stdout: string; stderr: string }

export class ProbeServer {
  readonly name: string;
  readonly ip: string;
  private constructor(readonly dir: string, tag: string, readonly probeBin: string) {
    this.name = `${tag}${Math.floor(Math.random() * 1e6).toString(36)}`;
    this.ip = `127.0.0.${20 + Math.floor(Math.random() * 200)}`;
  }

  get paths() {
    return { confdir: join(this.dir, 'etc'), rootdir: join(this.dir, 'vs'), rundir: join(this.dir, 'run') };
  }

  get root(): string {
    return join(this.dir, 'vs', this.name);
  }

  /** the server's files under the runtime directory */
  get rundir(): string {
    return join(this.dir, 'run', this.name);
  }

  static async create(tag: string): Promise<ProbeServer> {
    const probe = compileC('sys-probe');
    const s = new ProbeServer(await mkdtemp(join(tmpdir(), 'vctx-atk-')), tag, probe);
    await build(s.name, { ip: s.ip }, s.paths);
    copyFileSync(probe, join(s.root, 'bin', 'sys-probe'));
    chmodSync(join(s.root, 'bin', 'sys-probe'), 0o755);
    return s;
  }

  private env(weaken?: string): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {
      ...process.env, VSERVER_CONFDIR: this.paths.confdir, VSERVER_ROOTDIR: this.paths.rootdir, VSERVER_RUNDIR: this.paths.rundir,
    };
    delete env.NODE_TEST_CONTEXT;
    delete env.VCTX_TEST_WEAKEN;
    if (weaken) env.VCTX_TEST_WEAKEN = weaken;
    return env;
  }

  /** `vserver NAME ARGS...`; @input goes to its stdin (and then ends, unless @keepOpen) */
  vs(args: string[], opts: { input?: string; weaken?: string } = {}): Promise<Res> {
    return new Promise((resolve) => {
      const c = spawn(commandPath('vserver'), [this.name, ...args], { env: this.env(opts.weaken), cwd: projectRoot });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (b) => (stdout += b));
      c.stderr.on('data', (b) => (stderr += b));
      c.stdin.end(opts.input ?? '');
      c.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  }

  /** start; with @weaken, the context leaves that mechanism out (VCTX_TEST_WEAKEN) */
  async start(weaken?: string): Promise<void> {
    const r = await this.vs(['start'], { weaken });
    // (the switch's warning goes to the context's stderr, the console log, not to ours)
    if (r.code !== 0) throw new Error(`vserver ${this.name} start${weaken ? ` (weakened: ${weaken})` : ''}: ${r.stderr}`);
  }

  /** the sys-probe inside the running server, as root */
  async probe(...args: string[]): Promise<string> {
    const r = await this.vs(['exec', '/bin/sys-probe', ...args]);
    if (r.code !== 0) throw new Error(`sys-probe ${args.join(' ')} in ${this.name}: exit ${r.code}: ${r.stderr}`);
    return r.stdout.trim();
  }

  /**
   * the sys-probe inside, its stdin kept open: @line is its first line of
   * output; end() closes its stdin and waits for the command to end
   */
  hold(...args: string[]): { line: Promise<string>; end(): Promise<number> } {
    const c = spawn(commandPath('vserver'), [this.name, 'exec', '/bin/sys-probe', ...args], { env: this.env(), cwd: projectRoot });
    let out = '';
    const line = new Promise<string>((resolve, reject) => {
      c.stdout.on('data', (b) => {
        out += b;
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      c.on('close', (code) => reject(new Error(`sys-probe ${args.join(' ')} ended (${code}) before a line: ${out}`)));
    });
    line.catch(() => {});
    const closed = new Promise<number>((r) => c.on('close', (code) => r(code ?? 1)));
    return { line, end: () => { c.stdin.end(); return closed; } };
  }

  /** the same probe run on the host, as root (stdin empty) */
  hostProbe(...args: string[]): string {
    const r = spawnSync(this.probeBin, args, { encoding: 'utf8', input: '', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`host sys-probe ${args.join(' ')}: ${r.status} ${r.stderr}`);
    return r.stdout.trim();
  }

  xid(): number {
    const st = readState(this.paths, this.name);
    if (!st?.xid) throw new Error(`${this.name} is not running`);
    return st.xid;
  }

  async stop(): Promise<void> {
    await stop(this.name, this.paths, { timeoutSec: 2 }).catch(() => {});
    for (const c of new NativeSnapshotSource().snapshot().contexts.filter((x) => x.name === this.name)) {
      try {
        killContext(c.xid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  async destroy(): Promise<void> {
    await this.stop();
    for (const m of await mountsBelow(this.dir)) spawnSync('umount', ['-l', m]);
    await removeTree(this.dir).catch(() => rm(this.dir, { recursive: true, force: true }));
    removeCompiled(this.probeBin);
  }
}
