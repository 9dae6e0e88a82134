import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../../errors.js';
import type { AclRouteConfig } from '../acl-route.js';

const guarded = { config: { acl: {} } satisfies AclRouteConfig };

/** The lease a request names: `lease_id` in the body, else the rest of the path (Vault's `url_lease_id`). */
const leaseIdOf = (request: FastifyRequest): string => {
  const body = request.body as Record<string, unknown> | undefined;
  const fromBody = body?.['lease_id'];
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
  const fromPath = (request.params as { '*'?: string })['*'] ?? '';
  if (fromPath === '') throw badRequest('lease_id must be specified', 'missing_lease_id');
  return fromPath;
};

/**
 * `sys/leases/renew` and `sys/leases/revoke`, as Vault answers them for a lease it does not hold.
 * authgate issues no secret with a lease (KV v2 answers `lease_id: ""`, identity tokens are
 * signed JWTs, and client tokens renew through `auth/token/renew*`), so every renewal is Vault's
 * 400 `lease not found`, and a revocation has nothing to do: 204, as Vault's for an unknown
 * lease. Both go through the ACL (the default policy grants `update` on `sys/leases/renew` and on
 * `sys/renew`). Vault's older paths `sys/renew` and `sys/revoke` answer the same.
 */
export const registerLeaseRoutes = (app: FastifyInstance): void => {
  for (const url of ['/v1/sys/leases/renew', '/v1/sys/leases/renew/*', '/v1/sys/renew', '/v1/sys/renew/*']) {
    app.route({
      method: ['POST', 'PUT'],
      url,
      ...guarded,
      handler: async (request) => {
        leaseIdOf(request);
        throw badRequest('lease not found', 'lease_not_found');
      },
    });
  }
  for (const url of [
    '/v1/sys/leases/revoke',
    '/v1/sys/leases/revoke/*',
    '/v1/sys/revoke',
    '/v1/sys/revoke/*',
  ]) {
    app.route({
      method: ['POST', 'PUT'],
      url,
      ...guarded,
      handler: async (request, reply) => {
        leaseIdOf(request);
        return reply.code(204).send();
      },
    });
  }
};
