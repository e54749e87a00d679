import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatUlimit, parseUlimit, type Rlimit } from '../../../src/config/ulimit.js';

function ok(args: string): Rlimit[] {
  const r = parseUlimit(args);
  assert.ok(r.ok, `expected ${args} to parse: ${r.ok ? '' : r.errors.join('; ')}`);
  return r.limits;
}

describe('parseUlimit: the arguments of bash ulimit', () => {
  it('-H -u 1000 (the seed default) sets the hard limit only', () => {
    assert.deepEqual(ok('-H -u 1000'), [{ letter: 'u', resource: 'RLIMIT_NPROC', number: 6, soft: null, hard: 1000 }]);
  });
  it('-HS -u 1000 sets both', () => {
    assert.deepEqual(ok('-HS -u 1000'), [{ letter: 'u', resource: 'RLIMIT_NPROC', number: 6, soft: 1000, hard: 1000 }]);
  });
  it('no -H/-S sets both, as bash does', () => {
    const [l] = ok('-n 4096');
    assert.equal(l!.soft, 4096);
    assert.equal(l!.hard, 4096);
  });
  it('-S sets the soft limit only', () => {
    const [l] = ok('-S -n 1024');
    assert.equal(l!.soft, 1024);
    assert.equal(l!.hard, null);
  });
  it('-H -n 4096 -u 200: several options, the mode applies to all', () => {
    assert.deepEqual(ok('-H -n 4096 -u 200').map((l) => [l.resource, l.soft, l.hard]),
      [['RLIMIT_NOFILE', null, 4096], ['RLIMIT_NPROC', null, 200]]);
  });
  it('-u 200 -H: the mode counts wherever it stands', () => {
    assert.equal(ok('-u 200 -H')[0]!.soft, null);
  });
  it('grouped letters -Hu 50 and inline values -u50', () => {
    assert.equal(ok('-Hu 50')[0]!.hard, 50);
    assert.equal(ok('-u50')[0]!.soft, 50);
  });
  it('unlimited', () => {
    assert.equal(ok('-c unlimited')[0]!.hard, 'unlimited');
  });
  it('scales KiB options to bytes and keeps counts and seconds', () => {
    const units: Array<[string, string, number]> = [
      ['c', 'RLIMIT_CORE', 1024], ['d', 'RLIMIT_DATA', 1024], ['e', 'RLIMIT_NICE', 1],
      ['f', 'RLIMIT_FSIZE', 1024], ['i', 'RLIMIT_SIGPENDING', 1], ['l', 'RLIMIT_MEMLOCK', 1024],
      ['m', 'RLIMIT_RSS', 1024], ['n', 'RLIMIT_NOFILE', 1], ['q', 'RLIMIT_MSGQUEUE', 1],
      ['r', 'RLIMIT_RTPRIO', 1], ['s', 'RLIMIT_STACK', 1024], ['t', 'RLIMIT_CPU', 1],
      ['u', 'RLIMIT_NPROC', 1], ['v', 'RLIMIT_AS', 1024], ['x', 'RLIMIT_LOCKS', 1],
    ];
    for (const [letter, resource, factor] of units) {
      const [l] = ok(`-${letter} 8`);
      assert.equal(l!.resource, resource, letter);
      assert.equal(l!.soft, 8 * factor, letter);
    }
  });
  it('a value without an option is -f, as in bash', () => {
    assert.equal(ok('100')[0]!.resource, 'RLIMIT_FSIZE');
  });
  it('a repeated option keeps the last value', () => {
    const l = ok('-n 10 -n 20');
    assert.equal(l.length, 1);
    assert.equal(l[0]!.soft, 20);
  });
  it('empty sets nothing', () => {
    assert.deepEqual(ok(''), []);
  });

  const bad: Array<[string, RegExp]> = [
    ['-u', /-u needs a value/],
    ['-u -n 5', /-u needs a value/],
    ['-z 3', /unknown option -z/],
    ['-a', /-a shows limits/],
    ['-u lots', /integer or 'unlimited'/],
    ['-u -5', /-u needs a value/],
    ['-u 1.5', /integer or 'unlimited'/],
    ['-v 99999999999999999', /too large/],
    ['-u 10; rm -rf /', /integer or 'unlimited'/],
    ['-u $(echo 5)', /integer or 'unlimited'/],
  ];
  for (const [args, re] of bad) {
    it(`rejects ${JSON.stringify(args)}`, () => {
      const r = parseUlimit(args);
      assert.equal(r.ok, false);
      if (!r.ok) assert.ok(r.errors.some((e) => re.test(e)), r.errors.join('; '));
    });
  }
  it('reports every bad option, not just the first', () => {
    const r = parseUlimit('-z 1 -u lots');
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.errors.length, 2);
  });

  it('formatUlimit writes limits back in ulimit units', () => {
    assert.equal(formatUlimit(ok('-H -u 1000 -v 2048')), '-H -u 1000 -H -v 2048');
    assert.equal(formatUlimit(ok('-n unlimited')), '-HS -n unlimited');
  });
});
