/**
 * The public index of running servers: what any user may know about them.
 *
 * A server's name lives in its cgroup's `trusted.vctx.name` attribute,
 * which only root can read; so a user other than root sees anonymous
 * contexts.  `vserver NAME start` therefore publishes, once the server
 * runs, one world-readable entry
 *
 *     RUNDIR/.index/NAME   {"name":"web1","xid":50123,"state":"running",
 *                           "ip":"127.0.0.11","ip6":null,"cgroupIno":"4711","startedAt":1767000000000}
 *
 * written atomically (a temporary file renamed over it), mode 0644 in a
 * 0755 directory (a server name never starts with '.', so the directory
 * cannot be a server's).  `stop` removes the entry once the context is
 * gone, and so does the repair of a crash's leftovers.  This module is the
 * only one that knows the format.
 *
 * An entry is a claim, never the truth: a server killed with kill -9 leaves
 * its entry behind.  Readers believe an entry only for a context the
 * kernel still has under that XID, whose cgroup is the one the start
 * created (same inode: cgroup2 inodes are not reused) and which still has
 * processes (applyServerIndex).
 */
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
// zod/mini as the configuration's schemas (values.ts): full zod, with its
// locales, would be ~300 KB of every vserver bundle (start, stop and
// status's repair import this module)
import * as z from 'zod/mini';
import { serverNameProblem } from '../config/validate.js';
import type { VctxPaths } from '../config/paths.js';
import type { Snapshot } from '../kernel-bridge/types.js';

/** the directory of the entries, below the runtime directory */
export const INDEX_DIR = '.index';

/** one published server */
export interface PublishedServer {
  name: string;
  xid: number;
  /** always `running`: a stopped server has no entry */
  state: 'running';
  /** IPROOT, or null when the server has no address */
  ip: string | null;
  /** IPROOT's IPv6 address, or null (absent in entries of older versions) */
  ip6?: string | null;
  /** inode of the context's cgroup2 directory (decimal), null when unknown */
  cgroupIno: string | null;
  /** unix ms when the server was started */
  startedAt: number;
}

const entrySchema = z.object({
  name: z.string(),
  xid: z.int().check(z.minimum(2), z.maximum(65535)),
  state: z.literal('running'),
  ip: z.nullable(z.string().check(z.maxLength(64))),
  ip6: z.optional(z.nullable(z.string().check(z.maxLength(64)))),
  cgroupIno: z.nullable(z.string().check(z.regex(/^\d{1,20}$/))),
  startedAt: z.number().check(z.nonnegative()),
});

export function indexDir(rundir: string): string {
  return join(rundir, INDEX_DIR);
}

/**
 * Publishes (or replaces) the entry of a running server.  Both the
 * directory and the entry are made world-readable whatever the umask.
 */
export async function publishServer(paths: VctxPaths, entry: PublishedServer): Promise<void> {
  const dir = indexDir(paths.rundir);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  await chmod(dir, 0o755);
  const file = join(dir, entry.name);
  const tmp = join(dir, `.${entry.name}.${process.pid}.tmp`);
  const body: PublishedServer = {
    name: entry.name, xid: entry.xid, state: 'running', ip: entry.ip, ip6: entry.ip6 ?? null, cgroupIno: entry.cgroupIno, startedAt: entry.startedAt,
  };
  try {
    await writeFile(tmp, JSON.stringify(body) + '\n', { mode: 0o644 });
    await chmod(tmp, 0o644);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/** removes the entry of server @name (none is fine) */
export async function unpublishServer(paths: VctxPaths, name: string): Promise<void> {
  if (serverNameProblem(name)) return;
  await rm(join(indexDir(paths.rundir), name), { force: true });
}

/**
 * Every well-formed entry under @rundir (what any user may read); entries
 * that do not parse, or whose name is not their file's, are skipped.
 */
export function readServerIndex(rundir: string): PublishedServer[] {
  const dir = indexDir(rundir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: PublishedServer[] = [];
  for (const n of names.sort()) {
    if (serverNameProblem(n)) continue; // temporary files start with '.'
    try {
      const r = entrySchema.safeParse(JSON.parse(readFileSync(join(dir, n), 'utf8')));
      if (r.success && r.data.name === n) out.push(r.data);
    } catch {
      /* gone meanwhile, or not JSON */
    }
  }
  return out;
}

/**
 * The snapshot with the names (and addresses) of the entries that the
 * kernel confirms: a context of the entry's XID that has no name of its
 * own (the reader cannot see the attribute), whose cgroup has the entry's
 * inode, and that has processes.  Anything else is a stale entry and names
 * nothing.  @inoOf gives a cgroup directory's inode (null when gone).
 */
export function applyServerIndex(snapshot: Snapshot, entries: readonly PublishedServer[], inoOf: (dir: string) => string | null): Snapshot {
  if (entries.length === 0) return snapshot;
  const byXid = new Map(entries.map((e) => [e.xid, e]));
  const named = new Set(snapshot.contexts.filter((c) => c.name).map((c) => c.name));
  let populated: Set<number> | null = null;
  let changed = false;
  const contexts = snapshot.contexts.map((c) => {
    const e = byXid.get(c.xid);
    if (!e || c.name || named.has(e.name)) return c;
    populated ??= new Set(snapshot.processes.map((p) => p.xid));
    if (c.nprocs === 0 && !populated.has(c.xid)) return c;
    if (e.cgroupIno !== null && inoOf(c.cgroup) !== e.cgroupIno) return c;
    changed = true;
    return { ...c, name: e.name, ip: c.ip ?? e.ip, ip6: c.ip6 ?? e.ip6 ?? null };
  });
  return changed ? { ...snapshot, contexts } : snapshot;
}
