import type { Cluster, Redis } from 'ioredis';
import type { ScanResult } from './store.js';

/**
 * Keys a SCAN call is asked to look at (its COUNT): enough that a store of a million keys takes
 * about a thousand round trips, few enough that one call never holds Redis for long.
 */
export const SCAN_COUNT = 1000;

/** `value` as a SCAN MATCH pattern matching itself only (glob characters escaped). */
export const globLiteral = (value: string): string => value.replace(/[\\*?[\]]/g, '\\$&');

/**
 * The Redis store's {@link Store.scanPrefix}: SCAN with MATCH `<prefix>*` and {@link SCAN_COUNT},
 * on the one server of a standalone or Sentinel setup, or on every master of a Cluster (a key
 * lives on one master only; replicas hold the same keys). SCAN may return a key twice: each is
 * listed once. Stops once a key beyond `limit` is found, so the keys held in memory are bounded
 * by `limit`, and the calls made by the size of the key space over {@link SCAN_COUNT}.
 * Connection and server errors reject as the stream reports them (the caller classifies them).
 */
export const scanPrefixOn = async (
  client: Redis | Cluster,
  isCluster: boolean,
  prefix: string,
  limit: number,
): Promise<ScanResult> => {
  const nodes = isCluster ? (client as Cluster).nodes('master') : [client as Redis];
  const found = new Set<string>();
  for (const node of nodes) {
    const stream = node.scanStream({ match: `${globLiteral(prefix)}*`, count: SCAN_COUNT });
    // Leaving the loop early (break, or an error) destroys the stream: no further SCAN is sent.
    for await (const batch of stream as AsyncIterable<string[]>) {
      for (const key of batch) {
        if (found.has(key)) continue;
        if (found.size === limit) return { keys: [...found], complete: false };
        found.add(key);
      }
    }
  }
  return { keys: [...found], complete: true };
};
