import type { Clock } from '../lib/clock.js';
import { assertBatch, assertInteger, assertStreamAdd, assertTtlMs, isCounter } from './arguments.js';
import { ExpiringSet } from './expiring-set.js';
import { SLICE_ENTRIES, scanPrefixIn, visitInSlices } from './memory-scan.js';
import { ExpiryIndex } from './expiry-index.js';
import { entryKind, type MemoryEntry } from './memory-entry.js';
import { GrowingSet, ShardedMap } from './sharded.js';
import { traced } from './traced.js';
import type { BatchOp, SetOptions, Store, StreamEntry, StreamRangeOptions } from './store.js';

/** A revocation index: members that expire one by one, and the whole when the last does. */
type IndexEntry = { members: ExpiringSet; expiresAtMs: number };
type StreamItem = { ms: number; seq: number; entry: StreamEntry };

/** A parsed stream id bound of `streamRange`: compares as (ms, seq), inclusive or not. */
type Bound = { ms: number; seq: number; exclusive: boolean };

const parseBound = (id: string, isEnd: boolean): Bound => {
  if (id === '-') return { ms: -1, seq: 0, exclusive: false };
  if (id === '+') return { ms: Number.MAX_SAFE_INTEGER, seq: 0, exclusive: false };
  const exclusive = id.startsWith('(');
  const m = /^(\d+)(?:-(\d+))?$/.exec(exclusive ? id.slice(1) : id);
  if (m === null) throw new TypeError(`invalid stream id "${id}"`);
  const seq = m[2] === undefined ? (isEnd ? Number.MAX_SAFE_INTEGER : 0) : Number(m[2]);
  return { ms: Number(m[1]), seq, exclusive };
};
const compare = (a: { ms: number; seq: number }, b: { ms: number; seq: number }): number =>
  a.ms === b.ms ? a.seq - b.seq : a.ms - b.ms;

/**
 * The same string, flat: one object on the heap instead of a tree of them. `JSON.stringify`
 * builds its result in parts (32, 64, 128 … characters) joined into a tree of cons strings, so a
 * 900-character token record is about nine objects, and the store keeps one per live token:
 * every full collection marks them all. Converting a string to a number makes V8 flatten it in
 * place first (the trick of the `flatstr` package, which pino used); the result is thrown away,
 * the string's value is untouched. Measured with 250 000 tokens (loadtest/memory/store-heap.mjs):
 * 16 heap objects a token before, 8 after.
 */
const flatten = (value: string): string => {
  void Number(value);
  return value;
};

export type MemoryStoreOptions = {
  clock: Clock;
  /** How often expired entries are swept, in ms. Default 30 000. 0 disables the timer (tests). */
  sweepIntervalMs?: number;
};

export type MemoryStore = Store & {
  size(): number;
  sweep(): void;
  /**
   * Every live key and value (sets and indexes as JSON arrays, an index's with the expired members
   * it still holds; streams as JSON arrays of `[id, fields]`), for tests that read the raw store.
   */
  entries(): Array<[string, string]>;
  /**
   * How many live entries have keys starting with `prefix`: O(entries), for a metric scrape, so
   * counted in slices that let requests run in between (a count of a store that changes meanwhile).
   */
  countPrefix(prefix: string): Promise<number>;
  /** Keys filed for the background sweep, stale filings included. */
  filed(): number;
};

/**
 * The embedded store: one process, nothing persisted. Expiry is read from the injected clock on
 * every access, and a background sweep (unref'd, so it never keeps the process alive) drops
 * expired entries so that memory stays bounded by what is live. Every operation runs to
 * completion before another starts, so batches are atomic.
 */
export const createMemoryStore = ({ clock, sweepIntervalMs = 30_000 }: MemoryStoreOptions): MemoryStore => {
  // What a value's expiry is counted from: the store's creation (see Entry).
  const baseMs = Math.floor(clock.nowMs());
  const { Entry, UNFILED, baseBucket, filingOf } = entryKind(baseMs);
  const data = new ShardedMap<MemoryEntry>();
  // Plain sets (KV folders) never expire.
  const sets = new ShardedMap<GrowingSet>();
  const indexes = new ShardedMap<IndexEntry>();
  /** An index member's expiry: whole seconds from `baseMs`, rounded up, a small integer. */
  const memberExpiry = (expiresAtMs: number) => Math.ceil((expiresAtMs - baseMs) / 1000);
  const memberNow = () => (clock.nowMs() - baseMs) / 1000;
  const streams = new Map<string, StreamItem[]>();
  // Subscribers by channel. Not an EventEmitter: to one, `error` and `newListener` are no channels
  // like the others (an `error` with no listener throws).
  const subscribers = new Map<string, Set<(message: string) => void>>();

  const live = <E extends { expiresAtMs: number }>(map: ShardedMap<E>, key: string): E | undefined => {
    const e = map.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAtMs <= clock.nowMs()) {
      map.delete(key);
      return undefined;
    }
    return e;
  };
  const maps = [data, indexes] as Array<ShardedMap<{ expiresAtMs: number }>>;
  const dropIfExpired = (
    map: ShardedMap<{ expiresAtMs: number }>,
    key: string,
    e: { expiresAtMs: number },
  ) => {
    if (e.expiresAtMs <= clock.nowMs()) map.delete(key);
  };
  const sweep = () => {
    for (const map of maps) for (const [k, e] of map) dropIfExpired(map, k, e);
  };
  // Every key with a finite expiry, by the second it expires in: the background sweep visits
  // those whose second has come, not the whole store.
  const expiries = new ExpiryIndex();
  let closed = false;
  let sweeping = false;
  // The background sweep, in slices, one at a time (a sweep still running when the next is due
  // lets it go). Neither a value set again to expire later (a renewed token) nor an index a login
  // extends (every login extends its role's, service account's and pod's sets: three filings a
  // login, each holding a key string until the sweep, for an hour) is filed again when it is
  // extended; the sweep files a live entry again under its current expiry when it comes to its
  // earlier filing. Whatever expires later in the current second is filed again too.
  const sweepInSlices = async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      const nowMs = clock.nowMs();
      const later: Array<[string, number]> = [];
      let visited = 0;
      for (const { bucket, keys } of expiries.takeDue(nowMs)) {
        for (const key of keys) {
          const value = data.get(key);
          // A value's one filing is the second it records; any other is stale (a value set again
          // since, or deleted and set anew) and goes with no more work.
          if (value !== undefined && value.filed === bucket - baseBucket) {
            if (value.expiresAtMs <= nowMs) data.delete(key);
            else {
              // Extended since it was filed: filed again under its current expiry.
              value.filed = filingOf(value.expiresAtMs);
              if (value.filed !== UNFILED) later.push([key, value.expiresAtMs]);
            }
          }
          const index = indexes.get(key);
          if (index !== undefined) {
            if (index.expiresAtMs <= nowMs) indexes.delete(key);
            else later.push([key, index.expiresAtMs]);
          }
          if (++visited % SLICE_ENTRIES === 0) {
            await new Promise<void>((resolve) => setImmediate(resolve));
            if (closed) return;
          }
        }
      }
      for (const [key, expiresAtMs] of later) expiries.add(key, expiresAtMs);
    } finally {
      sweeping = false;
    }
  };
  const timer = sweepIntervalMs > 0 ? setInterval(() => void sweepInSlices(), sweepIntervalMs) : undefined;
  timer?.unref();
  // Whole milliseconds, rounded up, as Redis's PX takes them: a TTL far below a millisecond added to
  // a time since 1970 is lost in the sum, and the entry would expire as it is written.
  const expiry = (ttlMs: number | undefined) =>
    ttlMs === undefined ? Infinity : clock.nowMs() + Math.ceil(ttlMs);

  const set = (key: string, value: string, options: SetOptions = {}): boolean => {
    const previous = data.get(key);
    if (options.mode !== undefined) {
      const exists = previous !== undefined && previous.expiresAtMs > clock.nowMs();
      if (options.mode === 'if-absent' && exists) return false;
      if (options.mode === 'if-present' && !exists) return false;
    }
    const expiresAtMs = expiry(options.ttlMs);
    const entry = new Entry(flatten(value), expiresAtMs);
    data.set(key, entry);
    refile(key, entry, previous);
    return true;
  };
  /**
   * Files `entry`, just set at `key` over `previous`, for the sweep. A value set again to expire
   * later (a token renewed) keeps its earlier filing, which the sweep files again under the new
   * expiry when it comes to it: filing it at every set held one more key string per renewal for
   * the whole TTL, and one token renewed in a loop grew the heap without bound. Filed anew when
   * it is new, has no filing, or now expires before its filing comes.
   */
  const refile = (key: string, entry: MemoryEntry, previous: MemoryEntry | undefined) => {
    const due = filingOf(entry.expiresAtMs);
    if (due === UNFILED) return;
    if (previous !== undefined && previous.filed !== UNFILED && previous.filed <= due) {
      entry.filed = previous.filed;
      return;
    }
    entry.filed = due;
    expiries.add(key, entry.expiresAtMs);
  };
  const del = (key: string): boolean =>
    (live(data, key) !== undefined && data.delete(key)) ||
    sets.delete(key) ||
    (live(indexes, key) !== undefined && indexes.delete(key)) ||
    streams.delete(key);
  const indexAdd = (key: string, members: readonly string[], ttlMs: number): void => {
    // No member, no index (nor a later expiry for one): an index expires with its last member.
    if (members.length === 0) return;
    // One lookup: a live index is changed in place (every login adds to its role's and service
    // account's), only a new one is inserted.
    const expiresAtMs = expiry(ttlMs);
    let e = live(indexes, key);
    if (e === undefined) {
      e = { members: new ExpiringSet(), expiresAtMs };
      indexes.set(key, e);
      expiries.add(key, expiresAtMs);
    } else if (expiresAtMs > e.expiresAtMs) {
      // Not filed again: the sweep does, when it comes to the index's earlier filing.
      e.expiresAtMs = expiresAtMs;
    }
    const at = memberExpiry(expiresAtMs);
    const now = memberNow();
    for (const m of members) e.members.add(m, at, now);
  };

  return traced('memory', {
    get: async (key) => live(data, key)?.value,
    set: async (key, value, options) => {
      assertTtlMs(options?.ttlMs);
      return set(key, value, options);
    },
    delete: async (...keys) => keys.filter(del).length,
    deleteIfEquals: async (key, value) => live(data, key)?.value === value && del(key),
    raiseTo: async (key, value, { ttlMs }) => {
      assertInteger('value', value);
      assertTtlMs(ttlMs);
      const e = live(data, key);
      // Only a whole number (as incrBy writes it) is raised from; anything else is overwritten.
      const held = e === undefined || !isCounter(e.value) ? undefined : Number(e.value);
      if (held !== undefined && held >= value) {
        const atLeast = expiry(ttlMs);
        if (e !== undefined && e.expiresAtMs < atLeast) set(key, e.value, { ttlMs });
        return held;
      }
      set(key, String(value), { ttlMs });
      return value;
    },
    incrBy: async (key, delta, options = {}) => {
      assertInteger('delta', delta);
      assertTtlMs(options.ttlMs);
      const e = live(data, key);
      // Read as Redis reads it: ' 5', '0x10' or '1e3' is no counter there, nor here.
      if (e !== undefined && !isCounter(e.value)) throw new TypeError(`value at ${key} is not an integer`);
      const current = e === undefined ? 0 : Number(e.value);
      const next = current + delta;
      const expiresAtMs = e?.expiresAtMs ?? expiry(options.ttlMs);
      const entry = new Entry(String(next), expiresAtMs);
      data.set(key, entry);
      refile(key, entry, e);
      return next;
    },
    ttlMs: async (key) => {
      const e = live(data, key) ?? live(indexes, key);
      if (e === undefined) return sets.has(key) || streams.has(key) ? Infinity : undefined;
      return e.expiresAtMs === Infinity ? Infinity : e.expiresAtMs - clock.nowMs();
    },
    setAdd: async (key, members) => {
      let set = sets.get(key);
      if (set === undefined) {
        if (members.length === 0) return;
        set = new GrowingSet();
        sets.set(key, set);
      }
      for (const m of members) set.add(m);
    },
    setMembers: async (key) => [...(sets.get(key) ?? [])],
    setRemove: async (key, members) => {
      const set = sets.get(key);
      if (set === undefined) return;
      for (const m of members) set.delete(m);
      if (set.size === 0) sets.delete(key);
    },
    indexMembers: async (key) => live(indexes, key)?.members.members(memberNow()) ?? [],
    indexRemove: async (key, members) => {
      const e = live(indexes, key);
      if (e === undefined) return;
      for (const m of members) e.members.delete(m);
      if (e.members.size === 0) indexes.delete(key);
    },
    batch: async (ops: readonly BatchOp[]) => {
      assertBatch(ops);
      return ops.map((op) => {
        switch (op.op) {
          case 'set':
            return set(op.key, op.value, op.options);
          case 'delete':
            return del(op.key);
          case 'indexAdd':
            indexAdd(op.key, op.members, op.ttlMs);
            return true;
        }
      });
    },
    streamAdd: async (key, fields, { maxLen }) => {
      assertStreamAdd(fields, maxLen);
      let items = streams.get(key);
      if (items === undefined) {
        items = [];
        streams.set(key, items);
      }
      // Ids only grow, even when the clock stands still or steps back.
      const last = items[items.length - 1];
      const now = clock.nowMs();
      const ms = last !== undefined && now <= last.ms ? last.ms : now;
      const seq = last !== undefined && ms === last.ms ? last.seq + 1 : 0;
      const entry = { id: `${ms}-${seq}`, fields: { ...fields } };
      items.push({ ms, seq, entry });
      // Trimmed in chunks, as Redis's `MAXLEN ~` trims whole nodes: at least maxLen are kept.
      if (items.length > maxLen + Math.max(1, Math.floor(maxLen / 10)))
        items.splice(0, items.length - maxLen);
      return entry.id;
    },
    streamRange: async (key, options: StreamRangeOptions) => {
      assertInteger('count', options.count, 1);
      const start = parseBound(options.startId ?? '-', false);
      const end = parseBound(options.endId ?? '+', true);
      const inRange = (item: StreamItem) => {
        const lo = compare(item, start);
        const hi = compare(item, end);
        return (start.exclusive ? lo > 0 : lo >= 0) && (end.exclusive ? hi < 0 : hi <= 0);
      };
      const items = streams.get(key) ?? [];
      const out: StreamEntry[] = [];
      const reverse = options.reverse === true;
      for (let n = 0; n < items.length && out.length < options.count; n++) {
        const item = items[reverse ? items.length - 1 - n : n] as StreamItem;
        if (inRange(item)) out.push({ id: item.entry.id, fields: { ...item.entry.fields } });
      }
      return out;
    },
    publish: async (channel, message) => {
      // Asynchronous, as a real pub/sub: a publisher never runs subscribers inline. As on Redis, a
      // message reaches the handlers subscribed when it arrives.
      setImmediate(() => {
        for (const handler of [...(subscribers.get(channel) ?? [])]) handler(message);
      });
    },
    subscribe: async (channel, handler) => {
      const handlers = subscribers.get(channel) ?? new Set();
      subscribers.set(channel, handlers.add(handler));
      return async () => {
        handlers.delete(handler);
        if (handlers.size === 0 && subscribers.get(channel) === handlers) subscribers.delete(channel);
      };
    },
    ping: async () => {},
    close: async () => {
      closed = true;
      if (timer) clearInterval(timer);
      data.clear();
      sets.clear();
      indexes.clear();
      expiries.clear();
      streams.clear();
      subscribers.clear();
    },
    size: () => data.size + sets.size + indexes.size + streams.size,
    filed: () => expiries.size,
    scanPrefix: async (prefix, { limit }) => {
      assertInteger('limit', limit, 1);
      return scanPrefixIn(
        data,
        prefix,
        limit,
        (e) => e.expiresAtMs > clock.nowMs(),
        () => closed,
      );
    },
    countPrefix: async (prefix) => {
      let n = 0;
      await visitInSlices(
        data,
        (k, e) => {
          if (e.expiresAtMs > clock.nowMs() && k.startsWith(prefix)) n++;
        },
        () => closed,
      );
      return n;
    },
    sweep,
    entries: () => {
      sweep();
      return [
        ...[...data].map(([k, e]): [string, string] => [k, e.value]),
        ...[...sets].map(([k, set]): [string, string] => [k, JSON.stringify([...set])]),
        ...[...indexes].map(([k, e]): [string, string] => [k, JSON.stringify([...e.members.held()])]),
        ...[...streams].map(([k, items]): [string, string] => [
          k,
          JSON.stringify(items.map((i) => [i.entry.id, i.entry.fields])),
        ]),
      ];
    },
  });
};
