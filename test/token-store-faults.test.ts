import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthgateError } from '../src/errors.js';
import { systemClock } from '../src/lib/clock.js';
import { createKeys, createRedisStore, type Store } from '../src/store/index.js';
import { issueInput } from '../src/tokens/test-support.js';
import { createTokenService, type TokenService } from '../src/tokens/index.js';
import { startRedis, storeAnswers, type RedisServer } from './helpers/redis-server.js';

/*
 * Token revocation when Redis applies some of its writes and refuses others: the revocation
 * fails closed (503), and whatever it left behind can still be revoked by the same handle. Redis
 * refuses the token records to a user that may write every other key (an ACL selector), as a
 * cluster node that is down or failing over refuses the keys it holds while the others answer.
 */

const quiet = { info: () => undefined, warn: () => undefined };
const serverKey = Buffer.alloc(32, 7);
let redis: RedisServer;
const stores: Store[] = [];

const tokenService = (username?: string): TokenService => {
  const store = createRedisStore(
    { url: redis.url, ...(username === undefined ? {} : { username, password: 'pw' }) },
    { log: quiet },
  );
  stores.push(store);
  return createTokenService({ store, keys: createKeys(), clock: systemClock, serverKey });
};

beforeAll(async () => {
  redis = await startRedis();
  const admin = new Redis(redis.port, '127.0.0.1');
  // Reads everything; writes everything but token records.
  await admin.call(
    'ACL',
    'SETUSER',
    'half',
    'on',
    '>pw',
    '+@all',
    '%R~*',
    '~ag:accessor:*',
    '~ag:token-uses:*',
  );
  await admin.quit();
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
  await redis?.stop();
});

const unavailable = expect.objectContaining({ code: 'UNAVAILABLE', status: 503 });

describe('a revocation that Redis applies only in part', () => {
  it('is a 503, and leaves the token revocable by its accessor', async () => {
    const tokens = tokenService();
    const half = tokenService('half');
    await Promise.all(stores.map((s) => storeAnswers(s)));
    const { clientToken, accessor } = await tokens.issue(issueInput());

    await expect(half.revokeAccessor(accessor)).rejects.toEqual(unavailable);
    // The accessor still names the token, so the operator's retry revokes it.
    expect(await tokens.revokeAccessor(accessor)).toEqual({ warnings: [] });
    const err = await tokens.authenticate(clientToken, { remoteAddress: undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthgateError);
    expect((err as AuthgateError).code).toBe('PERMISSION_DENIED');
  });

  it('is a 503 on the request that spends the last use, and the token is spent all the same', async () => {
    const tokens = tokenService();
    const half = tokenService('half');
    await Promise.all(stores.map((s) => storeAnswers(s)));
    const { clientToken, accessor } = await tokens.issue(issueInput({ numUses: 1 }));

    await expect(half.authenticate(clientToken, { remoteAddress: undefined })).rejects.toEqual(unavailable);
    await expect(tokens.authenticate(clientToken, { remoteAddress: undefined })).rejects.toMatchObject({
      code: 'PERMISSION_DENIED',
    });
    // Its accessor still leads to what is left of it, which is then cleared.
    await expect(tokens.revokeAccessor(accessor)).resolves.toEqual({ warnings: [] });
    await expect(tokens.revokeAccessor(accessor)).resolves.toEqual({
      warnings: ['No token found with this accessor'],
    });
  });
});

describe('a listing of accessors when Redis cannot be reached', () => {
  it('is a 503, never a partial list', async () => {
    // Nothing listens on port 1: every command, SCAN included, is refused at once.
    const store = createRedisStore({ url: 'redis://127.0.0.1:1' }, { log: quiet });
    stores.push(store);
    const tokens = createTokenService({ store, keys: createKeys(), clock: systemClock, serverKey });
    await expect(tokens.listAccessors()).rejects.toEqual(unavailable);
  });
});
