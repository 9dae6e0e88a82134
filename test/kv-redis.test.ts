import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExactJson } from '../src/lib/exact-json.js';
import { createSecretCipher } from '../src/secrets/index.js';
import { createKeys, createRedisStore, type Store } from '../src/store/index.js';
import { recordSecrets } from './helpers/audit.js';
import { adminCall, startHarness, type Harness } from './helpers/harness.js';
import { startRedis, storeAnswers, type RedisServer } from './helpers/redis-server.js';

/*
 * KV v2 on a real redis-server shared by two replicas: what one writes the other reads,
 * check-and-set holds across them, and Redis never holds a value in plaintext.
 */

const quiet = { info: () => undefined, warn: () => undefined };
const dir = mkdtempSync(join(tmpdir(), 'authgate-kv-redis-'));
let redis: RedisServer;
const stores: Store[] = [];
const harnesses: Harness[] = [];
let a: Harness;
let b: Harness;

const replica = async (): Promise<Harness> => {
  const store = createRedisStore({ url: redis.url }, { log: quiet });
  stores.push(store);
  await storeAnswers(store);
  const h = await startHarness({
    store,
    config: { secrets: { encryption_key_file: join(dir, 'kv.key') } },
  });
  harnesses.push(h);
  return h;
};

/** The parts of Vault's KV answers these tests read. */
type KvJson = {
  data: { data?: unknown; keys?: string[]; current_version?: number; metadata?: unknown };
  errors?: string[];
};

/** A request; a string body is sent as is. `text` is the raw answer (JSON.parse alters numbers). */
const call = (h: Harness, method: 'GET' | 'POST', url: string, body?: unknown) =>
  adminCall<KvJson>(h, method, url, body);

beforeAll(async () => {
  writeFileSync(join(dir, 'kv.key'), randomBytes(48).toString('base64'));
  redis = await startRedis();
  a = await replica();
  b = await replica();
});
afterAll(async () => {
  for (const h of harnesses) await h.close();
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('KV v2 on Redis shared by two replicas', () => {
  it('serves on one replica what the other wrote, versions and lists included', async () => {
    const v1 = `redis-kv-${randomBytes(6).toString('hex')}`;
    const v2 = `redis-kv-${randomBytes(6).toString('hex')}`;
    recordSecrets(v1, v2);
    expect((await call(a, 'POST', '/v1/secret/data/shared/db', { data: { password: v1 } })).status).toBe(200);
    expect((await call(b, 'POST', '/v1/secret/data/shared/db', { data: { password: v2 } })).status).toBe(200);
    const latest = await call(a, 'GET', '/v1/secret/data/shared/db');
    expect(latest.json?.data).toMatchObject({ data: { password: v2 }, metadata: { version: 2 } });
    expect((await call(b, 'GET', '/v1/secret/data/shared/db?version=1')).json?.data.data).toEqual({
      password: v1,
    });
    expect((await call(b, 'GET', '/v1/secret/metadata/shared/?list=true')).json?.data.keys).toEqual(['db']);
  });

  it('lets exactly one of two replicas win a check-and-set race', async () => {
    const writes = await Promise.all(
      [a, b, a, b].map((h, i) =>
        call(h, 'POST', '/v1/secret/data/race/once', { options: { cas: 0 }, data: { writer: i } }),
      ),
    );
    expect(writes.map((w) => w.status).sort()).toEqual([200, 400, 400, 400]);
    for (const loser of writes.filter((w) => w.status === 400)) {
      expect(loser.json).toEqual({ errors: ['check-and-set parameter did not match the current version'] });
    }
    expect((await call(b, 'GET', '/v1/secret/metadata/race/once')).json?.data.current_version).toBe(1);
  });

  it('never holds a value in plaintext in Redis', async () => {
    const value = `plaintext-probe-${randomBytes(8).toString('hex')}`;
    recordSecrets(value);
    expect((await call(a, 'POST', '/v1/secret/data/probe/x', { data: { value } })).status).toBe(200);
    const client = new Redis(redis.url);
    try {
      const dump: string[] = [];
      for (const key of await client.keys('*')) {
        const type = await client.type(key);
        if (type === 'string') dump.push(key, (await client.get(key)) ?? '');
        else if (type === 'set') dump.push(key, ...(await client.smembers(key)));
        else dump.push(key);
      }
      const text = dump.join('\n');
      expect(text).toContain('probe');
      for (const form of [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex')]) {
        expect(text).not.toContain(form);
      }
    } finally {
      client.disconnect();
    }
  });

  it('keeps numbers exactly as written across replicas, and reads a value stored before that', async () => {
    const exact = '{"n":12345678901234567890,"f":1.10,"m":9007199254740993,"e":1e5,"s":"x"}';
    expect((await call(a, 'POST', '/v1/secret/data/num/exact', `{"data":${exact}}`)).status).toBe(200);
    expect((await call(b, 'GET', '/v1/secret/data/num/exact')).text).toContain(`"data":${exact},`);

    // A version sealed as every version was before exact numbers: plain JSON.stringify text.
    expect((await call(a, 'POST', '/v1/secret/data/num/old', { data: { placeholder: 1 } })).status).toBe(200);
    const cipher = createSecretCipher(Buffer.from(readFileSync(join(dir, 'kv.key'), 'utf8').trim(), 'utf8'));
    const old = '{"n":12345678901234567000,"f":1.1,"list":[1,2.5,-3,0]}';
    const client = new Redis(redis.url);
    try {
      const key = createKeys().kvVersion('secret', 'num/old', 1);
      const aad = JSON.stringify(['kv', 'secret', 'num/old', 1]);
      expect(cipher.open((await client.get(key)) as string, aad).toString('utf8')).toBe('{"placeholder":1}');
      await client.set(key, cipher.seal(old, aad));
    } finally {
      client.disconnect();
    }
    const read = await call(b, 'GET', '/v1/secret/data/num/old');
    expect(read.text).toContain(`"data":${old},`);
    expect(parseExactJson(read.text)).toMatchObject({ data: { data: JSON.parse(old) as unknown } });
  });
});
