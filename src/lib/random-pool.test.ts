import { describe, expect, it } from 'vitest';
import { createRandomPool } from './random-pool.js';

describe('createRandomPool', () => {
  it('hands out buffers of the size asked, never the same bytes twice', () => {
    const random = createRandomPool(256);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const b = random(48);
      expect(b).toHaveLength(48);
      seen.add(b.toString('hex'));
    }
    expect(seen.size).toBe(1000);
  });

  it('serves a request larger than the pool on its own', () => {
    expect(createRandomPool(16)(64)).toHaveLength(64);
  });

  it('hands out copies: changing one does not change the next', () => {
    const random = createRandomPool(64);
    const a = random(8);
    a.fill(0);
    expect(random(8).equals(Buffer.alloc(8))).toBe(false);
  });

  it('refuses a pool size that is not a positive integer', () => {
    expect(() => createRandomPool(0)).toThrow(TypeError);
  });
});
