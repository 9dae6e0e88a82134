import { randomUUID } from 'node:crypto';
import type { Clock } from '../lib/clock.js';
import { openEntry, signEntry } from '../lib/hash.js';
import type { Keys, Store } from '../store/index.js';
import type { JwksDocument, JwksSource } from './jwks-source.js';
import type { VerifierLog } from './verifier-log.js';

export type SharedJwksDeps = {
  store: Pick<Store, 'get' | 'set' | 'publish' | 'subscribe'>;
  keys: Pick<Keys, 'jwks' | 'invalidationChannel'>;
  clock: Clock;
  log: VerifierLog;
  /** Cache namespace, e.g. `jwks:<mount>`. */
  kind: string;
  /** A key set another replica fetched less than this long ago is used instead of fetching (the cooldown). */
  freshMs: number;
  /** How long the shared copy is kept (the key max age). */
  ttlMs: number;
  /**
   * Key of the MAC on the shared copy (derived from the server key): a key set in the store
   * without a valid one is ignored, so whoever can write the store cannot plant keys.
   */
  macKey: Buffer;
};

type Shared = { doc: JwksDocument; fetchedAtMs: number };

const parseShared = (raw: string): Shared | undefined => {
  try {
    const s = JSON.parse(raw) as Partial<Shared> | null;
    return typeof s === 'object' &&
      s !== null &&
      typeof s.fetchedAtMs === 'number' &&
      typeof s.doc === 'object'
      ? (s as Shared)
      : undefined;
  } catch {
    return undefined;
  }
};

/**
 * The second level of the JWKS key cache: a key set fetched by one replica is written to the
 * store and announced by pub/sub, so the other replicas load it from the store instead of each
 * fetching the issuer. Before fetching, a replica takes a set another fetched within `freshMs`
 * that it has not seen yet. Store failures degrade to fetching upstream.
 *
 * @param onShared called when another replica announces a new set; the caller reloads its keys.
 */
export const createSharedJwksSource = (
  inner: JwksSource,
  deps: SharedJwksDeps,
  onShared: () => void,
): JwksSource & { close(): Promise<void> } => {
  const { store, keys, clock, kind } = deps;
  const owner = randomUUID();
  let seenAtMs = Number.NEGATIVE_INFINITY;
  /** Set when another replica announced a set: the next load takes it from the store, never upstream. */
  let announced = false;
  const quiet = async <T>(p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p;
    } catch (err) {
      deps.log.warn({ event: 'cache.degraded', kind, reason: (err as Error).message }, 'cache.degraded');
      return undefined;
    }
  };
  const subscription = quiet(
    store.subscribe(
      keys.invalidationChannel(),
      (message) => {
        let m: { jwks?: string; from?: string };
        try {
          m = JSON.parse(message) as typeof m;
        } catch {
          return;
        }
        if (m.jwks !== kind || m.from === owner) return;
        announced = true;
        onShared();
      },
      // An announcement published while the subscription was down is lost: look in the store.
      () => {
        announced = true;
        onShared();
      },
    ),
  );

  return {
    kind: inner.kind,
    location: inner.location,
    load: async () => {
      const raw = await quiet(store.get(keys.jwks(kind)));
      // A damaged, forged or foreign entry counts as none: the keys are fetched from the source.
      const text = raw === undefined ? undefined : openEntry(deps.macKey, keys.jwks(kind), raw);
      const shared = text === undefined ? undefined : parseShared(text);
      if (shared !== undefined) {
        if (
          shared.fetchedAtMs > seenAtMs &&
          (announced || clock.nowMs() - shared.fetchedAtMs < deps.freshMs)
        ) {
          seenAtMs = shared.fetchedAtMs;
          announced = false;
          return shared.doc;
        }
      }
      if (announced) {
        // Announced, but nothing newer in the store than what is held: keep it, fetch nothing.
        announced = false;
        return undefined;
      }
      const doc = await inner.load();
      if (doc !== undefined) {
        const fetchedAtMs = clock.nowMs();
        seenAtMs = fetchedAtMs;
        const value: Shared = { doc, fetchedAtMs };
        // A max age of 0 keeps nothing to share (and the store takes only TTLs > 0).
        if (deps.ttlMs > 0)
          await quiet(
            store.set(keys.jwks(kind), signEntry(deps.macKey, keys.jwks(kind), JSON.stringify(value)), {
              ttlMs: deps.ttlMs,
            }),
          );
        await quiet(store.publish(keys.invalidationChannel(), JSON.stringify({ jwks: kind, from: owner })));
      }
      return doc;
    },
    close: async () => {
      const unsubscribe = await subscription;
      await unsubscribe?.();
    },
  };
};
