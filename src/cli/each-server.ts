/**
 * One command in several servers, one after the other (`vserver-all exec`,
 * `vapt`): before each, a line naming the server and the command; the
 * command's own output as it comes; then one result line per server:
 *   NAME: ok | NAME: FAILED: WHY | NAME: skipped: WHY
 * Exit 1 when one failed (each named once more at the end), else 0.
 */
import type { ExecTarget } from '../actions/vserver-all.js';
import { execArgvFor } from '../actions/enter.js';
import { auditEnter } from '../actions/lifecycle.js';
import { EXIT_FAIL, warn, writeOut } from './common.js';
import { runForeground } from './foreground.js';

/** runs @cmd inside server @name (context @xid) with our stdio, logged to syslog; its exit code */
export async function execIn(name: string, xid: number, cmd: string[]): Promise<number> {
  const code = await runForeground(execArgvFor(xid, cmd));
  await auditEnter('exec', name, `context ${xid}, ${JSON.stringify(cmd.join(' ').slice(0, 200))} exited with status ${code}`);
  return code;
}

export async function runInEach(targets: ExecTarget[], cmd: string[]): Promise<number> {
  const failed: string[] = [];
  const shown = cmd.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  for (const t of targets) {
    if (t.skipped) {
      await writeOut(`${t.name}: skipped: ${t.skipped}\n`);
      continue;
    }
    if (t.xid === null) {
      failed.push(t.name);
      await writeOut(`${t.name}: FAILED: ${(t.error ?? '').split('\n').join('; ')}\n`);
      continue;
    }
    await writeOut(`--- ${t.name} (context ${t.xid}): ${shown}\n`);
    const code = await execIn(t.name, t.xid, cmd);
    if (code === 0) await writeOut(`${t.name}: ok\n`);
    else {
      failed.push(t.name);
      await writeOut(`${t.name}: FAILED: ${cmd[0]} exited with status ${code}\n`);
    }
  }
  if (failed.length) {
    const ran = targets.filter((t) => !t.skipped).length;
    warn(`${failed.length} of ${ran} server${ran === 1 ? '' : 's'} failed: ${failed.join(', ')}`);
    return EXIT_FAIL;
  }
  return 0;
}
