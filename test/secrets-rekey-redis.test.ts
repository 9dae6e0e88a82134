import { afterAll, beforeAll, describe, it } from 'vitest';
import { createRedisStore, type Store } from '../src/store/index.js';
import { runRekeyScenario } from './helpers/rekey-scenario.js';
import { startRedis, storeAnswers, type RedisServer } from './helpers/redis-server.js';

const quiet = { info: () => undefined, warn: () => undefined };
let redis: RedisServer;
const stores: Store[] = [];
const connect = async (): Promise<Store> => {
  const store = createRedisStore({ url: redis.url }, { log: quiet });
  stores.push(store);
  await storeAnswers(store);
  return store;
};

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
  await redis?.stop();
});

describe('rotating the encryption key on Redis', () => {
  it('reads under the previous key, seals under the new one, re-keys, then needs only the new one', async () => {
    // Each server its own connection to one redis-server: restarts, or replicas side by side.
    await runRekeyScenario(connect, await connect());
  });
});
