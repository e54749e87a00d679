import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noProjectQuotaReason } from '../../../src/actions/disk-limit.js';
import { parseSetArgs } from '../../../src/actions/set.js';
import type { QuotaSupport } from '../../../src/kernel-bridge/quota.js';

const base: QuotaSupport = {
  ok: false, fsType: 'ext4', mountPoint: '/srv', source: '/dev/sdb1', options: ['rw', 'relatime'],
  accounting: false, enforced: false, ext4Features: { quota: false, project: false }, kernelSupport: true, kernelOption: 'CONFIG_QFMT_V2',
};
const why = (s: Partial<QuotaSupport>) => noProjectQuotaReason('/srv/vs/web', { ...base, ...s });

test('a file system with project quotas has nothing to say', () => {
  assert.equal(why({ ok: true, accounting: true, enforced: true, options: ['rw', 'prjquota'], ext4Features: { quota: true, project: true } }), null);
});

test('ext4 without the features and the option: the mount, the features with the fix, the option, in one line', () => {
  const m = why({})!;
  assert.equal(m, "/srv/vs/web is on /srv (ext4, /dev/sdb1), which has no project quotas: it lacks the ext4 'project' and 'quota' features " +
    "(tune2fs -O quota,project on it unmounted, or mkfs.ext4 -O quota,project); the 'prjquota' mount option");
  assert.doesNotMatch(m, /\n/);
});

test('ext4 with the features but mounted without prjquota (counted, not enforced): the mount option only', () => {
  assert.equal(why({ accounting: true, ext4Features: { quota: true, project: true } }),
    "/srv/vs/web is on /srv (ext4, /dev/sdb1), which has no project quotas: it lacks the 'prjquota' mount option");
});

test('ext4 with only the quota feature: the project feature is named alone', () => {
  assert.match(why({ ext4Features: { quota: true, project: false }, options: ['rw', 'prjquota'] })!, /lacks the ext4 'project' feature \(tune2fs/);
});

test('a kernel without quota support says so too', () => {
  assert.match(why({ kernelSupport: false })!, /; a kernel built with CONFIG_QFMT_V2 \(this one has no ext4 quotas at all\)$/);
});

test('XFS without the mount option, and a file system without project quotas at all', () => {
  assert.match(why({ fsType: 'xfs', ext4Features: null, kernelOption: 'CONFIG_XFS_QUOTA' })!, /\(xfs, \/dev\/sdb1\), which has no project quotas: it lacks the 'prjquota' mount option \(XFS takes it at mount time only\)$/);
  assert.match(why({ fsType: 'tmpfs', source: 'tmpfs', ext4Features: null, kernelSupport: null, kernelOption: null })!,
    /\(tmpfs, tmpfs\), which has no project quotas: it lacks project quotas, which vctx finds on ext4 and XFS only$/);
});

test('set takes DISK_MAX with the size syntax of MEMORY_MAX; a bad size is a usage error naming it', () => {
  assert.deepEqual(parseSetArgs(['DISK_MAX=10G', 'MEMORY_MAX=max'], 'web.conf'), [['DISK_MAX', '10G'], ['MEMORY_MAX', 'max']]);
  assert.throws(() => parseSetArgs(['DISK_MAX=10GB'], 'web.conf'), (e: Error & { exitCode?: number }) =>
    e.exitCode === 2 && /DISK_MAX="?10GB"?: bytes with an optional K, M, G or T suffix/.test(e.message));
});
