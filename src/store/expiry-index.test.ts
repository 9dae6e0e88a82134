import { describe, expect, it } from 'vitest';
import { BUCKET_MS, ExpiryIndex } from './expiry-index.js';

describe('ExpiryIndex', () => {
  it('hands back the buckets that have begun, soonest first, and keeps the rest', () => {
    const index = new ExpiryIndex();
    const t0 = 1_800_000_000_000;
    for (const [key, at] of [
      ['c', t0 + 5 * BUCKET_MS],
      ['a', t0 + 10],
      ['never', Infinity],
      ['b', t0 + 2 * BUCKET_MS + 1],
      ['a2', t0 + 999],
      ['z', t0 + 60 * BUCKET_MS],
    ] as const)
      index.add(key, at);
    expect(index.size).toBe(5);
    // The current second's bucket is due as soon as it begins: a2 expires later in it.
    expect(index.takeDue(t0 + 10)).toEqual([{ bucket: t0 / BUCKET_MS, keys: ['a', 'a2'] }]);
    expect(index.takeDue(t0 + 10)).toEqual([]);
    expect(index.takeDue(t0 + 5 * BUCKET_MS)).toEqual([
      { bucket: t0 / BUCKET_MS + 2, keys: ['b'] },
      { bucket: t0 / BUCKET_MS + 5, keys: ['c'] },
    ]);
    expect(index.size).toBe(1);
    index.clear();
    expect(index.takeDue(Infinity)).toEqual([]);
  });

  it('orders many buckets added in any order', () => {
    const index = new ExpiryIndex();
    const seconds = Array.from({ length: 500 }, (_, i) => (i * 7919) % 500);
    for (const s of seconds) index.add(`k${s}`, s * BUCKET_MS);
    const taken = index.takeDue(499 * BUCKET_MS).map((d) => d.bucket);
    expect(taken).toEqual([...taken].sort((a, b) => a - b));
    expect(taken).toHaveLength(500);
  });
});
