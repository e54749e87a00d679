/**
 * The per-server hook CONFDIR/NAME.sh, run on the host as root with
 * `pre-start|post-start|pre-stop|post-stop NAME` and VSERVER_NAME,
 * VSERVER_ROOT, VSERVER_IP, VSERVER_XID (when running) in its environment,
 * 60 s at most (then its whole process group is killed).  The hook must be
 * a regular executable file only root can change.
 */
import { spawn } from 'node:child_process';
import { access, constants, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkTrustedFile, formatIssue, INSTANCE_ENV, instanceName } from '../config/index.js';

export type HookPhase = 'pre-start' | 'post-start' | 'pre-stop' | 'post-stop';

export const HOOK_TIMEOUT_MS = 60_000;

export function hookPath(confdir: string, name: string): string {
  return join(confdir, `${name}.sh`);
}

export interface HookEnv {
  name: string;
  root: string;
  ip: string | null;
  xid: number | null;
}

export interface HookResult {
  /** false when there is no hook */
  ran: boolean;
  ok: boolean;
  /** why it failed: exit status, signal, timeout, refusal */
  error: string | null;
  /** what it printed (stdout and stderr, at most 4 KiB) */
  output: string;
}

/**
 * Is the hook usable?  null when there is none or it is fine; a message
 * when it exists but root must not run it.
 */
export async function hookProblem(confdir: string, name: string, trustedUid = 0): Promise<string | null> {
  const file = hookPath(confdir, name);
  const st = await stat(file).catch(() => null);
  if (!st) return null;
  const issue = await checkTrustedFile(file, { trustedUid, what: 'hook script' });
  if (issue) return formatIssue(issue);
  if (!(await access(file, constants.X_OK).then(() => true, () => false))) return `${file}: the hook script is not executable; chmod +x it`;
  return null;
}

export async function runHook(confdir: string, phase: HookPhase, env: HookEnv, timeoutMs = HOOK_TIMEOUT_MS): Promise<HookResult> {
  const file = hookPath(confdir, env.name);
  if (!(await stat(file).then((s) => s.isFile(), () => false))) return { ran: false, ok: true, error: null, output: '' };
  const problem = await hookProblem(confdir, env.name);
  if (problem) return { ran: false, ok: false, error: problem, output: '' };
  const childEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    VSERVER_NAME: env.name,
    VSERVER_ROOT: env.root,
    VSERVER_IP: env.ip ?? '',
  };
  if (env.xid !== null) childEnv.VSERVER_XID = String(env.xid);
  // a hook that runs vserver commands stays in its server's instance (docs/instances.md)
  const inst = instanceName();
  if (inst) childEnv[INSTANCE_ENV] = inst;
  return new Promise((resolve) => {
    let output = '';
    let timedOut = false;
    const child = spawn(file, [phase, env.name], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const take = (b: Buffer) => {
      if (output.length < 4096) output += b.toString('utf8').slice(0, 4096 - output.length);
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolve({ ran: true, ok: false, error: `${file} ${phase} could not run: ${e.message}`, output });
    });
    child.once('close', (code, sig) => {
      clearTimeout(timer);
      // the hook's leftovers (background jobs) go with it
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* none */
      }
      if (timedOut) resolve({ ran: true, ok: false, error: `${file} ${phase} did not finish within ${timeoutMs / 1000} s and was killed`, output });
      else if (code === 0) resolve({ ran: true, ok: true, error: null, output });
      else resolve({ ran: true, ok: false, error: `${file} ${phase} ${sig ? `was killed by ${sig}` : `exited with status ${code}`}`, output });
    });
  });
}
