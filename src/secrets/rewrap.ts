import type { Logger } from '../telemetry/index.js';
import type { ResealCounts } from './cipher.js';
import type { IdentityTokens } from './identity/index.js';
import type { KvEngine } from './kv/index.js';

export type RewrapDeps = {
  kv: ReadonlyMap<string, Pick<KvEngine, 'rewrap'>>;
  identity: Pick<IdentityTokens, 'rewrap'>;
  /**
   * The audit devices' salts, sealed with the same key ring by the audit part (which secrets does
   * not import: the composition root passes its `rewrapSalts`). Names each salt it left as it was.
   */
  auditSalts: { rewrap(onUnopenable: (device: string) => void): Promise<ResealCounts> };
  log: Pick<Logger, 'info' | 'warn'>;
};

/**
 * Re-seals every value at rest sealed under a key other than the current one: each KV mount's
 * versions, then the identity key rings, then the audit devices' salts (also those still in clear
 * from an earlier authgate). Logs each value left as it was (`secrets.unopenable`, its location
 * only) and the totals (`secrets.rewrapped`). Safe to run again, and while replicas
 * serve, as long as every replica already holds the current key.
 *
 * @throws AuthgateError UNAVAILABLE when the store fails (what was re-sealed stays re-sealed).
 */
export const rewrapSecrets = async (deps: RewrapDeps): Promise<ResealCounts> => {
  const total: ResealCounts = { resealed: 0, unopenable: 0 };
  const add = (counts: ResealCounts) => {
    total.resealed += counts.resealed;
    total.unopenable += counts.unopenable;
  };
  for (const [mount, engine] of deps.kv) {
    add(
      await engine.rewrap((path, version) =>
        deps.log.warn({ event: 'secrets.unopenable', mount, path, version }, 'secrets.unopenable'),
      ),
    );
  }
  add(
    await deps.identity.rewrap((key) =>
      deps.log.warn({ event: 'secrets.unopenable', mount: 'identity', key }, 'secrets.unopenable'),
    ),
  );
  add(
    await deps.auditSalts.rewrap((device) =>
      deps.log.warn({ event: 'secrets.unopenable', mount: 'audit', device }, 'secrets.unopenable'),
    ),
  );
  deps.log.info({ event: 'secrets.rewrapped', ...total }, 'secrets.rewrapped');
  return total;
};
