/**
 * The busybox template: a complete small server in well under a second and
 * without network.  One static /bin/busybox from the host (Debian's
 * busybox-static) with a symbolic link for every applet, the account and
 * host name files, busybox init with rcS/rcK, a demo web server and
 * /sbin/vreboot, /sbin/vhalt.  /dev stays empty: the kernel layer mounts a
 * private minimal /dev when the server starts.
 */
import { execFile } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { chmod, copyFile, lstat, symlink } from 'node:fs/promises';
import { promisify } from 'node:util';
import { FLAG } from '../../generated/tables.js';
import * as files from './busybox-files.js';
import {
  elfInterpreter, inRoot, installVreboot, makeDirs, writeHostnameFiles, writeRootFile,
  TemplateError, type TemplateContext, type TemplateResult,
} from './common.js';

const execFileP = promisify(execFile);

/** the host's busybox; Debian's busybox-static installs it here */
export const HOST_BUSYBOX = '/bin/busybox';

/** directories of a busybox server, with their modes */
export const BUSYBOX_DIRS: ReadonlyArray<readonly [string, number]> = [
  ['/bin', 0o755], ['/sbin', 0o755], ['/usr', 0o755], ['/usr/bin', 0o755], ['/usr/sbin', 0o755],
  ['/etc', 0o755], ['/etc/init.d', 0o755],
  ['/proc', 0o555], ['/sys', 0o555], ['/dev', 0o755],
  ['/tmp', 0o1777], ['/run', 0o755],
  ['/var', 0o755], ['/var/log', 0o755], ['/var/www', 0o755], ['/var/tmp', 0o1777],
  ['/home', 0o755], ['/root', 0o700],
];

export interface BusyboxOptions {
  /** the busybox binary to install (default /bin/busybox); must be static */
  readonly busybox?: string;
}

/** fail unless path is a statically linked executable */
async function checkStatic(path: string): Promise<void> {
  const st = await lstat(path).catch(() => null);
  if (!st) throw new TemplateError('busybox', `${path} not found; install it with 'apt-get install busybox-static'`);
  let interp: string | null;
  try {
    interp = await elfInterpreter(path);
  } catch (e) {
    throw new TemplateError('busybox', `${path}: ${(e as Error).message}`);
  }
  if (interp !== null) {
    throw new TemplateError('busybox',
      `${path} is dynamically linked (needs ${interp}), it cannot run in a server without a C library; ` +
      `install the static one with 'apt-get install busybox-static'`);
  }
}

/** 'usr/bin/wget' ... : where each applet lives, as busybox itself says */
async function appletPaths(busybox: string): Promise<string[]> {
  const { stdout } = await execFileP(busybox, ['--list-full'], { maxBuffer: 1 << 20 });
  return stdout.split('\n').map((l) => l.trim())
    // 'linuxrc' (no directory) is the initrd alias of init; bin/busybox is the binary
    .filter((l) => l.includes('/') && l !== 'bin/busybox' && !l.startsWith('/') && !l.includes('..'));
}

/** populate ctx.root with a busybox server */
export async function buildBusybox(ctx: TemplateContext, opts: BusyboxOptions = {}): Promise<TemplateResult> {
  const busybox = opts.busybox ?? HOST_BUSYBOX;
  const { root } = ctx;
  const p: files.BusyboxFileParams = { name: ctx.name, hostname: ctx.hostname, ip: ctx.ip };

  ctx.progress({ step: 'busybox', detail: `checking ${busybox}` });
  await checkStatic(busybox);

  ctx.progress({ step: 'busybox', detail: 'creating directories' });
  await makeDirs(root, BUSYBOX_DIRS);
  await symlink('../run', inRoot(root, '/var/run'));

  ctx.progress({ step: 'busybox', detail: `installing ${busybox} and its applets` });
  const bin = inRoot(root, '/bin/busybox');
  await copyFile(busybox, bin);
  await chmod(bin, 0o755);
  const applets = await appletPaths(busybox);
  // some 400 links in our own fresh tree: synchronous calls are several times faster here
  for (const a of applets) {
    try {
      symlinkSync('/bin/busybox', inRoot(root, '/' + a));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }

  ctx.progress({ step: 'busybox', detail: 'writing /etc' });
  await writeRootFile(root, '/etc/passwd', files.passwd);
  await writeRootFile(root, '/etc/group', files.group);
  await writeRootFile(root, '/etc/shadow', files.shadow, 0o600);
  await writeRootFile(root, '/etc/shells', files.shells);
  await writeRootFile(root, '/etc/inittab', files.inittab(p));
  await writeRootFile(root, '/etc/profile', files.profile(p));
  await writeRootFile(root, '/etc/motd', files.motd(p));
  await writeRootFile(root, '/etc/init.d/rcS', files.rcS, 0o755);
  await writeRootFile(root, '/etc/init.d/rcK', files.rcK, 0o755);
  await writeRootFile(root, '/etc/init.d/S01syslogd', files.syslogdScript, 0o755);
  // With no address of its own the server would serve port 80 of every host
  // address: the script is installed but not executable (chmod +x enables it).
  await writeRootFile(root, '/etc/init.d/S50httpd', files.httpdScript, ctx.ip ? 0o755 : 0o644);
  await writeRootFile(root, '/var/www/index.html', files.indexHtml(p));
  await writeHostnameFiles(ctx);

  ctx.progress({ step: 'vreboot', detail: 'installing /sbin/vreboot and /sbin/vhalt' });
  await installVreboot(root, { withLibraries: true });

  return { flags: [FLAG.fakeinit], init: 'init' };
}
