import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { createKeys, createMemoryStore, StoreUnavailableError, type Store } from '../store/index.js';
import { STORE_BORN_RECHECK_MS } from './token-storage.js';
import { createTokenService } from './token-service.js';
import { issueInput } from './test-support.js';

/** A token service over a memory store whose reads fail while `down.now`. */
const serviceWithFlakyStore = () => {
  const clock = createFakeClock(Date.UTC(2026, 11, 1));
  const memory = createMemoryStore({ clock, sweepIntervalMs: 0 });
  const down = { now: false };
  const store = Object.assign(Object.create(memory) as Store, {
    get: async (key: string) => {
      if (down.now) throw new StoreUnavailableError('connection is closed');
      return memory.get(key);
    },
  });
  const tokens = createTokenService({ store, keys: createKeys(), clock, serverKey: Buffer.alloc(32, 9) });
  return { tokens, clock, down, memory };
};

describe("a batch login and the store's birth", () => {
  it('needs the store the first time, and later looks again without failing while it is down', async () => {
    const { tokens, clock, down } = serviceWithFlakyStore();
    down.now = true;
    await expect(tokens.issue(issueInput({ type: 'batch' }))).rejects.toMatchObject({ status: 503 });
    down.now = false;
    await tokens.issue(issueInput({ type: 'batch' }));
    down.now = true;
    clock.advanceMs(STORE_BORN_RECHECK_MS);
    const issued = await tokens.issue(issueInput({ type: 'batch' }));
    down.now = false;
    expect((await tokens.lookupToken(issued.clientToken)).type).toBe('batch');
  });

  it('looks again at once when the clock steps back', async () => {
    const { tokens, clock, memory } = serviceWithFlakyStore();
    await tokens.issue(issueInput({ type: 'batch' }));
    await memory.delete('ag:store-born');
    clock.advanceMs(-60_000);
    const issued = await tokens.issue(issueInput({ type: 'batch' }));
    clock.advanceMs(1000);
    expect((await tokens.lookupToken(issued.clientToken)).type).toBe('batch');
  });
});
