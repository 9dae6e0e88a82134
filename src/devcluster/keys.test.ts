import { createHash, createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createKeyRing,
  discoveryDocument,
  generateServiceAccountKey,
  jwksDocument,
  keyIdFromPublicKey,
  publishedJwk,
  signCompact,
  verifyJws,
} from './keys.js';

// The test keys of kubernetes' pkg/serviceaccount tests (reference §1.1, §5.3).
const RSA_N =
  '249XwEo9k4tM8fMxV7zxOhcrP-WvXn917koM5Qr2ZXs4vo26e4ytdlrV0bQ9SlcLpQVSYjIxNfhTZdDt-ecIzshKuv1gKIxbbLQMOuK1eA_4HALyEkFgmS_tleLJrhc65tKPMGD-pKQ_xhmzRuCG51RoiMgbQxaCyYxGfNLpLAZK9L0Tctv9a0mJmGIYnIOQM4kC1A1I1n3EsXMWmeJUj7OTh_AjjCnMnkgvKT2tpKxYQ59PgDgU8Ssc7RDSmSkLxnrv-OrN80j6xrw0OjEiB4Ycr0PqfzZcvy8efTtFQ_Jnc4Bp1zUtFXt7-QeevePtQ2EcyELXE0i63T1CujRMWw';
const EC_X = 'H6cuzP8XuD5wal6wf9M6xDljTOPLX2i8uIp_C_ASqiI';
const EC_Y = 'BlHnikLV9PyEd6gl8k4T_3Wwoh6xd79XLoQTh2PAi1Y';
const rsaPublic = createPublicKey({ format: 'jwk', key: { kty: 'RSA', n: RSA_N, e: 'AQAB' } });
const ecPublic = createPublicKey({ format: 'jwk', key: { kty: 'EC', crv: 'P-256', x: EC_X, y: EC_Y } });

const REFERENCE_JWKS =
  '{"keys":[{"use":"sig","kty":"RSA","kid":"JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU","alg":"RS256","n":"' +
  RSA_N +
  '","e":"AQAB"},{"use":"sig","kty":"EC","kid":"SoABiieYuNx4UdqYvZRVeuC6SihxgLrhLy9peHMHpTc","crv":"P-256","alg":"ES256","x":"' +
  EC_X +
  '","y":"' +
  EC_Y +
  '"}]}';

describe('key IDs', () => {
  it('derives the kid of the kubernetes RSA test key (TestKeyIDStability)', () => {
    // The PEM body the reference quotes starts like this; the DER is what gets hashed.
    expect(rsaPublic.export({ type: 'spki', format: 'der' }).toString('base64')).toMatch(
      /^MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA249XwEo9k4tM8fMxV7zx/,
    );
    expect(keyIdFromPublicKey(rsaPublic)).toBe('JHJehTTTZlsspKHT-GaJxK7Kd1NQgZJu3fyK6K_QDYU');
  });

  it('derives the kid of the kubernetes ECDSA P-256 test key', () => {
    expect(keyIdFromPublicKey(ecPublic)).toBe('SoABiieYuNx4UdqYvZRVeuC6SihxgLrhLy9peHMHpTc');
  });

  it('gives a generated key the base64url SHA-256 of its DER SubjectPublicKeyInfo', async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const key = await generateServiceAccountKey(alg);
      const der = key.publicKey.export({ type: 'spki', format: 'der' });
      const expected = createHash('sha256')
        .update(der)
        .digest('base64')
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '');
      expect(key.kid).toBe(expected);
    }
  });
});

describe('published documents', () => {
  it('serves the JWKS byte-for-byte as openidmetadata_test.go expects', async () => {
    expect(jwksDocument([await publishedJwk(rsaPublic), await publishedJwk(ecPublic)])).toBe(REFERENCE_JWKS);
  });

  it('serves the discovery document byte-for-byte with sorted, de-duplicated algs', () => {
    expect(
      discoveryDocument('https://issuer.example.com', 'https://issuer.example.com/openid/v1/jwks', [
        'RS256',
        'ES256',
        'RS256',
      ]),
    ).toBe(
      '{"issuer":"https://issuer.example.com","jwks_uri":"https://issuer.example.com/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256","RS256"]}',
    );
  });
});

describe('signing', () => {
  it('signs with a header of exactly alg and kid, and verifies only with the matching key', async () => {
    for (const alg of ['RS256', 'ES256'] as const) {
      const key = await generateServiceAccountKey(alg);
      const other = await generateServiceAccountKey(alg);
      const jws = await signCompact(key, key.kid, '{"a":1}');
      const [h, p, s] = jws.split('.') as [string, string, string];
      expect(Buffer.from(h, 'base64url').toString()).toBe(`{"alg":"${alg}","kid":"${key.kid}"}`);
      expect(Buffer.from(p, 'base64url').toString()).toBe('{"a":1}');
      expect(verifyJws(key.publicKey, alg, `${h}.${p}`, Buffer.from(s, 'base64url'))).toBe(true);
      expect(verifyJws(other.publicKey, alg, `${h}.${p}`, Buffer.from(s, 'base64url'))).toBe(false);
      expect(
        verifyJws(
          key.publicKey,
          alg === 'RS256' ? 'ES256' : 'RS256',
          `${h}.${p}`,
          Buffer.from(s, 'base64url'),
        ),
      ).toBe(false);
    }
  });
});

describe('key ring', () => {
  it('publishes every key oldest first, signs with the newest and selects by kid', async () => {
    const first = await generateServiceAccountKey('RS256');
    const second = await generateServiceAccountKey('ES256');
    const ring = createKeyRing(first);
    await ring.add(first);
    await ring.add(second);
    expect(ring.signingKey().kid).toBe(second.kid);
    expect(ring.jwks().map((k) => k['kid'])).toEqual([first.kid, second.kid]);
    expect(ring.verificationKeys(first.kid).map((k) => k.kid)).toEqual([first.kid]);
    expect(ring.verificationKeys('').length).toBe(2);
    expect(ring.verificationKeys('unknown')).toEqual([]);
    expect(ring.verificationKeys('unknown', false).length).toBe(2);
  });

  it('falls back to the newest remaining key when the signing key is removed, and refuses to remove the last', async () => {
    const first = await generateServiceAccountKey('ES256');
    const second = await generateServiceAccountKey('ES256');
    const ring = createKeyRing(first);
    await ring.add(first);
    await ring.add(second);
    ring.remove(second.kid);
    expect(ring.signingKey().kid).toBe(first.kid);
    expect(() => ring.remove(first.kid)).toThrow(TypeError);
    expect(() => ring.remove('nope')).toThrow(TypeError);
  });
});
