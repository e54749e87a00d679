/**
 * What the integration tests share to run the commands and wait on what
 * they do: one way to run a command and collect its output (stdin given
 * or closed), to show a result in an assertion message, to poll until
 * something holds, to fetch a page from a server over loopback, and to set
 * keys in a server's NAME.conf the way an admin's editor would.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { projectRoot } from '../../src/kernel-bridge/addon.js';
import { commandPath, type Command } from './commands.js';

export interface Res { code: number; stdout: string; stderr: string; ms: number }

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** written to stdin, which is then closed ('' by default: stdin is closed at once) */
  input?: string;
  cwd?: string;
}

/** runs argv to its end and resolves with its exit code (1 when killed) and output */
export function runArgv(argv: readonly string[], opts: RunOptions = {}): Promise<Res> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const c = spawn(argv[0]!, argv.slice(1), { env: opts.env ?? process.env, cwd: opts.cwd ?? projectRoot });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (b) => (stdout += b));
    c.stderr.on('data', (b) => (stderr += b));
    c.stdin.on('error', () => {});
    c.stdin.end(opts.input ?? '');
    c.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr, ms: Date.now() - t0 }));
  });
}

/** runs one of the commands as users run it (test/helpers/commands.ts) */
export const runCommand = (cmd: Command, args: readonly string[], opts: RunOptions = {}): Promise<Res> =>
  runArgv([commandPath(cmd), ...args], opts);

/** a result for an assertion message; @tail keeps the last characters of long output */
export const show = (r: Res, tail = 8000): string =>
  `exit ${r.code}\nstdout: ${r.stdout.slice(-tail)}\nstderr: ${r.stderr.slice(-tail)}`;

/** polls @fn every 100 ms until it returns something truthy; throws after @ms naming @what */
export async function until<T>(what: string, fn: () => Promise<T | null> | T | null, ms = 10000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** GET http://@host:@port@path (loopback addresses only in tests); resolves with the body */
export function httpGet(host: string, path = '/', port = 80): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (b) => (body += b));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

/** the three directories of servers kept under a test's temporary directory @T */
export const pathsUnder = (T: string) => ({ confdir: join(T, 'etc'), rootdir: join(T, 'vs'), rundir: join(T, 'run') });

/** sets KEY="VALUE" lines in the config file @file, replacing a key's line where it has one */
export function setConfKeys(file: string, kv: Record<string, string>): void {
  let text = readFileSync(file, 'utf8');
  for (const [k, v] of Object.entries(kv)) {
    const re = new RegExp(`^${k}=.*$`, 'm');
    text = re.test(text) ? text.replace(re, () => `${k}="${v}"`) : `${text}\n${k}="${v}"\n`;
  }
  writeFileSync(file, text, { mode: 0o600 });
}
