import { describe, expect, it } from 'vitest';
import { ExpiringSet } from './expiring-set.js';

describe('ExpiringSet', () => {
  it('returns the live members, keeping the later expiry of a member added again', () => {
    const set = new ExpiringSet();
    set.add('a', 10, 0);
    set.add('b', 5, 0);
    set.add('a', 3, 0);
    set.add('b', 20, 0);
    expect(set.members(0).sort()).toEqual(['a', 'b']);
    expect(set.members(10)).toEqual(['b']);
    expect(set.members(20)).toEqual([]);
    expect(set.delete('b')).toBe(true);
    expect(set.delete('b')).toBe(false);
    expect(set.size).toBe(1);
  });

  it('holds about what is live however many members it was ever given, one expiry for all', () => {
    // A role's index: one login a tick, every token living 1 000 ticks.
    const set = new ExpiringSet();
    let largest = 0;
    for (let now = 0; now < 50_000; now++) {
      set.add(`token-${now}`, now + 1000, now);
      largest = Math.max(largest, set.size);
    }
    expect(set.members(49_999)).toHaveLength(1000);
    expect(largest).toBeLessThanOrEqual(2 * 1000 + 10);
  });

  it('drops short-lived members behind long-lived ones, in either form (split or not)', () => {
    // Tokens of mixed lifetimes (a periodic token, renewed ones, a role whose TTL was changed):
    // one in ten lives 100 000 ticks, the rest 100. A set that dropped members only from its front
    // would keep every short-lived one behind the first long-lived one.
    for (const [count, long] of [
      [3000, 10],
      [60_000, 10],
    ] as const) {
      const set = new ExpiringSet();
      let largest = 0;
      for (let now = 0; now < count; now++) {
        set.add(`t${now}`, now + (now % long === 0 ? 100_000 : 100), now);
        largest = Math.max(largest, set.size);
      }
      const live = set.members(count - 1).length;
      expect(live).toBe(count / long + 99 - Math.floor(99 / long));
      expect(set.size).toBeLessThanOrEqual(2 * live + 10);
      expect(largest).toBeLessThanOrEqual(2 * live + 10);
    }
  });

  it('keeps every live member across the split into shards', () => {
    const set = new ExpiringSet();
    for (let i = 0; i < 10_000; i++) set.add(`m${i}`, 1_000_000, i);
    expect(set.size).toBe(10_000);
    expect(new Set(set.members(0))).toEqual(new Set(Array.from({ length: 10_000 }, (_, i) => `m${i}`)));
  });
});
