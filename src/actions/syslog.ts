/**
 * Every changing action goes to the system log (CONTRACT "General rules"):
 * who, what, which server, result.  Through logger(1) at authpriv.notice
 * with the tag "vserver"; a host without a syslog daemon only loses the
 * line — an action never fails because of it.
 */
import { spawn } from 'node:child_process';
import { userInfo } from 'node:os';
import { escapeText } from '../kernel-bridge/escape.js';

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
  const clean = (s: string) => escapeText(s, 'hex');
  return `${clean(who)}: ${action} ${clean(server)}: ${clean(result)}`;
}

/**
 * The one writer of the system log: @line through logger(1) at
 * authpriv.notice with @tag; resolves when logger is done (at most 2 s),
 * never rejects.  The caller escapes (auditLine, note).
 */
export function writeSyslog(tag: string, line: string): Promise<void> {
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
    const child = spawn('logger', ['-t', tag, '-p', 'authpriv.notice', '--', line], { stdio: 'ignore' });
    child.once('error', finish);
    child.once('exit', finish);
  });
}

/** `WHO: ACTION SERVER: RESULT` with the tag "vserver" */
export function audit(action: string, server: string, result: string): Promise<void> {
  return writeSyslog('vserver', auditLine(whoAmI(), action, server, result));
}

/** `WHO: TEXT` with @tag (vkill's records), escaped as auditLine escapes */
export function note(tag: string, text: string): Promise<void> {
  return writeSyslog(tag, `${escapeText(whoAmI(), 'hex')}: ${escapeText(text, 'hex')}`);
}
