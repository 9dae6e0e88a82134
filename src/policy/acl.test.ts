import { describe, expect, it } from 'vitest';
import { aclOf, capsOf, type Rules } from './test-support.js';

type Case = { name: string; policies: Rules[]; path: string; expected: string[] };

const run = (cases: Case[]) =>
  it.each(cases)('$name', async ({ policies, path, expected }) => {
    expect(capsOf(await aclOf(policies), path)).toEqual([...expected].sort());
  });

describe('exact, prefix and segment patterns', () => {
  run([
    {
      name: 'an exact path grants on that path',
      policies: [{ 'secret/foo': ['read'] }],
      path: 'secret/foo',
      expected: ['read'],
    },
    {
      name: 'an exact path does not grant a longer path',
      policies: [{ 'secret/foo': ['read'] }],
      path: 'secret/food',
      expected: [],
    },
    {
      name: 'an exact path does not grant below it',
      policies: [{ 'secret/foo': ['read'] }],
      path: 'secret/foo/bar',
      expected: [],
    },
    {
      name: 'a trailing * grants every path under it',
      policies: [{ 'secret/bar/*': ['read'] }],
      path: 'secret/bar/zip/zap',
      expected: ['read'],
    },
    {
      name: 'a trailing * is a plain prefix, not a segment',
      policies: [{ 'secret/bar/*': ['read'] }],
      path: 'secret/bars/zip',
      expected: [],
    },
    {
      name: 'a trailing * inside a segment matches that prefix',
      policies: [{ 'secret/zip-*': ['read'] }],
      path: 'secret/zip-zap/zong',
      expected: ['read'],
    },
    {
      name: 'a prefix does not match a shorter path',
      policies: [{ 'secret/zip-*': ['read'] }],
      path: 'secret/zip/zap',
      expected: [],
    },
    {
      name: 'a lone * matches every path',
      policies: [{ '*': ['read'] }],
      path: 'sys/anything/at/all',
      expected: ['read'],
    },
    {
      name: 'a + matches one whole segment',
      policies: [{ 'secret/+/teamb': ['read'] }],
      path: 'secret/foo/teamb',
      expected: ['read'],
    },
    {
      name: 'a + does not match two segments',
      policies: [{ 'secret/+/teamb': ['read'] }],
      path: 'secret/foo/bar/teamb',
      expected: [],
    },
    {
      name: 'a + does not match a missing segment',
      policies: [{ 'secret/+/teamb': ['read'] }],
      path: 'secret/teamb',
      expected: [],
    },
    {
      name: 'several + segments each match one segment',
      policies: [{ 'secret/+/+/teamb': ['read'] }],
      path: 'secret/bar/foo/teamb',
      expected: ['read'],
    },
    {
      name: 'a + pattern without * needs the same number of segments',
      policies: [{ 'secret/+': ['read'] }],
      path: 'secret/a/b',
      expected: [],
    },
    {
      name: 'a + pattern ending in * is a prefix on its last segment',
      policies: [{ 'secret/+/db*': ['read'] }],
      path: 'secret/team-a/db-main/x',
      expected: ['read'],
    },
    {
      name: 'a + pattern ending in * refuses another last segment',
      policies: [{ 'secret/+/db*': ['read'] }],
      path: 'secret/team-a/cache',
      expected: [],
    },
    {
      name: 'a leading + matches the mount',
      policies: [{ '+/data/app': ['read'] }],
      path: 'kv/data/app',
      expected: ['read'],
    },
    {
      name: 'no matching rule grants nothing',
      policies: [{ 'secret/foo': ['read'] }],
      path: 'sys/health',
      expected: [],
    },
    {
      name: 'a request path with a leading slash is read without it',
      policies: [{ 'secret/foo': ['read'] }],
      path: '/secret/foo',
      expected: ['read'],
    },
    {
      name: 'a policy path with a leading slash is read without it',
      policies: [{ '/secret/foo': ['read'] }],
      path: 'secret/foo',
      expected: ['read'],
    },
    {
      name: 'sudo is granted like any capability',
      policies: [{ 'sys/audit': ['sudo', 'read'] }],
      path: 'sys/audit',
      expected: ['read', 'sudo'],
    },
  ]);
});

describe('the same pattern in several policies', () => {
  run([
    {
      name: 'capabilities are united',
      policies: [{ 'secret/*': ['read'] }, { 'secret/*': ['list'] }],
      path: 'secret/x',
      expected: ['list', 'read'],
    },
    {
      name: 'deny in a later policy removes everything',
      policies: [{ 'secret/*': ['read'] }, { 'secret/*': ['deny'] }],
      path: 'secret/x',
      expected: [],
    },
    {
      name: 'deny in an earlier policy removes everything',
      policies: [{ 'secret/*': ['deny'] }, { 'secret/*': ['read', 'sudo'] }],
      path: 'secret/x',
      expected: [],
    },
    {
      name: 'deny with other capabilities in one rule is deny only',
      policies: [{ 'secret/x': ['read', 'deny'] }],
      path: 'secret/x',
      expected: [],
    },
    {
      name: 'an exact and a prefix pattern of the same text are different patterns',
      policies: [{ 'secret/foo': ['read'] }, { 'secret/foo*': ['deny'] }],
      path: 'secret/foo',
      expected: ['read'],
    },
    {
      name: 'the prefix twin of an exact pattern still applies below it',
      policies: [{ 'secret/foo': ['read'] }, { 'secret/foo*': ['deny'] }],
      path: 'secret/foobar',
      expected: [],
    },
  ]);
});

describe('priority between different patterns (Vault docs "Priority matching")', () => {
  run([
    {
      name: 'an exact match beats a glob that denies',
      policies: [{ 'secret/*': ['deny'] }, { 'secret/super': ['read'] }],
      path: 'secret/super',
      expected: ['read'],
    },
    {
      name: 'an exact deny beats a glob that grants',
      policies: [{ 'secret/*': ['read'] }, { 'secret/super': ['deny'] }],
      path: 'secret/super',
      expected: [],
    },
    {
      name: 'the longest prefix wins',
      policies: [{ 'secret/*': ['read'] }, { 'secret/data/*': ['list'] }],
      path: 'secret/data/x',
      expected: ['list'],
    },
    {
      name: 'a deny on a less specific pattern does not override a more specific allow',
      policies: [{ 'secret/*': ['deny'] }, { 'secret/data/app/*': ['read'] }],
      path: 'secret/data/app/db',
      expected: ['read'],
    },
    {
      name: 'the less specific deny still applies elsewhere',
      policies: [{ 'secret/*': ['deny'] }, { 'secret/data/app/*': ['read'] }],
      path: 'secret/data/other',
      expected: [],
    },
    {
      name: 'a later first wildcard wins (foo/a* over foo/+)',
      policies: [{ 'foo/+': ['read'] }, { 'foo/a*': ['list'] }],
      path: 'foo/ab',
      expected: ['list'],
    },
    {
      name: 'a later first wildcard wins (foo/bar/+/baz over foo/+/bar/baz)',
      policies: [{ 'foo/+/bar/baz': ['read'] }, { 'foo/bar/+/baz': ['list'] }],
      path: 'foo/bar/bar/baz',
      expected: ['list'],
    },
    {
      name: 'not a prefix wins (foo/+/bar over foo/+/ba*)',
      policies: [{ 'foo/+/ba*': ['read'] }, { 'foo/+/bar': ['list'] }],
      path: 'foo/x/bar',
      expected: ['list'],
    },
    {
      name: 'not a prefix wins (foo/+ over foo/*)',
      policies: [{ 'foo/*': ['read'] }, { 'foo/+': ['list'] }],
      path: 'foo/x',
      expected: ['list'],
    },
    {
      name: 'fewer + segments win (foo/+/bar/baz over foo/+/+/baz)',
      policies: [{ 'foo/+/+/baz': ['read'] }, { 'foo/+/bar/baz': ['list'] }],
      path: 'foo/x/bar/baz',
      expected: ['list'],
    },
    {
      name: 'secret/* beats secret/+/+/foo/* (the docs example: more + segments lose)',
      policies: [{ 'secret/+/+/foo/*': ['read'] }, { 'secret/*': ['list'] }],
      path: 'secret/a/b/foo/c',
      expected: ['list'],
    },
    {
      name: 'the longer pattern wins (foo/+/bar/ba* over foo/+/bar/b*)',
      policies: [{ 'foo/+/bar/b*': ['read'] }, { 'foo/+/bar/ba*': ['list'] }],
      path: 'foo/x/bar/baz',
      expected: ['list'],
    },
    {
      name: 'the lexicographically greater pattern wins a full tie',
      policies: [{ 'foo/+/+/y': ['read'] }, { 'foo/+/x/+': ['list'] }],
      path: 'foo/a/x/y',
      expected: ['list'],
    },
    {
      name: 'a + pattern that denies wins over a shorter prefix',
      policies: [{ 'secret/*': ['read'] }, { 'secret/+/admin': ['deny'] }],
      path: 'secret/a/admin',
      expected: [],
    },
  ]);
});
