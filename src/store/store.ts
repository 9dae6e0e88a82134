/**
 * The one storage interface. `memory` (embedded default) and `redis` (production, shared by
 * replicas) implement it. Values are opaque strings; callers never store a secret in plaintext
 * (keys of secrets are HMACs, see keys.ts). Every entry that expires carries a TTL in the store.
 *
 * Keys, values, members and fields are Unicode text: Redis keeps them as UTF-8, in which a lone
 * surrogate (a string that is not well-formed UTF-16) becomes U+FFFD, so such a string is not
 * kept as given. A key holds one kind of entry (a value or counter, a set, an index or a stream):
 * a call of another kind on it is not defined (Redis refuses it, WRONGTYPE). An argument outside
 * what a method documents is the caller's mistake: the call rejects with a TypeError and writes
 * nothing.
 */
export type SetMode = 'always' | 'if-absent' | 'if-present';

export type SetOptions = {
  /**
   * Time to live in milliseconds, rounded up to a whole one (as Redis's PX takes it); absent = no
   * expiry. A number > 0 and at most `Number.MAX_SAFE_INTEGER`.
   */
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
   * Deletes `key` only while it holds `value`, atomically; resolves whether it did. Releases a
   * lock without deleting the next holder's, should this holder's have expired meanwhile.
   */
  deleteIfEquals(key: string, value: string): Promise<boolean>;
  /**
   * Atomically adds `delta` (a whole number) to an integer counter (absent = 0) and resolves the
   * new value. `ttlMs` (as {@link SetOptions}) is applied when the counter is created by this call.
   * A value is a counter when Redis's INCRBY reads it as one: decimal digits after an optional `-`,
   * no leading zero, sign or space (what this method writes); otherwise the call rejects and
   * changes nothing. Counters stay within ±`Number.MAX_SAFE_INTEGER`: beyond, the memory store
   * refuses them and Redis's answers lose precision.
   */
  incrBy(key: string, delta: number, options?: { ttlMs?: number }): Promise<number>;
  /**
   * Atomically raises the integer at `key` to `value` (a whole number): writes it when the key is
   * absent or holds less, and leaves a greater or equal value as it is; either way the key lives
   * at least `ttlMs` more. Resolves the value held after the call. A mark that must only ever move
   * forward (a revocation's time) is written so, whatever order concurrent writers reach it in.
   */
  raiseTo(key: string, value: number, options: { ttlMs: number }): Promise<number>;
  /** Remaining TTL in ms; undefined when absent; Infinity when the key has no expiry. */
  ttlMs(key: string): Promise<number | undefined>;
  /** Adds members to a set that never expires (a KV folder's children). */
  setAdd(key: string, members: readonly string[]): Promise<void>;
  /** The members of a set (empty when absent). Not for hot paths: sets may be large. */
  setMembers(key: string): Promise<string[]>;
  setRemove(key: string, members: readonly string[]): Promise<void>;
  /**
   * The live members of an expiring index (empty when absent): a revocation index, written by the
   * batch op `indexAdd`. Not for hot paths: an index may be large.
   */
  indexMembers(key: string): Promise<string[]>;
  indexRemove(key: string, members: readonly string[]): Promise<void>;
  /**
   * Up to `limit` (a whole number ≥ 1) keys of live entries whose key starts with `prefix`, in no
   * particular order, each once, and whether they are all there are (`complete` false: it stopped
   * at `limit` with more left). Visits the whole key space — Redis SCAN (a COUNT per call), on
   * every master of a Cluster — so its cost grows with everything the store holds, whatever the
   * prefix: an operator's listing, never a hot path. A key added or removed while it runs may or
   * may not be listed.
   */
  scanPrefix(prefix: string, options: { limit: number }): Promise<ScanResult>;
  /**
   * Runs several writes, atomically where the backend can (one script on a single Redis, one
   * synchronous step in memory). On Redis Cluster, where keys of one batch may live on different
   * nodes, they are written one after another in the batch's order, and a failure stops the rest:
   * put last what makes the others visible. Resolves one result per op: for `set`, whether it was
   * written. One op with a bad argument (a TTL) rejects the whole batch, TypeError, unwritten.
   */
  batch(ops: readonly BatchOp[]): Promise<boolean[]>;
  /** Publishes a message to every subscriber of `channel`, in this process and others. */
  publish(channel: string, message: string): Promise<void>;
  /**
   * Calls `handler` for each message on `channel`; resolves an unsubscribe function. A message
   * reaches the handlers subscribed when it arrives, so one published just before the subscription
   * (on Redis Cluster: a moment before, from another node) may still reach it. Messages
   * published while the subscription is down are not delivered later (Redis pub/sub keeps none):
   * `onGap` is called once it is up again after such a spell, so that a subscriber that keeps
   * state the messages would have changed can drop it.
   */
  subscribe(
    channel: string,
    handler: (message: string) => void,
    onGap?: () => void,
  ): Promise<() => Promise<void>>;
  /**
   * Appends an entry of at least one field to the stream at `key` (Redis
   * `XADD key MAXLEN ~ maxLen *`) and resolves its id (`<ms>-<seq>`, increasing). The stream keeps
   * at least the newest `maxLen` (a whole number ≥ 1) entries; older ones are trimmed (on Redis in
   * whole nodes, so it may briefly hold somewhat more). Streams do not expire: their length is
   * their bound.
   */
  streamAdd(
    key: string,
    fields: Readonly<Record<string, string>>,
    options: { maxLen: number },
  ): Promise<string>;
  /**
   * Up to `count` entries of the stream at `key` between `startId` and `endId` (Redis `XRANGE`,
   * or `XREVRANGE` with `reverse`: newest first). Ids are `<ms>-<seq>`, or `<ms>` alone (the first
   * entry of that millisecond as a start, the last as an end); `-` and `+` are the ends of the
   * stream (the defaults); a leading `(` makes a bound exclusive. Empty when the stream is absent.
   */
  streamRange(key: string, options: StreamRangeOptions): Promise<StreamEntry[]>;
  /**
   * Optional: resolves once every write this process has made so far is held by as many replicas
   * as the store is configured to confirm (Redis `WAIT`); absent or immediate where there is
   * nothing to confirm. Called after a revocation or a secret write, before it is answered: a
   * write the master alone holds is lost if the master fails before its replicas copy it.
   * @throws StoreUnavailableError when too few replicas confirm in time (the write stands on the
   *   master; the caller answers 503, and repeating the operation is safe).
   */
  confirmReplicated?(since?: number): Promise<void>;
  /**
   * Optional, with `confirmReplicated`: a mark of the connection writes go through now. Taken
   * before an operation's writes and passed to `confirmReplicated`, it makes the confirmation
   * refuse writes that may have gone to a server its replicas do not follow (the connection was
   * replaced meanwhile: a failover).
   */
  writeEpoch?(): number;
  /** Resolves when the store can serve requests; rejects otherwise. Used by readiness. */
  ping(): Promise<void>;
  close(): Promise<void>;
};

/** What {@link Store.scanPrefix} found: the keys, and whether that is all of them. */
export type ScanResult = { keys: string[]; complete: boolean };

/** One entry of a stream: its id (`<ms>-<seq>`) and its fields. */
export type StreamEntry = { id: string; fields: Record<string, string> };

/** Bounds of a {@link Store.streamRange} read. */
export type StreamRangeOptions = {
  /** Inclusive lower bound (`(` for exclusive); default `-`, the oldest entry. */
  startId?: string;
  /** Inclusive upper bound (`(` for exclusive); default `+`, the newest entry. */
  endId?: string;
  /** At most this many entries (a whole number ≥ 1). */
  count: number;
  /** Newest first. Default false (oldest first). */
  reverse?: boolean;
};

/** One write of a {@link Store.batch}. */
export type BatchOp =
  | { op: 'set'; key: string; value: string; options?: SetOptions }
  | { op: 'delete'; key: string }
  /**
   * Adds members to an expiring index (a revocation index: the tokens of one role, service account
   * or pod). Each member expires on its own, `ttlMs` (as {@link SetOptions}, but required) from now
   * (one added again keeps the later expiry), and the index with its last member; no members, no
   * change (no index is made, nor one kept longer). Members that have expired are dropped as others
   * are added, so an index holds about what is live, however many were ever added to it.
   */
  | { op: 'indexAdd'; key: string; members: readonly string[]; ttlMs: number };

/** Raised by a store that cannot reach its backend. Callers fail closed (503). */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * Raised by {@link Store.confirmReplicated} when too few replicas confirm in time: the write stands
 * on the master, and repeating the operation is safe. A 503 like any unavailability.
 */
export class ReplicationUnconfirmedError extends StoreUnavailableError {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicationUnconfirmedError';
  }
}
