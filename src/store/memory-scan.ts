import type { ShardedMap } from './sharded.js';
import type { ScanResult } from './store.js';

/**
 * Entries visited per turn of the event loop by the memory store's whole-store passes (the
 * background sweep, the live count, a prefix scan). A store under load holds a million tokens and
 * more (one per login for its TTL); one synchronous pass over them held every request for tens of
 * milliseconds, every sweep and every metrics scrape.
 */
export const SLICE_ENTRIES = 5000;

/**
 * Calls `visit` on every entry of `map`, {@link SLICE_ENTRIES} at a time with a turn of the event
 * loop between slices. Entries added meanwhile may or may not be visited (Map iteration allows
 * deleting and adding while it runs). Resolves when done, or early once `stopped()` is true or
 * `visit` returns false.
 */
export const visitInSlices = async <E>(
  map: ShardedMap<E>,
  visit: (key: string, entry: E) => boolean | void,
  stopped: () => boolean,
): Promise<void> => {
  const it = map.entries();
  for (;;) {
    for (let n = 0; n < SLICE_ENTRIES; n++) {
      const next = it.next();
      if (next.done === true) return;
      if (visit(next.value[0], next.value[1]) === false) return;
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (stopped()) return;
  }
};

/**
 * The memory store's {@link Store.scanPrefix}: the keys of `map` starting with `prefix` whose
 * entry `isLive` says is live, visited in slices; at most `limit`, `complete` false when a key
 * beyond it was found.
 */
export const scanPrefixIn = async <E>(
  map: ShardedMap<E>,
  prefix: string,
  limit: number,
  isLive: (entry: E) => boolean,
  stopped: () => boolean,
): Promise<ScanResult> => {
  const keys: string[] = [];
  let complete = true;
  await visitInSlices(
    map,
    (key, entry) => {
      if (!key.startsWith(prefix) || !isLive(entry)) return true;
      if (keys.length === limit) {
        complete = false;
        return false;
      }
      keys.push(key);
      return true;
    },
    stopped,
  );
  return { keys, complete };
};
