import { describe, expect, it } from 'vitest';
import { configDoc, mountDoc, parseDoc, problemsOf, roleDoc } from './test-support.js';

const MOUNT_RULE = "mount names are letters, digits, '-' and '_', in segments separated by '/'";
const ROLE_RULE = "role names are letters, digits, '_', '-' and '.'";

const withMount = (name: string, mount = mountDoc()) => configDoc({ auth: { [name]: mount } });
const withRole = (name: string, role: Record<string, unknown> = roleDoc()) =>
  withMount('kubernetes', mountDoc({ roles: { [name]: role } }));

describe('mount names', () => {
  it.each(['kubernetes', 'K8S', 'k8s-prod', 'k8s_prod', '0', 'team/k8s', 'a/b-c/d_e'])(
    'accepts the mount name %j',
    (name) => {
      expect(problemsOf(withMount(name))).toEqual([]);
      expect(parseDoc(withMount(name)).mounts.has(name)).toBe(true);
    },
  );

  it.each(['k8s.prod', 'bad name', '/k8s', 'k8s/', 'a//b', '', 'k8s:prod', 'prod\u00e9', '..'])(
    'refuses the mount name %j with its path',
    (name) => {
      const problems = problemsOf(withMount(name));
      expect(problems).toEqual([
        expect.objectContaining({ path: `auth.${name}`, message: expect.stringContaining(MOUNT_RULE) }),
      ]);
    },
  );
});

describe('role names', () => {
  it.each(['nginx', 'Nginx', 'a', '9', '_x', 'web.frontend', 'a-b_c.d', 'x_'])(
    'accepts the role name %j',
    (name) => {
      expect(problemsOf(withRole(name))).toEqual([]);
      expect(parseDoc(withRole(name)).mounts.get('kubernetes')?.roles.has(name.toLowerCase())).toBe(true);
    },
  );

  it.each(['bad name', '-x', 'x-', '.x', 'x.', 'a/b', 'a:b', '', 'caf\u00e9', '*'])(
    'refuses the role name %j with its path',
    (name) => {
      expect(problemsOf(withRole(name))).toEqual([
        expect.objectContaining({
          path: `auth.kubernetes.roles.${name}`,
          message: expect.stringContaining(ROLE_RULE),
        }),
      ]);
    },
  );
});

describe('entries with bad names are still validated field by field', () => {
  it('refuses a scalar namespace binding under a badly named mount, which once meant any namespace', () => {
    const doc = withMount(
      'k8s.prod',
      mountDoc({ roles: { web: roleDoc({ bound_service_account_namespaces: '*-prod' }) } }),
    );
    const problems = problemsOf(doc);
    expect(problems.map((p) => p.path)).toEqual([
      'auth.k8s.prod',
      'auth.k8s.prod.roles.web.bound_service_account_namespaces',
    ]);
    expect(problems[1]?.message).toBe('must be array');
  });

  it('refuses a scalar service-account binding under a badly named role', () => {
    const problems = problemsOf(withRole('bad name', roleDoc({ bound_service_account_names: 'web' })));
    expect(problems.map((p) => p.path)).toEqual([
      'auth.kubernetes.roles.bad name',
      'auth.kubernetes.roles.bad name.bound_service_account_names',
    ]);
  });

  it('reports a malformed badly named role as problems, not a TypeError', () => {
    const problems = problemsOf(withRole('bad name', {}));
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining([
        'auth.kubernetes.roles.bad name',
        'auth.kubernetes.roles.bad name.bound_service_account_names',
      ]),
    );
  });

  it('refuses unknown fields and bad types in a badly named mount', () => {
    const problems = problemsOf(withMount('k8s prod', mountDoc({ verification: 'magic', colour: 'blue' })));
    expect(problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['auth.k8s prod', 'auth.k8s prod.verification', 'auth.k8s prod.colour']),
    );
  });
});

it('gives a bad name the line of its key, dots and all', () => {
  const yaml = [
    'auth:',
    '  k8s.prod:',
    '    type: kubernetes',
    '    kubernetes_host: https://10.0.0.1',
    '    verification: tokenreview',
    '    roles:',
    '      bad.name.:',
    '        bound_service_account_names: [web]',
    '        bound_service_account_namespaces: prod',
    '        audience: vault',
  ].join('\n');
  expect(problemsOf(yaml)).toEqual([
    expect.objectContaining({ path: 'auth.k8s.prod', line: 2 }),
    expect.objectContaining({ path: 'auth.k8s.prod.roles.bad.name.', line: 7 }),
    expect.objectContaining({
      path: 'auth.k8s.prod.roles.bad.name..bound_service_account_namespaces',
      line: 9,
    }),
  ]);
});
