import { describe, expect, it } from 'vitest';
import type { Capability } from './capabilities.js';
import { createPolicyRegistry } from './registry.js';
import type { AclSubject } from './subject.js';
import { documentOf, recordingLog, subjectFor, type Rules } from './test-support.js';

// Vault's `policy_results.granting_policies`: the policies whose rule on the winning pattern
// grants the capability the request needs (NewACL's GrantingPoliciesMap, read by AllowOperation).

/** A registry with `policies` loaded (a string is HCL), asked for a token holding `held`. */
const grantingFor = async (policies: Record<string, Rules | string>, held: string[]) => {
  const registry = createPolicyRegistry({ log: recordingLog().log });
  const inline = Object.fromEntries(
    Object.entries(policies).map(([name, rules]) => [
      name,
      typeof rules === 'string' ? rules : documentOf(rules),
    ]),
  );
  await registry.load({ inline, dir: undefined });
  return (path: string, capability: Capability, subject: Partial<AclSubject> = {}) =>
    registry.grantingPolicies(subjectFor({ ...subject, policies: held }), path, capability);
};

type Check = [path: string, capability: Capability, expected: string[]];

// subjectFor's workload is in namespace team-a.
const CASES: [string, Record<string, Rules | string>, string[], Check[]][] = [
  [
    'names every policy whose rule on the pattern grants the capability, in the order the token holds them',
    {
      a: { 'secret/data/app/*': ['read'] },
      b: { 'secret/data/app/*': ['read', 'update'] },
      c: { 'secret/data/app/*': ['list'] },
    },
    ['c', 'a', 'b'],
    [
      ['secret/data/app/db', 'read', ['a', 'b']],
      ['secret/data/app/db', 'update', ['b']],
      ['secret/data/app/db', 'delete', []],
    ],
  ],
  [
    'names only the policies of the most specific rule, not those of a broader one that also grants',
    { broad: { 'secret/*': ['read'] }, narrow: { 'secret/data/app/*': ['read'] } },
    ['broad', 'narrow'],
    [
      ['secret/data/app/db', 'read', ['narrow']],
      ['secret/data/other', 'read', ['broad']],
    ],
  ],
  [
    'names no policy when the most specific rule does not grant the capability, though a broader one does',
    { broad: { 'secret/*': ['read'] }, narrow: { 'secret/data/app/*': ['list'] } },
    ['broad', 'narrow'],
    [['secret/data/app/db', 'read', []]],
  ],
  [
    'prefers the exact rule, and a + rule over a prefix of the same length',
    {
      prefix: { 'secret/data/*': ['read'] },
      exact: { 'secret/data/app/db': ['read'] },
      segment: { 'secret/data/+/db': ['read'] },
    },
    ['exact', 'prefix', 'segment'],
    [
      ['secret/data/app/db', 'read', ['exact']],
      ['secret/data/web/db', 'read', ['segment']],
      ['secret/data/web/x', 'read', ['prefix']],
    ],
  ],
  [
    'names no policy when a policy denies the winning pattern',
    {
      grant: { 'secret/data/app/*': ['read'] },
      deny: { 'secret/data/app/*': ['deny'] },
      narrow: { 'secret/data/app/private/*': ['deny'], 'secret/data/app/public/*': ['read'] },
    },
    ['deny', 'grant', 'narrow'],
    [
      ['secret/data/app/db', 'read', []],
      ['secret/data/app/private/x', 'read', []],
      ['secret/data/app/public/x', 'read', ['narrow']],
    ],
  ],
  [
    "matches a templated rule as the token's identity resolves it",
    {
      'per-namespace': 'path "secret/data/{{identity.namespace}}/*" { capabilities = ["read"] }',
      team: { 'secret/data/team-a/*': ['read', 'update'] },
    },
    ['per-namespace', 'team'],
    [
      ['secret/data/team-a/db', 'read', ['per-namespace', 'team']],
      ['secret/data/team-a/db', 'update', ['team']],
      ['secret/data/team-b/db', 'read', []],
    ],
  ],
  [
    "answers a list through Vault's fallback to the folder's rule without its slash, and nothing else",
    { folder: { 'secret/metadata/team-a': ['list', 'read'] }, broad: { 'secret/metadata/*': ['list'] } },
    ['broad', 'folder'],
    [
      ['secret/metadata/team-a/', 'list', ['folder']],
      ['secret/metadata/team-b/', 'list', ['broad']],
      ['secret/metadata/team-a/', 'read', []],
    ],
  ],
  [
    'names the built-in default policy for what it grants, and no name that is not loaded',
    {},
    ['default', 'ghost'],
    [
      ['auth/token/lookup-self', 'read', ['default']],
      ['auth/token/renew-self', 'update', ['default']],
      ['secret/data/app/db', 'read', []],
    ],
  ],
];

describe('granting policies', () => {
  it.each(CASES)('%s', async (_name, policies, held, checks) => {
    const granting = await grantingFor(policies, held);
    expect(checks.map(([path, capability]) => granting(path, capability))).toEqual(
      checks.map(([, , expected]) => expected),
    );
  });

  it('names no policy that grants this token nothing because a deny of it cannot be placed', async () => {
    const granting = await grantingFor(
      {
        guarded: `
path "secret/data/team-a/*" { capabilities = ["read"] }
path "secret/data/team-a/{{identity.pod}}/*" { capabilities = ["deny"] }
`,
        team: { 'secret/data/team-a/*': ['read'] },
      },
      ['guarded', 'team'],
    );
    const { metadata } = subjectFor();
    const podless = Object.fromEntries(Object.entries(metadata).filter(([k]) => k !== 'pod_name'));
    expect(granting('secret/data/team-a/db', 'read')).toEqual(['guarded', 'team']);
    expect(granting('secret/data/team-a/db', 'read', { metadata: podless })).toEqual(['team']);
  });

  it('throws TypeError for deny, which grants nothing', async () => {
    const granting = await grantingFor({}, ['default']);
    expect(() => granting('auth/token/lookup-self', 'deny')).toThrow(TypeError);
  });
});
