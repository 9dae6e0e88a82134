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
  /**
   * Adds members to a set. `ttlMs` extends the set's expiry to at least that long (never
   * shortens it), so an index outlives every entry it names.
   */
  setAdd(key: string, members: readonly string[], options?: { ttlMs?: number }): Promise<void>;
  /** The members of a set (empty when absent). Not for hot paths: sets may be large. */
  setMembers(key: string): Promise<string[]>;
  setRemove(key: string, members: readonly string[]): Promise<void>;
  /**
   * Runs several writes in one round trip, atomically where the backend can (MULTI/EXEC on a
   * single Redis; per-key on Redis Cluster, where keys of one batch may live on different
   * nodes). Resolves one result per op: for `set`, whether it was written.
   */
  batch(ops: readonly BatchOp[]): Promise<boolean[]>;
  /** Publishes a message to every subscriber of `channel`, in this process and others. */
  publish(channel: string, message: string): Promise<void>;
  /** Calls `handler` for each message on `channel`; resolves an unsubscribe function. */
  subscribe(channel: string, handler: (message: string) => void): Promise<() => Promise<void>>;
  /** Resolves when the store can serve requests; rejects otherwise. Used by readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
};

/** One write of a {@link Store.batch}. */
export type BatchOp =
  | { op: 'set'; key: string; value: string; options?: SetOptions }
  | { op: 'delete'; key: string }
  | { op: 'setAdd'; key: string; members: readonly string[]; ttlMs?: number };

/** Raised by a store that cannot reach its backend. Callers fail closed (503). */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}
