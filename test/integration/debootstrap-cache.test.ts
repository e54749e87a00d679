/**
 * The debootstrap cache against the host's Debian mirror (root): a first
 * build into an empty cache runs debootstrap and keeps its result, a
 * second build of another server unpacks it and yields the same tree.
 * The two build times are printed (test diagnostics), never asserted:
 * speed is bench/'s business.  VCTX_TEST_DEBOOTSTRAP=0 leaves it out, as
 * for test/integration/build.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { build, removeTree, type BuildResult } from '../../src/actions/build.js';
import { serverResolvConf } from '../../src/actions/templates/common.js';
import { cacheEntries } from '../../src/actions/templates/debootstrap-cache.js';

const wanted = process.env.VCTX_TEST_DEBOOTSTRAP !== '0' && process.getuid?.() === 0;

/**
 * Every path below @root: type, mode, owner, size or link target, and a
 * hash of the contents with each server's name and address replaced (the
 * per-server files name them, and the kept bootstrap log names the first
 * build's staging directory); /etc/machine-id is random per server by design.
 */
function describeTree(root: string, serverStrings: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel))) {
      const p = rel ? `${rel}/${n}` : n;
      const full = join(root, p);
      const st = lstatSync(full);
      let what = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
      if (st.isSymbolicLink()) what += ` -> ${readlinkSync(full)}`;
      else if (st.isFile() && p !== 'etc/machine-id') {
        let text = readFileSync(full).toString('latin1');
        for (const x of serverStrings) text = text.split(x).join('SERVER');
        what += ` ${createHash('sha256').update(text, 'latin1').digest('hex').slice(0, 16)}`;
      }
      out.set(p, what);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

describe('vserver build --template debootstrap with the cache', { skip: !wanted && 'VCTX_TEST_DEBOOTSTRAP=0 or not root' }, () => {
  let T = '';
  after(async () => {
    if (!T) return;
    for (const n of ['dbcone', 'dbctwo']) await removeTree(join(T, 'roots', n)).catch(() => {});
    await rm(T, { recursive: true, force: true });
  });

  test('a second build unpacks the first one\'s bootstrap, says so, and yields the same tree', { timeout: 900_000 }, async (t) => {
    T = await mkdtemp(join(tmpdir(), 'vctx-dbcache-'));
    const paths = { confdir: join(T, 'etc'), rootdir: join(T, 'roots'), rundir: join(T, 'run') };
    const cache = { dir: join(T, 'cache') };
    const lines: Record<string, string[]> = { dbcone: [], dbctwo: [] };
    const make = (n: 'dbcone' | 'dbctwo', ip: string): Promise<BuildResult> =>
      build(n, { template: 'debootstrap', ip, cache, onProgress: (e) => lines[n]!.push(`${e.step}: ${e.detail}`) }, paths);

    const first = await make('dbcone', '127.0.0.46');
    assert.ok(lines.dbcone!.some((l) => /^debootstrap: cache miss \(no cache entry for these inputs\)/.test(l)), lines.dbcone!.join('\n'));
    assert.ok(lines.dbcone!.some((l) => l.startsWith('debootstrap: I: ')), 'debootstrap ran');
    const entries = await cacheEntries(cache.dir);
    assert.equal(entries.length, 1, 'one entry');
    assert.ok(lines.dbcone!.some((l) => l.includes(`kept in the cache: ${entries[0]!.file}`)), lines.dbcone!.join('\n'));

    const second = await make('dbctwo', '127.0.0.47');
    assert.ok(lines.dbctwo!.some((l) => /^debootstrap: cache hit: unpacking .* instead of running debootstrap$/.test(l)), lines.dbctwo!.join('\n'));
    assert.ok(!lines.dbctwo!.some((l) => l.startsWith('debootstrap: I: ')), 'debootstrap did not run');

    // names of letters that are no hex digits: no checksum in the tree contains them by chance
    const strings = ['dbcone', 'dbctwo', '127.0.0.46', '127.0.0.47'];
    const a = describeTree(first.root, strings);
    const b = describeTree(second.root, strings);
    const differ = [...new Set([...a.keys(), ...b.keys()])].filter((p) => a.get(p) !== b.get(p)).sort();
    assert.deepEqual(differ, [], 'the trees differ');
    assert.ok(a.size > 5000, `a Debian tree (${a.size} paths)`);
    // DNS inside: the host's resolver configuration, a file of the server's own
    assert.ok(lstatSync(join(second.root, 'etc/resolv.conf')).isFile());
    assert.equal(readFileSync(join(second.root, 'etc/resolv.conf'), 'utf8'), (await serverResolvConf()).text);

    t.diagnostic(`first build (cache miss, debootstrap from the mirror): ${(first.elapsedMs / 1000).toFixed(1)} s`);
    t.diagnostic(`second build (cache hit): ${(second.elapsedMs / 1000).toFixed(1)} s`);
    t.diagnostic(`cache entry: ${entries[0]!.file}, ${(entries[0]!.bytes / 1024 / 1024).toFixed(0)} MiB; ${a.size} paths compared`);
  });
});
