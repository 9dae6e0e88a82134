import { randomUUID } from 'node:crypto';
import type { Identity } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { openEntry, signEntry } from '../lib/hash.js';
import { StoreUnavailableError, type Keys, type Store } from '../store/index.js';
import { unavailable } from '../errors.js';
import { identityMatches, type IdentitySelector, type ResultCache } from './result-cache.js';
import type { VerifierLog } from './verifier-log.js';

export type { IdentitySelector } from './result-cache.js';

/** A cache value; one that carries `identity` can be invalidated by identity. */
type WithIdentity = object;
const identityOf = (v: object): Identity | undefined => (v as { identity?: Identity }).identity;

export type SharedCacheDeps = {
  store: Pick<
    Store,
    | 'get'
    | 'set'
    | 'incrBy'
    | 'delete'
    | 'deleteIfEquals'
    | 'batch'
    | 'indexMembers'
    | 'indexRemove'
    | 'setMembers'
    | 'setRemove'
    | 'publish'
    | 'subscribe'
  >;
  keys: Pick<
    Keys,
    'verified' | 'verifiedEpoch' | 'index' | 'legacyIndex' | 'verifyLock' | 'invalidationChannel'
  >;
  clock: Clock;
  log: VerifierLog;
  /** Cache namespace in the store, e.g. `tokenreview:<mount>`. */
  kind: string;
  /** Key of the MAC on every entry written (derived from the server key): an unsigned entry is a miss. */
  macKey: Buffer;
  /** How long one replica may hold the "I am verifying this token" lock, ms (the upstream timeout + margin). */
  lockTtlMs: number;
  /** Poll interval of a replica waiting for another's result, ms. Default 20. */
  pollMs?: number;
};

/** `ep`: the store's invalidation epoch the value was proven under (absent in older entries). */
type Stored<V> = { v: V; expMs: number; ep?: string };

const parseStored = <V>(raw: string): Stored<V> | undefined => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const s = parsed as Partial<Stored<V>> | null;
  return typeof s === 'object' &&
    s !== null &&
    typeof s.expMs === 'number' &&
    typeof s.v === 'object' &&
    s.v !== null
    ? (s as Stored<V>)
    : undefined;
};

const indexesOf = (identity: Identity | undefined): Array<{ kind: string; value: string }> => {
  if (identity === undefined) return [];
  const out = [{ kind: 'verified-sa', value: `${identity.namespace}/${identity.serviceAccount.name}` }];
  if (identity.pod !== undefined) out.push({ kind: 'verified-pod', value: identity.pod.uid });
  return out;
};

/**
 * A verification cache in two levels: the in-process `l1` (bounded LRU) in front of the shared
 * store, so that every replica reuses a review any replica made. Values carry their expiry, so
 * an entry read from the store is never kept past it.
 *
 * - A store failure degrades to a miss (the verifier asks upstream); it never fails a login.
 * - `fillOnce` makes concurrent misses on different replicas wait for ONE upstream call: the
 *   first takes a lock in the store, the others poll for its result (bounded by `lockTtlMs`).
 *   Whoever takes the lock reads the store once more first: a replica that missed just before
 *   another stored its result and let go would otherwise find the lock free and call again.
 * - `invalidate(selector)` drops the entries of a pod or service account in the store and, by a
 *   pub/sub message, in every replica's `l1`, so a re-login is verified upstream again.
 * - An invalidation first raises an epoch in the store (and this replica's generation): a value
 *   proven under an older {@link mark} is not stored, and one stored while the epoch rose is
 *   taken back, so a review that was in flight when an operator revoked cannot refill the cache
 *   after the drop. Waiters of another replica do not take such a value either.
 */
export const createSharedCache = <V extends WithIdentity>(
  l1: ResultCache<V> & DeletableCache<V>,
  deps: SharedCacheDeps,
) => {
  const { store, keys, clock, log, kind } = deps;
  const pollMs = deps.pollMs ?? 20;
  const owner = randomUUID();
  /** This replica's invalidations and clears (its own, and those other replicas announced). */
  let generation = 0;
  const epochKey = keys.verifiedEpoch(kind);
  /**
   * The highest epoch of this cache this replica has heard of (its own invalidations, other
   * replicas' messages, the store): an entry proven under an older one is not taken from the
   * store, even by a plain `get` (a review that was in flight across a revocation may sit there
   * until its writer takes it back).
   */
  let knownEpoch = 0;
  const learn = (epoch: number): void => {
    if (Number.isSafeInteger(epoch) && epoch > knownEpoch) knownEpoch = epoch;
  };
  let degraded = false;
  const soft = async <T>(p: Promise<T>, fallback: T): Promise<T> => {
    try {
      const value = await p;
      degraded = false;
      return value;
    } catch (err) {
      if (!degraded)
        log.warn({ event: 'cache.degraded', kind, reason: (err as Error).message }, 'cache.degraded');
      degraded = true;
      return fallback;
    }
  };

  /**
   * The store's epoch, or undefined when the store cannot be read (then nothing is cached). One
   * lower than this replica has heard of (a store that lost its data) is raised back first, or
   * every entry written from now on would be refused as older than the epoch known.
   */
  const storeEpoch = async (): Promise<string | undefined> => {
    try {
      const held = Number((await store.get(epochKey)) ?? '0');
      if (!Number.isSafeInteger(held)) return undefined;
      if (held >= knownEpoch) {
        learn(held);
        return String(held);
      }
      return String(await store.incrBy(epochKey, knownEpoch - held));
    } catch {
      return undefined;
    }
  };
  const markNow = async (): Promise<string> => `${generation}:${(await storeEpoch()) ?? '?'}`;
  /** Whether no invalidation came since the mark `since` (false when the store cannot tell). */
  const stillCurrent = async (since: string): Promise<boolean> =>
    !since.endsWith(':?') && (await markNow()) === since;
  const epochOf = (since: string): string => since.slice(since.indexOf(':') + 1);

  /**
   * The stored value of `key`, copied into l1. With `since`, only one proven under that mark's
   * epoch (a waiter must not take what a review begun before an invalidation stored).
   */
  const readShared = async (key: string, since?: string): Promise<V | undefined> => {
    const storeKey = keys.verified(kind, key);
    // The epoch with the entry (one round trip): a replica that has just started, or whose
    // subscription was down when a revocation was announced, knows of it from the store.
    const [raw, epoch] = await Promise.all([
      soft(store.get(storeKey), undefined),
      // Apart from `soft`: its one degraded flag would flap, a warning on every miss.
      store.get(epochKey).then(
        (v) => v ?? '0',
        () => undefined,
      ),
    ]);
    if (epoch !== undefined) learn(Number(epoch));
    // An epoch that cannot be read (its node down, on Redis Cluster) cannot clear the entry.
    if (raw === undefined || epoch === undefined) return undefined;
    const text = openEntry(deps.macKey, storeKey, raw);
    const stored = text === undefined ? undefined : parseStored<V>(text);
    if (stored === undefined) {
      // Not what a replica wrote (a damaged, forged or moved entry): a miss, never a 500.
      log.warn({ event: 'cache.bad_entry', kind }, 'cache.bad_entry');
      return undefined;
    }
    const ttlMs = stored.expMs - clock.nowMs();
    if (ttlMs <= 0) return undefined;
    if (since !== undefined && stored.ep !== epochOf(since)) return undefined;
    // Proven before an invalidation this replica has heard of (or by a version without epochs).
    if (knownEpoch > 0 && !(Number(stored.ep) >= knownEpoch)) return undefined;
    await l1.set(key, stored.v, ttlMs);
    return stored.v;
  };

  const unsubscribe = store.subscribe(
    keys.invalidationChannel(),
    (message) => {
      try {
        const msg = JSON.parse(message) as Partial<{
          podUid: unknown;
          namespace: unknown;
          serviceAccount: unknown;
          kind: unknown;
          epoch: unknown;
        }>;
        // Only an invalidation (the channel carries key-set announcements too).
        const isSelector =
          typeof msg.podUid === 'string' ||
          (typeof msg.namespace === 'string' && typeof msg.serviceAccount === 'string');
        if (!isSelector) return;
        if (msg.kind === kind && typeof msg.epoch === 'number') learn(msg.epoch);
        generation++;
        const sel = msg as IdentitySelector;
        void l1.deleteWhere((v) => identityMatches(identityOf(v), sel));
      } catch {
        // A message that is not ours is ignored.
      }
    },
    // Invalidations published while the subscription was down are lost: drop what this replica
    // holds in memory, and read the store (which they did reach) again.
    () => {
      generation++;
      void l1.clear();
    },
  );
  unsubscribe.catch((err: unknown) =>
    log.warn(
      { event: 'cache.subscribe_failed', kind, reason: (err as Error).message },
      'cache.subscribe_failed',
    ),
  );

  /** Drops the entries of a pod or service account in the store and in every replica's l1. */
  const dropShared = async (sel: IdentitySelector): Promise<number> => {
    // The epoch before the drop: a value stored after the drop read the indexes is then either
    // refused by its writer's check or found by this drop (see `set`).
    generation++;
    const epoch = await store.incrBy(epochKey, 1);
    learn(epoch);
    const index =
      'podUid' in sel
        ? { kind: 'verified-pod', value: sel.podUid }
        : { kind: 'verified-sa', value: `${sel.namespace}/${sel.serviceAccount}` };
    const indexKey = keys.index(index.kind, index.value);
    // With the plain sets that replicas of an earlier version still write during an upgrade.
    const legacyKey = keys.legacyIndex(index.kind, index.value);
    const [members, legacyMembers] = await Promise.all([
      store.indexMembers(indexKey),
      store.setMembers(legacyKey),
    ]);
    // The entries, then only those members: one cached meanwhile stays listed for the next.
    if (members.length + legacyMembers.length > 0) {
      await store.delete(...new Set([...members, ...legacyMembers]));
      if (members.length > 0) await store.indexRemove(indexKey, members);
      if (legacyMembers.length > 0) await store.setRemove(legacyKey, legacyMembers);
    }
    await l1.deleteWhere((v) => identityMatches(identityOf(v), sel));
    // With the epoch: a replica that hears it refuses older entries from then on (readShared).
    await store.publish(keys.invalidationChannel(), JSON.stringify({ ...sel, kind, epoch }));
    return new Set([...members, ...legacyMembers]).size;
  };

  const cache: ResultCache<V> & {
    fillOnce(key: string, fill: () => Promise<V>, since?: string): Promise<V>;
    invalidate(sel: IdentitySelector): Promise<number>;
    mark(): Promise<string>;
  } = {
    get: async (key) => (await l1.get(key)) ?? readShared(key),
    mark: markNow,
    set: async (key, value, ttlMs, since) => {
      if (Math.floor(ttlMs) < 1) return;
      if (since !== undefined && !(await stillCurrent(since))) return;
      await l1.set(key, value, ttlMs);
      const stored: Stored<V> = { v: value, expMs: clock.nowMs() + ttlMs };
      if (since !== undefined) stored.ep = epochOf(since);
      const storeKey = keys.verified(kind, key);
      const signed = signEntry(deps.macKey, storeKey, JSON.stringify(stored));
      // The indexes before the entry: where a batch is not atomic (Redis Cluster), an entry is
      // never visible to other replicas before `invalidate` can find it.
      await soft(
        store.batch([
          ...indexesOf(identityOf(value)).map((i) => ({
            op: 'indexAdd' as const,
            key: keys.index(i.kind, i.value),
            members: [storeKey],
            ttlMs,
          })),
          { op: 'set', key: storeKey, value: signed, options: { ttlMs } },
        ]),
        [],
      );
      // An invalidation may have raised the epoch between the check above and the write, after
      // its drop had read the indexes: then this value is taken back (only if still ours).
      if (since !== undefined && !(await stillCurrent(since))) {
        l1.deleteIfSame(key, value);
        await soft(store.deleteIfEquals(storeKey, signed), false);
      }
    },
    clear: () => {
      generation++;
      return l1.clear();
    },
    fillOnce: async (key, fill, since) => {
      const lockKey = keys.verifyLock(kind, key);
      const deadline = clock.nowMs() + deps.lockTtlMs;
      for (;;) {
        const locked = await soft(
          store.set(lockKey, owner, { ttlMs: deps.lockTtlMs, mode: 'if-absent' }),
          true,
        );
        if (locked) {
          try {
            // The lock may be free because another replica has just filled: it stores its result
            // before it lets go, so look once more before asking upstream again.
            return (await readShared(key, since)) ?? (await fill());
          } finally {
            // Only our own lock: held past its TTL, it may be another replica's by now.
            await soft(store.deleteIfEquals(lockKey, owner), false);
          }
        }
        // Another replica is verifying this very token: wait for its result.
        await new Promise((r) => setTimeout(r, pollMs));
        const done = await readShared(key, since);
        if (done !== undefined) return done;
        if (clock.nowMs() > deadline) return fill();
      }
    },
    invalidate: (sel) =>
      dropShared(sel).catch((err: unknown) => {
        // An operator's revocation that cannot reach the store is a 503, never a 500.
        if (err instanceof StoreUnavailableError)
          throw unavailable('verification cache unavailable', 'cache_unavailable', err);
        throw err;
      }),
  };
  return cache;
};
export type SharedCache<V extends WithIdentity> = ReturnType<typeof createSharedCache<V>>;

/** An in-process cache that can drop entries by value (for invalidation). */
export type DeletableCache<V> = {
  deleteWhere(pred: (value: V) => boolean): Promise<number>;
  /** Drops `key` only while it still holds this very value. */
  deleteIfSame(key: string, value: V): void;
};
