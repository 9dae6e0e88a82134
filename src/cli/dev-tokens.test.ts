import { describe, expect, it } from 'vitest';
import { mapLimit } from './dev-tokens.js';

describe('mapLimit (dev tokens mints through it)', () => {
  it('keeps the order of its items and at most `limit` in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 5 * (8 - n)));
      inFlight--;
      return n * 10;
    });
    expect(out).toEqual([10, 20, 30, 40, 50, 60, 70]);
    expect(most).toBe(3);
  });

  it('starts nothing more once one item failed, and rejects with that failure', async () => {
    const started: number[] = [];
    const items = Array.from({ length: 1000 }, (_, i) => i);
    const run = mapLimit(items, 16, async (n) => {
      started.push(n);
      await new Promise((r) => setTimeout(r, 1));
      if (n === 20) throw new Error('pod 20 exists for another service account');
      return n;
    });
    await expect(run).rejects.toThrow('pod 20 exists');
    await new Promise((r) => setTimeout(r, 50));
    // The sixteen workers each finish the item they hold; none takes another.
    expect(started.length).toBeLessThan(20 + 16 + 1);
  });
});
