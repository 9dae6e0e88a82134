import { afterEach, describe, expect, it } from 'vitest';
import { createRedisStore, type Store } from '../src/store/index.js';
import { waitFor } from './helpers/authgate-process.js';
import { startRedisSentinel, storeAnswers, type RedisSentinel } from './helpers/redis-server.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

/*
 * A failover announced while the Redis store's clients reconnect. ioredis's failover detector,
 * still subscribed from the previous connection, then has the connector disconnect while it asks
 * a sentinel where the master is, and ioredis ends the client for good (status `end`). Seen once
 * in three failovers, where a killed master's clients were reconnecting at the time; here the
 * sentinel refuses new connections meanwhile (through a proxy), so that the clients are still
 * reconnecting when the announcement comes, over the detectors' connections opened before.
 */

const quiet = { info: () => undefined, warn: () => undefined };
const opened: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const o of opened.splice(0).reverse()) await o.close();
});

describe('the Redis store in Sentinel mode', () => {
  it('opens again the clients ioredis ended on a failover announced while they reconnected', async () => {
    const redis: RedisSentinel = await startRedisSentinel({ replicas: 1 });
    opened.push({ close: () => redis.stop() });
    const proxy: TcpProxy = await startTcpProxy(redis.sentinel.port);
    opened.push(proxy);
    const store: Store = createRedisStore(
      { sentinels: [{ host: '127.0.0.1', port: proxy.port }], sentinelName: redis.name },
      { log: quiet },
    );
    opened.push(store);
    await storeAnswers(store);
    const got: string[] = [];
    let gaps = 0;
    await store.subscribe(
      'ch',
      (m) => got.push(m),
      () => gaps++,
    );
    await store.publish('ch', 'before');
    await waitFor(() => got.length === 1, 5000, 'the first message');

    proxy.refuseNew(true);
    const oldPort = (await redis.masterPort()) ?? 0;
    await redis.servers.find((s) => s.port === oldPort)?.stop();
    await waitFor(
      async () => ((await redis.masterPort()) ?? oldPort) !== oldPort,
      15_000,
      'the sentinel to name a new master',
    );
    // The announcement reaches the detectors over their open connections.
    await new Promise((r) => setTimeout(r, 500));
    await expect(store.ping()).rejects.toThrow(/unavailable/);
    proxy.refuseNew(false);

    await storeAnswers(store);
    // The subscription too is back, and says what it may have missed.
    await waitFor(
      async () => {
        await store.publish('ch', 'after');
        return got.includes('after');
      },
      10_000,
      'a message published on the new master',
    );
    expect(gaps).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
