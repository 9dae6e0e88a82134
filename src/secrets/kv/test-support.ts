import { createFakeClock, type FakeClock } from '../../lib/clock.js';
import { createKeys, createMemoryStore, type MemoryStore } from '../../store/index.js';
import { createSecretCipher } from '../cipher.js';
import { createKvEngine } from './engine.js';
import type { KvEngineDeps } from './types.js';

/** A mount as `authgate.yaml` would give it; override what the test is about. */
export const mountConfig = (over: Partial<KvEngineDeps['mount']> = {}): KvEngineDeps['mount'] => ({
  path: 'secret',
  maxVersions: 0,
  casRequired: false,
  deleteVersionAfterSeconds: 0,
  ...over,
});

/**
 * A KV engine over a memory store on a fake clock. `engine2` is a second replica on the same
 * store (its own cipher instance over the same key material).
 */
export const setup = (
  options: { mount?: Partial<KvEngineDeps['mount']>; deps?: Partial<KvEngineDeps>; store?: MemoryStore } = {},
) => {
  const clock: FakeClock = createFakeClock(Date.UTC(2026, 0, 1, 12, 0, 0));
  const store = options.store ?? createMemoryStore({ clock, sweepIntervalMs: 0 });
  const keys = createKeys();
  const key = Buffer.alloc(32, 9);
  const deps = (): KvEngineDeps => ({
    store,
    keys,
    clock,
    cipher: createSecretCipher(key),
    mount: mountConfig(options.mount),
    sleep: () => new Promise((resolve) => setImmediate(resolve)),
    ...options.deps,
  });
  return { clock, store, keys, engine: createKvEngine(deps()), engine2: createKvEngine(deps()) };
};

/** The error a promise rejects with (fails the test when it resolves). */
export const rejection = async (pending: Promise<unknown>): Promise<unknown> => {
  try {
    await pending;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
};

/** `{code, message}` of an AuthgateError (or the thrown value itself). */
export const failure = async (pending: Promise<unknown>) => {
  const err = (await rejection(pending)) as { code?: string; message?: string; status?: number };
  return { code: err.code, status: err.status, message: err.message };
};
