/**
 * Another host, over OpenSSH: what vserver-copy to HOST:NAME and vtop
 * --host use.  One connection per host for a run: the first ssh becomes a
 * ControlMaster on a socket in a private temporary directory, every later
 * ssh (and rsync's, through -e) rides on it, and close() ends it.  ssh's
 * own options keep it unattended: BatchMode=yes (never a password or host
 * key prompt: a key and a known host, or a one-line failure),
 * ConnectTimeout, ServerAlive*; a master left by a killed run ends itself
 * after 60 s idle
 * (ControlPersist=60).  Which port, key and user apply is ssh's
 * business (its config files; --ssh-config FILE adds `-F FILE`).
 *
 * What the other side prints is hostile text: callers escape it before it
 * reaches a terminal (errors here go through escapeText).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { escapeText } from '../kernel-bridge/escape.js';
import { shellQuote } from './chcontext-args.js';
import { LifecycleError } from './errors.js';

/** [USER@]HOST: ssh's destination; no option-looking or odd names */
const HOST_RE = /^(?:[A-Za-z0-9._][A-Za-z0-9._-]{0,63}@)?(?:[A-Za-z0-9_][A-Za-z0-9._-]{0,252}|\[[0-9A-Fa-f:.]+\])$/;

/** why @dest is not a [USER@]HOST ssh reaches, or null */
export function sshHostProblem(dest: string): string | null {
  if (dest === '') return 'empty host';
  if (!HOST_RE.test(dest)) return 'expected [USER@]HOST (letters, digits, . _ -; an IPv6 address in [ ])';
  return null;
}

/** ssh's exit status for its own failures (could not connect, authenticate...) */
export const SSH_FAILED = 255;

export interface SshResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** the last non-empty line of @s, escaped for one line */
export function lastLine(s: string): string {
  return escapeText(s.trim().split('\n').filter((l) => l.trim()).pop() ?? '');
}

export class SshHost {
  readonly dest: string;
  private readonly dir: string;
  private readonly configFile: string | undefined;
  private closed = false;

  /** @dest [USER@]HOST; @opts.configFile an ssh_config given to every ssh as -F */
  constructor(dest: string, opts: { configFile?: string } = {}) {
    const problem = sshHostProblem(dest);
    if (problem) throw new LifecycleError('usage', 'options', `bad host '${escapeText(dest)}': ${problem}`);
    if (opts.configFile !== undefined && /[\s'"\\]/.test(opts.configFile)) {
      throw new LifecycleError('usage', 'options', `--ssh-config '${escapeText(opts.configFile)}': a path without spaces, quotes or backslashes (rsync splits its -e)`);
    }
    this.dest = dest;
    this.configFile = opts.configFile;
    this.dir = mkdtempSync(join(tmpdir(), 'vctx-ssh-'));
    // a run that ends without close() (a signal) leaves no directory; its master ends itself when idle
    process.once('exit', () => rmSync(this.dir, { recursive: true, force: true }));
  }

  /** ssh's options for this run: the config file, unattended, the shared connection */
  options(): string[] {
    return [
      ...(this.configFile ? ['-F', this.configFile] : []),
      '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', '-o', 'ServerAliveInterval=5', '-o', 'ServerAliveCountMax=2',
      '-o', 'ControlMaster=auto', '-o', `ControlPath=${join(this.dir, 'cm')}`, '-o', 'ControlPersist=60',
    ];
  }

  /** rsync's -e: this ssh, on the shared connection */
  rsh(): string {
    return ['ssh', ...this.options()].join(' ');
  }

  /** spawns `ssh HOST -- ARGV` (each word quoted for the remote shell) */
  spawn(argv: readonly string[], opts: { stdin?: 'pipe' | 'ignore' } = {}): ChildProcess {
    if (this.closed) throw new Error('ssh connection closed');
    return spawn('ssh', [...this.options(), '-T', this.dest, '--', argv.map(shellQuote).join(' ')],
      { stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'] });
  }

  /** runs @argv on the host; resolves with its exit status and output (ssh's own failure is 255) */
  run(argv: readonly string[], input?: string): Promise<SshResult> {
    return new Promise((resolve, reject) => {
      const child = this.spawn(argv, { stdin: input === undefined ? 'ignore' : 'pipe' });
      let stdout = '';
      let stderr = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
      child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-8000); });
      child.on('error', (e) => reject(new Error(`ssh: ${e.message}`)));
      child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
      if (input !== undefined) child.stdin!.end(input);
    });
  }

  /**
   * runs @argv and resolves with its stdout when it exits 0; otherwise
   * rejects with a one-line error naming @what (ssh's failure to reach the
   * host told apart from the command's)
   */
  async check(what: string, argv: readonly string[], input?: string): Promise<string> {
    const r = await this.run(argv, input);
    if (r.code === 0) return r.stdout;
    throw new Error(this.failure(what, r));
  }

  /** one line for a failed @r */
  failure(what: string, r: SshResult): string {
    const last = lastLine(r.stderr);
    if (r.code === SSH_FAILED) return `cannot reach ${escapeText(this.dest)} over ssh${last ? `: ${last}` : ''}`;
    return `${what} on ${escapeText(this.dest)} failed (exit ${r.code})${last ? `: ${last}` : ''}`;
  }

  /** ends the shared connection and removes its socket's directory */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => {
      const c = spawn('ssh', [...this.options(), '-O', 'exit', this.dest], { stdio: 'ignore' });
      c.on('error', () => resolve());
      c.on('close', () => resolve());
    });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
