import { createHmac, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { importPublicJwk, verifyJws } from './jws-signature.js';

const sign = async (alg: string, options?: Parameters<typeof generateKeyPair>[1]) => {
  const { publicKey, privateKey } = await generateKeyPair(alg, options);
  const jwt = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg }).sign(privateKey);
  return { jwt, key: importPublicJwk((await exportJWK(publicKey)) as Record<string, unknown>) };
};

describe('verifyJws', () => {
  it.each(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])(
    'verifies a %s signature made by jose, and refuses it altered',
    async (alg) => {
      const { jwt, key } = await sign(alg);
      expect(verifyJws(jwt, alg, key)).toBe(true);
      const [h, p, s] = jwt.split('.');
      expect(verifyJws(`${h}.${p}x.${s}`, alg, key)).toBe(false);
      const sig = s ?? '';
      const mid = Math.floor(sig.length / 2);
      const flipped = `${sig.slice(0, mid)}${sig[mid] === 'A' ? 'B' : 'A'}${sig.slice(mid + 1)}`;
      expect(verifyJws(`${h}.${p}.${flipped}`, alg, key)).toBe(false);
    },
  );

  it('refuses alg none, HS256 and an algorithm that does not fit the key', async () => {
    const rsa = await sign('RS256');
    const ec = await sign('ES256');
    expect(verifyJws(rsa.jwt, 'none', rsa.key)).toBe(false);
    expect(verifyJws(rsa.jwt, 'ES256', rsa.key)).toBe(false);
    expect(verifyJws(ec.jwt, 'RS256', ec.key)).toBe(false);
    // HS256 "signed" with the public key's bytes: there is no HS entry, whatever the key.
    const pem = rsa.key.export({ type: 'spki', format: 'pem' });
    const head = Buffer.from('{"alg":"HS256"}').toString('base64url');
    const body = Buffer.from('{"sub":"x"}').toString('base64url');
    const mac = createHmac('sha256', pem).update(`${head}.${body}`).digest('base64url');
    expect(verifyJws(`${head}.${body}.${mac}`, 'HS256', rsa.key)).toBe(false);
  });

  it('refuses EdDSA with any key but Ed25519, and any alg but EdDSA with an Ed25519 key', async () => {
    const ed = await sign('EdDSA');
    const rsa = await sign('RS256');
    const ec = await sign('ES256');
    expect(verifyJws(ed.jwt, 'EdDSA', rsa.key)).toBe(false);
    expect(verifyJws(ed.jwt, 'EdDSA', ec.key)).toBe(false);
    expect(verifyJws(ed.jwt, 'RS256', ed.key)).toBe(false);
    expect(verifyJws(ed.jwt, 'ES256', ed.key)).toBe(false);
    expect(verifyJws(rsa.jwt, 'EdDSA', ed.key)).toBe(false);
    // Ed448 is EdDSA too in RFC 8037, but not go-jose's (Vault's): never accepted.
    const ed448 = generateKeyPairSync('ed448');
    const input = `${Buffer.from('{"alg":"EdDSA"}').toString('base64url')}.${Buffer.from('{}').toString('base64url')}`;
    const signature = cryptoSign(null, Buffer.from(input), ed448.privateKey).toString('base64url');
    expect(verifyJws(`${input}.${signature}`, 'EdDSA', ed448.publicKey)).toBe(false);
    // A truncated signature is refused by its size before any arithmetic.
    expect(verifyJws(`${ed.jwt.slice(0, -4)}`, 'EdDSA', ed.key)).toBe(false);
  });

  it('refuses an ES256 signature in DER form (JWS uses raw r||s)', async () => {
    const { jwt, key } = await sign('ES256');
    expect(verifyJws(`${jwt.slice(0, jwt.lastIndexOf('.'))}.MEUCIQ`, 'ES256', key)).toBe(false);
  });

  it('refuses signatures of the wrong size without throwing', async () => {
    const { jwt, key } = await sign('PS256');
    expect(verifyJws(`${jwt.slice(0, jwt.lastIndexOf('.'))}.`, 'PS256', key)).toBe(false);
    expect(verifyJws(`${jwt.slice(0, jwt.lastIndexOf('.'))}.AAAA`, 'PS256', key)).toBe(false);
  });

  it('imports only public keys of at least 2048 bits', () => {
    const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
    expect(() => importPublicJwk(small as Record<string, unknown>)).toThrow(TypeError);
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    expect(() => importPublicJwk(priv as Record<string, unknown>)).not.toThrow();
    expect(importPublicJwk(priv as Record<string, unknown>).type).toBe('public');
  });
});
