import { randomUUID } from 'node:crypto';
import { createSingleFlight } from '../lib/single-flight.js';
import type { Keys, Store } from '../store/index.js';

/**
 * How salts are sealed at rest: the key ring that seals secret values (`secrets/`'s cipher,
 * injected by the composition root, since audit knows nothing of secrets).
 */
export type SaltSealer = {
  /** Seals `plaintext` bound to `aad` under the current key. */
  seal(plaintext: string, aad: string): string;
  /** Opens a value sealed under the current or a previous key with the same `aad`; throws when it does not open. */
  open(sealed: string, aad: string): Buffer;
  /** True when `sealed` was not sealed under the current key (a re-key re-seals it). */
  isStale(sealed: string): boolean;
};

/** Where salts are kept (`keys.auditSalt`), how they are sealed, and how a new one is made. */
export type SaltDeps = {
  store: Pick<Store, 'get' | 'set'>;
  keys: Pick<Keys, 'auditSalt'>;
  sealer: SaltSealer;
  /** A new salt; default a random UUID, as Vault's. Injected by tests only. */
  newSalt?: () => string;
  /** Milliseconds for {@link SALT_RECHECK_MS}; default Date.now. Injected by tests only. */
  nowMs?: () => number;
};

/**
 * How often a salt in use is looked for in the store again (in the background; the write never
 * waits for it). A store that lost its data (a Redis restarted without persistence) lost the
 * salt: the first replica to notice writes its own back, so that a replica started later takes
 * it instead of making another, under which the same token would hash differently.
 */
export const SALT_RECHECK_MS = 60_000;

/** What a re-key of the salts did (as the secrets engines count theirs). */
export type SaltResealCounts = { resealed: number; unopenable: number };

/**
 * The additional authenticated data a device's salt is sealed with: a salt copied to another
 * device's key does not open there.
 */
export const auditSaltAad = (device: string): string => JSON.stringify(['audit-salt', device]);

/**
 * What every earlier authgate stored in clear: a random UUID (`randomUUID`, lowercase). Anything
 * else that does not open is refused, never taken as a salt.
 */
const CLEAR_SALT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A device's stored salt opens under no key of the ring (the key files are not those that sealed
 * it, or it was altered). Its message names the device and what to check, never the stored value.
 */
export class SaltUnopenableError extends Error {
  constructor(device: string, options?: { cause?: unknown }) {
    super(
      `audit salt of device "${device}" does not open under the encryption keys ` +
        '(secrets.encryption_key_file, secrets.previous_encryption_key_files): ' +
        'the device writes nothing until they include the key that sealed it; no new salt is made',
      options,
    );
    this.name = 'SaltUnopenableError';
  }
}

/**
 * The per-device HMAC salts. A device's salt is a random UUID kept in the store under
 * `keys.auditSalt(<device name>)`, sealed by `sealer` (bound to the device name by
 * {@link auditSaltAad}), so that whoever reads the store cannot compute the HMAC of a guessed
 * value and match it against the entries. It is created by whichever replica needs it first
 * (create-if-absent, then read back, so replicas racing at start agree on one) and then cached
 * for the life of the process. Replicas sharing Redis therefore hash a token alike, and
 * `sys/audit-hash` on any of them matches every replica's entries; a device under a new name
 * gets a new salt.
 *
 * A salt an earlier authgate stored in clear (a UUID) is used as it is, so existing hashes keep
 * matching, and sealed in its place on first load. A salt sealed under a previous key is opened
 * and left to `rewrap`.
 *
 * `saltOf` rejects while the store cannot be read, and with SaltUnopenableError when the stored
 * salt does not open (fail closed: the device then fails that write, where a new salt would
 * silently change every hash); a failure is not cached, so the next write tries again. Concurrent first calls share one store round trip.
 */
export const createSaltSource = (deps: SaltDeps) => {
  const { store, keys, sealer } = deps;
  const newSalt = deps.newSalt ?? randomUUID;
  const nowMs = deps.nowMs ?? Date.now;
  const cache = new Map<string, { salt: string; checkedAtMs: number }>();
  const flight = createSingleFlight<string>();

  /** The salt in `stored`, and whether it was in clear. @throws SaltUnopenableError */
  const open = (device: string, stored: string): { salt: string; clear: boolean } => {
    if (CLEAR_SALT.test(stored)) return { salt: stored, clear: true };
    try {
      return { salt: sealer.open(stored, auditSaltAad(device)).toString('utf8'), clear: false };
    } catch (err) {
      throw new SaltUnopenableError(device, { cause: err });
    }
  };

  /**
   * Writes `salt` sealed under the current key in place of what is stored, only while something
   * is (`if-present`): a salt never changes while its key exists, so two replicas re-sealing at
   * once write the same salt, and a salt deleted meanwhile is not brought back.
   */
  const reseal = (device: string, salt: string) =>
    store.set(keys.auditSalt(device), sealer.seal(salt, auditSaltAad(device)), { mode: 'if-present' });

  /** `known`: the salt this process uses, written back in place of a lost one (else a new one). */
  const load = async (device: string, known?: string): Promise<string> => {
    const key = keys.auditSalt(device);
    let stored = await store.get(key);
    if (stored === undefined) {
      await store.set(key, sealer.seal(known ?? newSalt(), auditSaltAad(device)), { mode: 'if-absent' });
      stored = await store.get(key);
    }
    if (stored === undefined) throw new Error(`audit salt of ${device} could not be read back`);
    const { salt, clear } = open(device, stored);
    if (clear) await reseal(device, salt);
    cache.set(device, { salt, checkedAtMs: nowMs() });
    return salt;
  };

  return {
    /**
     * The salt of `device`, created on first use; looked for again every {@link SALT_RECHECK_MS}
     * in the background (a lost one written back; one another replica wrote meanwhile taken).
     */
    saltOf: (device: string): Promise<string> => {
      const cached = cache.get(device);
      if (cached === undefined) return flight.run(device, () => load(device));
      if (nowMs() - cached.checkedAtMs >= SALT_RECHECK_MS) {
        cached.checkedAtMs = nowMs();
        // Never fails the write: a store that cannot be read now keeps the salt in use.
        void flight.run(device, () => load(device, cached.salt)).catch(() => undefined);
      }
      return Promise.resolve(cached.salt);
    },

    /**
     * Re-seals under the current key the salt of each of `devices` that is in clear or sealed
     * under another key; a device without a salt gets none. A salt that does not open is left as
     * it was, counted, and named to `onUnopenable`. Safe to run again, and while replicas serve.
     * Rejects when the store fails (what was re-sealed stays re-sealed).
     */
    rewrap: async (
      devices: readonly string[],
      onUnopenable: (device: string) => void,
    ): Promise<SaltResealCounts> => {
      const counts: SaltResealCounts = { resealed: 0, unopenable: 0 };
      for (const device of devices) {
        const stored = await store.get(keys.auditSalt(device));
        if (stored === undefined || (!CLEAR_SALT.test(stored) && !sealer.isStale(stored))) continue;
        let salt: string;
        try {
          salt = open(device, stored).salt;
        } catch {
          counts.unopenable++;
          onUnopenable(device);
          continue;
        }
        if (await reseal(device, salt)) counts.resealed++;
      }
      return counts;
    },
  };
};
export type SaltSource = ReturnType<typeof createSaltSource>;
