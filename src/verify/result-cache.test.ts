import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { createMemoryResultCache } from './result-cache.js';

describe('createMemoryResultCache', () => {
  it('expires an entry on the injected clock', async () => {
    const clock = createFakeClock();
    const cache = createMemoryResultCache<{ v: number }>({ clock, maxEntries: 10 });
    await cache.set('k', { v: 1 }, 1000);
    clock.advanceMs(1000);
    expect(await cache.get('k')).toEqual({ v: 1 });
    clock.advanceMs(1);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('stores nothing for a TTL of zero or less', async () => {
    const cache = createMemoryResultCache<{ v: number }>({ clock: createFakeClock(), maxEntries: 10 });
    await cache.set('a', { v: 1 }, 0);
    await cache.set('b', { v: 1 }, -5);
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBeUndefined();
  });

  it('is bounded in entries, dropping the least recently used', async () => {
    const cache = createMemoryResultCache<{ v: number }>({ clock: createFakeClock(), maxEntries: 2 });
    await cache.set('a', { v: 1 }, 10_000);
    await cache.set('b', { v: 2 }, 10_000);
    await cache.get('a');
    await cache.set('c', { v: 3 }, 10_000);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toEqual({ v: 1 });
  });

  it('stores nothing proven before an invalidation or a clear that came since its mark', async () => {
    const identity = { namespace: 'test', serviceAccount: { name: 'nginx', uid: 'u' } };
    const cache = createMemoryResultCache<{ id: typeof identity }>({
      clock: createFakeClock(),
      maxEntries: 10,
      identityOf: (v) => v.id as never,
    });
    const before = await cache.mark();
    await cache.invalidate({ namespace: 'other', serviceAccount: 'x' });
    await cache.set('a', { id: identity }, 10_000, before);
    expect(await cache.get('a')).toBeUndefined();
    const afterInvalidation = await cache.mark();
    await cache.clear();
    await cache.set('a', { id: identity }, 10_000, afterInvalidation);
    expect(await cache.get('a')).toBeUndefined();
    await cache.set('a', { id: identity }, 10_000, await cache.mark());
    expect(await cache.get('a')).toEqual({ id: identity });
  });

  it('refuses a non-positive bound as caller misuse', () => {
    expect(() => createMemoryResultCache({ clock: createFakeClock(), maxEntries: 0 })).toThrow(TypeError);
  });
});
