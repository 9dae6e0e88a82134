import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisStore, StoreUnavailableError, type Store } from '../src/store/index.js';
import {
  freePort,
  startRedis,
  startRedisCluster,
  storeAnswers,
  type RedisServer,
} from './helpers/redis-server.js';
import { startTcpProxy } from './helpers/tcp-proxy.js';
import { makeCa, makeServerCert } from './helpers/tls-files.js';

// The Redis store when Redis is not as it should be: late, full, or refusing.

const quiet = { info: () => undefined, warn: () => undefined };
const opened: Array<{ store: Store; redis: Pick<RedisServer, 'stop'> | undefined }> = [];
afterEach(async () => {
  for (const { store, redis } of opened.splice(0)) {
    await store.close();
    await redis?.stop();
  }
});

const until = async (check: () => boolean, ms = 5000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** Subscribes `store` to `ch`, once it answers, and waits for a first message to be heard. */
const listening = async (store: Store): Promise<{ got: string[]; gaps: number }> => {
  await storeAnswers(store);
  const heard = { got: [] as string[], gaps: 0 };
  await store.subscribe(
    'ch',
    (m) => heard.got.push(m),
    () => heard.gaps++,
  );
  await store.publish('ch', 'before');
  await until(() => heard.got.length === 1);
  expect(heard.gaps).toBe(0);
  return heard;
};

describe('the Redis store', () => {
  it('subscribes a channel asked for while Redis was away once Redis is there', async () => {
    const port = await freePort();
    const store = createRedisStore({ url: `redis://127.0.0.1:${port}` }, { log: quiet });
    const entry: { store: Store; redis: RedisServer | undefined } = { store, redis: undefined };
    opened.push(entry);
    const got: string[] = [];
    await expect(store.subscribe('ch', (m) => got.push(m))).rejects.toBeDefined();
    entry.redis = await startRedis({ port });
    // Published until one arrives: the subscriber reconnects on its own schedule.
    await until(() => {
      void store.publish('ch', 'hello').catch(() => undefined);
      return got.length > 0;
    }, 10_000);
    expect(got[0]).toBe('hello');
  });

  // On a cluster ioredis moves its own subscriber to another node without a word when it drops:
  // the store must say so all the same.
  it.each(['standalone', 'cluster'])(
    'says when its subscription was down, since what was published meanwhile is lost (%s)',
    async (mode) => {
      const ports: number[] = [];
      let store: Store;
      if (mode === 'cluster') {
        const cluster = await startRedisCluster();
        ports.push(...cluster.nodes.map((n) => n.port));
        store = createRedisStore({ clusterNodes: cluster.nodes }, { log: quiet });
        opened.push({ store, redis: cluster });
      } else {
        const redis = await startRedis();
        ports.push(redis.port);
        store = createRedisStore({ url: redis.url }, { log: quiet });
        opened.push({ store, redis });
      }
      const heard = await listening(store);
      for (const port of ports)
        execFileSync('redis-cli', ['-p', String(port), 'client', 'kill', 'type', 'pubsub']);
      await until(() => heard.gaps === 1, 10_000);
      await until(() => {
        void store.publish('ch', 'after').catch(() => undefined);
        return heard.got.includes('after');
      }, 10_000);
    },
  );

  // Each command then times out (a 503), but the socket stays, and the kernel may keep it for a
  // quarter of an hour: every request would fail that long.
  it('drops a connection that went silent and serves again over a new one', async () => {
    const redis = await startRedis();
    const proxy = await startTcpProxy(redis.port);
    const store = createRedisStore({ url: `redis://127.0.0.1:${proxy.port}` }, { log: quiet });
    opened.push({ store, redis });
    try {
      await storeAnswers(store);
      await store.set('k', 'v');
      proxy.freeze();
      await expect(store.get('k')).rejects.toBeInstanceOf(StoreUnavailableError);
      let answer: string | undefined;
      const deadline = Date.now() + 10_000;
      while (answer === undefined && Date.now() < deadline) {
        answer = await store.get('k').catch(() => undefined);
        if (answer === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      expect(answer).toBe('v');
    } finally {
      await proxy.close();
    }
  });

  // A subscription only listens: a connection dropped without a word (a NAT or load balancer
  // forgetting an idle flow) would lose every message from then on, and say nothing.
  it('notices a subscription that went silent, says so, and listens again', async () => {
    const redis = await startRedis();
    const proxy = await startTcpProxy(redis.port);
    const store = createRedisStore(
      { url: `redis://127.0.0.1:${proxy.port}` },
      { log: quiet, subscriberPingMs: 100 },
    );
    opened.push({ store, redis });
    const direct = new Redis(redis.port, '127.0.0.1');
    try {
      const heard = await listening(store);
      proxy.freeze();
      await until(() => heard.gaps === 1, 10_000);
      await until(() => {
        // Still in flight when the test ends and disconnects: its rejection is expected.
        void direct.publish('ch', 'after').catch(() => undefined);
        return heard.got.includes('after');
      }, 10_000);
    } finally {
      direct.disconnect();
      await proxy.close();
    }
  });

  // ioredis ends a client whose connection attempt fails before a socket exists (here tls.connect
  // throwing on a key it cannot read), and never tries again by itself: the store must.
  it('opens its client again after ioredis ended it, once the connection can be made', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'authgate-reopen-'));
    try {
      const ca = await makeCa(dir, 'reopen');
      const redis = await startRedis({ tls: { ...(await makeServerCert(dir, ca, 'redis')), ca: ca.cert } });
      const store = createRedisStore(
        {
          url: redis.url,
          tls: { ca: readFileSync(ca.cert, 'utf8'), cert: 'not a certificate', key: 'not a key' },
        },
        { log: quiet },
      );
      opened.push({ store, redis });
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      // Past the first attempts, each of which ended the client.
      await new Promise((r) => setTimeout(r, 500));
      await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
      const client = await makeServerCert(dir, ca, 'authgate');
      store.setCredentials({
        tls: { cert: readFileSync(client.cert, 'utf8'), key: readFileSync(client.key, 'utf8') },
      });
      await storeAnswers(store);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers a full Redis (OOM) as unavailable, a 503, not as a bug', async () => {
    const redis = await startRedis();
    const store = createRedisStore({ url: redis.url }, { log: quiet });
    opened.push({ store, redis });
    await storeAnswers(store);
    await store.set('k', 'v');
    execFileSync('redis-cli', ['-p', String(redis.port), 'config', 'set', 'maxmemory', '1']);
    await expect(store.set('k2', 'v'.repeat(1000))).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.incrBy('n', 1, { ttlMs: 1000 })).rejects.toBeInstanceOf(StoreUnavailableError);
  });

  it('answers a confirmation cut short by a failover (the master made a replica) as unavailable, not as a bug', async () => {
    const redis = await startRedis();
    const store = createRedisStore(
      { url: redis.url },
      { log: quiet, confirm: { replicas: 1, timeoutMs: 10_000, probeKey: 'probe' } },
    );
    opened.push({ store, redis });
    await storeAnswers(store);
    // No replica confirms: the round waits in WAIT until the master is turned into a replica, as
    // Sentinel does to a former master, which ends WAIT with an UNBLOCKED error.
    const confirming = store.confirmReplicated?.();
    confirming?.catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    const other = await startRedis();
    try {
      execFileSync('redis-cli', ['-p', String(redis.port), 'replicaof', '127.0.0.1', String(other.port)]);
      await expect(confirming).rejects.toBeInstanceOf(StoreUnavailableError);
    } finally {
      await other.stop();
    }
  });
});
