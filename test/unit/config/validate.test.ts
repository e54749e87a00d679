import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseServerConfig } from '../../../src/config/parse.js';
import type { ServerConfig } from '../../../src/config/types.js';
import { formatIssue } from '../../../src/config/issues.js';
import {
  checkIpAssignable, clashConsequence, clashIssue, findClashes, localIPv4Addresses, serverNameProblem,
} from '../../../src/config/validate.js';

function cfg(name: string, text: string): ServerConfig {
  const r = parseServerConfig(text, { file: `/etc/vservers/${name}.conf`, name });
  assert.deepEqual(r.errors, []);
  return r.config!;
}

describe('serverNameProblem', () => {
  for (const good of ['web', 'db-1', 'a', 'x'.repeat(64), 'v1.example', 'Mail_2']) {
    it(`accepts ${JSON.stringify(good.slice(0, 20))}`, () => assert.equal(serverNameProblem(good), null));
  }
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['x'.repeat(65), /65 characters/],
    ['a/b', /contains '\/'/],
    ['../etc', /'\/'|'\.\.'/],
    ['..', /'\.\.'/],
    ['a..b', /'\.\.'/],
    ['my server', /blank/],
    ['tab\there', /blank/],
    ['new\nline', /blank|control/],
    ['bell\x07', /control/],
    ['-rf', /starts with '-'/],
    ['.hidden', /starts with '\.'/],
  ];
  for (const [name, re] of bad) {
    it(`refuses ${JSON.stringify(name.slice(0, 20))}`, () => {
      const p = serverNameProblem(name);
      assert.ok(p);
      assert.match(p, re);
      assert.match(p, /1 to 64 characters/);
    });
  }
});

describe('findClashes (the one cross-server check of build, start and vserver-all status)', () => {
  const web = cfg('web', 'IPROOT=10.0.0.1\nS_CONTEXT=100\n');
  const db = cfg('db', 'IPROOT=10.0.0.2\nS_CONTEXT=101\n');
  it('no clash with different addresses and contexts (and itself skipped)', () => {
    assert.deepEqual(findClashes(web, [web, db]), []);
  });
  it('an address that is another server\'s names both servers and both files', () => {
    const other = cfg('other', '# x\nIPROOT=10.0.0.1\n');
    const [c] = findClashes(other, [web, db]);
    assert.equal(c!.key, 'IPROOT');
    assert.deepEqual(c!.server, { name: 'other', file: '/etc/vservers/other.conf', line: 2 });
    assert.deepEqual(c!.other, { name: 'web', file: '/etc/vservers/web.conf', line: 1 });
    assert.equal(c!.exclusive, true);
    const e = clashIssue(c!, 'error', clashConsequence(c!));
    assert.equal(formatIssue(e), '/etc/vservers/other.conf:2: IPROOT="10.0.0.1": also the address of server \'web\' ' +
      "(/etc/vservers/web.conf:1); 'other' and 'web' cannot run at the same time");
  });
  it('a context number used by another server', () => {
    const other = cfg('other', 'S_CONTEXT=101\n');
    const [c] = findClashes(other, [web, db]);
    assert.equal(c!.key, 'S_CONTEXT');
    assert.match(formatIssue(clashIssue(c!, 'error', '')), /S_CONTEXT="101": also the context number of server 'db' \(\/etc\/vservers\/db\.conf:2\)/);
  });
  it('a shared host name is a clash that does not refuse', () => {
    const [c] = findClashes(cfg('a', 'S_HOSTNAME=www\n'), [cfg('b', 'S_HOSTNAME=www\n')]);
    assert.equal(c!.key, 'S_HOSTNAME');
    assert.equal(c!.exclusive, false);
  });
  it('servers without address or static context never clash', () => {
    assert.deepEqual(findClashes(cfg('a', ''), [cfg('b', '')]), []);
  });
  it('both clashes are reported', () => {
    assert.equal(findClashes(cfg('x', 'IPROOT=10.0.0.2\nS_CONTEXT=100\n'), [web, db]).length, 2);
  });
});

describe('checkIpAssignable', () => {
  const local = ['192.168.1.5', '10.1.2.3'];
  it('no address: nothing to check', () => {
    assert.equal(checkIpAssignable(cfg('a', ''), local), null);
  });
  it('without IPROOTDEV the address must already be local', () => {
    assert.equal(checkIpAssignable(cfg('a', 'IPROOT=10.1.2.3\n'), local), null);
    const e = checkIpAssignable(cfg('a', 'IPROOT=10.9.9.9\n'), local);
    assert.match(e!.message, /not an address of this host.*set IPROOTDEV/);
    assert.equal(e!.key, 'IPROOT');
    assert.equal(e!.value, '10.9.9.9');
  });
  it('127/8 is always local', () => {
    assert.equal(checkIpAssignable(cfg('a', 'IPROOT=127.3.4.5\n'), []), null);
  });
  it('with IPROOTDEV any unicast address will do', () => {
    assert.equal(checkIpAssignable(cfg('a', 'IPROOT=10.9.9.9\nIPROOTDEV=eth0\n'), local), null);
  });
  it('refuses the broadcast and network address of its mask', () => {
    assert.match(checkIpAssignable(cfg('a', 'IPROOT=10.9.9.255\nIPROOTDEV=eth0\nIPROOTMASK=24\n'), local)!.message,
      /broadcast address of its \/24/);
    assert.match(checkIpAssignable(cfg('a', 'IPROOT=10.9.9.0\nIPROOTDEV=eth0\nIPROOTMASK=255.255.255.0\n'), local)!.message,
      /network address of its \/24/);
    assert.equal(checkIpAssignable(cfg('a', 'IPROOT=10.9.9.0\nIPROOTDEV=eth0\nIPROOTMASK=31\n'), local), null);
  });
  it('refuses non-unicast addresses however the config was made', () => {
    for (const ip of ['0.0.0.0', '224.1.1.1', '255.255.255.255', '250.0.0.1']) {
      const c: ServerConfig = { ...cfg('a', 'IPROOTDEV=eth0\nIPROOT=10.0.0.1\n'), ip };
      assert.ok(checkIpAssignable(c, [ip]), ip);
    }
  });
  it('localIPv4Addresses reads os.networkInterfaces()', () => {
    const ifaces = {
      lo: [{ address: '127.0.0.1', family: 'IPv4', netmask: '255.0.0.0', mac: '', internal: true, cidr: null },
        { address: '::1', family: 'IPv6', netmask: '', mac: '', internal: true, cidr: null, scopeid: 0 }],
      eth0: [{ address: '192.168.1.5', family: 'IPv4', netmask: '255.255.255.0', mac: '', internal: false, cidr: null }],
    } as unknown as Parameters<typeof localIPv4Addresses>[0];
    assert.deepEqual(localIPv4Addresses(ifaces), ['127.0.0.1', '192.168.1.5']);
  });
});
