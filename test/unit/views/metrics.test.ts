/**
 * vctx-exporter's page (issue 15) on a recorded sample
 * (test/fixtures/metrics/sample.json: a busybox server named
 * `x"},a{b="\z` with MEMORY_MAX=64M, and a stopped ONBOOT server, sampled
 * by src/actions/metrics.ts on a real kernel): the text format's families,
 * HELP and TYPE lines, label escaping of hostile names, figures left out
 * when the kernel gives none, `promtool check metrics` on the page, and
 * --listen's parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../../src/kernel-bridge/addon.js';
import { formatMetrics, labelValue, type MetricsSample } from '../../../src/views/metrics.js';
import { parseListen } from '../../../src/cli/vctx-exporter-args.js';

const sample = JSON.parse(readFileSync(join(projectRoot, 'test', 'fixtures', 'metrics', 'sample.json'), 'utf8')) as MetricsSample;
const INFO = { version: '0.1.0', nodeVersion: '20.20.2', scrapeSeconds: 0.0123, scrapes: 7, scrapeErrors: 1 };
const HOSTILE = 'x"},a{b="\\z';

/**
 * A reader of the text format as Prometheus's own parser reads it: each
 * sample line's name, labels (unescaped) and value; HELP and TYPE by family.
 */
function parse(text: string) {
  const samples: { name: string; labels: Record<string, string>; value: string }[] = [];
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) {
      (m[1] === 'HELP' ? help : type).set(m[2]!, m[3]!);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    let rest = m[2] ?? '';
    while (rest) {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)",?/.exec(rest);
      assert.ok(l, `labels of: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_x, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    samples.push({ name: m[1]!, labels, value: m[3]! });
  }
  return { samples, help, type };
}

test('every family has one HELP and one TYPE line; counters end in _total, units are in the names', () => {
  const text = formatMetrics(sample, INFO);
  const { samples, help, type } = parse(text);
  assert.deepEqual([...help.keys()], [...type.keys()]);
  for (const [name, t] of type) {
    assert.ok(t === 'gauge' || t === 'counter', `${name}: ${t}`);
    assert.equal(t === 'counter', name.endsWith('_total'), `${name} is a ${t}`);
    assert.ok(name.startsWith('vctx_'), name);
  }
  for (const s of samples) assert.ok(type.has(s.name), `${s.name} has its TYPE`);
  // the page groups each family's samples under its HELP/TYPE
  const order = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => /^[^{ ]+/.exec(l)![0]);
  assert.deepEqual(order, [...order].sort((a, b) => [...type.keys()].indexOf(a) - [...type.keys()].indexOf(b)));
});

test('the running server\'s series carry name and xid; its figures are the sample\'s', () => {
  const { samples } = parse(formatMetrics(sample, INFO));
  const of = (name: string, extra: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && s.labels['name'] === HOSTILE && s.labels['xid'] === '52565' &&
      Object.entries(extra).every(([k, v]) => s.labels[k] === v)).map((s) => s.value);
  assert.deepEqual(of('vctx_server_up'), ['1']);
  assert.deepEqual(of('vctx_server_start_time_seconds'), ['1796591241']);
  assert.deepEqual(of('vctx_server_cpu_seconds_total', { mode: 'user' }), ['0.002554']);
  assert.deepEqual(of('vctx_server_cpu_seconds_total', { mode: 'system' }), ['0.007664']);
  assert.deepEqual(of('vctx_server_memory_bytes'), ['1032192']);
  assert.deepEqual(of('vctx_server_memory_peak_bytes'), ['1785856']);
  assert.deepEqual(of('vctx_server_memory_limit_bytes'), ['67108864']);
  assert.deepEqual(of('vctx_server_pids'), ['4']);
  assert.deepEqual(of('vctx_server_pids_limit'), ['1000']);
  assert.deepEqual(of('vctx_server_processes'), ['4']);
  assert.deepEqual(of('vctx_server_oom_kills_total'), ['0']);
  for (const n of ['receive_bytes', 'receive_packets', 'transmit_bytes', 'transmit_packets']) {
    assert.deepEqual(of(`vctx_server_network_${n}_total`), ['0'], n);
  }
  assert.deepEqual(of('vctx_server_io_read_bytes_total'), ['0']);
  assert.deepEqual(of('vctx_server_io_written_bytes_total'), ['12288']);
  // no project quota on the recording's file system: no disk series rather than a 0
  assert.deepEqual(of('vctx_server_disk_used_bytes'), []);
  assert.deepEqual(of('vctx_server_disk_limit_bytes'), []);
});

test('a configured server that is stopped: up 0 with xid "", and its ONBOOT', () => {
  const { samples } = parse(formatMetrics(sample, INFO));
  const x = samples.filter((s) => s.labels['name'] === 'xplain');
  assert.deepEqual(x.map((s) => [s.name, s.labels['xid'] ?? null, s.value]), [
    ['vctx_server_up', '', '0'],
    ['vctx_server_onboot', null, '1'],
  ]);
  assert.equal(samples.find((s) => s.name === 'vctx_server_onboot' && s.labels['name'] === HOSTILE)!.value, '0');
});

test('hostile names are escaped in labels: the page says exactly the name, no label or series is forged', () => {
  // the three escapes of the format; a line feed cannot name a server, but a context's name attribute may hold one
  assert.equal(labelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
  const evil = 'web"} 1\nvctx_server_up{name="forged';
  const page = formatMetrics({
    servers: [{ ...sample.servers[0]!, name: evil }, { ...sample.servers[0]!, name: 'tail\\', xid: 52566 }],
    configured: [{ name: '\u202eevil\u0085', onBoot: true }],
  }, INFO);
  const { samples } = parse(page);
  assert.ok(!samples.some((s) => s.labels['name'] === 'forged'), 'no forged series');
  assert.deepEqual(samples.filter((s) => s.name === 'vctx_server_up').map((s) => s.labels['name']), ['tail\\', evil, '\u202eevil\u0085']);
  assert.match(page, /^vctx_server_up\{name="web\\"\} 1\\nvctx_server_up\{name=\\"forged",xid="52565"\} 1$/m);
  assert.match(page, /^vctx_server_up\{name="tail\\\\",xid="52566"\} 1$/m);
});

test('the exporter\'s own series: build info, scrape duration, scrapes and their errors', () => {
  const { samples } = parse(formatMetrics(sample, INFO));
  const one = (n: string) => samples.filter((s) => s.name === n);
  assert.deepEqual(one('vctx_exporter_build_info').map((s) => [s.labels, s.value]), [[{ version: '0.1.0', nodejs: '20.20.2' }, '1']]);
  assert.deepEqual(one('vctx_exporter_scrape_duration_seconds').map((s) => s.value), ['0.0123']);
  assert.deepEqual(one('vctx_exporter_scrapes_total').map((s) => s.value), ['7']);
  assert.deepEqual(one('vctx_exporter_scrape_errors_total').map((s) => s.value), ['1']);
});

test('an empty host: every family still has HELP and TYPE, only the exporter\'s own samples', () => {
  const { samples, type } = parse(formatMetrics({ servers: [], configured: [] }, INFO));
  assert.ok(type.size >= 20);
  assert.deepEqual([...new Set(samples.map((s) => s.name.split('_')[1]))], ['exporter']);
});

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).status === 0;
test('promtool check metrics passes on the page (hostile names included)', { skip: promtool ? false : 'promtool is not installed (Debian package prometheus; setup.sh installs it)' }, () => {
  const page = formatMetrics({ ...sample, servers: [...sample.servers, { ...sample.servers[0]!, name: 'a\nb"c\\', xid: 3 }] }, INFO);
  const r = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal((r.stdout + r.stderr).trim(), '', 'no lint findings');
});

test('--listen: ADDR:PORT with IPv4, [IPv6] or an empty address; anything else says what is right', () => {
  assert.deepEqual(parseListen('127.0.0.1:10095'), { host: '127.0.0.1', port: 10095 });
  assert.deepEqual(parseListen('[::1]:9'), { host: '::1', port: 9 });
  assert.deepEqual(parseListen(':10095'), { host: '', port: 10095 });
  for (const [bad, says] of [
    ['10095', /not ADDR:PORT/], ['127.0.0.1', /not ADDR:PORT/], ['127.0.0.1:0', /port 0 is not from 1 to 65535/],
    ['127.0.0.1:65536', /port 65536/], ['::1:80', /not ADDR:PORT/], ['[127.0.0.1]:80', /'127.0.0.1' is not an IPv6 address/],
    ['localhost:80', /'localhost' is not an IPv4 address/], ['1.2.3:80', /not an IPv4 address/], ['127.0.0.1:8o', /not ADDR:PORT/],
    ['127.0.0.1:80\n', /not ADDR:PORT/],
  ] as const) {
    const r = parseListen(bad);
    assert.equal(typeof r, 'string', bad);
    assert.match(r as string, says, bad);
  }
});

test('promtool test rules: every shipped alert fires on series made up for it, and not for a quiet server', { skip: promtool ? false : 'promtool is not installed (Debian package prometheus; setup.sh installs it)' }, () => {
  const r = spawnSync('promtool', ['test', 'rules', join(projectRoot, 'test', 'fixtures', 'metrics', 'alerts.test.yml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /SUCCESS/);
});
