import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSaltAad } from '../src/audit/index.js';
import { systemClock } from '../src/lib/clock.js';
import { createSecretCipher } from '../src/secrets/index.js';
import { createKeys, createMemoryStore, createRedisStore, type Store } from '../src/store/index.js';
import { createLogger } from '../src/telemetry/index.js';
import { auditFile } from './helpers/audit.js';
import { adminCall, startHarness, type Harness } from './helpers/harness.js';
import { jsonLogLines } from './helpers/log-lines.js';
import { startRedis, storeAnswers, type RedisServer } from './helpers/redis-server.js';

const keys = createKeys();
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const quiet = { info: () => undefined, warn: () => undefined };

/** What `sys/audit-hash` must answer for `value` under `salt` (Vault's: HMAC-SHA256 keyed by the salt). */
const hmacOf = (salt: string, value: string) =>
  `hmac-sha256:${createHmac('sha256', Buffer.from(salt, 'utf8')).update(value).digest('hex')}`;

let redis: RedisServer | undefined;
const opened: Store[] = [];
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
  await redis?.stop();
});

/**
 * A store for a case: `connect` gives each server its own connection to it (Redis), or the one
 * memory store (servers over it stand for restarts); `raw` reads and writes it directly. Each case
 * sets or deletes the salt itself first (the cases on Redis share one redis-server).
 */
const backends: Array<[string, () => Promise<{ connect: () => Promise<Store>; raw: Store }>]> = [
  [
    'memory',
    async () => {
      const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
      return { connect: async () => store, raw: store };
    },
  ],
  [
    'redis',
    async () => {
      const connect = async () => {
        const store = createRedisStore({ url: redis?.url ?? '' }, { log: quiet });
        opened.push(store);
        await storeAnswers(store);
        return store;
      };
      return { connect, raw: await connect() };
    },
  ],
];

describe.each(backends)('audit salts at rest (%s store)', (_name, backend) => {
  const harnesses: Harness[] = [];
  afterAll(async () => {
    for (const h of harnesses.reverse()) await h.close();
  });
  const serverKey = randomBytes(32);
  /** The cipher of a server with that server key and no encryption key file (derived from it). */
  const cipher = createSecretCipher(serverKey);
  const salt = keys.auditSalt('salted');

  const server = async (
    store: Store,
    options: { log?: ReturnType<typeof createLogger>; audit?: Record<string, unknown> } = {},
  ) => {
    const h = await startHarness({
      store,
      serverKey,
      audit: { salted: { type: 'file', path: auditFile('salted') } },
      ...options,
    });
    harnesses.push(h);
    return h;
  };
  const auditHash = (h: Harness, input: string) =>
    adminCall<{ hash?: string }>(h, 'POST', '/v1/sys/audit-hash/salted', { input });

  it('keeps a new salt sealed: the store never holds it in clear, yet every replica hashes alike', async () => {
    const { connect, raw } = await backend();
    await raw.delete(salt);
    const one = await server(await connect());
    const hash = (await auditHash(one, 'pin-1234')).json?.hash;
    const stored = (await raw.get(salt)) ?? '';
    expect(stored).toMatch(/^v2\./);
    expect(stored).not.toMatch(UUID);
    // What is sealed is the salt the hashes are made with.
    const clear = cipher.open(stored, auditSaltAad('salted')).toString('utf8');
    expect(clear).toMatch(UUID);
    expect(hash).toBe(hmacOf(clear, 'pin-1234'));
    // Bound to the device: the same sealed value under another device's name does not open.
    expect(() => cipher.open(stored, auditSaltAad('other'))).toThrow();
    const two = await server(await connect());
    expect((await auditHash(two, 'pin-1234')).json?.hash).toBe(hash);
  });

  it('keeps hashing with a salt an earlier version stored in clear, and seals it', async () => {
    const { connect, raw } = await backend();
    const legacy = randomUUID();
    await raw.set(salt, legacy);
    const h = await server(await connect());
    const res = await auditHash(h, 'pin-1234');
    expect(res.status).toBe(200);
    // The answer an earlier version gave, so old entries still match.
    expect(res.json?.hash).toBe(hmacOf(legacy, 'pin-1234'));
    const stored = (await raw.get(salt)) ?? '';
    expect(stored).not.toContain(legacy);
    expect(cipher.isStale(stored)).toBe(false);
    expect(cipher.open(stored, auditSaltAad('salted')).toString('utf8')).toBe(legacy);
    // A restart reads the sealed salt: the same answer.
    const again = await server(await connect());
    expect((await auditHash(again, 'pin-1234')).json?.hash).toBe(hmacOf(legacy, 'pin-1234'));
    expect((await adminCall(again, 'POST', '/v1/sys/rewrap')).json?.['data']).toEqual({
      resealed: 0,
      unopenable: 0,
    });
  });

  it.each<[string, () => string]>([
    [
      'sealed under a key this server does not hold',
      () => createSecretCipher(randomBytes(32)).seal(randomUUID(), auditSaltAad('salted')),
    ],
    ['sealed for another device', () => cipher.seal(randomUUID(), auditSaltAad('another'))],
    ['neither sealed nor a salt of an earlier version', () => 'not-a-salt'],
  ])('serves nothing, makes no new salt and says why when the salt is %s', async (_what, stored) => {
    const { connect, raw } = await backend();
    const unopenable = stored();
    await raw.set(salt, unopenable);
    const { lines, stream } = jsonLogLines();
    const h = await server(await connect(), { log: createLogger('info', stream) });
    for (const res of [await auditHash(h, 'pin-1234'), await adminCall(h, 'POST', '/v1/sys/rewrap')]) {
      expect({ status: res.status, json: res.json }).toEqual({
        status: 503,
        json: { errors: ['audit device unavailable: the request was not served'] },
      });
    }
    const failed = lines.filter((l) => l['event'] === 'audit.device_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]?.['reason']).toMatch(/audit salt of device "salted" does not open/);
    expect(await raw.get(salt)).toBe(unopenable);
  });

  it('serves with another device, hashes nothing with the unopenable salt, and a re-key counts it', async () => {
    const { connect, raw } = await backend();
    const unopenable = createSecretCipher(randomBytes(32)).seal(randomUUID(), auditSaltAad('salted'));
    await raw.set(salt, unopenable);
    const { lines, stream } = jsonLogLines();
    const h = await server(await connect(), {
      log: createLogger('info', stream),
      audit: {
        salted: { type: 'file', path: auditFile('salted') },
        fine: { type: 'file', path: auditFile('fine') },
      },
    });
    expect((await adminCall(h, 'POST', '/v1/sys/audit-hash/fine', { input: 'x' })).status).toBe(200);
    const hash = await auditHash(h, 'x');
    expect({ status: hash.status, json: hash.json }).toEqual({
      status: 500,
      json: { errors: ['internal error'] },
    });
    const rewrap = await adminCall(h, 'POST', '/v1/sys/rewrap');
    expect(rewrap.json?.['data']).toEqual({ resealed: 0, unopenable: 1 });
    expect(lines.filter((l) => l['event'] === 'secrets.unopenable')).toEqual([
      expect.objectContaining({ mount: 'audit', device: 'salted' }),
    ]);
    expect(await raw.get(salt)).toBe(unopenable);
  });
});
