import { describe, expect, it } from 'vitest';
import { configDoc, mountDoc, parseDoc, problemsOf, roleDoc } from './test-support.js';

const withPolicies = (policies: string[]) =>
  configDoc({ auth: { kubernetes: mountDoc({ roles: { nginx: roleDoc({ token_policies: policies }) } }) } });

describe('token_policies', () => {
  it.each([[['dev']], [['root-ca', 'uproot']], [['default', 'ops']], [[]]])('accepts %j', (policies) => {
    expect(problemsOf(withPolicies(policies))).toEqual([]);
    expect(
      parseDoc(withPolicies(policies)).mounts.get('kubernetes')?.roles.get('nginx')?.tokenPolicies,
    ).toEqual(policies);
  });

  it.each([[['root']], [['dev', 'root']], [['Root']], [[' ROOT ']]])(
    'refuses %j: an auth method never issues a root token',
    (policies) => {
      expect(problemsOf(withPolicies(policies))).toEqual([
        expect.objectContaining({
          path: 'auth.kubernetes.roles.nginx.token_policies',
          message: 'auth methods cannot create root tokens',
        }),
      ]);
    },
  );
});
