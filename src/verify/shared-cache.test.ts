import { describe, expect, it } from 'vitest';
import { systemClock } from '../lib/clock.js';
import { signEntry } from '../lib/hash.js';
import { createKeys, createMemoryStore } from '../store/index.js';
import { createMemoryResultCache } from './result-cache.js';
import { createSharedCache } from './shared-cache.js';
import { silent } from './test-fixtures.js';

type Value = { n: number };

const MAC_KEY = Buffer.alloc(32, 3);

/** A replica's cache over `store`, as a gateway over a Redis. */
const replicaOver = <V extends object = Value>(
  store: ReturnType<typeof createMemoryStore>,
  keys: ReturnType<typeof createKeys>,
) =>
  createSharedCache<V>(createMemoryResultCache<V>({ clock: systemClock, maxEntries: 100 }), {
    store,
    keys,
    clock: systemClock,
    log: silent,
    kind: 'test',
    macKey: MAC_KEY,
    lockTtlMs: 5000,
    pollMs: 2,
  });

/** Two replicas' caches over one store, as two gateways over one Redis. */
const replicas = () => {
  const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
  const keys = createKeys();
  return { a: replicaOver(store, keys), b: replicaOver(store, keys), store, keys };
};

describe('the shared verification cache', () => {
  it('makes one fill for concurrent misses on two replicas; the other gets its result', async () => {
    const { a, b } = replicas();
    let fills = 0;
    const fill = (n: number) => async () => {
      fills++;
      await new Promise((resolve) => setTimeout(resolve, 30));
      const value = { n };
      await a.set('k', value, 60_000);
      return value;
    };
    const [fromA, fromB] = await Promise.all([a.fillOnce('k', fill(1)), b.fillOnce('k', fill(2))]);
    expect(fills).toBe(1);
    expect(fromB).toEqual(fromA);
  });

  it('does not fill again when the lock is free because another replica has just filled', async () => {
    // A replica that missed, then found the lock free: the other had stored its result and let go.
    const { a, b } = replicas();
    await a.fillOnce('k', async () => {
      const value = { n: 1 };
      await a.set('k', value, 60_000);
      return value;
    });
    let filledAgain = false;
    const value = await b.fillOnce('k', async () => {
      filledAgain = true;
      return { n: 2 };
    });
    expect(filledAgain).toBe(false);
    expect(value).toEqual({ n: 1 });
  });

  it.each(['{not json', 'null', '{"v":1,"expMs":9e15}', '{"v":{"n":1}}'])(
    'reads a damaged entry %s as a miss, and fills',
    async (raw) => {
      const { a, store, keys } = replicas();
      await store.set(keys.verified('test', 'k'), raw, { ttlMs: 60_000 });
      expect(await a.get('k')).toBeUndefined();
      expect(await a.fillOnce('k', async () => ({ n: 7 }))).toEqual({ n: 7 });
    },
  );

  it('reads an entry without a valid MAC as a miss: whoever can write the store cannot forge a result', async () => {
    const { a, b, store, keys } = replicas();
    await a.set('k', { n: 1 }, 60_000);
    expect(await b.get('k')).toEqual({ n: 1 });
    const key = keys.verified('test', 'k');
    const signed = (await store.get(key)) ?? '';
    const forged = signed.replace('"n":1', '"n":2');
    expect(forged).not.toBe(signed);
    // Altered, or written without a MAC: a new replica (nothing in memory) misses.
    for (const raw of [forged, forged.slice(forged.indexOf('.') + 1)]) {
      await store.set(key, raw, { ttlMs: 60_000 });
      expect(await replicaOver(store, keys).get('k')).toBeUndefined();
    }
    // Nor may a signed entry be moved to another token's name.
    await store.set(keys.verified('test', 'other'), signed, { ttlMs: 60_000 });
    expect(await replicaOver(store, keys).get('other')).toBeUndefined();
  });
});

describe('the shared cache and revocation by identity', () => {
  type Reviewed = {
    n: number;
    identity: { namespace: string; serviceAccount: { name: string }; pod: { uid: string } };
  };
  const reviewed: Reviewed = {
    n: 1,
    identity: { namespace: 'test', serviceAccount: { name: 'nginx' }, pod: { uid: 'p1' } },
  };
  const cacheOver = (store: ReturnType<typeof createMemoryStore>, keys: ReturnType<typeof createKeys>) =>
    replicaOver<Reviewed>(store, keys);

  it('lists an entry before it writes it: an index write that fails leaves no entry to find', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const keys = createKeys();
    // As on Redis Cluster: write by write, stopping at the first failure; here the index's.
    const failing = Object.assign(Object.create(store) as typeof store, {
      batch: async (ops: Parameters<typeof store.batch>[0]) => {
        const results: boolean[] = [];
        for (const op of ops) {
          if (op.op === 'indexAdd') throw new Error('CLUSTERDOWN');
          results.push(...(await store.batch([op])));
        }
        return results;
      },
    });
    await cacheOver(failing, keys).set('k', reviewed, 60_000);
    expect(await cacheOver(store, keys).get('k')).toBeUndefined();
  });

  it('drops entries an earlier version listed in its plain sets', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const [a, b] = [cacheOver(store, keys), cacheOver(store, keys)];
    await a.set('k', reviewed, 60_000);
    // As a replica of the earlier version lists it: in a plain set under the old key.
    const key = keys.verified('test', 'k');
    await store.indexRemove(keys.index('verified-pod', 'p1'), [key]);
    await store.setAdd(keys.legacyIndex('verified-pod', 'p1'), [key]);
    expect(await a.invalidate({ podUid: 'p1' })).toBe(1);
    expect(await b.get('k')).toBeUndefined();
  });
  it('does not store a value proven before another replica revoked, on either replica', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const [a, b] = [cacheOver(store, keys), cacheOver(store, keys)];
    const since = await a.mark();
    // The review is in flight on a when b's operator revokes the pod: nothing is cached yet.
    expect(await b.invalidate({ podUid: 'p1' })).toBe(0);
    await a.set('k', reviewed, 60_000, since);
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBeUndefined();
    // A value proven after the revocation is cached as before.
    await a.set('k', reviewed, 60_000, await a.mark());
    expect(await b.get('k')).toEqual(reviewed);
  });

  it('takes a value back when the revocation lands between its check and its write', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const b = cacheOver(store, keys);
    let revoked: Promise<number> | undefined;
    // The revocation runs whole (epoch raised, indexes read and dropped) just before a's write.
    const racing = Object.assign(Object.create(store) as typeof store, {
      batch: async (ops: Parameters<typeof store.batch>[0]) => {
        revoked ??= b.invalidate({ podUid: 'p1' });
        await revoked;
        return store.batch(ops);
      },
    });
    const a = cacheOver(racing, keys);
    await a.set('k', reviewed, 60_000, await a.mark());
    expect(await revoked).toBe(0);
    expect(await store.get(keys.verified('test', 'k'))).toBeUndefined();
    expect(await a.get('k')).toBeUndefined();
    expect(await b.get('k')).toBeUndefined();
  });

  it('keeps it out of a third replica that reads it in the moment before its writer takes it back', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const [b, c] = [cacheOver(store, keys), cacheOver(store, keys)];
    let seenByC: Reviewed | undefined | 'unread' = 'unread';
    const racing = Object.assign(Object.create(store) as typeof store, {
      batch: async (ops: Parameters<typeof store.batch>[0]) => {
        await b.invalidate({ podUid: 'p1' });
        const written = await store.batch(ops);
        // C has heard of the revocation (its message came first) and then misses on the key.
        await new Promise((resolve) => setImmediate(resolve));
        seenByC = await c.get('k');
        return written;
      },
    });
    const a = cacheOver(racing, keys);
    await a.set('k', reviewed, 60_000, await a.mark());
    expect(seenByC).toBeUndefined();
    expect(await c.get('k')).toBeUndefined();
    expect(await a.get('k')).toBeUndefined();
  });

  it('keeps it out of a replica started after the revocation, which heard no message of it', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const b = cacheOver(store, keys);
    let seenByNew: Reviewed | undefined | 'unread' = 'unread';
    const racing = Object.assign(Object.create(store) as typeof store, {
      batch: async (ops: Parameters<typeof store.batch>[0]) => {
        await b.invalidate({ podUid: 'p1' });
        const written = await store.batch(ops);
        seenByNew = await cacheOver(store, keys).get('k');
        return written;
      },
    });
    const a = cacheOver(racing, keys);
    await a.set('k', reviewed, 60_000, await a.mark());
    expect(seenByNew).toBeUndefined();
  });

  it('takes no entry whose epoch it cannot read (that key on a node that is down)', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const a = cacheOver(store, keys);
    await a.set('k', reviewed, 60_000, await a.mark());
    const epochDown = Object.assign(Object.create(store) as typeof store, {
      get: async (key: string) => {
        if (key === keys.verifiedEpoch('test')) throw new Error('CLUSTERDOWN');
        return store.get(key);
      },
    });
    expect(await cacheOver(epochDown, keys).get('k')).toBeUndefined();
    expect(await cacheOver(store, keys).get('k')).toEqual(reviewed);
  });

  it('raises back an epoch the store lost, so that new entries are taken again', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const [a, b] = [cacheOver(store, keys), cacheOver(store, keys)];
    await a.invalidate({ podUid: 'p1' });
    await a.invalidate({ podUid: 'p1' });
    await store.delete(keys.verifiedEpoch('test')); // Redis restarted without its data
    await a.set('k', reviewed, 60_000, await a.mark());
    expect(await b.get('k')).toEqual(reviewed);
  });

  it('does not hand a waiter a value proven under an epoch older than its own', async () => {
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const [a, b] = [cacheOver(store, keys), cacheOver(store, keys)];
    const before = await a.mark();
    await b.invalidate({ podUid: 'p1' });
    // As an old review's value in the moment before its writer takes it back.
    const stale = { v: reviewed, expMs: Date.now() + 60_000, ep: before.slice(before.indexOf(':') + 1) };
    const key = keys.verified('test', 'k');
    await store.set(key, signEntry(MAC_KEY, key, JSON.stringify(stale)), { ttlMs: 60_000 });
    const fresh = { ...reviewed, n: 2 };
    expect(await b.fillOnce('k', async () => fresh, await b.mark())).toEqual(fresh);
  });
});
