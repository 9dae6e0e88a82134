import { describe, expect, it, vi } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { createMemoryStore } from './memory-store.js';

describe('memory store', () => {
  it('expires entries by the injected clock', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 0 });
    await s.set('a', '1', { ttlMs: 1000 });
    expect(await s.get('a')).toBe('1');
    expect(await s.ttlMs('a')).toBe(1000);
    clock.advanceMs(1000);
    expect(await s.get('a')).toBeUndefined();
    expect(s.size()).toBe(0);
  });

  it('keeps every expiry to the millisecond, however far, and before its own creation', async () => {
    // Expiries are kept as seconds and milliseconds after the store's creation: none may drift.
    const clock = createFakeClock(1_795_000_000_123);
    const s = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const fortyDays = 40 * 86_400_000 + 7;
    await s.set('near', '1', { ttlMs: 1 });
    await s.set('second', '2', { ttlMs: 2_999 });
    await s.set('far', '3', { ttlMs: fortyDays });
    expect(await s.ttlMs('near')).toBe(1);
    expect(await s.ttlMs('second')).toBe(2_999);
    expect(await s.ttlMs('far')).toBe(fortyDays);
    clock.advanceMs(1);
    expect(await s.get('near')).toBeUndefined();
    clock.advanceMs(2_997);
    expect(await s.ttlMs('second')).toBe(1);
    clock.advanceMs(1);
    expect(await s.get('second')).toBeUndefined();
    clock.advanceMs(fortyDays - 3_000);
    expect(await s.ttlMs('far')).toBe(1);
    clock.advanceMs(1);
    expect(await s.get('far')).toBeUndefined();
    // A clock stepped back to before the store was made.
    clock.advanceMs(-(fortyDays + 10_500));
    await s.set('past', '4', { ttlMs: 1_250 });
    expect(await s.ttlMs('past')).toBe(1_250);
    clock.advanceMs(1_249);
    expect(await s.get('past')).toBe('4');
    clock.advanceMs(1);
    expect(await s.get('past')).toBeUndefined();
  });

  it('honours if-absent and if-present', async () => {
    const s = createMemoryStore({ clock: createFakeClock(), sweepIntervalMs: 0 });
    expect(await s.set('k', 'x', { mode: 'if-present' })).toBe(false);
    expect(await s.set('k', 'x', { mode: 'if-absent' })).toBe(true);
    expect(await s.set('k', 'y', { mode: 'if-absent' })).toBe(false);
    expect(await s.set('k', 'z', { mode: 'if-present' })).toBe(true);
    expect(await s.get('k')).toBe('z');
    expect(await s.ttlMs('k')).toBe(Infinity);
  });

  it('counts atomically and keeps the TTL set at creation', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 0 });
    expect(await s.incrBy('c', 1, { ttlMs: 500 })).toBe(1);
    expect(await s.incrBy('c', -3, { ttlMs: 9999 })).toBe(-2);
    clock.advanceMs(500);
    expect(await s.get('c')).toBeUndefined();
  });

  it('sweeps expired entries and deletes', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 0 });
    await s.set('a', '1', { ttlMs: 10 });
    await s.set('b', '2');
    clock.advanceMs(11);
    s.sweep();
    expect(s.size()).toBe(1);
    expect(await s.delete('b', 'nope')).toBe(1);
  });

  it('sweeps in the background only what has expired, whatever was set again since', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 5 });
    await s.set('gone', 'v', { ttlMs: 10 });
    await s.set('longer', 'v', { ttlMs: 10 });
    await s.set('longer', 'v2', { ttlMs: 60_000 });
    await s.set('forever', 'v', { ttlMs: 10 });
    await s.set('forever', 'v2');
    await s.batch([{ op: 'indexAdd', key: 'index', members: ['x'], ttlMs: 10 }]);
    await s.batch([{ op: 'indexAdd', key: 'index', members: ['y'], ttlMs: 60_000 }]);
    await s.set('later', 'v', { ttlMs: 900 });
    expect(s.size()).toBe(5);
    clock.advanceMs(11);
    // Only the entry that expired goes; 'later' expires later in the same second.
    await vi.waitFor(() => expect(s.size()).toBe(4), { timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(s.size()).toBe(4);
    clock.advanceMs(890);
    // Filed again at the first sweep, it is taken at a later one.
    await vi.waitFor(() => expect(s.size()).toBe(3), { timeout: 5000 });
    expect(await s.get('longer')).toBe('v2');
    expect(await s.get('forever')).toBe('v2');
    // A member's expiry is kept to the second, rounded up: x's (10 ms) is at 1 s.
    expect((await s.indexMembers('index')).sort()).toEqual(['x', 'y']);
    clock.advanceMs(100);
    expect(await s.indexMembers('index')).toEqual(['y']);
    clock.advanceMs(59_900);
    await vi.waitFor(() => expect(s.size()).toBe(1), { timeout: 5000 });
    expect(await s.get('forever')).toBe('v2');
    await s.close();
  });

  it('files an index once however often it is extended, and sweeps it once it has expired', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 5 });
    // As the logins of one pod: each adds its token to the pod's index and extends it a little.
    for (let i = 0; i < 3000; i++) {
      await s.batch([{ op: 'indexAdd', key: 'pod-set', members: [`token-${i}`], ttlMs: 10_000 }]);
      clock.advanceMs(1);
    }
    expect(s.filed()).toBe(1);
    // Its first filing comes due (second 10): the sweep files it again under its expiry now.
    clock.advanceMs(7_500);
    await vi.waitFor(() => expect(s.filed()).toBe(1), { timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(s.filed()).toBe(1);
    // Members' expiries are kept to the second, rounded up: only the first token's (10 s) is past.
    expect(await s.indexMembers('pod-set')).toHaveLength(2999);
    // Expired (12 999 ms after the start), it goes at the next sweep, without being read.
    clock.advanceMs(2_500);
    await vi.waitFor(() => expect(s.size()).toBe(0), { timeout: 5000 });
    expect(s.filed()).toBe(0);
    await s.close();
  });

  it('files a value once however often it is set to expire later, and sweeps it once it has expired', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 5 });
    // As one token renewed in a loop: its record set again, each time to expire a little later.
    for (let i = 0; i < 3000; i++) {
      await s.set('record', `v${i}`, { ttlMs: 10_000 });
      clock.advanceMs(1);
    }
    expect(s.filed()).toBe(1);
    // Its first filing comes due: the sweep files it again under its expiry now, and keeps it.
    clock.advanceMs(7_500);
    await vi.waitFor(() => expect(s.filed()).toBe(1), { timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await s.get('record')).toBe('v2999');
    // Set to expire sooner, it is filed under the sooner second and goes then.
    await s.set('record', 'short', { ttlMs: 500 });
    clock.advanceMs(1_000);
    await vi.waitFor(() => expect(s.size()).toBe(0), { timeout: 5000 });
    // Its later filing, stale now, goes when its second comes.
    clock.advanceMs(15_000);
    await vi.waitFor(() => expect(s.filed()).toBe(0), { timeout: 5000 });
    await s.close();
  });

  it('keeps one filing a value, however its expiry moves back and forth or it is deleted and set anew', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 5 });
    for (let i = 0; i < 200; i++) {
      await s.set('token', `v${i}`, { ttlMs: i % 2 === 0 ? 60_000 : 30_000 });
      if (i % 10 === 0) {
        await s.delete('token');
        await s.set('token', `again${i}`, { ttlMs: 45_000 });
      }
      clock.advanceMs(100);
    }
    await s.set('token', 'final', { ttlMs: 600_000 });
    // Filed again only when its expiry moved sooner or it was set anew; as those filings come due
    // one after the other, each stale one goes and the live one is kept, once.
    for (let t = 0; t < 120; t++) {
      clock.advanceMs(1_000);
      await new Promise((resolve) => setTimeout(resolve, 6));
    }
    await vi.waitFor(() => expect(s.filed()).toBe(1), { timeout: 5000 });
    expect(await s.get('token')).toBe('final');
    clock.advanceMs(600_000);
    await vi.waitFor(() => expect(s.filed()).toBe(0), { timeout: 5000 });
    expect(s.size()).toBe(0);
    await s.close();
  });

  it('holds in an index about what is live, however many logins it has seen', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 0 });
    // A role's index: a login every 100 ms for an hour, each token living 60 s.
    for (let i = 0; i < 36_000; i++) {
      await s.batch([{ op: 'indexAdd', key: 'role', members: [`token-${i}`], ttlMs: 60_000 }]);
      clock.advanceMs(100);
    }
    const live = await s.indexMembers('role');
    expect(live.length).toBeGreaterThanOrEqual(599);
    expect(live.length).toBeLessThanOrEqual(610);
    const held = JSON.parse(new Map(s.entries()).get('role') ?? '[]') as string[];
    expect(held.length).toBeLessThanOrEqual(2 * live.length);
    await s.close();
  });

  it('counts and sweeps a large store in slices, letting requests run in between', async () => {
    const clock = createFakeClock();
    const s = createMemoryStore({ clock, sweepIntervalMs: 5 });
    for (let i = 0; i < 12_000; i++) await s.set(`t:${i}`, 'v', { ttlMs: i % 2 === 0 ? 10 : 60_000 });
    await s.set('other', 'v');
    let interleaved = false;
    const counting = s.countPrefix('t:');
    setImmediate(() => {
      interleaved = true;
    });
    expect(await counting).toBe(12_000);
    expect(interleaved).toBe(true);
    clock.advanceMs(11);
    await vi.waitFor(() => expect(s.size()).toBe(6001), { timeout: 5000 });
    expect(await s.countPrefix('t:')).toBe(6000);
    await s.close();
  });
});
