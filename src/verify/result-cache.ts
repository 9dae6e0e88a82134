import { LRUCache } from 'lru-cache';
import type { Identity } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';

/** Which cached verifications an invalidation drops: those of one pod, or of one service account. */
export type IdentitySelector = { podUid: string } | { namespace: string; serviceAccount: string };

/** Whether `identity` is the pod or service account `sel` names. */
export const identityMatches = (identity: Identity | undefined, sel: IdentitySelector): boolean => {
  if (identity === undefined) return false;
  if ('podUid' in sel) return identity.pod?.uid === sel.podUid;
  return identity.namespace === sel.namespace && identity.serviceAccount.name === sel.serviceAccount;
};

/**
 * Where a verifier keeps the results it has proven. Keys are HMACs of the token (never the token);
 * values are plain JSON-able objects, so a Redis second level can sit behind the same interface
 * later. Asynchronous for that reason, even though the in-process implementation is not.
 */
export type ResultCache<V> = {
  /** The value, or undefined when absent or expired. */
  get(key: string): Promise<V | undefined>;
  /**
   * Stores `value` until more than `ttlMs` milliseconds have passed. A `ttlMs` < 1 stores nothing.
   * With `since` (a {@link ResultCache.mark} taken before the value was proven), stores nothing
   * when an invalidation or a clear has come since: a proof begun before an operator's revocation
   * must not be cached after it.
   */
  set(key: string, value: V, ttlMs: number, since?: string): Promise<void>;
  clear(): Promise<void>;
  /**
   * Optional: names the invalidations so far, for `set`'s and `fillOnce`'s `since`. Two marks
   * differ when an invalidation or a clear came between them (on a shared cache, on any replica).
   */
  mark?(): Promise<string>;
  /**
   * Optional: drops the entries of a pod or service account (operator revocation); resolves how
   * many. Absent = the cache cannot tell whose an entry is.
   */
  invalidate?(sel: IdentitySelector): Promise<number>;
  /**
   * Optional: runs `fill` for a missing key so that, across replicas sharing a store, only one
   * fill runs at a time; the others resolve the value it cached. Absent = just run `fill`.
   */
  fillOnce?(key: string, fill: () => Promise<V>, since?: string): Promise<V>;
};

export type MemoryResultCacheOptions<V> = {
  /** Time source for TTLs (a fake clock in tests). */
  clock: Clock;
  /** Bound on the number of entries; the least recently used goes first. */
  maxEntries: number;
  /** The identity a value proves, if any: what `invalidate` matches on. Default: none. */
  identityOf?: (value: V) => Identity | undefined;
};

/**
 * An in-process {@link ResultCache} over lru-cache: bounded in entries, per-entry TTL read from the
 * injected clock. Throws `TypeError` when `maxEntries` is not a positive integer.
 */
export const createMemoryResultCache = <V extends object>(
  options: MemoryResultCacheOptions<V>,
): ResultCache<V> & {
  deleteWhere(pred: (value: V) => boolean): Promise<number>;
  /** Drops `key` only while it still holds this very value. */
  deleteIfSame(key: string, value: V): void;
  mark(): Promise<string>;
  invalidate(sel: IdentitySelector): Promise<number>;
} => {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
    throw new TypeError('maxEntries must be a positive integer');
  }
  const { clock } = options;
  /** Bumped by every invalidation and clear, before anything is dropped: see `set`'s `since`. */
  let generation = 0;
  const lru = new LRUCache<string, V>({
    max: options.maxEntries,
    // ttlResolution 0: read the injected clock on every check, so fake-clock tests are exact.
    ttlResolution: 0,
    perf: { now: () => clock.nowMs() },
  });
  /** Drops every entry whose value matches; resolves how many. O(entries): invalidation only. */
  const deleteWhere = async (pred: (value: V) => boolean): Promise<number> => {
    let n = 0;
    for (const [k, v] of lru.entries()) {
      if (pred(v) && lru.delete(k)) n++;
    }
    return n;
  };
  const { identityOf } = options;
  return {
    get: async (key) => lru.get(key),
    set: async (key, value, ttlMs, since) => {
      if (since !== undefined && since !== String(generation)) return;
      const ttl = Math.floor(ttlMs);
      if (ttl > 0) lru.set(key, value, { ttl });
    },
    mark: async () => String(generation),
    clear: async () => {
      generation++;
      lru.clear();
    },
    deleteWhere,
    deleteIfSame: (key, value) => {
      if (lru.peek(key) === value) lru.delete(key);
    },
    invalidate: async (sel) => {
      generation++;
      return identityOf === undefined ? 0 : deleteWhere((v) => identityMatches(identityOf(v), sel));
    },
  };
};
