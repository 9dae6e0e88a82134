import { randomUUID } from 'node:crypto';
import { createSingleFlight } from '../lib/single-flight.js';
import type { Keys, Store } from '../store/index.js';

/** Where salts are kept (`keys.auditSalt`), and how a new one is made. */
export type SaltDeps = {
  store: Pick<Store, 'get' | 'set'>;
  keys: Pick<Keys, 'auditSalt'>;
  /** A new salt; default a random UUID, as Vault's. Injected by tests only. */
  newSalt?: () => string;
};

/**
 * The per-device HMAC salts. A device's salt is a random UUID kept in the store under
 * `keys.auditSalt(<device name>)`, created by whichever replica needs it first (create-if-absent,
 * then read back, so replicas racing at start agree on one) and then cached for the life of the
 * process. Replicas sharing Redis therefore hash a token alike, and `sys/audit-hash` on any of
 * them matches every replica's entries; a device under a new name gets a new salt.
 *
 * `saltOf` rejects while the store cannot be read (the device then fails that write); it is not
 * cached, so the next write tries again. Concurrent first calls share one store round trip.
 */
export const createSaltSource = (deps: SaltDeps) => {
  const newSalt = deps.newSalt ?? randomUUID;
  const cache = new Map<string, string>();
  const flight = createSingleFlight<string>();

  const load = async (device: string): Promise<string> => {
    const key = deps.keys.auditSalt(device);
    let salt = await deps.store.get(key);
    if (salt === undefined) {
      await deps.store.set(key, newSalt(), { mode: 'if-absent' });
      salt = await deps.store.get(key);
    }
    if (salt === undefined) throw new Error(`audit salt of ${device} could not be read back`);
    cache.set(device, salt);
    return salt;
  };

  return {
    /** The salt of `device`, created on first use. */
    saltOf: (device: string): Promise<string> => {
      const cached = cache.get(device);
      return cached !== undefined ? Promise.resolve(cached) : flight.run(device, () => load(device));
    },
  };
};
export type SaltSource = ReturnType<typeof createSaltSource>;
