import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { createSecretCipher } from '../src/secrets/cipher.js';
import { createIdentityTokens, type IdentityTokens } from '../src/secrets/identity/index.js';
import { ringAad } from '../src/secrets/identity/key-ring.js';
import { eventLog, identityConfig, podSubject } from '../src/secrets/identity/test-support.js';
import { createKeys, createRedisStore, type Store } from '../src/store/index.js';
import { auditFile, recordSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, signIdentityToken, startHarness, type Harness } from './helpers/harness.js';
import { startRedis, storeAnswers, type RedisServer } from './helpers/redis-server.js';

/**
 * Identity tokens on a real `redis-server` shared by two replicas: the engines side by side, then
 * two composed servers behind the HTTP API.
 */

const quiet = { info: () => undefined, warn: () => undefined };
let redis: RedisServer;
const stores: Store[] = [];
const redisStore = (): Store => {
  const store = createRedisStore({ url: redis.url }, { log: quiet });
  stores.push(store);
  return store;
};

beforeAll(async () => {
  redis = await startRedis({ appendonly: true });
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
  await redis?.stop();
});

describe('two identity engines on one Redis', () => {
  const clock = createFakeClock();
  const cipher = createSecretCipher(randomBytes(32));
  // Its own prefix: the servers below share this Redis under the default one, with another key.
  const keys = createKeys('engines:');
  const replica = () => {
    const store = redisStore();
    const { log, events } = eventLog();
    const engine = createIdentityTokens({
      store,
      keys,
      clock,
      cipher,
      log,
      config: identityConfig(),
      refreshIntervalMs: 0,
    });
    return { engine, events, store };
  };
  let a: ReturnType<typeof replica>;
  let b: ReturnType<typeof replica>;
  const kid = async (r: { engine: IdentityTokens }) =>
    decodeProtectedHeader((await r.engine.issue('web', podSubject)).token).kid;
  let firstKid: string | undefined;
  let rotatedKid: string | undefined;

  beforeAll(async () => {
    a = replica();
    b = replica();
    await Promise.all([storeAnswers(a.store), storeAnswers(b.store)]);
  });
  afterAll(() => {
    a?.engine.close();
    b?.engine.close();
  });

  it('agree on one ring when both create it at once', async () => {
    const [ka, kb] = await Promise.all([kid(a), kid(b)]);
    expect(ka).toBe(kb);
    firstKid = ka;
  });

  it('rotate it once between them when it is due', async () => {
    clock.advanceSeconds(24 * 3600);
    await Promise.all([kid(a), kid(b), kid(a), kid(b)]);
    expect([...a.events(), ...b.events()].filter((e) => e === 'identity.key_rotated')).toHaveLength(1);
    // Within ringMaxAgeMs both sign with the rotated ring.
    clock.advanceMs(5000);
    const [na, nb] = await Promise.all([kid(a), kid(b)]);
    expect(na).toBe(nb);
    expect(na).not.toBe(firstKid);
    rotatedKid = na;
  });

  it('keep private keys sealed in Redis and release the rotation lock', async () => {
    const raw = (await a.store.get(keys.oidcKeyRing('default'))) ?? '';
    expect(JSON.parse(cipher.open(raw, ringAad('default')).toString())).toMatchObject({
      v: 1,
      generation: 2,
    });
    expect(raw).not.toMatch(/"d"\s*:/);
    expect(await a.store.get(keys.oidcLock('default'))).toBeUndefined();
  });

  it('fail closed while Redis is away, still publishing the keys they loaded', async () => {
    await redis.kill();
    clock.advanceMs(5000);
    await expect(a.engine.issue('web', podSubject)).rejects.toMatchObject({ status: 503 });
    expect((await b.engine.jwks()).keys.map((k) => k.kid)).toContain(rotatedKid);
  });

  it('sign with the same ring once Redis is back with its data, regenerating nothing', async () => {
    await redis.start();
    await storeAnswers(a.store);
    expect(await kid(a)).toBe(rotatedKid);
    expect([...a.events(), ...b.events()].filter((e) => e === 'identity.key_created')).toHaveLength(1);
  });
});

describe('two authgate servers on one Redis, through the HTTP API', () => {
  const clock = createFakeClock(Date.UTC(2026, 6, 1));
  const issuer = 'https://authgate.example.test';
  const dir = mkdtempSync(join(tmpdir(), 'authgate-identity-redis-'));
  const harnesses: Harness[] = [];
  let a: Harness;
  let b: Harness;

  /**
   * A replica: its own cluster and server key, the shared Redis, and the given encryption key.
   * `ownAudit`: an audit device of its own, for a replica whose key cannot open the salt of the
   * shared one (sealed with the same keys as the ring: with it, the replica would serve nothing).
   */
  const replica = async (encryptionKeyFile: string, ownAudit?: string): Promise<Harness> => {
    const store = redisStore();
    await storeAnswers(store);
    const h = await startHarness({
      clock,
      store,
      ...(ownAudit === undefined
        ? {}
        : { audit: { [ownAudit]: { type: 'file', path: auditFile(ownAudit) } } }),
      roles: { nginx: { ...NGINX_ROLE, token_policies: ['sign-web'] } },
      config: {
        secrets: { encryption_key_file: encryptionKeyFile },
        identity: {
          issuer,
          keys: { default: { rotation_period: '1h', verification_ttl: '2h' } },
          roles: { web: { audience: 'web-service', ttl: '30m' } },
        },
        policies: { 'sign-web': { path: { 'identity/oidc/token/web': { capabilities: ['read'] } } } },
      },
    });
    harnesses.push(h);
    return h;
  };
  const keyFile = (name: string) => {
    const path = join(dir, name);
    writeFileSync(path, randomBytes(32).toString('base64'));
    return path;
  };
  const sign = (h: Harness) => signIdentityToken(h);
  const token = async (h: Harness) => {
    const res = await sign(h);
    expect(res.status).toBe(200);
    const jwt = res.json.data?.token ?? '';
    recordSecrets(jwt);
    return jwt;
  };
  const jwks = async (h: Harness) =>
    (await h.server.app.inject({ url: '/v1/identity/oidc/.well-known/keys' })).json<JSONWebKeySet>();
  const verifyOn = async (h: Harness, jwt: string) =>
    jwtVerify(jwt, createLocalJWKSet(await jwks(h)), {
      issuer: `${issuer}/v1/identity/oidc`,
      audience: 'web-service',
      currentDate: new Date(clock.nowMs()),
    });

  beforeAll(async () => {
    const shared = keyFile('encryption.key');
    [a, b] = await Promise.all([replica(shared), replica(shared)]);
  });
  afterAll(async () => {
    await Promise.all(harnesses.map((h) => h.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("verifies a token signed on one replica against the other's JWKS", async () => {
    const fromA = await token(a);
    const fromB = await token(b);
    expect(decodeProtectedHeader(fromA).kid).toBe(decodeProtectedHeader(fromB).kid);
    await expect(verifyOn(b, fromA)).resolves.toBeDefined();
    await expect(verifyOn(a, fromB)).resolves.toBeDefined();
  });

  it("picks up on B an operator's rotation on A, and B keeps publishing the retired key", async () => {
    const before = await token(b);
    const res = await a.server.app.inject({
      method: 'POST',
      url: '/v1/identity/oidc/key/default/rotate',
      headers: { 'x-vault-token': ADMIN_TOKEN },
    });
    expect(res.statusCode).toBe(204);
    const onA = await token(a);
    expect(decodeProtectedHeader(onA).kid).not.toBe(decodeProtectedHeader(before).kid);
    // B trusts the ring it loaded for ringMaxAgeMs (5 s), then reads A's rotation.
    clock.advanceSeconds(5);
    const onB = await token(b);
    expect(decodeProtectedHeader(onB).kid).toBe(decodeProtectedHeader(onA).kid);
    for (const jwt of [before, onA, onB]) await expect(verifyOn(b, jwt)).resolves.toBeDefined();
  });

  it('refuses to sign on a replica whose encryption key opens none of the ring, rather than make a key of its own', async () => {
    const published = (await jwks(a)).keys.map((k) => k.kid);
    const stranger = await replica(keyFile('other.key'), 'stranger');
    const res = await sign(stranger);
    expect(res).toStrictEqual({ status: 500, json: { errors: ['internal error'] } });
    // It cannot open the ring, so it publishes no keys it cannot vouch for.
    expect((await stranger.server.app.inject({ url: '/v1/identity/oidc/.well-known/keys' })).statusCode).toBe(
      500,
    );
    // The fleet's ring is untouched: A and B still publish and verify what they did.
    expect((await jwks(a)).keys.map((k) => k.kid)).toStrictEqual(published);
    await expect(verifyOn(b, await token(a))).resolves.toBeDefined();
  });
});
