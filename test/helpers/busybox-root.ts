/**
 * A minimal busybox server root for integration tests, in a fraction of a
 * second: the busybox template of `vserver NAME build` (static busybox and
 * its applets, /etc with inittab, rcS/rcK and the demo httpd, vreboot and
 * vhalt), without a configuration file.
 *
 *     const root = await makeBusyboxRoot();
 *     try { ... } finally { await removeRoot(root); }
 *
 * Needs root (files owned by root) and the C tools built (`make -C kernel`,
 * for /sbin/vreboot).
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { removeTree } from '../../src/actions/build.js';
import { mountsBelow } from '../../src/kernel-bridge/host.js';
import { buildBusybox } from '../../src/actions/templates/busybox.js';

export interface BusyboxRootOptions {
  /** the server name written into the files. @default 'test' */
  name?: string;
  /** its IPv4 address (/etc/hosts; the demo httpd starts only with one) */
  ip?: string;
  /** @default the name */
  hostname?: string;
}

/**
 * Build a busybox root in @dir (created if missing, must be empty), or in a
 * new temporary directory; returns its path.
 */
export async function makeBusyboxRoot(dir?: string, opts: BusyboxRootOptions = {}): Promise<string> {
  let root: string;
  if (dir) {
    root = resolve(dir);
    await mkdir(root, { recursive: true });
    if ((await readdir(root)).length) throw new Error(`makeBusyboxRoot: ${root} is not empty`);
  } else {
    root = await mkdtemp(join(tmpdir(), 'vctx-root-'));
  }
  // a server's '/' must be searchable by its non-root users (mkdtemp makes 0700)
  await chmod(root, 0o755);
  const name = opts.name ?? 'test';
  try {
    await buildBusybox({
      name, root, ip: opts.ip, hostname: opts.hostname ?? name, hostExcludes: [], progress: () => {},
    });
  } catch (e) {
    await removeRoot(root).catch(() => {});
    throw e;
  }
  return root;
}

/**
 * Remove a root made by makeBusyboxRoot: whatever a test left mounted below
 * it is unmounted first (deepest first, lazily), so the removal never
 * reaches through a mount into another file system.
 */
export async function removeRoot(dir: string): Promise<void> {
  const root = resolve(dir);
  if (root.split('/').filter(Boolean).length < 2) throw new Error(`removeRoot: refusing to remove ${root}`);
  for (const mp of await mountsBelow(root)) {
    spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
  }
  await removeTree(root);
}
