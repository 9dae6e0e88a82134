import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_TEXT } from './default-policy.js';
import { PolicyLoadError } from './errors.js';
import { createPolicyRegistry, type PolicySources } from './registry.js';
import { documentOf, recordingLog, subjectFor } from './test-support.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'authgate-policy-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const files = async (entries: Record<string, string>) => {
  for (const [name, text] of Object.entries(entries)) await writeFile(join(dir, name), text);
};

const loadError = async (load: Promise<void>): Promise<readonly string[]> => {
  try {
    await load;
  } catch (error) {
    if (error instanceof PolicyLoadError) return error.problems;
    throw error;
  }
  throw new Error('expected a PolicyLoadError');
};

const READ_A = 'path "secret/data/a/*" {\n  capabilities = ["read"]\n}\n';

describe('loading', () => {
  it('reads .hcl, .json, .yaml and .yml files, each named after its file, and ignores the rest', async () => {
    await files({
      'team-a.hcl': READ_A,
      'team-b.json': JSON.stringify(documentOf({ 'secret/data/b/*': ['read'] })),
      'Team-C.yaml': 'path:\n  "secret/data/c/*":\n    capabilities: [read]\n',
      'team-d.yml': 'path: {}\n',
      'README.md': '# not a policy',
      '.hidden.hcl': 'not even HCL {',
    });
    await mkdir(join(dir, 'sub.hcl'));
    const { log, lines } = recordingLog();
    const registry = createPolicyRegistry({ log });
    await registry.load({ inline: {}, dir });
    expect(registry.names()).toEqual(['default', 'team-a', 'team-b', 'team-c', 'team-d']);
    expect(registry.get('team-a')).toMatchObject({ text: READ_A, source: join(dir, 'team-a.hcl') });
    expect(lines).toContainEqual({
      level: 'info',
      event: 'policy.files_ignored',
      fields: { event: 'policy.files_ignored', dir, files: ['README.md', 'sub.hcl'] },
    });
    expect(lines).toContainEqual({
      level: 'info',
      event: 'policy.loaded',
      fields: { event: 'policy.loaded', policies: 5, dir },
    });
  });

  it('follows the symlinks of a mounted ConfigMap and skips its ..data entries', async () => {
    await mkdir(join(dir, '..2026_01_01'));
    await writeFile(join(dir, '..2026_01_01', 'team-a.hcl'), READ_A);
    await symlink('..2026_01_01', join(dir, '..data'));
    await symlink(join('..data', 'team-a.hcl'), join(dir, 'team-a.hcl'));
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await registry.load({ inline: {}, dir });
    expect(registry.names()).toEqual(['default', 'team-a']);
  });

  it('takes inline policies as documents or as HCL text, JSON text included', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await registry.load({
      inline: {
        Doc: documentOf({ 'secret/data/a/*': ['read'] }),
        text: READ_A,
        json: JSON.stringify(documentOf({ 'secret/data/a/*': ['read'] })),
      },
      dir: undefined,
    });
    expect(registry.names()).toEqual(['default', 'doc', 'json', 'text']);
    expect(registry.get('doc')?.rules).toEqual(registry.get('text')?.rules);
    expect(registry.get('json')?.rules).toEqual(registry.get('text')?.rules);
    expect(registry.get('doc')?.text).toBe(READ_A);
  });

  it('provides the token-self part of Vault default policy unless the sources define default', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    expect(registry.get('default')).toMatchObject({ source: 'built-in', text: DEFAULT_POLICY_TEXT });
    const acl = registry.aclFor(subjectFor({ policies: ['default'] }));
    expect(acl.allows('auth/token/lookup-self', 'read')).toBe(true);
    for (const path of [
      'auth/token/renew-self',
      'auth/token/revoke-self',
      'sys/capabilities-self',
      'sys/renew',
      'sys/leases/renew',
    ])
      expect(acl.allows(path, 'update')).toBe(true);
    expect(acl.allows('auth/token/lookup-self', 'update')).toBe(false);
    expect(acl.allows('secret/data/x', 'read')).toBe(false);

    await registry.load({
      inline: { default: documentOf({ 'auth/token/lookup-self': ['read'] }) },
      dir: undefined,
    });
    expect(registry.get('default')?.source).toBe('policies.default');
    expect(
      registry.aclFor(subjectFor({ policies: ['default'] })).allows('auth/token/renew-self', 'update'),
    ).toBe(false);
  });
});

describe('load errors', () => {
  it.each<[string, Record<string, string>, PolicySources['inline'], RegExp]>([
    [
      'a bad capability',
      { 'a.hcl': 'path "x" {\n  capabilities = ["raed"]\n}' },
      {},
      /a\.hcl:2: policy "a": path "x": unknown capability "raed"/,
    ],
    [
      'an unsupported key',
      { 'a.hcl': 'path "x" {\n  capabilities = ["create"]\n  allowed_parameters = { "foo" = [] }\n}' },
      {},
      /a\.hcl:3: policy "a": path "x": "allowed_parameters" is not supported by authgate/,
    ],
    [
      'bad HCL syntax, with the file name',
      { 'bad.hcl': 'path "x" {\n  capabilities = ["read"\n}' },
      {},
      /bad\.hcl:3: policy "bad": HCL syntax error at column 1/,
    ],
    ['a root policy file', { 'root.hcl': READ_A }, {}, /root\.hcl: policy "root": "root" is reserved/],
    [
      'a root inline policy',
      {},
      { Root: documentOf({ x: ['read'] }) },
      /^policies\.Root: policy "root": "root" is reserved/,
    ],
    [
      'a name in the directory and inline',
      { 'team.hcl': READ_A },
      { team: documentOf({ x: ['read'] }) },
      /team\.hcl: policy "team": defined twice \(also in policies\.team\)/,
    ],
    [
      'a name in two files',
      { 'team.hcl': READ_A, 'team.json': '{"path": {}}' },
      {},
      /team\.json: policy "team": defined twice \(also in .*team\.hcl\)/,
    ],
    [
      'two inline names equal but for case',
      {},
      { team: { path: {} }, TEAM: { path: {} } },
      /policies\.(team|TEAM): policy "team": defined twice/,
    ],
    [
      'a bad inline document',
      {},
      { x: { path: { 'secret/*': { capabilities: 'read' } } } },
      /^policies\.x: policy "x": path "secret\/\*": capabilities must be a non-empty list/,
    ],
  ])('refuses %s, naming the policy and its source', async (_what, dirFiles, inline, expected) => {
    await files(dirFiles);
    const registry = createPolicyRegistry({ log: recordingLog().log });
    const problems = await loadError(registry.load({ inline, dir }));
    expect(problems).toContainEqual(expect.stringMatching(expected));
  });

  it('reports the problems of every policy at once', async () => {
    await files({ 'a.hcl': 'path "x" { capabilities = ["raed"] }', 'b.hcl': 'path "y" {' });
    const registry = createPolicyRegistry({ log: recordingLog().log });
    const problems = await loadError(registry.load({ inline: { c: 'nope' }, dir }));
    expect(problems).toHaveLength(3);
  });

  it('refuses a policy_dir that cannot be read', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    const missing = join(dir, 'missing');
    expect(await loadError(registry.load({ inline: {}, dir: missing }))).toEqual([
      `policy_dir ${missing}: cannot be read (ENOENT)`,
    ]);
  });

  it('refuses a broken symlink', async () => {
    await symlink(join(dir, 'nowhere.hcl'), join(dir, 'a.hcl'));
    const registry = createPolicyRegistry({ log: recordingLog().log });
    expect(await loadError(registry.load({ inline: {}, dir }))).toEqual([
      expect.stringMatching(/a\.hcl: policy "a": cannot be read \(ENOENT\)/),
    ]);
  });

  it('throws TypeError for sources of the wrong shape and a bad cache size', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await expect(registry.load(null as unknown as PolicySources)).rejects.toThrow(TypeError);
    expect(() => createPolicyRegistry({ log: recordingLog().log, maxCachedAcls: 0 })).toThrow(TypeError);
  });
});

describe('reload', () => {
  it('keeps the previous set, and its cached ACLs, when a reload has any problem', async () => {
    await files({ 'team-a.hcl': READ_A });
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await registry.load({ inline: {}, dir });
    const subject = subjectFor({ policies: ['team-a'] });
    const before = registry.aclFor(subject);

    await files({
      'team-a.hcl': 'path "secret/data/a/*" { capabilities = ["read", "update"] }',
      'team-b.hcl': 'oops {',
    });
    await expect(registry.load({ inline: {}, dir })).rejects.toThrow(PolicyLoadError);
    expect(registry.names()).toEqual(['default', 'team-a']);
    expect(registry.get('team-a')?.text).toBe(READ_A);
    expect(registry.aclFor(subject)).toBe(before);
    expect(before.allows('secret/data/a/x', 'update')).toBe(false);
  });

  it('survives reloads of a file nested a thousand deep, keeping the set that runs', async () => {
    await files({ 'team-a.hcl': READ_A });
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await registry.load({ inline: {}, dir });
    // The yaml library's second parse of this aborted the process (SIGHUP twice).
    await files({ 'bad.json': `{"path":${'['.repeat(1000)}${']'.repeat(1000)}}` });
    for (let i = 0; i < 3; i++)
      expect(await loadError(registry.load({ inline: {}, dir }))).toEqual([
        `${join(dir, 'bad.json')}:1: policy "bad": nested more than 64 levels deep`,
      ]);
    expect(registry.names()).toEqual(['default', 'team-a']);
  });

  it('runs what goes with a load in the step that swaps the set in, and not at all when it fails', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    const seen: string[][] = [];
    await files({ 'team-a.hcl': READ_A });
    await registry.load({ inline: {}, dir }, () => seen.push(registry.names()));
    // Called just before the swap, synchronously: no request runs between the two.
    expect(seen).toEqual([['default']]);
    expect(registry.names()).toEqual(['default', 'team-a']);

    await files({ 'team-b.hcl': 'oops {' });
    await expect(registry.load({ inline: {}, dir }, () => seen.push([]))).rejects.toThrow(PolicyLoadError);
    expect(seen).toHaveLength(1);
  });

  it('drops cached ACLs when a reload succeeds', async () => {
    await files({ 'team-a.hcl': READ_A });
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await registry.load({ inline: {}, dir });
    const subject = subjectFor({ policies: ['team-a'] });
    expect(registry.aclFor(subject)).toBe(registry.aclFor(subject));
    expect(registry.aclFor(subject).allows('secret/data/a/x', 'update')).toBe(false);

    await files({ 'team-a.hcl': 'path "secret/data/a/*" { capabilities = ["read", "update"] }' });
    await registry.load({ inline: {}, dir });
    expect(registry.aclFor(subject).allows('secret/data/a/x', 'update')).toBe(true);
  });

  it('drops a policy whose file was removed', async () => {
    await files({ 'team-a.hcl': READ_A });
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await registry.load({ inline: {}, dir });
    await rm(join(dir, 'team-a.hcl'));
    await registry.load({ inline: {}, dir });
    expect(registry.names()).toEqual(['default']);
    expect(registry.aclFor(subjectFor({ policies: ['team-a'] })).allows('secret/data/a/x', 'read')).toBe(
      false,
    );
  });

  it('applies concurrent reloads in the order they were asked for', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    const first = registry.load({ inline: {}, dir });
    const second = registry.load({ inline: { late: READ_A }, dir: undefined });
    await Promise.all([first, second]);
    expect(registry.names()).toEqual(['default', 'late']);
  });
});

describe('ACLs of tokens', () => {
  it('grants nothing for policy names that are not loaded, and logs each once', async () => {
    const { log, lines } = recordingLog();
    const registry = createPolicyRegistry({ log });
    await registry.load({ inline: { a: READ_A }, dir: undefined });
    const subject = subjectFor({ policies: ['a', 'ghost', 'root'] });
    const acl = registry.aclFor(subject);
    registry.aclFor(subject);
    expect(acl.allows('secret/data/a/x', 'read')).toBe(true);
    expect(acl.allows('sys/policies/acl/x', 'read')).toBe(false);
    expect(lines.filter((l) => l.event === 'policy.unknown').map((l) => l.fields)).toEqual([
      { event: 'policy.unknown', policy: 'ghost' },
      { event: 'policy.unknown', policy: 'root' },
    ]);
  });

  it('gives root no special power: it is not a policy here', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    const acl = registry.aclFor(subjectFor({ policies: ['root'] }));
    expect(acl.allows('sys/anything', 'sudo')).toBe(false);
    expect(acl.capabilities('secret/x').size).toBe(0);
  });

  it('unites the rules of the token policies only', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await registry.load({
      inline: {
        a: documentOf({ 'secret/data/a/*': ['read'] }),
        b: documentOf({ 'secret/data/b/*': ['read'] }),
        c: documentOf({ 'secret/data/c/*': ['read'] }),
      },
      dir: undefined,
    });
    const acl = registry.aclFor(subjectFor({ policies: ['a', 'b'] }));
    expect(['a', 'b', 'c'].map((t) => acl.allows(`secret/data/${t}/x`, 'read'))).toEqual([true, true, false]);
  });

  it('shares one ACL among tokens with the same untemplated policies', async () => {
    const registry = createPolicyRegistry({ log: recordingLog().log });
    await registry.load({ inline: { a: READ_A }, dir: undefined });
    const one = registry.aclFor(subjectFor({ policies: ['a', 'default'] }));
    const other = registry.aclFor(
      subjectFor({ policies: ['a', 'default'], metadata: {}, role: 'x', entityId: 'e2' }),
    );
    expect(other).toBe(one);
  });
});
