import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configDoc, parseDoc, problemsOf } from './test-support.js';

const messagesAt = (doc: Record<string, unknown>, path: string) =>
  problemsOf(doc)
    .filter((p) => p.path === path)
    .map((p) => p.message);

describe('the secrets section', () => {
  it('defaults to one KV v2 mount, secret/, with Vault defaults and no key file', () => {
    const { secrets } = parseDoc(configDoc());
    expect(secrets.encryptionKey).toBeUndefined();
    expect([...secrets.kv.values()]).toEqual([
      { path: 'secret', maxVersions: 0, casRequired: false, deleteVersionAfterSeconds: 0 },
    ]);
  });

  it('reads KV mounts with their settings', () => {
    const { secrets } = parseDoc(
      configDoc({
        secrets: { kv: { 'team/kv': { max_versions: 3, cas_required: true, delete_version_after: '1h' } } },
      }),
    );
    expect(secrets.kv.get('team/kv')).toEqual({
      path: 'team/kv',
      maxVersions: 3,
      casRequired: true,
      deleteVersionAfterSeconds: 3600,
    });
    expect(secrets.kv.has('secret')).toBe(false);
  });

  it('refuses reserved and nested KV mount paths', () => {
    const doc = configDoc({ secrets: { kv: { sys: {}, a: {}, 'a/b': {} } } });
    expect(messagesAt(doc, 'secrets.kv.sys')).toEqual(['auth/, sys/ and identity/ are reserved paths']);
    expect(messagesAt(doc, 'secrets.kv.a/b')).toEqual(['is inside the mount a']);
  });

  it('reads the encryption key file and refuses a short one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authgate-secrets-'));
    writeFileSync(join(dir, 'good.key'), Buffer.alloc(32, 0x41));
    writeFileSync(join(dir, 'short.key'), 'too short');
    expect(
      parseDoc(configDoc({ secrets: { encryption_key_file: 'good.key' } }), dir).secrets.encryptionKey,
    ).toEqual(Buffer.alloc(32, 0x41));
    const problems = problemsOf(configDoc({ secrets: { encryption_key_file: 'short.key' } }), dir);
    expect(problems.map((p) => p.path)).toEqual(['secrets.encryption_key_file']);
    expect(problems[0]?.message).toMatch(/holds 9 bytes; at least 32 are required/);
    // Trimmed, as the server key: a trailing newline is not key material.
    writeFileSync(join(dir, 'newline.key'), `${'k'.repeat(32)}\n`);
    expect(
      parseDoc(configDoc({ secrets: { encryption_key_file: 'newline.key' } }), dir).secrets.encryptionKey,
    ).toEqual(Buffer.from('k'.repeat(32)));
  });

  it('reads the previous encryption key files in order, each checked as the current one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'authgate-secrets-'));
    writeFileSync(join(dir, 'a.key'), Buffer.alloc(32, 0x41));
    writeFileSync(join(dir, 'b.key'), `${'b'.repeat(40)}\n`);
    writeFileSync(join(dir, 'short.key'), 'too short');
    const secrets = parseDoc(
      configDoc({ secrets: { previous_encryption_key_files: ['b.key', 'a.key'] } }),
      dir,
    ).secrets;
    expect(secrets.previousEncryptionKeys).toEqual([Buffer.from('b'.repeat(40)), Buffer.alloc(32, 0x41)]);
    expect(parseDoc(configDoc({}), dir).secrets.previousEncryptionKeys).toEqual([]);
    const problems = problemsOf(
      configDoc({ secrets: { previous_encryption_key_files: ['a.key', 'short.key', 'missing.key'] } }),
      dir,
    );
    expect(problems.map((p) => p.path)).toEqual([
      'secrets.previous_encryption_key_files.1',
      'secrets.previous_encryption_key_files.2',
    ]);
  });
});

describe('the identity section', () => {
  it('always has an ES256 default key and the loopback issuer by default', () => {
    const { identity } = parseDoc(configDoc());
    expect(identity.issuer).toBe('http://127.0.0.1:8200');
    expect(identity.keys.get('default')).toEqual({
      name: 'default',
      algorithm: 'ES256',
      rotationPeriodSeconds: 86_400,
      verificationTtlSeconds: 86_400,
    });
    expect(identity.roles.size).toBe(0);
  });

  it('reads keys and roles, with TTLs in seconds and the trailing slash of the issuer dropped', () => {
    const { identity } = parseDoc(
      configDoc({
        identity: {
          issuer: 'https://authgate.example.com/',
          keys: { payments: { algorithm: 'RS256', rotation_period: '6h', verification_ttl: '12h' } },
          roles: {
            billing: { key: 'payments', audience: 'billing-api', ttl: '15m' },
            plain: { audience: 'plain-api' },
          },
        },
      }),
    );
    expect(identity.issuer).toBe('https://authgate.example.com');
    expect(identity.keys.get('payments')).toMatchObject({
      rotationPeriodSeconds: 21_600,
      verificationTtlSeconds: 43_200,
    });
    expect(identity.roles.get('billing')).toEqual({
      name: 'billing',
      key: 'payments',
      audience: 'billing-api',
      ttlSeconds: 900,
    });
    expect(identity.roles.get('plain')).toEqual({
      name: 'plain',
      key: 'default',
      audience: 'plain-api',
      ttlSeconds: 86_400,
    });
  });

  it.each([
    [
      { roles: { r: { audience: 'a', key: 'missing' } } },
      'identity.roles.r.key',
      'names no key in identity.keys: "missing"',
    ],
    [
      { roles: { r: { audience: 'a', ttl: '48h' } } },
      'identity.roles.r.ttl',
      'exceeds the verification_ttl of key "default" (86400s)',
    ],
    [{ roles: { r: {} } }, 'identity.roles.r.audience', 'is required'],
    [{ issuer: 'ftp://x' }, 'identity.issuer', 'expected an http(s) URL without query or fragment'],
    [{ keys: { k: { rotation_period: '10s' } } }, 'identity.keys.k.rotation_period', undefined],
    // Vault's bound: a retired key is kept at most ten rotations, so the published set stays small
    // (a 1m rotation kept 24h would publish 1440 keys per ring).
    [
      { keys: { k: { rotation_period: '1h' } } },
      'identity.keys.k.verification_ttl',
      'cannot be longer than 10x rotation_period (36000s)',
    ],
    [
      { keys: { k: { rotation_period: '60s', verification_ttl: '601s' } } },
      'identity.keys.k.verification_ttl',
      'cannot be longer than 10x rotation_period (600s)',
    ],
    [
      { keys: { k: { algorithm: 'HS256' } } },
      'identity.keys.k.algorithm',
      'expected one of RS256, RS384, RS512, ES256, ES384, ES512, EdDSA',
    ],
  ])('refuses %j', (identity, path, message) => {
    const messages = messagesAt(configDoc({ identity }), path);
    expect(messages).toHaveLength(1);
    if (message !== undefined) expect(messages[0]).toBe(message);
  });

  it('accepts a verification_ttl of exactly 10x rotation_period', () => {
    const identity = { keys: { k: { rotation_period: '60s', verification_ttl: '600s' } } };
    expect(problemsOf(configDoc({ identity }))).toStrictEqual([]);
  });

  it('warns about a plain-HTTP issuer off the machine', () => {
    expect(parseDoc(configDoc({ identity: { issuer: 'http://authgate.example.com' } })).warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(/^identity\.issuer: plain HTTP/)]),
    );
  });
});

describe('the policy sources', () => {
  it('keep inline policies unparsed and resolve policy_dir against the config directory', () => {
    const inline = { app: { path: { 'secret/data/*': { capabilities: ['read'] } } } };
    const { policies } = parseDoc(configDoc({ policies: inline, policy_dir: 'policies' }), '/etc/authgate');
    expect(policies).toEqual({ inline, dir: '/etc/authgate/policies' });
  });

  it('refuse a policy without its path block, and a badly named one', () => {
    expect(messagesAt(configDoc({ policies: { app: {} } }), 'policies.app.path')).toEqual(['is required']);
    expect(problemsOf(configDoc({ policies: { 'a b': { path: {} } } })).map((p) => p.path)).toContain(
      'policies.a b',
    );
  });

  it('refuse a comment beside the path block, where Vault has none, at the path of the comment', () => {
    const path = { 'secret/*': { capabilities: ['read'], comment: 'a path block may say why' } };
    expect(
      messagesAt(configDoc({ policies: { app: { comment: 'x', path } } }), 'policies.app.comment'),
    ).toEqual(['unknown field']);
    expect(problemsOf(configDoc({ policies: { app: { name: 'app', path } } }))).toEqual([]);
  });
});
