import { decodeProtectedHeader, errors as joseErrors } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthgateError } from '../../errors.js';
import { createSecretCipher } from '../cipher.js';
import { randomBytes } from 'node:crypto';
import { createIdentityTokens } from './identity-tokens.js';
import { ringAad } from './key-ring.js';
import {
  HOUR,
  ISSUER,
  eventLog,
  fixture,
  identityConfig,
  key,
  podSubject,
  role,
  verifyAt,
  type Fixture,
} from './test-support.js';

let fx: Fixture;
afterEach(() => fx?.closeAll());

const rejection = async (p: Promise<unknown>): Promise<AuthgateError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthgateError);
  return err as AuthgateError;
};

describe('issue', () => {
  it('signs a token that verifies against the published keys, with exactly the claims of the identity', async () => {
    fx = fixture();
    const engine = fx.engine();
    const issued = await engine.issue('web', podSubject);
    expect(issued.clientId).toBe('web-service');
    expect(issued.ttlSeconds).toBe(HOUR);

    const { payload, protectedHeader } = await verifyAt(issued.token, engine, fx.clock, 'web-service');
    const iat = Math.floor(fx.clock.nowMs() / 1000);
    expect(payload).toStrictEqual({
      iss: `${ISSUER}/v1/identity/oidc`,
      sub: 'system:serviceaccount:shop:web',
      aud: 'web-service',
      iat,
      exp: iat + HOUR,
      'kubernetes.io': {
        namespace: 'shop',
        serviceaccount: { name: 'web', uid: podSubject.serviceAccountUid },
        pod: { name: podSubject.podName, uid: podSubject.podUid },
      },
    });
    const { keys } = await engine.jwks();
    expect(protectedHeader).toStrictEqual({ alg: 'ES256', kid: keys[0]?.kid, typ: 'JWT' });
  });

  it('leaves the pod out when the login token was not bound to one', async () => {
    fx = fixture();
    const engine = fx.engine();
    const unbound = { ...podSubject, podName: undefined, podUid: undefined };
    const { token } = await engine.issue('web', unbound);
    const { payload } = await verifyAt(token, engine, fx.clock, 'web-service');
    expect(payload['kubernetes.io']).toStrictEqual({
      namespace: 'shop',
      serviceaccount: { name: 'web', uid: podSubject.serviceAccountUid },
    });
  });

  it('refuses a token for another audience and an expired token', async () => {
    fx = fixture();
    const engine = fx.engine();
    const { token } = await engine.issue('web', podSubject);
    await expect(verifyAt(token, engine, fx.clock, 'other-service')).rejects.toBeInstanceOf(
      joseErrors.JWTClaimValidationFailed,
    );
    fx.clock.advanceSeconds(HOUR);
    await expect(verifyAt(token, engine, fx.clock, 'web-service')).rejects.toBeInstanceOf(
      joseErrors.JWTExpired,
    );
  });

  it('signs with the algorithm of the role key', async () => {
    for (const algorithm of ['ES384', 'RS256', 'EdDSA'] as const) {
      fx = fixture(identityConfig([key('default'), key('k', { algorithm })], [role('web', { key: 'k' })]));
      const engine = fx.engine();
      const { token } = await engine.issue('web', podSubject);
      expect(decodeProtectedHeader(token).alg).toBe(algorithm);
      await verifyAt(token, engine, fx.clock, 'web-service');
      fx.closeAll();
    }
  });

  it("answers an unknown role with Vault's message before looking at the caller", async () => {
    fx = fixture();
    const engine = fx.engine();
    const err = await rejection(engine.issue('nope', undefined));
    expect(err.status).toBe(400);
    expect(err.message).toBe('role "nope" not found');
  });

  it("refuses a caller without an identity with Vault's no-entity message", async () => {
    fx = fixture();
    const err = await rejection(fx.engine().issue('web', undefined));
    expect(err.status).toBe(400);
    expect(err.message).toBe("no entity associated with the request's token");
  });
});

describe('discovery', () => {
  it("publishes Vault's discovery document", () => {
    fx = fixture();
    expect(fx.engine().discovery()).toStrictEqual({
      issuer: `${ISSUER}/v1/identity/oidc`,
      jwks_uri: `${ISSUER}/v1/identity/oidc/.well-known/keys`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    });
  });

  it('publishes only the keys of rings a role uses, and generates no other', async () => {
    fx = fixture(identityConfig([key('default'), key('spare')], [role('web')]));
    const engine = fx.engine();
    const { keys } = await engine.jwks();
    expect(keys).toHaveLength(2); // current and next of `default`
    for (const k of keys) expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(await fx.memory.get(fx.keys.oidcKeyRing('spare'))).toBeUndefined();
  });

  it('caches the JWKS for the shortest rotation period or verification TTL, at most an hour', () => {
    fx = fixture(identityConfig([key('default', { rotationPeriodSeconds: 600 })]));
    expect(fx.engine().jwksMaxAgeSeconds).toBe(600);
    fx = fixture();
    expect(fx.engine().jwksMaxAgeSeconds).toBe(HOUR);
  });
});

describe('storage', () => {
  it('stores private keys only sealed', async () => {
    fx = fixture();
    const engine = fx.engine();
    await engine.issue('web', podSubject);
    const raw = await fx.memory.get(fx.keys.oidcKeyRing('default'));
    // The whole ring is sealed (public halves too): nothing in it can be swapped in the store.
    expect(raw).toMatch(/^v2\.[\w-]+\.[\w-]+\.[\w-]+$/);
    const ring = JSON.parse(fx.cipher.open(raw ?? '', ringAad('default')).toString()) as {
      current: { kid: string; sealedPrivateJwk: string; publicJwk: object };
      next: { kid: string; sealedPrivateJwk: string };
    };
    for (const k of [ring.current, ring.next]) {
      expect(k.sealedPrivateJwk.startsWith('v2.')).toBe(true);
      const d = (
        JSON.parse(fx.cipher.open(k.sealedPrivateJwk, `oidc-key:default:${k.kid}`).toString()) as {
          d: string;
        }
      ).d;
      expect(d.length).toBeGreaterThan(20);
      for (const [, value] of fx.memory.entries()) expect(value).not.toContain(d);
    }
    expect(raw).not.toMatch(/"d"\s*:/);
  });

  it('fails closed with 503 when the store is down and the ring is stale, but still serves the last JWKS', async () => {
    fx = fixture();
    const engine = fx.engine();
    const before = await engine.jwks();
    fx.switchable.setDown(true);
    // A ring younger than ringMaxAgeMs still signs…
    await engine.issue('web', podSubject);
    // …an older one never does.
    fx.clock.advanceMs(5000);
    const err = await rejection(engine.issue('web', podSubject));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.status).toBe(503);
    expect(err.reason).toBe('identity_store_unavailable');
    expect(await engine.jwks()).toStrictEqual(before);
  });

  it('answers 503 for keys and tokens when the store is down from the start', async () => {
    fx = fixture();
    fx.switchable.setDown(true);
    const engine = fx.engine();
    expect((await rejection(engine.issue('web', podSubject))).status).toBe(503);
    expect((await rejection(engine.jwks())).status).toBe(503);
  });

  it('refuses to sign with a ring sealed under another encryption key, and never replaces it', async () => {
    fx = fixture();
    const first = await fx.engine().issue('web', podSubject);
    const { log } = eventLog();
    const other = createIdentityTokens({
      store: fx.memory,
      keys: fx.keys,
      clock: fx.clock,
      cipher: createSecretCipher(randomBytes(32)),
      log,
      config: identityConfig(),
      refreshIntervalMs: 0,
    });
    const ringBefore = await fx.memory.get(fx.keys.oidcKeyRing('default'));
    const err = await rejection(other.issue('web', podSubject));
    expect(err.code).toBe('INTERNAL');
    expect(err.reason).toBe('identity_key_ring_corrupt');
    // It cannot vouch for keys it cannot open, so it publishes none; the fleet's ring is untouched.
    expect((await rejection(other.jwks())).code).toBe('INTERNAL');
    expect(await fx.memory.get(fx.keys.oidcKeyRing('default'))).toBe(ringBefore);
    expect(decodeProtectedHeader(first.token).kid).toBe((await fx.engine().jwks()).keys[0]?.kid);
    other.close();
  });

  it('fails closed on a corrupt ring, and on one altered in the store', async () => {
    fx = fixture();
    await fx.engine().issue('web', podSubject);
    const sealed = (await fx.memory.get(fx.keys.oidcKeyRing('default'))) ?? '';
    // Someone who can write to the store puts in a ring of their own, unsealed or re-sealed elsewhere.
    const forged = fx.cipher.open(sealed, ringAad('default')).toString();
    for (const value of [forged, createSecretCipher(randomBytes(32)).seal(forged, ringAad('default'))]) {
      await fx.memory.set(fx.keys.oidcKeyRing('default'), value);
      const e = await rejection(fx.engine().issue('web', podSubject));
      expect(e.reason).toBe('identity_key_ring_corrupt');
    }
    await fx.memory.set(fx.keys.oidcKeyRing('default'), '{"v":1}');
    const err = await rejection(fx.engine().issue('web', podSubject));
    expect(err.code).toBe('INTERNAL');
    expect(err.reason).toBe('identity_key_ring_corrupt');
  });
});

describe('options', () => {
  it('refuses a role that names no key, and options out of range', () => {
    fx = fixture();
    expect(() =>
      fx.engine({ config: identityConfig([key('default')], [role('web', { key: 'missing' })]) }),
    ).toThrow(TypeError);
    expect(() => fx.engine({ ringMaxAgeMs: 0 })).toThrow(TypeError);
    expect(() => fx.engine({ refreshIntervalMs: -1 })).toThrow(TypeError);
  });

  it('has a default ES256 key even when the config names none', async () => {
    fx = fixture(identityConfig([], [role('web')]));
    const engine = fx.engine();
    const { token } = await engine.issue('web', podSubject);
    expect(decodeProtectedHeader(token).alg).toBe('ES256');
  });
});
