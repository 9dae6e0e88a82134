import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GrowingSet, ShardedMap } from './sharded.js';

const randomKeys = (n: number, prefix = 'ag:token:') =>
  Array.from({ length: n }, () => prefix + randomBytes(12).toString('base64url'));

describe('ShardedMap', () => {
  it('behaves as a Map: get, has, set, delete, size, iteration, clear', () => {
    const keys = [...randomKeys(3000), 'a', '', 'ag:index:role:kubernetes/nginx'];
    const map = new ShardedMap<number>();
    const model = new Map<string, number>();
    keys.forEach((k, i) => {
      map.set(k, i);
      model.set(k, i);
    });
    map.set('a', -1);
    model.set('a', -1);
    for (const k of keys.slice(0, 1000)) expect(map.delete(k)).toBe(model.delete(k));
    expect(map.delete('never')).toBe(false);
    expect(map.size).toBe(model.size);
    for (const k of keys) {
      expect(map.get(k)).toBe(model.get(k));
      expect(map.has(k)).toBe(model.has(k));
    }
    expect(new Map(map)).toEqual(model);
    map.clear();
    expect(map.size).toBe(0);
  });

  it('spreads random keys over its shards', () => {
    // Indirectly: with 16 shards, iteration yields keys grouped by shard, so a key's position in
    // iteration differs from insertion order unless every key fell in one shard.
    const keys = randomKeys(1000);
    const map = new ShardedMap<true>(16);
    for (const k of keys) map.set(k, true);
    expect([...map].map(([k]) => k)).not.toEqual(keys);
  });

  it('refuses a shard count that is not a power of two', () => {
    expect(() => new ShardedMap(100)).toThrow(TypeError);
  });
});

describe('GrowingSet', () => {
  it('keeps every member across the split into shards, and deletes from either form', () => {
    const members = randomKeys(10_000);
    const set = new GrowingSet();
    set.add(members[0] as string);
    expect(set.delete(members[0] as string)).toBe(true);
    expect(set.size).toBe(0);
    for (const m of members) set.add(m);
    set.add(members[5] as string);
    expect(set.size).toBe(10_000);
    expect(new Set(set)).toEqual(new Set(members));
    expect(set.delete(members[1] as string)).toBe(true);
    expect(set.delete(members[1] as string)).toBe(false);
    expect(set.has(members[1] as string)).toBe(false);
    expect(set.has(members[2] as string)).toBe(true);
    expect(set.size).toBe(9999);
  });
});
