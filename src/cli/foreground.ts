/**
 * Running a command in the foreground with the caller's stdio: `vserver
 * NAME enter|exec`, `vserver-all exec` and `vapt` hand the terminal to a
 * chcontext inside a server and wait for it.
 */
import { warn } from './common.js';

/** runs argv with our stdio; resolves to its exit code (128+N for a signal) */
export async function runForeground(argv: string[]): Promise<number> {
  const { spawn } = await import('node:child_process');
  // node:os (signal numbers) loads here, not at every start
  const osSignals = (await import('node:os')).constants.signals as unknown as Record<string, number>;
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    const ignore = () => {};
    // the terminal's signals are the command's business
    for (const s of ['SIGINT', 'SIGQUIT', 'SIGTSTP'] as const) process.on(s, ignore);
    child.once('error', (e) => {
      warn(`cannot run ${argv[0]}: ${e.message}`);
      resolve(127);
    });
    child.once('exit', (code, sig) => {
      for (const s of ['SIGINT', 'SIGQUIT', 'SIGTSTP'] as const) process.off(s, ignore);
      resolve(code ?? 128 + (sig ? (osSignals[sig] ?? 0) : 0));
    });
  });
}
