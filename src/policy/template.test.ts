import { describe, expect, it } from 'vitest';
import { PolicyLoadError } from './errors.js';
import { parsePolicyHcl } from './parse.js';
import { createPolicyRegistry } from './registry.js';
import { isSafeTemplateValue } from './template.js';
import { recordingLog, subjectFor } from './test-support.js';
import type { AclSubject } from './subject.js';

const ACCESSOR = 'auth_kubernetes_1a2b3c4d';

const workload = (namespace: string, name: string, extra: Partial<AclSubject> = {}): AclSubject =>
  subjectFor({
    policies: ['per-namespace'],
    metadata: {
      ...subjectFor().metadata,
      service_account_namespace: namespace,
      service_account_name: name,
      pod_name: `${name}-0`,
    },
    role: name,
    ...extra,
  });

const registryWith = async (hcl: string) => {
  const registry = createPolicyRegistry({ log: recordingLog().log });
  await registry.load({ inline: { 'per-namespace': hcl }, dir: undefined });
  return registry;
};

describe('templated paths', () => {
  it('gives each workload its own namespace and refuses it the other one', async () => {
    const registry = await registryWith(`
path "secret/data/{{identity.namespace}}/*" { capabilities = ["read"] }
path "secret/metadata/{{identity.namespace}}/*" { capabilities = ["list"] }
`);
    const a = registry.aclFor(workload('team-a', 'api'));
    const b = registry.aclFor(workload('team-b', 'worker'));
    expect(a.allows('secret/data/team-a/db', 'read')).toBe(true);
    expect(a.allows('secret/metadata/team-a/', 'list')).toBe(true);
    expect(a.allows('secret/data/team-b/db', 'read')).toBe(false);
    expect(a.allows('secret/metadata/team-b/', 'list')).toBe(false);
    expect(b.allows('secret/data/team-b/db', 'read')).toBe(true);
    expect(b.allows('secret/data/team-a/db', 'read')).toBe(false);
  });

  it.each([
    ['{{identity.namespace}}', 'team-a'],
    ['{{identity.service_account}}', 'api'],
    ['{{identity.role}}', 'api'],
    ['{{identity.pod}}', 'api-0'],
    ['{{identity.entity.id}}', 'entity-1'],
    ['{{ identity.namespace }}', 'team-a'],
    [`{{identity.entity.aliases.${ACCESSOR}.metadata.service_account_namespace}}`, 'team-a'],
    [`{{identity.entity.aliases.${ACCESSOR}.metadata.service_account_name}}`, 'api'],
    [
      `{{identity.entity.aliases.${ACCESSOR}.metadata.service_account_uid}}`,
      subjectFor().metadata['service_account_uid'],
    ],
    ['{{identity.pod_uid}}', subjectFor().metadata['pod_uid']],
  ])('resolves %s from the token', async (directive, value) => {
    const registry = await registryWith(`path "secret/data/${directive}/*" { capabilities = ["read"] }`);
    const acl = registry.aclFor(workload('team-a', 'api'));
    expect(acl.allows(`secret/data/${value}/x`, 'read')).toBe(true);
    expect(acl.allows('secret/data/other/x', 'read')).toBe(false);
  });

  it('drops an alias rule for a token of another auth mount', async () => {
    const registry = await registryWith(
      `path "secret/data/{{identity.entity.aliases.${ACCESSOR}.metadata.service_account_namespace}}/*" { capabilities = ["read"] }`,
    );
    const other = registry.aclFor(workload('team-a', 'api', { mountAccessor: 'auth_kubernetes_99999999' }));
    expect(other.allows('secret/data/team-a/x', 'read')).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['holding a slash', 'team-a/../team-b'],
    ['a parent reference', '..'],
    ['a glob', 'team-*'],
    ['a segment wildcard', '+'],
    ['a control character', 'team-a\u0000'],
  ])('drops a rule whose value is %s, and keeps the others', async (_what, value) => {
    const registry = await registryWith(`
path "secret/data/{{identity.pod}}/*" { capabilities = ["read"] }
path "secret/data/shared/*" { capabilities = ["read"] }
`);
    const metadata: Record<string, string> = { ...workload('team-a', 'api').metadata };
    if (value === undefined) delete metadata['pod_name'];
    else metadata['pod_name'] = value;
    const acl = registry.aclFor(workload('team-a', 'api', { metadata }));
    expect(acl.allows('secret/data/shared/x', 'read')).toBe(true);
    for (const probe of ['secret/data/team-b/x', 'secret/data/team-a/x', 'secret/data//x', 'secret/data/x'])
      expect(acl.allows(probe, 'read')).toBe(false);
  });

  it('never lets a dropped rule fall back to a wider one of the same policy', async () => {
    const registry = await registryWith(`
path "secret/data/*" { capabilities = ["deny"] }
path "secret/data/{{identity.namespace}}/*" { capabilities = ["read"] }
`);
    const acl = registry.aclFor(workload('', 'api'));
    expect(acl.allows('secret/data/team-a/x', 'read')).toBe(false);
  });

  it('fails closed when a templated deny cannot be placed: the policy then grants that token nothing', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await registry.load({
      inline: {
        'per-namespace': `
path "secret/data/{{identity.namespace}}/*" { capabilities = ["read"] }
path "secret/data/{{identity.namespace}}/{{identity.pod}}/*" { capabilities = ["deny"] }
`,
        other: 'path "shared/*" { capabilities = ["read"] }',
      },
      dir: undefined,
    });
    const withPod = registry.aclFor(workload('team-a', 'api', { policies: ['per-namespace', 'other'] }));
    expect(withPod.allows('secret/data/team-a/db', 'read')).toBe(true);
    expect(withPod.allows('secret/data/team-a/api-0/key', 'read')).toBe(false);
    const podless = workload('team-a', 'api', { policies: ['per-namespace', 'other'] });
    const metadata = Object.fromEntries(Object.entries(podless.metadata).filter(([k]) => k !== 'pod_name'));
    const noPod = registry.aclFor({ ...podless, metadata });
    // Vault would drop only the deny rule, leaving the read without its exception.
    expect(noPod.allows('secret/data/team-a/db', 'read')).toBe(false);
    expect(noPod.allows('shared/x', 'read')).toBe(true);
  });

  it('caches per template value: two pods of one namespace share an ACL, another namespace does not', async () => {
    const registry = await registryWith(
      `path "secret/data/{{identity.namespace}}/*" { capabilities = ["read"] }`,
    );
    const a1 = registry.aclFor(workload('team-a', 'api'));
    const a2 = registry.aclFor(workload('team-a', 'worker'));
    const b = registry.aclFor(workload('team-b', 'api'));
    expect(a2).toBe(a1);
    expect(b).not.toBe(a1);
  });

  it.each([
    ['an unknown name', '{{identity.nope}}', 'unknown template {{identity.nope}}'],
    ['entity metadata', '{{identity.entity.metadata.team}}', 'not available in authgate'],
    ['the entity name', '{{identity.entity.name}}', 'not available in authgate'],
    ['groups', '{{identity.groups.names.ops.id}}', 'not available in authgate'],
    ['time', '{{time.now}}', 'not available in authgate'],
    ['an alias name', `{{identity.entity.aliases.${ACCESSOR}.name}}`, 'not available in authgate'],
    [
      'an unknown alias metadata key',
      `{{identity.entity.aliases.${ACCESSOR}.metadata.team}}`,
      'unknown alias metadata key "team"',
    ],
    // Token metadata, not alias metadata in Vault's kubernetes method: the long form never
    // matches there, so it would grant here what Vault does not.
    ...['role', 'pod_name', 'pod_uid'].map((key) => [
      `the token metadata key ${key} in the alias form`,
      `{{identity.entity.aliases.${ACCESSOR}.metadata.${key}}}`,
      `unknown alias metadata key "${key}"`,
    ]),
    ['an inherited name', '{{constructor}}', 'unknown template {{constructor}}'],
    ['another inherited name', '{{toString}}', 'unknown template {{toString}}'],
    ['an unclosed directive', '{{identity.namespace', 'unbalanced templating characters'],
    ['a stray closing', 'identity.namespace}}', 'unbalanced templating characters'],
    ['a directive inside a segment with +', '{{identity.namespace}}+', 'must end its path segment'],
    ['a directive followed by a glob', '{{identity.namespace}}*', 'must end its path segment'],
    ['a directive followed by text', '{{identity.namespace}}-prod', 'must end its path segment'],
    // Role `team` in namespace `adev` and role `teama` in namespace `dev` would share a path.
    [
      'two directives in one segment',
      '{{identity.role}}{{identity.namespace}}',
      'must start its path segment',
    ],
    // Namespace `a` here and namespace `prod-a` under `secret/data/{{identity.namespace}}`.
    ['a directive after text', 'prod-{{identity.namespace}}', 'must start its path segment'],
    ['a directive after a glob', '+{{identity.namespace}}', 'must start its path segment'],
  ])('refuses %s when the policy loads', (_what, directive, message) => {
    const hcl = `path "secret/data/${directive}/*" {\n  capabilities = ["read"]\n}`;
    expect(() => parsePolicyHcl('t', hcl, 't.hcl')).toThrow(PolicyLoadError);
    try {
      parsePolicyHcl('t', hcl, 't.hcl');
    } catch (error) {
      expect((error as PolicyLoadError).problems).toEqual([expect.stringContaining(message)]);
      expect((error as PolicyLoadError).problems[0]).toMatch(/^t\.hcl:1: policy "t": /);
    }
  });

  it('accepts names and uids as template values, and nothing that leaves one segment', () => {
    expect(['team-a', 'app.v2', '7a1c0f3e-0000-4000-8000-000000000001'].every(isSafeTemplateValue)).toBe(
      true,
    );
    expect(['', '.', '..', 'a/b', 'a*', 'a+', 'x..y', 'a\nb', undefined].some(isSafeTemplateValue)).toBe(
      false,
    );
  });
});
