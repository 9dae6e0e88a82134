import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevCluster } from '../src/devcluster/index.js';
import { createKeys } from '../src/store/index.js';
import type { AuthgateServer } from './helpers/authgate-process.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { call, login, startReplicas, type Replicas } from './helpers/replicas.js';

let redis: RedisServer;
let replicas: Replicas;
let cluster: DevCluster;
let a: AuthgateServer;
let b: AuthgateServer;
let ADMIN: string;
const podToken = (pod?: string) => replicas.podToken(pod);

beforeAll(async () => {
  redis = await startRedis();
  replicas = await startReplicas(redis.url);
  ({ cluster, a, b, admin: ADMIN } = replicas);
});

afterAll(async () => {
  await replicas?.stop();
  await redis?.stop();
});

describe('two replicas on one Redis', () => {
  it('honours on B a token issued on A: lookup, renew and revoke', async () => {
    const { status, auth } = await login(a, await podToken());
    expect(status).toBe(200);
    const looked = await call(b, 'GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect(looked.status).toBe(200);
    expect((looked.json['data'] as { accessor: string }).accessor).toBe(auth.accessor);
    const renewed = await call(b, 'POST', '/v1/auth/token/renew-self', auth.client_token, {
      increment: '2h',
    });
    expect((renewed.json['auth'] as { lease_duration: number }).lease_duration).toBe(7200);
    expect((await call(b, 'POST', '/v1/auth/token/revoke-self', auth.client_token)).status).toBe(204);
    expect((await call(a, 'GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(403);
  });

  it('refuses on B, within a second, a token revoked on A', async () => {
    const { auth } = await login(a, await podToken());
    expect((await call(b, 'GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(200);
    const revokedAt = Date.now();
    expect(
      (await call(a, 'POST', '/v1/auth/token/revoke-accessor', ADMIN, { accessor: auth.accessor })).status,
    ).toBe(204);
    let status = 200;
    while (status === 200 && Date.now() - revokedAt < 1000) {
      status = (await call(b, 'GET', '/v1/auth/token/lookup-self', auth.client_token)).status;
    }
    expect(status).toBe(403);
  });

  it('lets a token with num_uses 1 succeed exactly once when used on both replicas at once', async () => {
    const { auth } = await login(a, await podToken(), 'once');
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        call(i % 2 === 0 ? a : b, 'GET', '/v1/auth/token/lookup-self', auth.client_token),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 403)).toHaveLength(19);
  });

  it('makes one TokenReview in all for 50 concurrent logins with one token across both replicas', async () => {
    cluster.createPod({ namespace: 'test', name: 'fifty', serviceAccount: 'nginx' });
    const jwt = await podToken('fifty');
    cluster.faults.latencyMs = 50;
    try {
      const before = cluster.stats().tokenReviews;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => login(i % 2 === 0 ? a : b, jwt)),
      );
      expect(results.every((r) => r.status === 200)).toBe(true);
      expect(cluster.stats().tokenReviews - before).toBe(1);
    } finally {
      cluster.faults.latencyMs = 0;
    }
  });

  it('revokes every token of a pod on every replica, and sends its next login back to the API server', async () => {
    const { uid } = cluster.createPod({ namespace: 'test', name: 'gone', serviceAccount: 'nginx' });
    const jwt = await podToken('gone');
    const first = await login(a, jwt);
    const second = await login(b, jwt);
    const reviews = cluster.stats().tokenReviews;
    const res = await call(b, 'POST', '/v1/auth/token/revoke-identity', ADMIN, { pod_uid: uid });
    expect(res.status).toBe(200);
    expect(res.json['data']).toEqual({ revoked_tokens: 2, invalidated_reviews: 1 });
    for (const t of [first.auth.client_token, second.auth.client_token]) {
      expect((await call(a, 'GET', '/v1/auth/token/lookup-self', t)).status).toBe(403);
    }
    // The cached review is gone on both replicas: the next login is reviewed again.
    expect((await login(a, jwt)).status).toBe(200);
    expect(cluster.stats().tokenReviews).toBe(reviews + 1);
  });

  it('revokes by service account and by role, and refuses a caller without the admin token', async () => {
    const t1 = (await login(a, await podToken())).auth.client_token;
    const bySa = await call(a, 'POST', '/v1/auth/token/revoke-identity', ADMIN, {
      namespace: 'test',
      service_account: 'nginx',
    });
    expect((bySa.json['data'] as { revoked_tokens: number }).revoked_tokens).toBeGreaterThanOrEqual(1);
    expect((await call(b, 'GET', '/v1/auth/token/lookup-self', t1)).status).toBe(403);
    const t2 = (await login(b, await podToken())).auth.client_token;
    expect(
      (await call(a, 'POST', '/v1/auth/token/revoke-identity', t2, { mount: 'kubernetes', role: 'nginx' }))
        .status,
    ).toBe(403);
    const byRole = await call(a, 'POST', '/v1/auth/token/revoke-identity', ADMIN, {
      mount: 'kubernetes',
      role: 'nginx',
    });
    expect((byRole.json['data'] as { revoked_tokens: number }).revoked_tokens).toBe(1);
    expect((await call(a, 'GET', '/v1/auth/token/lookup-self', t2)).status).toBe(403);
    expect(
      (await call(a, 'POST', '/v1/auth/token/revoke-identity', ADMIN, { pod_uid: 'x', role: 'y' })).status,
    ).toBe(400);
  });

  it("keeps in a role's index only the tokens alive, however many logins it has seen", async () => {
    const key = createKeys().index('role', 'kubernetes/brief');
    const jwt = await podToken();
    for (let i = 0; i < 5; i++) expect((await login(i % 2 === 0 ? a : b, jwt, 'brief')).status).toBe(200);
    const client = new Redis(redis.url);
    try {
      expect(await client.zcard(key)).toBe(5);
      // Each token lives 1 s: the next login's add drops the five that have expired.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const last = (await login(a, jwt, 'brief')).auth.client_token;
      expect(await client.zcard(key)).toBe(1);
      const ttl = await client.pttl(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(1000);
      const res = await call(b, 'POST', '/v1/auth/token/revoke-identity', ADMIN, {
        mount: 'kubernetes',
        role: 'brief',
      });
      expect((res.json['data'] as { revoked_tokens: number }).revoked_tokens).toBe(1);
      expect((await call(a, 'GET', '/v1/auth/token/lookup-self', last)).status).toBe(403);
    } finally {
      client.disconnect();
    }
  });

  it('revokes a token listed in the plain set that indexes were before they expired by member', async () => {
    const { uid } = cluster.createPod({ namespace: 'test', name: 'upgraded', serviceAccount: 'nginx' });
    const { auth } = await login(a, await podToken('upgraded'));
    const keys = createKeys();
    const client = new Redis(redis.url);
    try {
      // As an earlier version wrote it: the pod's tokens in a plain set under the old key.
      const members = await client.zrange(keys.index('pod', uid), 0, -1);
      expect(members).toHaveLength(1);
      await client.del(keys.index('pod', uid));
      await client.sadd(keys.legacyIndex('pod', uid), ...members);
      await client.pexpire(keys.legacyIndex('pod', uid), 60_000);
      const res = await call(b, 'POST', '/v1/auth/token/revoke-identity', ADMIN, { pod_uid: uid });
      expect((res.json['data'] as { revoked_tokens: number }).revoked_tokens).toBe(1);
      expect((await call(a, 'GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(403);
      expect(await client.exists(keys.legacyIndex('pod', uid))).toBe(0);
    } finally {
      client.disconnect();
    }
  });

  it('shares a key set one replica fetched: after a rotation the issuer is fetched once, not once per replica', async () => {
    const jwksLogin = (server: AuthgateServer, jwt: string) =>
      call(server, 'POST', '/v1/auth/jwks/login', undefined, { role: 'nginx', jwt });
    const fetches = () => cluster.stats().byPath['/openid/v1/jwks'] ?? 0;
    expect((await jwksLogin(a, await podToken())).status).toBe(200);
    expect((await jwksLogin(b, await podToken())).status).toBe(200);
    await cluster.rotateKey('ES256');
    const jwt = await podToken();
    const before = fetches();
    expect((await jwksLogin(a, jwt)).status).toBe(200);
    expect(fetches()).toBe(before + 1);
    // B hears of the new set and loads it from Redis.
    await new Promise((r) => setTimeout(r, 200));
    expect((await jwksLogin(b, jwt)).status).toBe(200);
    expect(fetches()).toBe(before + 1);
  });
});
