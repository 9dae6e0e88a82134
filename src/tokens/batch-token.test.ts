import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveKey } from '../lib/hash.js';
import { BATCH_FORMAT, createBatchCodec } from './batch-token.js';
import type { TokenRecord } from './record.js';

const record: TokenRecord = {
  v: 1,
  accessor: '',
  policies: ['default', 'app'],
  metadata: { role: 'batch', service_account_name: 'nginx' },
  displayName: 'kubernetes-test-nginx',
  path: 'auth/kubernetes/login',
  entityId: 'e-1',
  role: 'batch',
  mountPath: 'kubernetes',
  boundCidrs: ['10.0.0.0/8'],
  issueTimeMs: 1_000_000,
  expireTimeMs: 4_600_000,
  lastRenewalTimeMs: null,
  creationTtlSeconds: 3600,
  leaseTtlSeconds: 3600,
  ttlSeconds: 3600,
  maxTtlSeconds: 86_400,
  explicitMaxTtlSeconds: 7200,
  periodSeconds: 0,
  numUses: 0,
  usesNotAfterMs: null,
  mount: { defaultLeaseTtlSeconds: 3600, maxLeaseTtlSeconds: 86_400 },
  indexes: [{ kind: 'pod', value: 'uid-1' }],
  renewable: false,
  type: 'batch',
};

/** A token sealed under the codec's key, of any plaintext: what only a holder of the key could make. */
const sealRaw = (serverKey: Buffer, plaintext: string, aad = 'authgate batch token v1') => {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', deriveKey(serverKey, 'authgate batch token'), iv);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `agb.${Buffer.concat([iv, body]).toString('base64url')}`;
};

describe('batch token codec', () => {
  const key = randomBytes(32);
  const codec = createBatchCodec(key);

  it('opens what it sealed: the record as Vault shows a batch token (no role TTLs, explicit max or period kept)', () => {
    const token = codec.seal(record);
    expect(token).toMatch(BATCH_FORMAT);
    expect(codec.open(token)).toEqual({
      ...record,
      ttlSeconds: 0,
      maxTtlSeconds: 0,
      explicitMaxTtlSeconds: 0,
    });
  });

  it('seals the same record into a different token each time (a fresh IV)', () => {
    expect(codec.seal(record)).not.toBe(codec.seal(record));
  });

  it('does not show the record in the token', () => {
    const token = codec.seal(record);
    const bytes = Buffer.from(token.slice(4), 'base64url').toString('latin1');
    expect(bytes).not.toContain('nginx');
    expect(bytes).not.toContain('default');
  });

  it.each([
    ['another server key', createBatchCodec(randomBytes(32)).seal(record)],
    ['another purpose of the same key', sealRaw(key, JSON.stringify(record), 'authgate something else')],
    ['JSON that is not a record', sealRaw(key, '{"v":2}')],
    [
      'a record with a field of the wrong type',
      sealRaw(key, JSON.stringify([['p'], {}, 'd', 'p', 'e', 'r', 'm', [], 1, 2, 3, 4, 5, ['pod']])),
    ],
    [
      'a record with a negative time',
      sealRaw(key, JSON.stringify([['p'], {}, 'd', 'p', 'e', 'r', 'm', [], -1, 2, 3, 4, 5, []])),
    ],
    [
      'a record one field short',
      sealRaw(key, JSON.stringify([['p'], {}, 'd', 'p', 'e', 'r', 'm', [], 1, 2, 3, 4, 5])),
    ],
    ['no JSON at all', sealRaw(key, 'not json')],
    ['JSON null', sealRaw(key, 'null')],
    ['a service token', `ags.${'A'.repeat(43)}`],
    ['too short for an IV and a tag', `agb.${'A'.repeat(37)}`],
    ['characters outside base64url', `agb.${'A'.repeat(40)}+/`],
  ])('opens nothing for %s', (_, token) => {
    expect(codec.open(token)).toBeUndefined();
  });

  it('opens a token only as it was spelt: unused bits of the last character changed are no token', () => {
    // Sealed until the body's length is not a multiple of 3: its last character has unused bits.
    let suffix = '';
    let token = codec.seal(record);
    while (Buffer.from(token.slice(4), 'base64url').length % 3 === 0) {
      suffix += 'x';
      token = codec.seal({ ...record, displayName: `${record.displayName}${suffix}` });
    }
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // The lowest bit of the last character is one of the unused ones.
    const sibling = alphabet[alphabet.indexOf(token.at(-1) ?? 'A') ^ 1] ?? 'A';
    const respelt = `${token.slice(0, -1)}${sibling}`;
    expect(Buffer.from(respelt.slice(4), 'base64url')).toEqual(Buffer.from(token.slice(4), 'base64url'));
    expect(codec.open(token)).toBeDefined();
    expect(codec.open(respelt)).toBeUndefined();
  });

  it('refuses a server key shorter than 32 bytes', () => {
    expect(() => createBatchCodec(randomBytes(16))).toThrow(TypeError);
  });
});
