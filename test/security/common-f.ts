/**
 * What the file-system cases of the attack suite share (proc-sys, devices,
 * fd-setup): a one-shot context on a busybox root, optionally with
 * mechanisms switched off by libvctx's test switch (VCTX_TEST_WEAKEN).
 */
import { chcontext, type Result } from '../helpers/kernel.js';

/**
 * `chcontext --secure --root ROOT [EXTRA...] -- /bin/sh -c SCRIPT` as a
 * one-shot context; @weaken names the mechanisms it leaves out.  20 s: a
 * hung setup is a failure, not a wait.
 */
export function inServer(root: string, script: string, weaken: string[] = [], extra: string[] = []): Result {
  const env = { ...process.env };
  delete env.VCTX_TEST_WEAKEN;
  if (weaken.length) env.VCTX_TEST_WEAKEN = weaken.join(',');
  return chcontext(['--silent', '--secure', '--root', root, ...extra, '--', '/bin/sh', '-c', script], { env, timeout: 20_000 });
}
