import { LRUCache } from 'lru-cache';
import type { Clock } from '../lib/clock.js';

/**
 * Where a verifier keeps the results it has proven. Keys are HMACs of the token (never the token);
 * values are plain JSON-able objects, so a Redis second level can sit behind the same interface
 * later. Asynchronous for that reason, even though the in-process implementation is not.
 */
export type ResultCache<V> = {
  /** The value, or undefined when absent or expired. */
  get(key: string): Promise<V | undefined>;
  /** Stores `value` until more than `ttlMs` milliseconds have passed. A `ttlMs` < 1 stores nothing. */
  set(key: string, value: V, ttlMs: number): Promise<void>;
  clear(): Promise<void>;
  /**
   * Optional: runs `fill` for a missing key so that, across replicas sharing a store, only one
   * fill runs at a time; the others resolve the value it cached. Absent = just run `fill`.
   */
  fillOnce?(key: string, fill: () => Promise<V>): Promise<V>;
};

export type MemoryResultCacheOptions = {
  /** Time source for TTLs (a fake clock in tests). */
  clock: Clock;
  /** Bound on the number of entries; the least recently used goes first. */
  maxEntries: number;
};

/**
 * An in-process {@link ResultCache} over lru-cache: bounded in entries, per-entry TTL read from the
 * injected clock. Throws `TypeError` when `maxEntries` is not a positive integer.
 */
export const createMemoryResultCache = <V extends object>(
  options: MemoryResultCacheOptions,
): ResultCache<V> & { deleteWhere(pred: (value: V) => boolean): Promise<number> } => {
  if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) {
    throw new TypeError('maxEntries must be a positive integer');
  }
  const { clock } = options;
  const lru = new LRUCache<string, V>({
    max: options.maxEntries,
    // ttlResolution 0: read the injected clock on every check, so fake-clock tests are exact.
    ttlResolution: 0,
    perf: { now: () => clock.nowMs() },
  });
  return {
    get: async (key) => lru.get(key),
    set: async (key, value, ttlMs) => {
      const ttl = Math.floor(ttlMs);
      if (ttl > 0) lru.set(key, value, { ttl });
    },
    clear: async () => {
      lru.clear();
    },
    /** Drops every entry whose value matches; resolves how many. O(entries): invalidation only. */
    deleteWhere: async (pred) => {
      let n = 0;
      for (const [k, v] of lru.entries()) {
        if (pred(v) && lru.delete(k)) n++;
      }
      return n;
    },
  };
};
