/**
 * The one storage interface. `memory` (embedded default) and `redis` (production, shared by
 * replicas) implement it. Values are opaque strings; callers never store a secret in plaintext
 * (keys of secrets are HMACs, see keys.ts). Every entry that expires carries a TTL in the store.
 */
export type SetMode = 'always' | 'if-absent' | 'if-present';

export type SetOptions = {
  /** Time to live in milliseconds; absent = no expiry. Must be > 0 when given. */
  ttlMs?: number;
  /** `if-absent` = create only (NX), `if-present` = update only (XX). Default `always`. */
  mode?: SetMode;
};

export type Store = {
  /** The value, or undefined when absent or expired. */
  get(key: string): Promise<string | undefined>;
  /** Writes a value. Resolves false when `mode` prevented the write. */
  set(key: string, value: string, options?: SetOptions): Promise<boolean>;
  /** Deletes keys; resolves how many existed. */
  delete(...keys: string[]): Promise<number>;
  /**
   * Atomically adds `delta` to an integer counter (absent = 0) and resolves the new value.
   * `ttlMs` is applied when the counter is created by this call.
   */
  incrBy(key: string, delta: number, options?: { ttlMs?: number }): Promise<number>;
  /** Remaining TTL in ms; undefined when absent; Infinity when the key has no expiry. */
  ttlMs(key: string): Promise<number | undefined>;
  /** Resolves when the store can serve requests; rejects otherwise. Used by readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
};

/** Raised by a store that cannot reach its backend. Callers fail closed (503). */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
