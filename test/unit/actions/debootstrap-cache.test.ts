/**
 * The debootstrap cache's fill and reuse, with a stand-in for debootstrap
 * (a shell script that writes a small tree into its target and counts its
 * runs) and the real tar.  The real debootstrap against the mirror is
 * test/integration/debootstrap-cache.test.ts.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootstrapWithCache, cacheEntries } from '../../../src/actions/templates/debootstrap-cache.js';
import type { BuildProgress, TemplateContext } from '../../../src/actions/templates/common.js';

const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const d = mkdtempSync(join(tmpdir(), 'vctx-dbcache-unit-'));
  made.push(d);
  const program = join(d, 'fake-debootstrap');
  const runs = join(d, 'runs');
  writeFileSync(program, `#!/bin/sh
[ "$1" = --version ] && { echo "debootstrap 0.0-test"; exit 0; }
echo run >> ${runs}
[ -e ${join(d, 'fail')} ] && { echo "E: Couldn't download packages" >&2; exit 1; }
t=""; n=0; for a; do n=$((n+1)); done; i=0
for a; do i=$((i+1)); [ $i -eq $((n-1)) ] && t=$a; done
echo "I: Retrieving Release"
mkdir -p "$t/etc" "$t/usr/bin"
echo bookworm > "$t/etc/debian_version"
printf '#!/bin/sh\\necho hi\\n' > "$t/usr/bin/hello"; chmod 4755 "$t/usr/bin/hello"
ln -s ../usr/bin/hello "$t/etc/hello-link"
echo "I: Base system installed successfully."
`, { mode: 0o755 });
  const cache = join(d, 'cache');
  let n = 0;
  const build = async (opts: { refresh?: boolean } = {}) => {
    const root = join(d, `root${++n}`);
    mkdirSync(root);
    const lines: string[] = [];
    const warnings: string[] = [];
    const ctx: TemplateContext = {
      name: 'deb', root, hostname: 'deb', hostExcludes: [],
      progress: (e: BuildProgress) => lines.push(e.detail), warn: (m) => warnings.push(m),
    };
    const args = ['--variant=minbase', '--include=sysvinit-core', 'bookworm', root, 'http://mirror.invalid/debian'];
    await bootstrapWithCache(ctx, program, args, { dir: cache, refresh: opts.refresh });
    return { root, lines, warnings };
  };
  const runCount = () => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').filter(Boolean).length : 0);
  return { d, cache, build, runCount };
}

/** every path below @root with its type, mode and link target */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const p = join(rel, n);
      const st = lstatSync(join(root, p));
      out.push(`${p} ${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.isSymbolicLink() ? readlinkSync(join(root, p)) : st.size}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

test('a miss runs debootstrap and keeps its tree; a hit unpacks the same tree without running it', async () => {
  const t = setup();
  const first = await t.build();
  assert.equal(t.runCount(), 1);
  assert.ok(first.lines.some((l) => /^cache miss \(no cache entry for these inputs\)/.test(l)), first.lines.join('\n'));
  assert.ok(first.lines.some((l) => /^kept in the cache: .*bookworm-.*\.tar/.test(l)), first.lines.join('\n'));
  const entries = await cacheEntries(t.cache);
  assert.equal(entries.length, 1);
  assert.equal(statSync(join(t.cache, 'debootstrap')).mode & 0o777, 0o700, 'the cache is root\'s');
  assert.equal(statSync(entries[0]!.file).mode & 0o777, 0o600);
  const meta = JSON.parse(readFileSync(entries[0]!.file.replace(/\.tar$/, '.json'), 'utf8'));
  assert.equal(meta.suite, 'bookworm');
  assert.ok(meta.args.includes('http://mirror.invalid/debian') && !meta.args.includes(first.root), 'the key has the mirror, not the target');

  const second = await t.build();
  assert.equal(t.runCount(), 1, 'debootstrap did not run again');
  assert.ok(second.lines.some((l) => /^cache hit: unpacking .*\.tar \(\d+ MiB, made .* ago\) instead of running debootstrap$/.test(l)), second.lines.join('\n'));
  assert.ok(!second.lines.some((l) => l.startsWith('I: ')));
  assert.deepEqual(tree(second.root), tree(first.root));
  assert.equal(statSync(join(second.root, 'usr/bin/hello')).mode & 0o7777, 0o4755, 'modes (setuid too) survive');
  assert.deepEqual(first.warnings, []);
});

test('--refresh-cache and an entry over 7 days old run debootstrap again and replace the entry', async () => {
  const t = setup();
  await t.build();
  const r = await t.build({ refresh: true });
  assert.equal(t.runCount(), 2);
  assert.ok(r.lines.some((l) => /^cache miss \(--refresh-cache\)/.test(l)));
  const [e] = await cacheEntries(t.cache);
  const old = (Date.now() - 8 * 86_400_000) / 1000;
  utimesSync(e!.file, old, old);
  const r2 = await t.build();
  assert.equal(t.runCount(), 3);
  assert.ok(r2.lines.some((l) => /^cache miss \(the cache entry is 8\.0 days old \(made anew after 7 days\)\)/.test(l)), r2.lines.join('\n'));
  assert.ok((await cacheEntries(t.cache))[0]!.mtimeMs > Date.now() - 60_000, 'the entry was made anew');
});

test('a failed debootstrap leaves no entry; an interrupted fill\'s temporary file is never an entry and goes with the next fill', async () => {
  const t = setup();
  writeFileSync(join(t.d, 'fail'), '');
  await assert.rejects(t.build(), /Couldn't download packages/);
  assert.deepEqual(await cacheEntries(t.cache), []);
  // a fill killed half-way: its temporary file, from a process that is gone
  mkdirSync(join(t.cache, 'debootstrap'), { recursive: true });
  const stale = join(t.cache, 'debootstrap', '.bookworm-amd64-0123456789abcdef.tar.999999999.tmp');
  writeFileSync(stale, 'half a tar');
  assert.deepEqual(await cacheEntries(t.cache), [], 'a temporary file is not an entry');
  rmSync(join(t.d, 'fail'));
  await t.build();
  assert.equal(existsSync(stale), false, 'the dead fill\'s temporary file was removed');
  assert.equal((await cacheEntries(t.cache)).length, 1);
});

test('an entry that cannot be unpacked is removed and debootstrap runs', async () => {
  const t = setup();
  await t.build();
  const [e] = await cacheEntries(t.cache);
  writeFileSync(e!.file, 'not a tar');
  const r = await t.build();
  assert.equal(t.runCount(), 2);
  assert.ok(r.lines.some((l) => /could not be unpacked/.test(l)), r.lines.join('\n'));
  assert.ok(existsSync(join(r.root, 'etc/debian_version')));
  assert.ok(statSync((await cacheEntries(t.cache))[0]!.file).size > 1000, 'a good entry replaced it');
});

test('a cache that cannot be written is a warning, not a failure', async () => {
  const t = setup();
  writeFileSync(t.cache, 'a file where the directory should be');
  const r = await t.build();
  assert.ok(existsSync(join(r.root, 'etc/debian_version')));
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /the debootstrap cache .* was not filled .*the next build runs debootstrap again/);
});
