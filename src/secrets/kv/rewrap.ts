import type { ResealCounts } from '../cipher.js';
import type { KvStorage } from './storage.js';

/** Versions of one secret re-sealed at once: bounds the store round trips in flight. */
const VERSIONS_PER_BATCH = 16;

/**
 * Re-seals every version of one mount that is sealed under a key other than the current one,
 * walking the mount's own folder index from the root: every secret the API can reach is found on
 * every store (memory, Redis standalone, Sentinel or Cluster) without a key scan, in steps of one
 * folder and one secret. Safe to run again and while replicas serve: each version is rewritten
 * only if it still exists, with the same data. `onUnopenable` hears each version left as it was
 * (its location, never its value).
 *
 * @throws AuthgateError UNAVAILABLE when the store fails (nothing half-written: run it again).
 */
export const rewrapMount = async (
  storage: Pick<KvStorage, 'listFolder' | 'loadMetadata' | 'resealVersion'>,
  onUnopenable: (path: string, version: number) => void,
): Promise<ResealCounts> => {
  const counts: ResealCounts = { resealed: 0, unopenable: 0 };
  const folders = [''];
  for (let folder = folders.pop(); folder !== undefined; folder = folders.pop()) {
    for (const entry of await storage.listFolder(folder)) {
      if (entry.endsWith('/')) {
        folders.push(folder + entry);
        continue;
      }
      const path = folder + entry;
      const meta = await storage.loadMetadata(path);
      if (meta === undefined) continue;
      const versions = Object.keys(meta.versions).map(Number);
      for (let i = 0; i < versions.length; i += VERSIONS_PER_BATCH) {
        const batch = versions.slice(i, i + VERSIONS_PER_BATCH);
        const outcomes = await Promise.all(batch.map((n) => storage.resealVersion(path, n)));
        outcomes.forEach((outcome, j) => {
          if (outcome === 'resealed') counts.resealed++;
          if (outcome === 'unopenable') {
            counts.unopenable++;
            onUnopenable(path, batch[j] as number);
          }
        });
      }
    }
  }
  return counts;
};
