import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../src/store/index.js';
import { waitFor } from './helpers/authgate-process.js';
import { startRedisCluster, storeAnswers, type RedisCluster } from './helpers/redis-server.js';
import { call, login, startReplicas, type Replicas } from './helpers/replicas.js';

/*
 * authgate on a Redis Cluster of three masters: the keys of one login, one revocation or one KV
 * write live on different nodes, scripts run per key, and invalidations travel by pub/sub. The
 * store's own contract on a cluster is in store-contract.test.ts.
 */

const quiet = { info: () => undefined, warn: () => undefined };
let redis: RedisCluster;
let r: Replicas;

beforeAll(async () => {
  redis = await startRedisCluster();
  r = await startReplicas(redis.nodes);
});

afterAll(async () => {
  await r?.stop();
  await redis?.stop();
});

describe('two replicas on a Redis Cluster', () => {
  it('serves on B a token issued on A: lookup and renew', async () => {
    const { status, auth } = await login(r.a, await r.podToken());
    expect(status).toBe(200);
    const looked = await call(r.b, 'GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect(looked.status).toBe(200);
    expect((looked.json['data'] as { accessor: string }).accessor).toBe(auth.accessor);
    const renewed = await call(r.b, 'POST', '/v1/auth/token/renew-self', auth.client_token, {
      increment: '2h',
    });
    expect(renewed.status).toBe(200);
    expect((renewed.json['auth'] as { lease_duration: number }).lease_duration).toBe(7200);
    const after = await call(r.a, 'GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect((after.json['data'] as { ttl: number }).ttl).toBeGreaterThan(3600);
  });

  it('reads on B the KV v2 versions written on A', async () => {
    const path = '/v1/secret/data/cluster/app';
    const [v1, v2] = [randomBytes(8).toString('hex'), randomBytes(8).toString('hex')];
    expect((await call(r.a, 'POST', path, r.admin, { data: { v: v1 } })).status).toBe(200);
    const second = await call(r.a, 'POST', path, r.admin, { data: { v: v2 }, options: { cas: 1 } });
    expect(second.status).toBe(200);
    expect((second.json['data'] as { version: number }).version).toBe(2);
    const latest = await call(r.b, 'GET', path, r.admin);
    expect(latest.json['data']).toMatchObject({ data: { v: v2 }, metadata: { version: 2 } });
    const first = await call(r.b, 'GET', `${path}?version=1`, r.admin);
    expect(first.json['data']).toMatchObject({ data: { v: v1 }, metadata: { version: 1 } });
    const list = await call(r.b, 'GET', '/v1/secret/metadata/cluster?list=true', r.admin);
    expect(list.json['data']).toEqual({ keys: ['app'] });
  });

  it('revokes every token of a pod on both replicas, and reviews its next login again', async () => {
    const { uid } = r.cluster.createPod({ namespace: 'test', name: 'gone', serviceAccount: 'nginx' });
    const jwt = await r.podToken('gone');
    const first = await login(r.a, jwt);
    const second = await login(r.b, jwt);
    expect([first.status, second.status]).toEqual([200, 200]);
    const reviews = r.cluster.stats().tokenReviews;
    const res = await call(r.b, 'POST', '/v1/auth/token/revoke-identity', r.admin, { pod_uid: uid });
    expect(res.status).toBe(200);
    expect(res.json['data']).toEqual({ revoked_tokens: 2, invalidated_reviews: 1 });
    for (const t of [first.auth.client_token, second.auth.client_token]) {
      expect((await call(r.a, 'GET', '/v1/auth/token/lookup-self', t)).status).toBe(403);
    }
    // A forgot the review it held in memory when B's invalidation reached it through the cluster.
    expect((await login(r.a, jwt)).status).toBe(200);
    expect(r.cluster.stats().tokenReviews).toBe(reviews + 1);
  });

  it('revokes by role the tokens issued on both replicas', async () => {
    // None of the earlier tests' tokens of the role stay.
    await call(r.a, 'POST', '/v1/auth/token/revoke-identity', r.admin, {
      namespace: 'test',
      service_account: 'nginx',
    });
    const jwt = await r.podToken();
    const tokens = [(await login(r.a, jwt)).auth.client_token, (await login(r.b, jwt)).auth.client_token];
    const res = await call(r.a, 'POST', '/v1/auth/token/revoke-identity', r.admin, {
      mount: 'kubernetes',
      role: 'nginx',
    });
    expect(res.status).toBe(200);
    expect((res.json['data'] as { revoked_tokens: number }).revoked_tokens).toBe(2);
    for (const t of tokens) {
      expect((await call(r.b, 'GET', '/v1/auth/token/lookup-self', t)).status).toBe(403);
    }
  });

  it('lists on B the accessors of the tokens issued on both replicas, found on every master', async () => {
    // After the revocation by role above, the tokens issued here are all there are. Twelve token
    // records spread over the three masters: a scan of one node would miss some.
    const jwt = await r.podToken();
    const accessors: string[] = [];
    for (let i = 0; i < 12; i++) accessors.push((await login(i % 2 === 0 ? r.a : r.b, jwt)).auth.accessor);
    const listed = await call(r.b, 'GET', '/v1/auth/token/accessors?list=true', r.admin);
    expect(listed.status).toBe(200);
    expect(listed.json['data']).toEqual({ keys: [...accessors].sort() });
    const [gone, ...kept] = accessors;
    expect(
      (await call(r.a, 'POST', '/v1/auth/token/revoke-accessor', r.admin, { accessor: gone })).status,
    ).toBe(204);
    const after = await call(r.b, 'GET', '/v1/auth/token/accessors?list=true', r.admin);
    expect(after.json['data']).toEqual({ keys: kept.sort() });
  });
});

// Last: it kills a node.
describe('the Redis store on a cluster', () => {
  it('says its subscription was down when the node it listened on is gone, and listens on another', async () => {
    const store = createRedisStore({ clusterNodes: redis.nodes }, { log: quiet });
    const clients = redis.nodes.map((n) => new Redis({ ...n, lazyConnect: true, maxRetriesPerRequest: 0 }));
    for (const c of clients) c.on('error', () => undefined);
    try {
      await storeAnswers(store);
      let gaps = 0;
      const got: string[] = [];
      await store.subscribe(
        'cluster-ch',
        (m) => got.push(m),
        () => gaps++,
      );
      // PUBSUB NUMSUB counts the subscribers of the node asked only.
      const counts = await Promise.all(
        clients.map(async (c) => Number(((await c.pubsub('NUMSUB', 'cluster-ch')) as [string, number])[1])),
      );
      expect(counts.reduce((x, y) => x + y, 0)).toBe(1);
      const listened = counts.indexOf(1);
      await redis.servers[listened]?.kill();
      const live = clients.find((_, i) => i !== listened) as Redis;
      await waitFor(
        async () => {
          await live.publish('cluster-ch', 'after');
          return got.includes('after');
        },
        10_000,
        'a message published after the node went',
      );
      expect(gaps).toBe(1);
    } finally {
      for (const c of clients) c.disconnect();
      await store.close();
    }
  });
});
