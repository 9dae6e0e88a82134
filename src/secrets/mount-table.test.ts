import { describe, expect, it } from 'vitest';
import { buildSecretsMountTable, matchSecretsMount, type SecretsMountEntry } from './mount-table.js';

const kv = (path: string) => ({
  mountInfo: () =>
    ({
      ...buildSecretsMountTable([]).get('identity/'),
      type: 'kv' as const,
      options: { version: '2' as const },
      accessor: `kv_${path.length}`,
      path: `${path}/`,
    }) as SecretsMountEntry & { path: string; type: 'kv'; options: { version: '2' } },
});

describe('buildSecretsMountTable', () => {
  it('lists the KV mounts, identity/ and sys/, sorted, without the UI endpoint’s path key', () => {
    const table = buildSecretsMountTable([
      ['team/kv', kv('team/kv')],
      ['secret', kv('secret')],
    ]);
    expect([...table.keys()]).toEqual(['identity/', 'secret/', 'sys/', 'team/kv/']);
    expect(table.get('secret/')).not.toHaveProperty('path');
    expect(table.get('sys/')).toMatchObject({ type: 'system', options: null });
  });

  it('names its built-in mounts the same on every build (every replica)', () => {
    const a = buildSecretsMountTable([]).get('identity/');
    const b = buildSecretsMountTable([]).get('identity/');
    expect(a?.accessor).toMatch(/^identity_[0-9a-f]{8}$/);
    expect([b?.accessor, b?.uuid]).toEqual([a?.accessor, a?.uuid]);
    expect(buildSecretsMountTable([]).get('sys/')?.accessor).toMatch(/^system_[0-9a-f]{8}$/);
  });
});

describe('matchSecretsMount', () => {
  const table = buildSecretsMountTable([
    ['team/kv', kv('team/kv')],
    ['team/kv2', kv('team/kv2')],
    ['secret', kv('secret')],
  ]);
  it.each([
    ['secret', 'secret/'],
    ['secret/', 'secret/'],
    ['secret/data/a/b', 'secret/'],
    ['team/kv', 'team/kv/'],
    ['team/kv2/x', 'team/kv2/'],
    ['sys/mounts', 'sys/'],
  ])('finds the mount serving %s: %s', (path, mount) => {
    expect(matchSecretsMount(table, path)?.mountPath).toBe(mount);
  });

  it.each(['team', 'secrets', 'cubbyhole', 'auth/kubernetes', ''])('finds none for %j', (path) => {
    expect(matchSecretsMount(table, path)).toBeUndefined();
  });
});
