import type { Clock } from '../lib/clock.js';
import type { SetOptions, Store } from './store.js';

type Entry = { value: string; expiresAtMs: number };

export type MemoryStoreOptions = {
  clock: Clock;
  /** How often expired entries are swept, in ms. Default 30 000. 0 disables the timer (tests). */
  sweepIntervalMs?: number;
};

/**
 * The embedded store: one process, nothing persisted. Expiry is read from the injected clock on
 * every access, and a background sweep (unref'd, so it never keeps the process alive) drops
 * expired entries so that memory stays bounded by what is live.
 */
export const createMemoryStore = ({
  clock,
  sweepIntervalMs = 30_000,
}: MemoryStoreOptions): Store & {
  size(): number;
  sweep(): void;
  /** Every live key and value, for tests that read the raw store. */
  entries(): Array<[string, string]>;
} => {
  const data = new Map<string, Entry>();
  const live = (key: string): Entry | undefined => {
    const e = data.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAtMs <= clock.nowMs()) {
      data.delete(key);
      return undefined;
    }
    return e;
  };
  const sweep = () => {
    const now = clock.nowMs();
    for (const [k, e] of data) if (e.expiresAtMs <= now) data.delete(k);
  };
  const timer = sweepIntervalMs > 0 ? setInterval(sweep, sweepIntervalMs) : undefined;
  timer?.unref();
  const expiry = (ttlMs: number | undefined) => (ttlMs === undefined ? Infinity : clock.nowMs() + ttlMs);

  return {
    get: async (key) => live(key)?.value,
    set: async (key, value, options: SetOptions = {}) => {
      const exists = live(key) !== undefined;
      if (options.mode === 'if-absent' && exists) return false;
      if (options.mode === 'if-present' && !exists) return false;
      data.set(key, { value, expiresAtMs: expiry(options.ttlMs) });
      return true;
    },
    delete: async (...keys) => {
      let n = 0;
      for (const k of keys) if (live(k) !== undefined && data.delete(k)) n++;
      return n;
    },
    incrBy: async (key, delta, options = {}) => {
      const e = live(key);
      const current = e === undefined ? 0 : Number(e.value);
      if (!Number.isInteger(current)) throw new TypeError(`value at ${key} is not an integer`);
      const next = current + delta;
      data.set(key, { value: String(next), expiresAtMs: e?.expiresAtMs ?? expiry(options.ttlMs) });
      return next;
    },
    ttlMs: async (key) => {
      const e = live(key);
      if (e === undefined) return undefined;
      return e.expiresAtMs === Infinity ? Infinity : e.expiresAtMs - clock.nowMs();
    },
    ping: async () => {},
    close: async () => {
      if (timer) clearInterval(timer);
      data.clear();
    },
    size: () => data.size,
    sweep,
    entries: () => {
      sweep();
      return [...data].map(([k, e]) => [k, e.value]);
    },
  };
};
