import { randomUUID } from 'node:crypto';
import type { IdentityKeyConfig } from '../../config/index.js';
import { AuthgateError, isAuthgateError, unavailable } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import type { Keys, Store } from '../../store/index.js';
import type { Logger } from '../../telemetry/index.js';
import type { ResealCounts, SecretCipher } from '../cipher.js';
import { generateStoredKey, privateKeyAad, type StoredKey } from './key-material.js';
import {
  newRing,
  parseRing,
  ringAad,
  rotateRing,
  rotationDue,
  serializeRing,
  type StoredRing,
} from './key-ring.js';

/** The slice of pino the identity engine logs through (fixed event names, values in fields). */
export type IdentityLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export type KeyRingStoreDeps = {
  store: Pick<Store, 'get' | 'set' | 'delete' | 'deleteIfEquals'>;
  keys: Pick<Keys, 'oidcKeyRing' | 'oidcLock'>;
  clock: Clock;
  cipher: Pick<SecretCipher, 'seal' | 'open' | 'isStale'>;
  log: IdentityLog;
  /** How long a replica may hold a ring's rotation lock, ms (it expires if the replica dies). */
  lockTtlMs: number;
  /** Poll interval of a manual rotation waiting for another replica's lock, ms. */
  lockPollMs: number;
  /** See {@link RotationTerms.marginMs}. */
  retirementMarginMs: number;
};

/** What a ring is loaded for: its key's config and the longest TTL of the roles using it. */
export type RingTerms = { key: IdentityKeyConfig; maxTokenTtlSeconds: number };

/**
 * The key rings in the shared store, and the rules by which replicas change them:
 *
 * - A ring is created once: a replica that finds none writes one create-if-absent and reads back
 *   whichever ring won, so replicas starting together agree on one ring.
 * - A rotation (scheduled or manual) is made only under `keys.oidcLock(name)`, by one replica at
 *   a time, which re-reads the ring under the lock and decides on what it reads there: a replica
 *   that noticed a due rotation after another made it finds nothing left to do. A replica that
 *   finds the lock taken carries on with the ring it read (still valid: keys only ever retire
 *   into their verification window) and picks the rotation up on its next load.
 * - The ring is written only while this replica still holds the lock.
 *
 * Every store failure is AuthgateError UNAVAILABLE (503): no signing key is ever made up locally.
 */
export const createKeyRingStore = (deps: KeyRingStoreDeps) => {
  const { store, keys, clock, cipher, log } = deps;
  const owner = randomUUID();

  const io = async <T>(op: Promise<T>): Promise<T> => {
    try {
      return await op;
    } catch (err) {
      throw unavailable('identity token keys unavailable', 'identity_store_unavailable', err);
    }
  };

  // The whole ring is sealed, public halves included: whoever can write to the store must not be
  // able to publish a key of their own (a retired entry needs no private half) and so forge
  // identity tokens for downstream services.
  const seal = (ring: StoredRing): string => cipher.seal(serializeRing(ring), ringAad(ring.name));
  const read = async (name: string): Promise<StoredRing | undefined> => {
    const raw = await io(store.get(keys.oidcKeyRing(name)));
    return raw === undefined ? undefined : open(raw, name);
  };
  const open = (raw: string, name: string): StoredRing => {
    let text: string;
    try {
      text = cipher.open(raw, ringAad(name)).toString('utf8');
    } catch (err) {
      throw new AuthgateError('INTERNAL', {
        reason: 'identity_key_ring_corrupt',
        detail: 'the key ring does not open under this encryption key (altered, or another key)',
        cause: err,
      });
    }
    return parseRing(text, name);
  };

  /**
   * The ring with the private halves that another key sealed (a previous one, or the format before
   * values named their key) re-sealed under the current key; a half that opens under no key is
   * left as it was and counted.
   */
  const resealKeys = (ring: StoredRing): { ring: StoredRing; changed: boolean; unopenable: number } => {
    let changed = false;
    let unopenable = 0;
    const again = <K extends StoredKey>(key: K): K => {
      if (!cipher.isStale(key.sealedPrivateJwk)) return key;
      const aad = privateKeyAad(ring.name, key.kid);
      try {
        const sealedPrivateJwk = cipher.seal(cipher.open(key.sealedPrivateJwk, aad), aad);
        changed = true;
        return { ...key, sealedPrivateJwk };
      } catch {
        unopenable++;
        return key;
      }
    };
    return { ring: { ...ring, current: again(ring.current), next: again(ring.next) }, changed, unopenable };
  };

  const generate = (name: string, terms: RingTerms) =>
    generateStoredKey(name, terms.key.algorithm, cipher, clock.nowMs()).catch((err: unknown) => {
      throw isAuthgateError(err)
        ? err
        : new AuthgateError('INTERNAL', { reason: 'identity_keygen_failed', cause: err });
    });

  const create = async (name: string, terms: RingTerms): Promise<StoredRing> => {
    const [current, next] = await Promise.all([generate(name, terms), generate(name, terms)]);
    const ring = newRing(name, current, next, clock.nowMs(), terms.maxTokenTtlSeconds);
    const created = await io(store.set(keys.oidcKeyRing(name), seal(ring), { mode: 'if-absent' }));
    if (created) {
      log.info({ event: 'identity.key_created', key: name, kid: ring.current.kid }, 'identity.key_created');
      return ring;
    }
    // Another replica created it first; its ring is the one.
    const winner = await read(name);
    if (winner === undefined) {
      throw unavailable('identity token keys unavailable', 'identity_key_ring_vanished');
    }
    return winner;
  };

  const acquire = (name: string) =>
    io(store.set(keys.oidcLock(name), owner, { ttlMs: deps.lockTtlMs, mode: 'if-absent' }));
  const holdsLock = async (name: string) => (await io(store.get(keys.oidcLock(name)))) === owner;
  const release = async (name: string): Promise<void> => {
    // Deleted only while it is still ours, atomically (this replica may have stalled past the
    // lock's TTL, and another taken it).
    try {
      await store.deleteIfEquals(keys.oidcLock(name), owner);
    } catch (err) {
      log.warn(
        { event: 'identity.lock_release_failed', key: name, reason: (err as Error).message },
        'identity.lock_release_failed',
      );
    }
  };

  /** Takes ring `name`'s lock, waiting up to its TTL for another replica to finish. */
  const waitForLock = async (name: string): Promise<void> => {
    const attempts = Math.max(1, Math.ceil(deps.lockTtlMs / deps.lockPollMs));
    for (let i = 0; i < attempts; i++) {
      if (await acquire(name)) return;
      await new Promise((resolve) => setTimeout(resolve, deps.lockPollMs));
    }
    throw unavailable('identity key rotation in progress', 'identity_lock_busy');
  };

  /**
   * Holding the lock: re-reads the ring and rotates it when `manual` or still due (another replica
   * may have rotated it since this one looked), writes it while the lock is still ours, and
   * releases the lock.
   */
  const rotateLocked = async (name: string, terms: RingTerms, manual: boolean): Promise<StoredRing> => {
    try {
      const fresh = (await read(name)) ?? (await create(name, terms));
      if (!manual && !rotationDue(fresh, terms.key, clock.nowMs())) return fresh;
      const rotated = rotateRing(fresh, await generate(name, terms), {
        nowMs: clock.nowMs(),
        key: terms.key,
        maxTokenTtlSeconds: terms.maxTokenTtlSeconds,
        marginMs: deps.retirementMarginMs,
      });
      if (!(await holdsLock(name))) {
        // Stalled past the lock's TTL: another replica may be rotating the ring now.
        log.warn({ event: 'identity.lock_lost', key: name }, 'identity.lock_lost');
        return (await read(name)) ?? fresh;
      }
      // Written anyway: the keys it carries over move to the current encryption key too.
      await io(store.set(keys.oidcKeyRing(name), seal(resealKeys(rotated).ring)));
      log.info(
        {
          event: 'identity.key_rotated',
          key: name,
          kid: rotated.current.kid,
          retired_kid: fresh.current.kid,
          generation: rotated.generation,
          manual,
        },
        'identity.key_rotated',
      );
      return rotated;
    } finally {
      await release(name);
    }
  };

  return {
    /**
     * The ring of `terms.key`, created if absent and rotated if due (by this replica when it wins
     * the lock; otherwise the ring as read, which another replica is changing).
     *
     * @throws AuthgateError UNAVAILABLE when the store fails; INTERNAL when the ring is corrupt.
     */
    load: async (terms: RingTerms): Promise<StoredRing> => {
      const name = terms.key.name;
      const ring = (await read(name)) ?? (await create(name, terms));
      if (!rotationDue(ring, terms.key, clock.nowMs())) return ring;
      if (!(await acquire(name))) return ring;
      return rotateLocked(name, terms, false);
    },

    /**
     * Rotates `terms.key` now, whether due or not (Vault's `identity/oidc/key/:name/rotate`),
     * waiting up to the lock's TTL for another replica's change to finish first.
     *
     * @throws AuthgateError UNAVAILABLE when the store fails or the lock stays taken.
     */
    rotate: async (terms: RingTerms): Promise<StoredRing> => {
      await waitForLock(terms.key.name);
      return rotateLocked(terms.key.name, terms, true);
    },

    /**
     * Re-seals ring `name` (its envelope and its private halves) under the current encryption key
     * when another key sealed any of it, holding the ring's lock so that no rotation interleaves.
     * A ring that does not open whole is left as it was and counted unopenable.
     *
     * @throws AuthgateError UNAVAILABLE when the store fails or the lock stays taken.
     */
    reseal: async (name: string): Promise<ResealCounts> => {
      await waitForLock(name);
      try {
        const raw = await io(store.get(keys.oidcKeyRing(name)));
        if (raw === undefined) return { resealed: 0, unopenable: 0 };
        let resealed: ReturnType<typeof resealKeys>;
        try {
          resealed = resealKeys(open(raw, name));
        } catch (err) {
          if (isAuthgateError(err) && err.code === 'INTERNAL') return { resealed: 0, unopenable: 1 };
          throw err;
        }
        if (resealed.unopenable > 0) return { resealed: 0, unopenable: 1 };
        if (!resealed.changed && !cipher.isStale(raw)) return { resealed: 0, unopenable: 0 };
        if (!(await holdsLock(name)))
          throw unavailable('identity key rotation in progress', 'identity_lock_lost');
        await io(store.set(keys.oidcKeyRing(name), seal(resealed.ring)));
        return { resealed: 1, unopenable: 0 };
      } finally {
        await release(name);
      }
    },
  };
};
export type KeyRingStore = ReturnType<typeof createKeyRingStore>;
