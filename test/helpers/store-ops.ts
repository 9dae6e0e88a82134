import fc from 'fast-check';
import type { BatchOp, SetOptions, Store, StreamEntry } from '../../src/store/index.js';

/*
 * Random sequences of calls of the Store interface (src/store/store.ts), for the model-based test
 * test/store-model.test.ts: the calls, how to generate them and how to make them on a store.
 */

/** A bound of a stream read: open (`-` or `+`), or the id of an entry the stream was given. */
export type StreamBound = { at: 'open' } | { at: 'entry'; index: number; exclusive: boolean };

/** One call of the Store interface (`wait` lets time pass; `sweep` runs the memory store's sweep). */
export type StoreOp =
  | { op: 'get'; key: string }
  | { op: 'set'; key: string; value: string; options?: SetOptions }
  | { op: 'delete'; keys: string[] }
  | { op: 'deleteIfEquals'; key: string; value: string }
  | { op: 'incrBy'; key: string; delta: number; ttlMs?: number }
  | { op: 'ttlMs'; key: string }
  | { op: 'setAdd' | 'setRemove' | 'indexRemove'; key: string; members: string[] }
  | { op: 'setMembers' | 'indexMembers'; key: string }
  | { op: 'batch'; ops: BatchOp[] }
  | { op: 'streamAdd'; key: string; fields: Record<string, string>; maxLen: number }
  | { op: 'streamRange'; key: string; start: StreamBound; end: StreamBound; count: number; reverse: boolean }
  | { op: 'wait'; ms: number }
  | { op: 'sweep' };

/** What a `streamRange` op reads: the whole stream first, then the page it asks for. */
export type StreamRead = { held: StreamEntry[]; page: StreamEntry[] };

/** What a call did: its answer, or what it threw. */
export type Outcome = { ok: unknown } | { error: unknown };

/** Each kind of key has names of its own: the test leaves a key of one kind for another undefined. */
export type KeyKind = 'string' | 'set' | 'index' | 'stream';
const PREFIXES: Array<[KeyKind, string]> = [
  ['set', 'set:'],
  ['index', 'idx:'],
  ['stream', 'st:'],
];
export const kindOf = (key: string): KeyKind => PREFIXES.find(([, p]) => key.startsWith(p))?.[0] ?? 'string';

/** Names that a glob, a cluster hash tag, a separator or an encoding could trip over. */
const ODD_NAMES = [
  '',
  ' ',
  ':',
  '::',
  '*',
  '?',
  '[a-z]',
  '{',
  '}',
  '{tag}',
  '{}x',
  'a b',
  '\t\n\r',
  '\u0000',
  'ключ',
  '鍵',
  '🔑',
  'e\u0301',
  '\u202e',
  'ag:token:x',
  '\\',
  '"\'',
  '%00',
  '__proto__',
  'constructor',
  // Names an EventEmitter gives a meaning of its own.
  'error',
  'newListener',
  'removeListener',
  'k'.repeat(1000),
];
export const name = fc.oneof(fc.constantFrom(...ODD_NAMES), fc.string({ unit: 'binary', maxLength: 12 }));

/** Values that INCRBY reads as a number, or that a lenient parser would. */
const INTEGERISH = ['0', '-1', '42', '', ' 5', '5 ', '+5', '007', '-0', '1e3', '0x10', '5.0', '1_000'];
export const value = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(...INTEGERISH) },
  { weight: 2, arbitrary: fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String) },
  {
    weight: 1,
    // Large: up to a few hundred kB, multi-byte characters included.
    arbitrary: fc
      .tuple(
        fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1000, max: 40_000 }),
      )
      .map(([s, n]) => s.repeat(n)),
  },
);

/** TTLs the interface refuses (it takes a number > 0, at most Number.MAX_SAFE_INTEGER). */
export const INVALID_TTLS = [
  0,
  -0,
  -1,
  -0.5,
  -Infinity,
  Infinity,
  NaN,
  Number.MAX_SAFE_INTEGER + 2,
  1e19,
  1e22,
];
/** TTLs nothing outlives in a test run (a minute and more). */
export const LONG_TTL = fc.oneof(
  fc.constantFrom(60_000, 60_000.5, 86_400_000, 2 ** 31, 2 ** 32 + 0.25, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 60_000, max: 10 ** 12 }),
  fc.double({ min: 60_000, max: 1e15, noNaN: true }),
);

/** How the sequences of one property are made. */
export type Profile = {
  /** Valid TTLs, ms. */
  ttl: fc.Arbitrary<number>;
  /** Time let pass between calls, ms; none when undefined. */
  waitMs?: fc.Arbitrary<number>;
  /** Whether `sweep` ops are generated (the memory store's background sweep, run at once). */
  sweeps?: boolean;
  maxOps: number;
};

const pool = fc.uniqueArray(name, { minLength: 1, maxLength: 3 });

/** A sequence of calls over a few keys of each kind, so that calls meet on the same keys. */
export const scenario = (profile: Profile): fc.Arbitrary<StoreOp[]> =>
  fc
    .record({
      strings: pool.map((names) => names.filter((n) => kindOf(n) === 'string')),
      sets: pool.map((names) => names.map((n) => `set:${n}`)),
      indexes: pool.map((names) => names.map((n) => `idx:${n}`)),
      streams: fc
        .uniqueArray(name, { minLength: 1, maxLength: 2 })
        .map((names) => names.map((n) => `st:${n}`)),
    })
    .chain((keys) => fc.array(storeOp(profile, keys), { minLength: 1, maxLength: profile.maxOps }));

type KeyPools = { strings: string[]; sets: string[]; indexes: string[]; streams: string[] };

const storeOp = (profile: Profile, keys: KeyPools): fc.Arbitrary<StoreOp> => {
  const stringKey = keys.strings.length > 0 ? fc.constantFrom(...keys.strings) : fc.constant('');
  const setKey = fc.constantFrom(...keys.sets);
  const indexKey = fc.constantFrom(...keys.indexes);
  const streamKey = fc.constantFrom(...keys.streams);
  const anyKey = fc.oneof(stringKey, setKey, indexKey, streamKey);
  const members = fc.oneof(
    { weight: 20, arbitrary: fc.array(name, { maxLength: 4 }) },
    // More than Lua's unpack() takes at once (about 8 000 values).
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 4000, max: 9000 })
        .map((n) => Array.from({ length: n }, (_, i) => `m${i}`)),
    },
  );
  const ttl = fc.oneof(
    { weight: 8, arbitrary: profile.ttl },
    { weight: 1, arbitrary: fc.constantFrom(...INVALID_TTLS) },
  );
  const setOptions = fc.option(
    fc.record(
      { ttlMs: ttl, mode: fc.constantFrom('always' as const, 'if-absent' as const, 'if-present' as const) },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  );
  const batchOp: fc.Arbitrary<BatchOp> = fc.oneof(
    fc.record({ op: fc.constant('set' as const), key: stringKey, value, options: setOptions }),
    fc.record({ op: fc.constant('delete' as const), key: anyKey }),
    fc.record({ op: fc.constant('indexAdd' as const), key: indexKey, members, ttlMs: ttl }),
  );
  const delta = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: -1000, max: 1000 }) },
    { weight: 1, arbitrary: fc.constantFrom(0.5, -1.5, NaN, Infinity, 2 ** 53) },
  );
  const fields = fc
    .array(fc.tuple(name, value), { maxLength: 3 })
    .map((entries) => Object.fromEntries(entries) as Record<string, string>);
  const count = fc.oneof(
    { weight: 8, arbitrary: fc.integer({ min: 1, max: 6 }) },
    { weight: 1, arbitrary: fc.constantFrom(0, -1, 1.5, NaN) },
  );
  const bound: fc.Arbitrary<StreamBound> = fc.oneof(
    fc.constant({ at: 'open' as const }),
    fc.record({ at: fc.constant('entry' as const), index: fc.nat(20), exclusive: fc.boolean() }),
  );
  const ops: Array<fc.WeightedArbitrary<StoreOp>> = [
    { weight: 3, arbitrary: fc.record({ op: fc.constant('get' as const), key: stringKey }) },
    {
      weight: 4,
      arbitrary: fc.record({ op: fc.constant('set' as const), key: stringKey, value, options: setOptions }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ op: fc.constant('delete' as const), keys: fc.array(anyKey, { maxLength: 4 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant('deleteIfEquals' as const), key: stringKey, value }),
    },
    {
      weight: 3,
      arbitrary: fc.record(
        { op: fc.constant('incrBy' as const), key: stringKey, delta, ttlMs: ttl },
        { requiredKeys: ['op', 'key', 'delta'] },
      ),
    },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('ttlMs' as const), key: anyKey }) },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constantFrom('setAdd' as const, 'setRemove' as const),
        key: setKey,
        members,
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('setMembers' as const), key: setKey }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('indexMembers' as const), key: indexKey }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('indexRemove' as const), key: indexKey, members }) },
    {
      weight: 5,
      arbitrary: fc.record({ op: fc.constant('batch' as const), ops: fc.array(batchOp, { maxLength: 5 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('streamAdd' as const),
        key: streamKey,
        fields,
        maxLen: fc.oneof(
          { weight: 8, arbitrary: fc.integer({ min: 1, max: 4 }) },
          { weight: 1, arbitrary: fc.constantFrom(0, -1, 2.5) },
        ),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('streamRange' as const),
        key: streamKey,
        start: bound,
        end: bound,
        count,
        reverse: fc.boolean(),
      }),
    },
  ];
  if (profile.waitMs !== undefined) {
    ops.push({ weight: 3, arbitrary: fc.record({ op: fc.constant('wait' as const), ms: profile.waitMs }) });
  }
  if (profile.sweeps === true) ops.push({ weight: 1, arbitrary: fc.constant({ op: 'sweep' as const }) });
  return fc.oneof(...ops);
};

const WRITES = new Set<StoreOp['op']>([
  'set',
  'deleteIfEquals',
  'incrBy',
  'setAdd',
  'setRemove',
  'indexRemove',
  'streamAdd',
]);

/** The reads that show a key's whole state: after each call, on every key it wrote. */
export const observations = (op: StoreOp): StoreOp[] => {
  const written =
    op.op === 'batch'
      ? op.ops.map((o) => o.key)
      : op.op === 'delete'
        ? op.keys
        : WRITES.has(op.op) && 'key' in op
          ? [op.key]
          : [];
  return [...new Set(written)].flatMap((key): StoreOp[] => {
    const read: Record<KeyKind, StoreOp> = {
      string: { op: 'get', key },
      set: { op: 'setMembers', key },
      index: { op: 'indexMembers', key },
      stream: {
        op: 'streamRange',
        key,
        start: { at: 'open' },
        end: { at: 'open' },
        count: WHOLE_STREAM,
        reverse: false,
      },
    };
    return [read[kindOf(key)], { op: 'ttlMs', key }];
  });
};

/**
 * The id a bound names: `ids` are those the store gave the stream's entries, oldest first (the
 * `index`-th, modulo their number); an open bound, or one of a stream with none, is `-` or `+`.
 */
export const boundId = (bound: StreamBound, ids: readonly string[], isEnd: boolean): string => {
  if (bound.at === 'open' || ids.length === 0) return isEnd ? '+' : '-';
  const id = ids[bound.index % ids.length] as string;
  return bound.exclusive ? `(${id}` : id;
};

/** The most entries a test stream holds, and more: a read of the whole stream. */
export const WHOLE_STREAM = 1_000_000;

/**
 * Makes `op` on `store`. `streamIds` are the ids the store gave a stream's entries (for bounds).
 * `wait` and `sweep` are the runner's; here they do nothing.
 */
export const perform = async (
  store: Store,
  op: StoreOp,
  streamIds: (key: string) => readonly string[],
): Promise<Outcome> => {
  try {
    return { ok: await call(store, op, streamIds) };
  } catch (error) {
    return { error };
  }
};

const call = async (
  store: Store,
  op: StoreOp,
  streamIds: (key: string) => readonly string[],
): Promise<unknown> => {
  switch (op.op) {
    case 'get':
      return store.get(op.key);
    case 'set':
      return store.set(op.key, op.value, op.options);
    case 'delete':
      return store.delete(...op.keys);
    case 'deleteIfEquals':
      return store.deleteIfEquals(op.key, op.value);
    case 'incrBy':
      return store.incrBy(op.key, op.delta, op.ttlMs === undefined ? undefined : { ttlMs: op.ttlMs });
    case 'ttlMs':
      return store.ttlMs(op.key);
    case 'setAdd':
      return store.setAdd(op.key, op.members);
    case 'setRemove':
      return store.setRemove(op.key, op.members);
    case 'indexRemove':
      return store.indexRemove(op.key, op.members);
    case 'setMembers':
      return store.setMembers(op.key);
    case 'indexMembers':
      return store.indexMembers(op.key);
    case 'batch':
      return store.batch(op.ops);
    case 'streamAdd':
      return store.streamAdd(op.key, op.fields, { maxLen: op.maxLen });
    case 'streamRange': {
      const held = await store.streamRange(op.key, { count: WHOLE_STREAM });
      const ids = streamIds(op.key);
      const page = await store.streamRange(op.key, {
        startId: boundId(op.start, ids, false),
        endId: boundId(op.end, ids, true),
        count: op.count,
        reverse: op.reverse,
      });
      return { held, page } satisfies StreamRead;
    }
    case 'wait':
    case 'sweep':
      return undefined;
  }
};
