import type { FastifyInstance } from 'fastify';
import type { ResealCounts } from '../../secrets/index.js';
import type { AclRouteConfig } from '../acl-route.js';
import { sysEnvelope } from '../envelope.js';
import { missingBodyIsEmpty } from '../vault-errors.js';

export type RewrapRouteDeps = {
  /** Re-seals every stored value sealed under a previous encryption key; rejects on a store failure. */
  rewrap: () => Promise<ResealCounts>;
};

/**
 * `POST|PUT /v1/sys/rewrap` (the admin token, or `update` and `sudo` on it): re-seals every KV
 * version, identity key ring and audit device salt sealed under a key of
 * `secrets.previous_encryption_key_files` (or in the format before values named their key, or a
 * salt still in clear) under the current encryption key, and answers `resealed` and `unopenable`
 * counts, all of them together. authgate's own: it borrows the verb of Vault's
 * `transit/rewrap` (re-encrypt under the newest key without handing out the plaintext), since
 * Vault's `sys/rotate` adds a key term (authgate's keys come from files) and `sys/rekey` changes
 * unseal keys (authgate has none).
 */
export const registerRewrapRoutes = (app: FastifyInstance, deps: RewrapRouteDeps): void => {
  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/sys/rewrap',
    preValidation: missingBodyIsEmpty,
    config: { acl: { sudo: true } } satisfies AclRouteConfig,
    handler: async (request) => sysEnvelope(request.id, { ...(await deps.rewrap()) }),
  });
};
