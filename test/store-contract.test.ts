import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock, systemClock } from '../src/lib/clock.js';
import { createMemoryStore, createRedisStore, type Store } from '../src/store/index.js';
import { CLUSTER_INDEX_GRACE_MS } from '../src/store/redis-store.js';
import {
  startRedis,
  startRedisCluster,
  storeAnswers,
  type RedisCluster,
  type RedisServer,
} from './helpers/redis-server.js';

const quiet = { info: () => undefined, warn: () => undefined };
let redis: RedisServer;
let cluster: RedisCluster;
const stores: Record<string, Store> = {};

beforeAll(async () => {
  redis = await startRedis();
  cluster = await startRedisCluster();
  stores['memory'] = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
  stores['redis'] = createRedisStore({ url: redis.url }, { log: quiet });
  // Cluster mode: keys of one batch live on different nodes, and scripts run per key. Indexes
  // keep members exactly as long as asked here, as the other stores do (the margin is tested below).
  stores['redis-cluster'] = createRedisStore(
    { clusterNodes: cluster.nodes },
    { log: quiet, clusterIndexGraceMs: 0 },
  );
  await Promise.all([storeAnswers(stores['redis']), storeAnswers(stores['redis-cluster'])]);
});
afterAll(async () => {
  for (const s of Object.values(stores)) await s.close();
  await redis?.stop();
  await cluster?.stop();
});

describe.each(['memory', 'redis', 'redis-cluster'])('the %s store', (name) => {
  const s = () => stores[name] as Store;
  const k = (key: string) => `t:${name}:${key}`;

  it('gets, sets with modes and deletes', async () => {
    expect(await s().get(k('a'))).toBeUndefined();
    expect(await s().set(k('a'), '1', { mode: 'if-present' })).toBe(false);
    expect(await s().set(k('a'), '1', { mode: 'if-absent' })).toBe(true);
    expect(await s().set(k('a'), '2', { mode: 'if-absent' })).toBe(false);
    expect(await s().set(k('a'), '3', { mode: 'if-present' })).toBe(true);
    expect(await s().get(k('a'))).toBe('3');
    expect(await s().delete(k('a'), k('none'))).toBe(1);
    expect(await s().delete()).toBe(0);
  });

  it('deletes a key only while it holds the given value (a lock released by its holder only)', async () => {
    await s().set(k('lock'), 'mine', { ttlMs: 60_000 });
    expect(await s().deleteIfEquals(k('lock'), 'theirs')).toBe(false);
    expect(await s().get(k('lock'))).toBe('mine');
    expect(await s().deleteIfEquals(k('lock'), 'mine')).toBe(true);
    expect(await s().get(k('lock'))).toBeUndefined();
    expect(await s().deleteIfEquals(k('lock'), 'mine')).toBe(false);
  });

  it('raises a mark only forward, whatever order writers reach it in, and keeps it alive', async () => {
    expect(await s().raiseTo(k('mark'), 2000, { ttlMs: 60_000 })).toBe(2000);
    expect(await s().raiseTo(k('mark'), 1500, { ttlMs: 60_000 })).toBe(2000);
    expect(await s().get(k('mark'))).toBe('2000');
    // A lower write still extends the life of the mark it leaves in place.
    await s().set(k('mark'), '2000', { ttlMs: 1000 });
    expect(await s().raiseTo(k('mark'), 1500, { ttlMs: 60_000 })).toBe(2000);
    expect(await s().ttlMs(k('mark'))).toBeGreaterThan(30_000);
    expect(await s().raiseTo(k('mark'), 2500, { ttlMs: 60_000 })).toBe(2500);
    // Answered as stored, every digit; and raised from whole numbers only, as in both stores.
    await s().set(k('mark'), '9007199254740991', { ttlMs: 60_000 });
    expect(await s().raiseTo(k('mark'), 2500, { ttlMs: 60_000 })).toBe(9007199254740991);
    for (const odd of ['5.5', 'inf', 'nan', ' 7']) {
      await s().set(k('odd'), odd, { ttlMs: 60_000 });
      expect(await s().raiseTo(k('odd'), 3, { ttlMs: 60_000 }), odd).toBe(3);
      expect(await s().get(k('odd'))).toBe('3');
    }
    await s().set(k('mark'), '2500', { ttlMs: 60_000 });
    const raced = await Promise.all(
      [3100, 3300, 3200].map((v) => s().raiseTo(k('mark'), v, { ttlMs: 60_000 })),
    );
    expect(Math.max(...raced)).toBe(3300);
    expect(await s().get(k('mark'))).toBe('3300');
  });

  it('gives every expiring entry a TTL', async () => {
    await s().set(k('ttl'), 'x', { ttlMs: 60_000 });
    const ttl = await s().ttlMs(k('ttl'));
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await s().set(k('forever'), 'x');
    expect(await s().ttlMs(k('forever'))).toBe(Infinity);
    expect(await s().ttlMs(k('missing'))).toBeUndefined();
  });

  it('counts atomically under concurrency and sets the TTL only at creation', async () => {
    const results = await Promise.all(
      Array.from({ length: 50 }, () => s().incrBy(k('c'), -1, { ttlMs: 30_000 })),
    );
    expect(new Set(results).size).toBe(50);
    expect(Math.min(...results)).toBe(-50);
    expect(await s().ttlMs(k('c'))).toBeGreaterThan(29_000);
  });

  it('keeps plain sets, which never expire', async () => {
    await s().setAdd(k('set'), ['a', 'b']);
    await s().setAdd(k('set'), ['c', 'a']);
    await s().setAdd(k('empty-set'), []);
    expect((await s().setMembers(k('set'))).sort()).toEqual(['a', 'b', 'c']);
    expect(await s().ttlMs(k('set'))).toBe(Infinity);
    await s().setRemove(k('set'), ['a']);
    expect((await s().setMembers(k('set'))).sort()).toEqual(['b', 'c']);
    expect(await s().setMembers(k('no-set'))).toEqual([]);
    expect(await s().setMembers(k('empty-set'))).toEqual([]);
  });

  it('expires the members of an index one by one, and the index with its last', async () => {
    const add = (key: string, members: string[], ttlMs: number) =>
      s().batch([{ op: 'indexAdd', key: k(key), members, ttlMs }]);
    await add('idx', ['long'], 60_000);
    await add('idx', ['short', 'brief'], 150);
    expect((await s().indexMembers(k('idx'))).sort()).toEqual(['brief', 'long', 'short']);
    // A member added again keeps the later of its expiries.
    await add('idx', ['brief'], 60_000);
    await add('idx', ['long'], 10);
    const ttl = await s().ttlMs(k('idx'));
    expect(ttl).toBeGreaterThan(59_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await add('idx-short', ['x', 'y'], 150);
    expect(await s().ttlMs(k('idx-short'))).toBeLessThanOrEqual(150);
    // The memory store keeps a member's expiry to the second, rounded up: a member of 150 ms
    // lives up to 1150 ms there (how long depends on where in its second it was added).
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await s().indexMembers(k('idx'))).sort()).toEqual(['brief', 'long']);
    await s().indexRemove(k('idx'), ['long', 'never-there']);
    expect(await s().indexMembers(k('idx'))).toEqual(['brief']);
    expect(await s().indexMembers(k('no-idx'))).toEqual([]);
    await s().indexRemove(k('no-idx'), ['x']);
    expect(await s().indexMembers(k('idx-short'))).toEqual([]);
    expect(await s().ttlMs(k('idx-short'))).toBeUndefined();
  });

  it('runs a batch in one go and reports each write', async () => {
    await s().set(k('b1'), 'old');
    const results = await s().batch([
      { op: 'set', key: k('b1'), value: 'new', options: { mode: 'if-absent' } },
      { op: 'set', key: k('b2'), value: 'v', options: { ttlMs: 10_000 } },
      { op: 'indexAdd', key: k('bs'), members: ['m'], ttlMs: 10_000 },
      { op: 'delete', key: k('b1') },
    ]);
    expect(results).toEqual([false, true, true, true]);
    expect(await s().get(k('b1'))).toBeUndefined();
    expect(await s().get(k('b2'))).toBe('v');
    expect(await s().indexMembers(k('bs'))).toEqual(['m']);
  });

  it('applies every kind of op in a batch as the single calls do', async () => {
    await s().set(k('c1'), 'x');
    await s().batch([{ op: 'indexAdd', key: k('cs'), members: ['a'], ttlMs: 1_000 }]);
    const results = await s().batch([
      { op: 'set', key: k('c2'), value: 'v', options: { ttlMs: 30_000, mode: 'if-absent' } },
      { op: 'set', key: k('c3'), value: 'v', options: { mode: 'if-present' } },
      { op: 'set', key: k('c1'), value: 'y', options: { mode: 'if-present' } },
      { op: 'indexAdd', key: k('cs'), members: ['b', 'c'], ttlMs: 60_000 },
      { op: 'indexAdd', key: k('cs'), members: [], ttlMs: 10 },
      { op: 'delete', key: k('missing') },
      { op: 'set', key: k('c4'), value: 'plain' },
    ]);
    expect(results).toEqual([true, false, true, true, true, false, true]);
    expect(await s().ttlMs(k('c2'))).toBeGreaterThan(29_000);
    expect(await s().get(k('c3'))).toBeUndefined();
    expect(await s().get(k('c1'))).toBe('y');
    expect((await s().indexMembers(k('cs'))).sort()).toEqual(['a', 'b', 'c']);
    expect(await s().ttlMs(k('cs'))).toBeGreaterThan(59_000);
    expect(await s().ttlMs(k('c4'))).toBe(Infinity);
  });

  it('refuses a TTL that is not a number > 0 and at most Number.MAX_SAFE_INTEGER, and writes nothing', async () => {
    for (const ttlMs of [0, -1, -0.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 2, 1e22]) {
      await expect(s().set(k('bad-ttl'), 'v', { ttlMs }), String(ttlMs)).rejects.toThrow(TypeError);
      await expect(s().incrBy(k('bad-ttl'), 1, { ttlMs }), String(ttlMs)).rejects.toThrow(TypeError);
      // One bad op and the batch writes none of its ops, not even those before it.
      await expect(
        s().batch([
          { op: 'set', key: k('bad-ttl'), value: 'v' },
          { op: 'indexAdd', key: k('bad-ttl-index'), members: ['m'], ttlMs },
        ]),
        String(ttlMs),
      ).rejects.toThrow(TypeError);
    }
    expect(await s().get(k('bad-ttl'))).toBeUndefined();
    expect(await s().indexMembers(k('bad-ttl-index'))).toEqual([]);
    expect(await s().set(k('huge-ttl'), 'v', { ttlMs: Number.MAX_SAFE_INTEGER })).toBe(true);
    expect(await s().ttlMs(k('huge-ttl'))).toBeGreaterThan(Number.MAX_SAFE_INTEGER - 60_000);
  });

  it('adds no index for no members, nor makes one live longer', async () => {
    await s().batch([{ op: 'indexAdd', key: k('no-members'), members: [], ttlMs: 60_000 }]);
    expect(await s().ttlMs(k('no-members'))).toBeUndefined();
    expect(await s().delete(k('no-members'))).toBe(0);
    await s().batch([{ op: 'indexAdd', key: k('idx-kept'), members: ['a'], ttlMs: 60_000 }]);
    await s().batch([{ op: 'indexAdd', key: k('idx-kept'), members: [], ttlMs: 600_000 }]);
    expect(await s().ttlMs(k('idx-kept'))).toBeLessThanOrEqual(60_000);
  });

  it('adds thousands of members to an index in one op', async () => {
    const members = Array.from({ length: 10_000 }, (_, i) => `m${i}`);
    expect(await s().batch([{ op: 'indexAdd', key: k('big-index'), members, ttlMs: 60_000 }])).toEqual([
      true,
    ]);
    expect((await s().indexMembers(k('big-index'))).length).toBe(10_000);
  });

  it('counts on only what Redis reads as an integer, and by whole numbers only', async () => {
    for (const value of ['', ' 5', '5 ', '+5', '007', '-0', '1e3', '0x10', '5.0']) {
      await s().set(k('not-a-counter'), value);
      await expect(s().incrBy(k('not-a-counter'), 1), JSON.stringify(value)).rejects.toThrow();
      expect(await s().get(k('not-a-counter'))).toBe(value);
    }
    await s().set(k('counter'), '-12');
    expect(await s().incrBy(k('counter'), 2)).toBe(-10);
    for (const delta of [0.5, NaN, Infinity, 2 ** 53]) {
      await expect(s().incrBy(k('counter'), delta), String(delta)).rejects.toThrow(TypeError);
    }
    expect(await s().get(k('counter'))).toBe('-10');
  });

  it('refuses a stream entry of no fields, a maximum length or a count below 1', async () => {
    await expect(s().streamAdd(k('st-bad'), {}, { maxLen: 10 })).rejects.toThrow(TypeError);
    await expect(s().streamAdd(k('st-bad'), { a: 'b' }, { maxLen: 0 })).rejects.toThrow(TypeError);
    await expect(s().streamRange(k('st-bad'), { count: 0 })).rejects.toThrow(TypeError);
    expect(await s().streamRange(k('st-bad'), { count: 10 })).toEqual([]);
  });

  it('reads back a stream field named __proto__ as a field', async () => {
    const fields = Object.fromEntries([
      ['__proto__', 'x'],
      ['a', 'b'],
    ]) as Record<string, string>;
    await s().streamAdd(k('st-proto'), fields, { maxLen: 10 });
    const [entry] = await s().streamRange(k('st-proto'), { count: 10 });
    expect(Object.entries(entry?.fields ?? {})).toEqual([
      ['__proto__', 'x'],
      ['a', 'b'],
    ]);
  });

  it('treats channels named error and newListener as any other', async () => {
    // To an EventEmitter they are not: an `error` with no listener throws, and a `newListener`
    // listener hears of every subscription.
    for (const channel of ['error', 'newListener']) {
      const got: string[] = [];
      const unsubscribe = await s().subscribe(channel, (m) => got.push(m));
      await s().subscribe(k('other'), () => undefined);
      await s().publish(channel, 'hello');
      for (let i = 0; i < 50 && !got.includes('hello'); i++) await new Promise((r) => setTimeout(r, 10));
      expect(got, channel).toEqual(['hello']);
      await unsubscribe();
    }
    await s().publish('error', 'nobody listens');
    await new Promise((r) => setTimeout(r, 10));
  });

  it('delivers published messages to subscribers', async () => {
    const got: string[] = [];
    const unsubscribe = await s().subscribe(k('ch'), (m) => got.push(m));
    await s().publish(k('ch'), 'hello');
    for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(got).toEqual(['hello']);
    await unsubscribe();
  });

  it('appends to a stream with increasing ids and reads it in both directions', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await s().streamAdd(k('st'), { n: String(i) }, { maxLen: 1000 }));
    const order = (id: string) => id.split('-').map(Number) as [number, number];
    for (let i = 1; i < ids.length; i++) {
      const [a, b] = [order(ids[i - 1] ?? ''), order(ids[i] ?? '')];
      expect(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])).toBe(true);
    }
    const all = await s().streamRange(k('st'), { count: 100 });
    expect(all.map((e) => e.fields['n'])).toEqual(['0', '1', '2', '3', '4']);
    expect(all.map((e) => e.id)).toEqual(ids);
    const newest = await s().streamRange(k('st'), { count: 2, reverse: true });
    expect(newest.map((e) => e.fields['n'])).toEqual(['4', '3']);
    expect(await s().ttlMs(k('st'))).toBe(Infinity);
  });

  it('reads a stream between inclusive and exclusive ids', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await s().streamAdd(k('sr'), { n: String(i) }, { maxLen: 1000 }));
    const [, second, , fourth] = ids as [string, string, string, string];
    const n = (entries: Array<{ fields: Record<string, string> }>) => entries.map((e) => e.fields['n']);
    expect(n(await s().streamRange(k('sr'), { startId: second, endId: fourth, count: 10 }))).toEqual([
      '1',
      '2',
      '3',
    ]);
    expect(n(await s().streamRange(k('sr'), { startId: `(${second}`, count: 2 }))).toEqual(['2', '3']);
    expect(
      n(
        await s().streamRange(k('sr'), {
          endId: `(${fourth}`,
          startId: `(${second}`,
          count: 10,
          reverse: true,
        }),
      ),
    ).toEqual(['2']);
    // A bare millisecond bound covers every entry of that millisecond.
    const lastMs = (ids[5] ?? '').split('-')[0] ?? '';
    expect(n(await s().streamRange(k('sr'), { startId: lastMs, endId: lastMs, count: 10 }))).toContain('5');
    expect(await s().streamRange(k('no-stream'), { count: 10 })).toEqual([]);
  });

  it('scans the keys of a prefix, glob characters and all, on every node, bounded by a limit', async () => {
    // `[*]?` is a glob in a SCAN pattern: unescaped, it would match `scan*Q:` and miss these keys.
    const prefix = k('scan[*]?:');
    const ops = Array.from({ length: 2500 }, (_, i) => ({
      op: 'set' as const,
      key: `${prefix}${i}`,
      value: 'v',
    }));
    await s().batch(ops);
    await s().set(k('scan*Q:decoy'), 'v');
    await s().set(`${prefix}gone`, 'v', { ttlMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    const all = await s().scanPrefix(prefix, { limit: 5000 });
    expect(all.complete).toBe(true);
    expect(all.keys.sort()).toEqual(ops.map((o) => o.key).sort());
    const some = await s().scanPrefix(prefix, { limit: 1000 });
    expect(some.complete).toBe(false);
    expect(new Set(some.keys).size).toBe(1000);
    expect(some.keys.every((key) => key.startsWith(prefix))).toBe(true);
    expect(await s().scanPrefix(k('none:'), { limit: 1 })).toEqual({ keys: [], complete: true });
    await expect(s().scanPrefix(prefix, { limit: 0 })).rejects.toThrow(TypeError);
    await s().delete(...ops.map((o) => o.key), k('scan*Q:decoy'));
  });

  it('keeps a stream bounded by its maximum length, newest entries kept', async () => {
    for (let i = 0; i < 1000; i++) await s().streamAdd(k('bounded'), { n: String(i) }, { maxLen: 100 });
    const kept = await s().streamRange(k('bounded'), { count: 10_000 });
    expect(kept.length).toBeGreaterThanOrEqual(100);
    expect(kept.length).toBeLessThan(300);
    expect(kept[kept.length - 1]?.fields['n']).toBe('999');
    expect(await s().delete(k('bounded'))).toBe(1);
    expect(await s().streamRange(k('bounded'), { count: 10 })).toEqual([]);
  });
});

describe('a batch on Redis Cluster', () => {
  it('writes in order and stops at the first failure, so what is last is written only after the rest', async () => {
    const s = stores['redis-cluster'] as Store;
    // Keys spread over the nodes; the second op fails (an index add on a string: WRONGTYPE).
    await s.set('order:not-an-index', 'plain');
    await expect(
      s.batch([
        { op: 'set', key: 'order:first', value: '1' },
        { op: 'indexAdd', key: 'order:not-an-index', members: ['m'], ttlMs: 60_000 },
        { op: 'set', key: 'order:last', value: '3' },
      ]),
    ).rejects.toThrow(/WRONGTYPE/);
    expect(await s.get('order:first')).toBe('1');
    expect(await s.get('order:last')).toBeUndefined();
  });

  it('keeps an index member a minute longer than asked: its node may count time ahead of the entry’s', async () => {
    const s = createRedisStore({ clusterNodes: cluster.nodes }, { log: quiet });
    try {
      await storeAnswers(s);
      await s.batch([
        { op: 'set', key: 'grace:entry', value: 'v', options: { ttlMs: 150 } },
        { op: 'indexAdd', key: 'grace:index', members: ['entry'], ttlMs: 150 },
      ]);
      expect(await s.ttlMs('grace:entry')).toBeLessThanOrEqual(150);
      const ttl = await s.ttlMs('grace:index');
      expect(ttl).toBeGreaterThan(CLUSTER_INDEX_GRACE_MS);
      expect(ttl).toBeLessThanOrEqual(CLUSTER_INDEX_GRACE_MS + 150);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await s.get('grace:entry')).toBeUndefined();
      expect(await s.indexMembers('grace:index')).toEqual(['entry']);
    } finally {
      await s.close();
    }
  });
});

describe('the memory store', () => {
  it('keeps an entry of a TTL below a millisecond for a whole one, as Redis does', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 0 });
    try {
      await s.set('tiny', 'v', { ttlMs: 1e-6 });
      await s.batch([{ op: 'indexAdd', key: 'tiny-index', members: ['m'], ttlMs: Number.MIN_VALUE }]);
      expect(await s.get('tiny')).toBe('v');
      expect(await s.indexMembers('tiny-index')).toEqual(['m']);
      clock.advanceMs(1);
      expect(await s.get('tiny')).toBeUndefined();
    } finally {
      await s.close();
    }
  });
});
