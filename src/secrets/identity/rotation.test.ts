import { decodeProtectedHeader, errors as joseErrors } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuthgateError } from '../../errors.js';
import { parseRing, ringAad } from './key-ring.js';
import {
  HOUR,
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

const kidOf = (token: string): string | undefined => decodeProtectedHeader(token).kid;
const kids = async (engine: { jwks(): Promise<{ keys: Array<{ kid: string }> }> }) =>
  (await engine.jwks()).keys.map((k) => k.kid);
const storedRing = async (f: Fixture, name = 'default') =>
  parseRing(
    f.cipher.open((await f.memory.get(f.keys.oidcKeyRing(name))) ?? '', ringAad(name)).toString(),
    name,
  );

describe('manual rotation', () => {
  it('signs new tokens with the key published a rotation ahead, while old tokens still verify', async () => {
    fx = fixture();
    const engine = fx.engine();
    const old = await engine.issue('web', podSubject);
    const [currentKid, nextKid] = await kids(engine);
    expect(kidOf(old.token)).toBe(currentKid);

    const { kid } = await engine.rotate('default');
    expect(kid).toBe(nextKid);
    const fresh = await engine.issue('web', podSubject);
    expect(kidOf(fresh.token)).toBe(nextKid);
    await verifyAt(old.token, engine, fx.clock, 'web-service');
    await verifyAt(fresh.token, engine, fx.clock, 'web-service');
    expect(await kids(engine)).toHaveLength(3); // current, next, retired
  });

  it('drops a retired key from the JWKS once its verification window has passed', async () => {
    fx = fixture(identityConfig([key('default', { verificationTtlSeconds: 2 * HOUR })], [role('web')]));
    const engine = fx.engine();
    const old = await engine.issue('web', podSubject);
    const retiredKid = kidOf(old.token);
    await engine.rotate('default');

    fx.clock.advanceSeconds(2 * HOUR - 1);
    expect(await kids(engine)).toContain(retiredKid);
    fx.clock.advanceSeconds(1);
    expect(await kids(engine)).not.toContain(retiredKid);
    await expect(verifyAt(old.token, engine, fx.clock, 'web-service')).rejects.toBeInstanceOf(
      joseErrors.JWKSNoMatchingKey,
    );
  });

  it('keeps a retired key at least as long as the longest token it may have signed', async () => {
    // verification_ttl shorter than the role's TTL: the key stays for the TTL plus the margin.
    fx = fixture(
      identityConfig([key('default', { verificationTtlSeconds: 60 })], [role('web', { ttlSeconds: HOUR })]),
    );
    const engine = fx.engine();
    const old = await engine.issue('web', podSubject);
    await engine.rotate('default');
    fx.clock.advanceSeconds(HOUR - 1);
    await verifyAt(old.token, engine, fx.clock, 'web-service');
    const retired = (await storedRing(fx)).retired[0];
    // A retired key keeps no private half at all.
    expect(retired).not.toHaveProperty('sealedPrivateJwk');
    // TTL + ringMaxAgeMs (5 s) + 60 s clock leeway.
    expect(retired?.notAfterMs).toBe((retired?.retiredAtMs ?? 0) + (HOUR + 65) * 1000);
  });

  it("answers an unknown key with Vault's message", async () => {
    fx = fixture();
    const err = await fx
      .engine()
      .rotate('nope')
      .catch((e: unknown) => e as AuthgateError);
    expect(err).toMatchObject({ status: 400, message: 'no named key found at "nope"' });
  });

  it('gives up with 503 when another replica holds the lock past its TTL', async () => {
    fx = fixture();
    const engine = fx.engine({ lockTtlMs: 100, lockPollMs: 10 });
    await engine.jwks();
    await fx.memory.set(fx.keys.oidcLock('default'), 'another-replica', { ttlMs: 60_000 });
    const err = await engine.rotate('default').catch((e: unknown) => e as AuthgateError);
    expect(err).toMatchObject({ status: 503, reason: 'identity_lock_busy' });
  });
});

describe('scheduled rotation', () => {
  it('rotates once the rotation period has passed; old tokens verify until they expire', async () => {
    fx = fixture(identityConfig([key('default', { rotationPeriodSeconds: 2 * HOUR })], [role('web')]));
    const engine = fx.engine();
    const old = await engine.issue('web', podSubject);
    const [, nextKid] = await kids(engine);

    fx.clock.advanceSeconds(2 * HOUR - 10);
    expect(kidOf((await engine.issue('web', podSubject)).token)).toBe(kidOf(old.token));
    fx.clock.advanceSeconds(10);
    const fresh = await engine.issue('web', podSubject);
    expect(kidOf(fresh.token)).toBe(nextKid);
    expect(engine.events()).toContain('identity.key_rotated');

    await verifyAt(fresh.token, engine, fx.clock, 'web-service');
    // `old` expired an hour ago, but its key is still published (verification window).
    expect(await kids(engine)).toContain(kidOf(old.token));
    await expect(verifyAt(old.token, engine, fx.clock, 'web-service')).rejects.toBeInstanceOf(
      joseErrors.JWTExpired,
    );
  });

  it('rotates on one replica only, and every replica then signs with the same key', async () => {
    fx = fixture();
    const a = fx.engine();
    const b = fx.engine();
    // Both start at once: one ring, not two.
    const [ta, tb] = await Promise.all([a.issue('web', podSubject), b.issue('web', podSubject)]);
    expect(kidOf(ta.token)).toBe(kidOf(tb.token));
    expect(await kids(a)).toStrictEqual(await kids(b));

    fx.clock.advanceSeconds(24 * HOUR);
    await Promise.all([a.issue('web', podSubject), b.issue('web', podSubject), a.jwks(), b.jwks()]);
    const rotations = [...a.events(), ...b.events()].filter((e) => e === 'identity.key_rotated');
    expect(rotations).toHaveLength(1);
    expect((await storedRing(fx)).generation).toBe(2);

    // Within ringMaxAgeMs every replica has reloaded the ring.
    fx.clock.advanceMs(5000);
    const [na, nb] = await Promise.all([a.issue('web', podSubject), b.issue('web', podSubject)]);
    expect(kidOf(na.token)).toBe((await storedRing(fx)).current.kid);
    expect(kidOf(nb.token)).toBe(kidOf(na.token));
    expect(await kids(a)).toStrictEqual(await kids(b));
    // Tokens of either replica verify against either replica's JWKS; the retired key is published.
    expect(await kids(b)).toContain(kidOf(ta.token));
    await verifyAt(na.token, b, fx.clock, 'web-service');
    await verifyAt(nb.token, a, fx.clock, 'web-service');
  });

  it('leaves a due rotation to the replica holding the lock and carries on with the current key', async () => {
    fx = fixture();
    const engine = fx.engine();
    const old = await engine.issue('web', podSubject);
    fx.clock.advanceSeconds(24 * HOUR);
    await fx.memory.set(fx.keys.oidcLock('default'), 'another-replica', { ttlMs: 30_000 });
    expect(kidOf((await engine.issue('web', podSubject)).token)).toBe(kidOf(old.token));
    expect(engine.events()).not.toContain('identity.key_rotated');

    await fx.memory.delete(fx.keys.oidcLock('default'));
    fx.clock.advanceMs(5000);
    expect(kidOf((await engine.issue('web', podSubject)).token)).not.toBe(kidOf(old.token));
  });

  it("picks up another replica's rotation on its refresh timer", async () => {
    fx = fixture();
    const a = fx.engine();
    // Only the timer reloads B's ring: its in-process ring never goes stale by the clock.
    const b = fx.engine({ ringMaxAgeMs: 10 * HOUR * 1000, refreshIntervalMs: 10 });
    await b.issue('web', podSubject);
    const { kid } = await a.rotate('default');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(kidOf((await b.issue('web', podSubject)).token)).toBe(kid);
  });

  it('stops reloading once closed', async () => {
    fx = fixture();
    const a = fx.engine();
    const b = fx.engine({ ringMaxAgeMs: 10 * HOUR * 1000, refreshIntervalMs: 10 });
    const before = kidOf((await b.issue('web', podSubject)).token);
    b.close();
    await a.rotate('default');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(kidOf((await b.issue('web', podSubject)).token)).toBe(before);
  });

  it('changes algorithm over two rotations, each new signing key published a whole period ahead', async () => {
    fx = fixture();
    const old = await fx.engine().issue('web', podSubject);

    // The same store, a new config: a restart with `algorithm: RS256`.
    const engine = fx.engine({
      config: identityConfig([key('default', { algorithm: 'RS256' })], [role('web')]),
    });
    expect(decodeProtectedHeader((await engine.issue('web', podSubject)).token).kid).toBe(kidOf(old.token));
    expect((await engine.jwks()).keys.map((k) => k.alg)).toStrictEqual(['ES256', 'ES256']);

    await engine.rotate('default');
    expect(decodeProtectedHeader((await engine.issue('web', podSubject)).token).alg).toBe('ES256');
    const [, next] = (await engine.jwks()).keys;
    expect(next?.alg).toBe('RS256');

    await engine.rotate('default');
    const rotated = await engine.issue('web', podSubject);
    expect(decodeProtectedHeader(rotated.token)).toMatchObject({ alg: 'RS256', kid: next?.kid });
    await verifyAt(old.token, engine, fx.clock, 'web-service');
    await verifyAt(rotated.token, engine, fx.clock, 'web-service');
  });
});
