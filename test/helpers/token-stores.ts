import { afterAll, beforeAll, expect } from 'vitest';
import type { Clock } from '../../src/lib/clock.js';
import { createMemoryStore, createRedisStore, type Store } from '../../src/store/index.js';
import type { Harness } from './harness.js';
import { startRedis, storeAnswers, type RedisServer } from './redis-server.js';
import { INVALID_TOKEN_MESSAGE } from '../../src/errors.js';

/*
 * Client-token suites that run through the HTTP API on the memory store and on a private
 * redis-server alike: the store of each kind, and the calls a client makes with its token.
 */

export type StoreKind = 'memory' | 'redis';
export type Answer = { status: number; json: Record<string, unknown> | undefined };
export type Auth = { client_token: string; accessor: string; lease_duration: number };

const quiet = { info: () => undefined, warn: () => undefined };

/**
 * Starts a redis-server for the suite (closed with the stores it handed out after the suite) and
 * returns how to get a store of either kind: a memory store on `clock`, or a new client of it.
 */
export const suiteStores = () => {
  let redis: RedisServer;
  const stores: Store[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
    await redis?.stop();
  });
  return async (kind: StoreKind, clock: Clock): Promise<Store> => {
    const store =
      kind === 'redis'
        ? createRedisStore({ url: redis.url }, { log: quiet })
        : createMemoryStore({ clock, sweepIntervalMs: 0 });
    stores.push(store);
    if (kind === 'redis') await storeAnswers(store);
    return store;
  };
};

/** A request made with `token` (from `from.ip`, through a proxy when `from.forwardedFor`), and a login to the jwks mount. */
export const tokenCalls = (h: Harness) => {
  const call = async (
    method: 'GET' | 'POST',
    url: string,
    token: string,
    body?: unknown,
    from?: { ip: string; forwardedFor?: string },
  ): Promise<Answer> => {
    const res = await h.server.app.inject({
      method,
      url,
      headers: {
        'x-vault-token': token,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(from?.forwardedFor === undefined ? {} : { 'x-forwarded-for': from.forwardedFor }),
      },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      ...(from === undefined ? {} : { remoteAddress: from.ip }),
    });
    return {
      status: res.statusCode,
      json: res.body === '' ? undefined : (res.json() as Record<string, unknown>),
    };
  };
  const login = async (role: string, ip = '10.1.2.3'): Promise<Auth> => {
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/auth/jwks/login',
      payload: JSON.stringify({ role, jwt: await h.podToken() }),
      remoteAddress: ip,
    });
    expect(res.statusCode).toBe(200);
    return (res.json() as { auth: Auth }).auth;
  };
  return { call, login };
};

export const denied = { status: 403, json: { errors: ['permission denied'] } };
/** A token that is not live (expired, revoked, used up, unknown): Vault's 403 with `invalid token`. */
export const invalid = { status: 403, json: { errors: [INVALID_TOKEN_MESSAGE] } };
export const bad = (message: string) => ({ status: 400, json: { errors: [message] } });
export const data = (a: Answer) => a.json?.['data'] as Record<string, unknown>;
