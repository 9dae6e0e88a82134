import { describe, it } from 'vitest';
import { systemClock } from '../src/lib/clock.js';
import { createMemoryStore } from '../src/store/index.js';
import { runRekeyScenario } from './helpers/rekey-scenario.js';

describe('rotating the encryption key on the memory store', () => {
  it('reads under the previous key, seals under the new one, re-keys, then needs only the new one', async () => {
    // Servers that share one store stand for restarts of one process over the same data.
    const store = createMemoryStore({ clock: systemClock, sweepIntervalMs: 0 });
    await runRekeyScenario(async () => store, store);
  });
});
