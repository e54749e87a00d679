/**
 * Issue 9's configuration defects, pinned without root: IPROOTBCAST outside
 * the network, ONBOOT read despite another bad line, warnings with one
 * prefix, and the in-place rewrite of `vserver NAME set`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setConfigValues } from '../../../src/config/edit.js';
import { formatIssue, formatIssueBare } from '../../../src/config/issues.js';
import { valueSpan } from '../../../src/config/lexer.js';
import { parseServerConfig } from '../../../src/config/parse.js';

const parse = (text: string) => parseServerConfig(text, { file: '/etc/vservers/t.conf', name: 't' });

describe('IPROOTBCAST must lie inside IPROOT/IPROOTMASK', () => {
  it('outside the network: an error naming key, line, value and the network', () => {
    const r = parse('IPROOT=10.0.0.5\nIPROOTDEV=eth0\nIPROOTMASK=24\nIPROOTBCAST=10.0.1.255\n');
    assert.equal(r.config, null);
    assert.equal(r.errors.length, 1);
    const e = r.errors[0]!;
    assert.equal(e.key, 'IPROOTBCAST');
    assert.equal(e.line, 4);
    assert.match(formatIssue(e), /^\/etc\/vservers\/t\.conf:4: IPROOTBCAST="10\.0\.1\.255": outside the network 10\.0\.0\.0\/24 .*its broadcast address is 10\.0\.0\.255/);
  });
  it('without IPROOTMASK the network is the address alone (/32)', () => {
    const r = parse('IPROOT=10.0.0.5\nIPROOTDEV=eth0\nIPROOTBCAST=10.0.0.255\n');
    assert.match(formatIssue(r.errors[0]!), /outside the network 10\.0\.0\.5\/32.*IPROOTMASK is empty/);
  });
  it('inside the network it is accepted', () => {
    assert.deepEqual(parse('IPROOT=192.168.1.10\nIPROOTDEV=eth0\nIPROOTMASK=255.255.255.0\nIPROOTBCAST=192.168.1.255\n').errors, []);
  });
});

describe('ONBOOT and PRIORITY are known even when another line is bad', () => {
  it('S_NICE="abc" leaves ONBOOT=yes and PRIORITY readable', () => {
    const r = parse('ONBOOT=yes\nPRIORITY=5\nS_NICE="abc"\n');
    assert.equal(r.config, null);
    assert.deepEqual(r.boot, { onBoot: true, priority: 5 });
  });
  it('a bad ONBOOT is unknown (null), not "no"', () => {
    assert.equal(parse('ONBOOT=yse\n').boot.onBoot, null);
  });
});

describe('warnings print with one prefix', () => {
  it('formatIssueBare leaves out "warning: " for a caller that prints its own', () => {
    const w = parse('FOO=1\n').warnings[0]!;
    assert.match(formatIssue(w), /^\/etc\/vservers\/t\.conf:1: warning: FOO="1": unknown key FOO/);
    assert.equal(formatIssueBare(w), formatIssue(w).replace(' warning:', ''));
    assert.doesNotMatch(formatIssueBare(w), /warning/);
  });
});

describe('setConfigValues: only the key\'s line changes', () => {
  const text = '# limits\nMEMORY_MAX=""   # the memory\n  export PIDS_MAX=10\n\n# end\nPIDS_MAX=20 # wins\n';
  it('rewrites the value of the last assignment, keeping indentation, export and comments', () => {
    const out = setConfigValues(text, [['MEMORY_MAX', '64M'], ['PIDS_MAX', '50']]);
    assert.equal(out, '# limits\nMEMORY_MAX="64M"   # the memory\n  export PIDS_MAX=10\n\n# end\nPIDS_MAX="50" # wins\n');
    assert.equal(parse(out).config!.pidsMax, 50);
  });
  it('adds a line for a key the file does not set (and a missing final newline)', () => {
    assert.equal(setConfigValues('A=1', [['CPU_MAX', '50%']]), 'A=1\nCPU_MAX="50%"\n');
  });
  it('keeps CRLF line ends', () => {
    assert.equal(setConfigValues('CPU_WEIGHT=1\r\n', [['CPU_WEIGHT', '200']]), 'CPU_WEIGHT="200"\r\n');
  });
  it('valueSpan finds the value, quotes included', () => {
    assert.deepEqual(valueSpan(' export K="a b" # c'), [10, 15]);
    assert.equal(valueSpan('# comment'), null);
  });
});
