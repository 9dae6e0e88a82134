import { bucketOf } from './expiry-index.js';

/**
 * The memory store's values, for a store created at `baseMs` (whose expiries are counted from it):
 * the class, and how a value is filed for the sweep (see memory-store.ts).
 */
export const entryKind = (baseMs: number) => {
  const UNFILED = -1;
  /**
   * A value and when it expires. The expiry is kept as two small integers, whole seconds and the
   * milliseconds after them, counted from `baseMs` (`ms` is -1 for no expiry), rather than as one
   * timestamp: a time in ms since 1970 (or Infinity) is not a small integer, and V8 keeps every
   * such number field in a heap object of its own: one more per value (two a token, its record and
   * its accessor) for the collector to mark. loadtest/memory/store-heap.mjs: 9.2 objects a token
   * before, 7.4 after; a full collection of 250 000 tokens 176–192 ms before, 108–122 ms after.
   */
  class Entry {
    readonly value: string;
    readonly #s: number;
    readonly #ms: number;

    constructor(value: string, expiresAtMs: number) {
      this.value = value;
      if (expiresAtMs === Infinity) {
        this.#s = 0;
        this.#ms = -1;
      } else {
        const after = expiresAtMs - baseMs;
        this.#s = Math.floor(after / 1000);
        this.#ms = after - this.#s * 1000;
      }
    }

    get expiresAtMs(): number {
      return this.#ms < 0 ? Infinity : baseMs + this.#s * 1000 + this.#ms;
    }

    /**
     * The second the key is filed under for the sweep, counted from `baseMs`'s (a small integer);
     * {@link UNFILED} for a value that never expires. One filing a key: a filing found under
     * another second is stale and dropped, so a key set again and again keeps one.
     */
    filed = UNFILED;
  }
  const baseBucket = bucketOf(baseMs);
  /** The second, from `baseMs`'s, whose filings the sweep takes for an entry expiring then. */
  const filingOf = (expiresAtMs: number) =>
    expiresAtMs === Infinity ? UNFILED : bucketOf(expiresAtMs) - baseBucket;
  return { Entry, UNFILED, baseBucket, filingOf };
};

/** A value of the memory store and its expiry (see {@link entryKind}). */
export type MemoryEntry = InstanceType<ReturnType<typeof entryKind>['Entry']>;
