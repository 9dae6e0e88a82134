import { LRUCache } from 'lru-cache';

/** Client addresses whose buckets are kept at most; the least recently seen is dropped first. */
export const RATE_LIMIT_MAX_ADDRESSES = 100_000;

/**
 * Vault's rate limit quota for logins, per client address: a token bucket holding `rate` logins,
 * refilled at `rate` per `intervalMs` (so a quiet client may send `rate` at once, then `rate` per
 * interval). In process, per replica. By hand rather than @fastify/rate-limit: that plugin counts
 * in fixed windows (twice the rate across a window's edge) and has to be registered, awaited,
 * before the routes it limits, which buildApp (synchronous, routes as plain registrations) does
 * not do; a bucket is a dozen lines over lru-cache, which bounds the memory held per address.
 */
export const createLoginRateLimiter = (limit: { rate: number; intervalMs: number }, nowMs: () => number) => {
  const buckets = new LRUCache<string, { tokens: number; atMs: number }>({ max: RATE_LIMIT_MAX_ADDRESSES });
  const perMs = limit.rate / limit.intervalMs;
  return {
    /** Takes one login for `address`: 0 when allowed, else the milliseconds until one would be. */
    take(address: string): number {
      const now = nowMs();
      const bucket = buckets.get(address);
      const tokens =
        bucket === undefined
          ? limit.rate
          : Math.min(limit.rate, bucket.tokens + Math.max(0, now - bucket.atMs) * perMs);
      if (tokens >= 1) {
        buckets.set(address, { tokens: tokens - 1, atMs: now });
        return 0;
      }
      buckets.set(address, { tokens, atMs: now });
      return Math.ceil((1 - tokens) / perMs);
    },
  };
};
