/**
 * Driving a full-screen program in tmux as a user would: a private tmux
 * server (its own socket, so nobody else's sessions are touched), sessions
 * of a fixed size, keys sent one by one, the screen read back with
 * capture-pane.  Every session is killed by name in `close()`, then the
 * private server.
 *
 *     const t = new Tmux();
 *     const s = t.start({ name: 'vtop-kill', cols: 120, rows: 40, argv: ['node', 'x.js'] });
 *     await s.waitFor(/XID NAME/);
 *     s.keys('k', 'y');
 *     ...
 *     t.close();
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** a shell word for sh -c */
export function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface SessionOptions {
  /** unique session name */
  name: string;
  cols: number;
  rows: number;
  /** the program; it is exec'd by sh, so the pane's PID is the program's */
  argv: readonly string[];
  env?: Record<string, string>;
  cwd?: string;
}

export class Tmux {
  /** the private server's socket name */
  readonly socket = `vctx-e2e-${process.pid}-${Date.now().toString(36)}`;
  private readonly sessions = new Set<string>();

  /** runs tmux on the private server; throws with its stderr on failure */
  run(args: readonly string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${(r.stderr || r.error?.message || '').trim()}`);
    return r.stdout;
  }

  start(o: SessionOptions): Session {
    const env = Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${shq(v)}`).join(' ');
    const cmd = `${o.cwd ? `cd ${shq(o.cwd)} && ` : ''}exec env ${env} ${o.argv.map(shq).join(' ')}`;
    this.run(['-f', '/dev/null', 'new-session', '-d', '-s', o.name, '-x', String(o.cols), '-y', String(o.rows), 'sh', '-c', cmd]);
    this.sessions.add(o.name);
    // keep the pane after the program exits, to read what it said
    this.run(['set-option', '-t', o.name, 'remain-on-exit', 'on']);
    return new Session(this, o.name);
  }

  /** kills the session by name (no error when already gone) */
  kill(name: string): void {
    if (!this.sessions.delete(name)) return;
    try {
      this.run(['kill-session', '-t', name]);
    } catch {
      /* gone */
    }
  }

  /** kills every session of this object, then the private server */
  close(): void {
    for (const name of [...this.sessions]) this.kill(name);
    spawnSync('tmux', ['-L', this.socket, 'kill-server'], { stdio: 'ignore' });
    rmSync(join(process.env['TMUX_TMPDIR'] || '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.socket), { force: true });
  }
}

export class Session {
  constructor(private readonly tmux: Tmux, readonly name: string) {}

  /** the PID of the program in the pane (what sh exec'd) */
  pid(): number {
    return Number(this.tmux.run(['display-message', '-p', '-t', this.name, '#{pane_pid}']).trim());
  }

  /** the pane's terminal device (/dev/pts/N) */
  tty(): string {
    return this.tmux.run(['display-message', '-p', '-t', this.name, '#{pane_tty}']).trim();
  }

  /** true once the program has exited (the pane stays) */
  dead(): boolean {
    return this.tmux.run(['display-message', '-p', '-t', this.name, '#{pane_dead}']).trim() === '1';
  }

  /** the screen as text (escapes: with colours and attributes) */
  capture(escapes = false): string {
    return this.tmux.run(['capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', this.name]);
  }

  /**
   * Sends tmux key names ('Down', 'Enter', 'C-c') or characters, one at a
   * time with a pause between them, as typed: keys that reach the program
   * in one read count as a paste there, and a paste triggers no command.
   */
  async keys(...keys: string[]): Promise<void> {
    for (const k of keys) {
      this.tmux.run(['send-keys', '-t', this.name, k]);
      await sleep(80);
    }
  }

  /** types text literally */
  type(text: string): void {
    this.tmux.run(['send-keys', '-l', '-t', this.name, text]);
  }

  /** waits until the screen satisfies `test`; returns that screen, or throws with the last one */
  async waitFor(test: RegExp | ((screen: string) => boolean), timeoutMs = 15_000, what?: string): Promise<string> {
    const ok = typeof test === 'function' ? test : (s: string) => test.test(s);
    let screen = '';
    for (const t0 = Date.now(); Date.now() - t0 < timeoutMs; await sleep(100)) {
      screen = this.capture();
      if (ok(screen)) return screen;
    }
    throw new Error(`tmux ${this.name}: timed out waiting for ${what ?? String(test)}; the screen was:\n${screen}`);
  }
}
