/**
 * Every changing action goes to the system log (CONTRACT "General rules"):
 * who, what, which server, result.  Through logger(1) at authpriv.notice
 * with the tag "vserver"; a host without a syslog daemon only loses the
 * line — an action never fails because of it.
 */
import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';

/** who asked: SUDO_USER, else LOGNAME, else the uid's name, else "uid N" */
export function whoAmI(env: NodeJS.ProcessEnv = process.env): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (env.VSERVER_REQUESTED_BY) return env.VSERVER_REQUESTED_BY;
  if (env.SUDO_USER) return `${env.SUDO_USER} (sudo, uid ${uid})`;
  if (env.LOGNAME) return `${env.LOGNAME} (uid ${uid})`;
  try {
    return `${userInfo().username} (uid ${uid})`;
  } catch {
    return `uid ${uid}`;
  }
}

/** one log line; control characters are escaped so a name cannot forge lines */
export function auditLine(who: string, action: string, server: string, result: string): string {
  const clean = (s: string) => s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `${clean(who)}: ${action} ${clean(server)}: ${clean(result)}`;
}

/**
 * Writes the line; resolves when logger is done (at most 2 s), never
 * rejects.
 */
export function audit(action: string, server: string, result: string): Promise<void> {
  const line = auditLine(whoAmI(), action, server, result);
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        clearTimeout(t);
        resolve();
      }
    };
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      finish();
    }, 2000);
    const child = spawn('logger', ['-t', 'vserver', '-p', 'authpriv.notice', '--', line], { stdio: 'ignore' });
    child.once('error', finish);
    child.once('exit', finish);
  });
}
