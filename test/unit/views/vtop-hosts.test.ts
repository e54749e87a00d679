/**
 * vtop --host's model of what other hosts send (src/views/vtop-hosts.ts),
 * the request lines `vtop --stream` takes (src/cli/vtop-stream.ts) and the
 * hosts vserver-copy and vtop --host hand to ssh (src/actions/ssh.ts).
 * What a host sends is hostile: escaped, checked field by field.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostHeading, hostsJson, hostsRows, hostsText, parseRemoteFrame, serverLine, type HostView } from '../../../src/views/vtop-hosts.js';
import { parseStreamRequest } from '../../../src/cli/vtop-stream.js';
import { sshHostProblem } from '../../../src/actions/ssh.js';

const view = (host: string, doc: unknown, status: HostView['status'] = 'up'): HostView => ({
  host, status, error: status === 'unreachable' ? 'ssh: connect to host 127.0.0.2 port 9: Connection refused' : null,
  updatedAt: Date.UTC(2026, 11, 6, 21, 0, 5), seq: 7, hostname: null, readonly: null, servers: parseRemoteFrame(doc)?.servers ?? [],
});

test('a frame: the host\'s own row left out, each server\'s figures; a field of the wrong type is unknown, not trusted', () => {
  const f = parseRemoteFrame({
    seq: 3, readonly: null, host: { hostname: 'b1' },
    servers: [
      { xid: 0, name: 'host', state: 'running', processes: 90 },
      { xid: 45900, name: 'web', state: 'running', processes: 4, cpuPercent: 12.5, cgroupMemoryBytes: 1048576, rssSumBytes: 5, uptimeSeconds: 61, ip: '10.0.0.5' },
      { xid: null, name: 'db', state: 'stopped', processes: 0, cpuPercent: 'lots', cgroupMemoryBytes: null, rssSumBytes: 0, uptimeSeconds: null, ip: null },
      { xid: 5, name: 42 },
      'junk',
    ],
  });
  assert.ok(f);
  assert.equal(f.seq, 3);
  assert.equal(f.hostname, 'b1');
  assert.deepEqual(f.servers.map((s) => s.name), ['web', 'db']);
  assert.equal(f.servers[0]!.memoryBytes, 1048576);
  assert.equal(f.servers[1]!.cpuPercent, null);
  assert.equal(parseRemoteFrame({ reply: 1 }), null);
  assert.equal(parseRemoteFrame('x'), null);
});

test('hostile text from a host reaches no terminal raw: names, states, addresses, the host name and the read-only reason are escaped', () => {
  const evil = '\x1b]0;owned\x07\x1b[2J\r\nweb';
  const f = parseRemoteFrame({ readonly: `no\x1b[31m`, host: { hostname: `h\x1b[H` }, servers: [{ xid: 7, name: evil, state: 'run\x9bning', processes: 1, ip: '1.2.3.4\x1b[K' }] })!;
  const h: HostView = { ...view('hostb', {}), ...f };
  const text = [hostHeading(h), ...f.servers.map((s) => serverLine(s, 120)), hostsText([h], 120)].join('\n');
  // eslint-disable-next-line no-control-regex
  assert.doesNotMatch(text.replace(/\n/g, ''), /[\x00-\x1f\x7f\x80-\x9f]/, 'no control character left');
  assert.match(text, /\\x1b\]0;owned/);
  assert.equal(JSON.stringify(hostsJson([h])).includes('\\u001b'), false, 'the JSON carries the escaped text too');
});

test('rows: grouped by host in the order given, servers by name; an unreachable host is its heading only, with ssh\'s reason', () => {
  const a = view('hosta', { servers: [{ xid: 9, name: 'zed', state: 'running', processes: 1 }, { xid: 8, name: 'alpha', state: 'running', processes: 1 }] });
  const b = view('hostb', { servers: [{ xid: 9, name: 'web', state: 'running', processes: 1 }] }, 'unreachable');
  const rows = hostsRows([a, b]);
  assert.deepEqual(rows.map((r) => r.kind === 'host' ? `H ${r.host.host}` : `${r.host.host}/${r.server.name}`), ['H hosta', 'hosta/alpha', 'hosta/zed', 'H hostb']);
  assert.match(hostHeading(b), /^hostb · UNREACHABLE since 21:00:05 UTC: ssh: connect to host 127\.0\.0\.2 port 9: Connection refused; reconnecting$/);
  assert.match(hostHeading(a), /^hosta · 2 servers · updated 21:00:05 UTC \(#7\)$/);
  assert.deepEqual(hostsJson([a, b]).hosts.map((h) => [h.host, h.reachable, h.servers.length]), [['hosta', true, 2], ['hostb', false, 0]]);
});

test('vtop --stream takes the port\'s request shapes only (the helper checks the values)', () => {
  assert.deepEqual(parseStreamRequest('{"id":1,"request":{"type":"stop","name":"web"}}'), { id: 1, request: { type: 'stop', name: 'web' } });
  assert.deepEqual(parseStreamRequest('{"id":2,"request":{"type":"killContext","xid":45900,"signal":"SIGKILL"}}'),
    { id: 2, request: { type: 'killContext', xid: 45900, signal: 'SIGKILL' } });
  for (const bad of ['', 'x', '{"id":1}', '{"id":-1,"request":{"type":"stop","name":"w"}}', '{"id":1,"request":{"type":"exec","name":"w"}}',
    '{"id":1,"request":{"type":"killContext","xid":5,"signal":"SIGHUP"}}', '{"id":1,"request":{"type":"kill","pid":"1","startTime":1,"signal":"SIGTERM"}}',
    '{"id":1,"request":{"type":"start","name":7}}', `{"id":1,"request":{"type":"stop","name":"${'a'.repeat(5000)}"}}`]) {
    assert.equal(parseStreamRequest(bad), null, bad.slice(0, 80));
  }
});

test('ssh hosts: [USER@]HOST only, nothing ssh would take as an option', () => {
  for (const ok of ['hostb', 'root@hostb', 'web-1.example.org', 'a_b@10.0.0.5', '[fd00::5]']) assert.equal(sshHostProblem(ok), null, ok);
  for (const bad of ['', '-oProxyCommand=x', 'root@-x', 'a b', 'host;id', 'u@', '@host', 'a/b']) assert.notEqual(sshHostProblem(bad), null, bad);
});
