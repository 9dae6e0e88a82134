import type { FastifyInstance } from 'fastify';
import { badRequest } from '../../errors.js';
import { matchSecretsMount, type SecretsMountTable } from '../../secrets/index.js';
import { isList } from '../acl-hook.js';
import type { AclRouteConfig } from '../acl-route.js';
import { sysEnvelope } from '../envelope.js';
import { fromConfigFile, unsupportedOperation, unsupportedPath } from './config-file-answers.js';
import { ttlsInEffect } from './mount-ttls.js';
import { trimTrailingSlashes } from '../../lib/trim-slashes.js';

export type SecretsMountRouteDeps = {
  /** The secrets mount table (`secret/`, `identity/`, `sys/`), built once. */
  secretsMounts: SecretsMountTable;
};

const guarded: { config: AclRouteConfig } = { config: { acl: {} } };

/** Vault's `sanitizePath`: no leading `/`, one trailing `/`. */
export const sanitized = (path: string): string => `${trimTrailingSlashes(path.replace(/^\/+/, ''))}/`;

/** Vault's tune pattern `mounts/(?P<path>.+?)/tune$` (and `auth/…/tune`): the mount path of a tune request, else undefined. */
export const tunedPath = (rest: string): string | undefined => /^(.+?)\/tune$/.exec(rest)?.[1];

/**
 * The secrets mount table (`vault secrets list`, hvac's `list_mounted_secrets_engines()`):
 *
 * - `GET /v1/sys/mounts`: every mount authgate serves ({@link SecretsMountTable}), under `data`
 *   and, as Vault still answers it, at the top level too;
 * - `GET /v1/sys/mounts/<path>`: the mount serving `<path>` (longest match, so `secret/data/x`
 *   is `secret/`'s), or Vault's 400 `No secret engine mount at <path>/`;
 * - `GET /v1/sys/mounts/<path>/tune`: Vault's tune read (`description`, TTLs with the system
 *   default filled in, `force_no_cache`, `options`), or Vault's 400 `cannot fetch sysview`.
 *
 * All ACL-guarded (`read` on the path; the default policy grants none of them). Mounting,
 * unmounting and tuning (POST, PUT, DELETE) are 400: mounts come from authgate.yaml. A list, and
 * PATCH, are 405, as the paths have no such operation in Vault.
 */
export const registerSecretsMountRoutes = (app: FastifyInstance, deps: SecretsMountRouteDeps): void => {
  const table = deps.secretsMounts;
  const mountsRefused = () => fromConfigFile('secrets engines are', 'secrets.kv', 'secrets_mounts_read_only');

  app.get('/v1/sys/mounts', guarded, async (request) => {
    if (isList(request)) throw unsupportedOperation('sys_mounts_unsupported_operation');
    const data = Object.fromEntries(table);
    return { ...sysEnvelope(request.id, data), ...data };
  });

  app.route({
    method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/v1/sys/mounts/*',
    ...guarded,
    handler: async (request) => {
      const rest = (request.params as { '*'?: string })['*'] ?? '';
      if (trimTrailingSlashes(rest) === '') throw unsupportedPath('sys_mounts_unsupported_path');
      const method = request.method === 'HEAD' ? 'GET' : request.method;
      if (method === 'PATCH' || (method === 'GET' && isList(request))) {
        throw unsupportedOperation('sys_mounts_unsupported_operation');
      }
      const tuned = tunedPath(rest);
      if (method === 'DELETE' && tuned !== undefined)
        throw unsupportedOperation('sys_mounts_unsupported_operation');
      if (method !== 'GET') throw mountsRefused();
      const path = sanitized(tuned ?? rest);
      const match = matchSecretsMount(table, path);
      if (tuned === undefined) {
        if (match === undefined)
          throw badRequest(`No secret engine mount at ${path}`, 'sys_mounts_not_found');
        // sys/mounts/ is one of the paths whose data Vault's HTTP layer also puts at the top
        // (injectDataIntoTopRoutes), as for the listing.
        const data = { ...match.entry };
        return { ...sysEnvelope(request.id, data), ...data };
      }
      if (match === undefined) {
        throw badRequest(`cannot fetch sysview for path "${path}"`, 'sys_mounts_not_found');
      }
      const { entry } = match;
      const ttls = ttlsInEffect(entry.config);
      const data: Record<string, unknown> = {
        description: entry.description,
        default_lease_ttl: ttls.default_lease_ttl,
        max_lease_ttl: ttls.max_lease_ttl,
        force_no_cache: entry.config.force_no_cache,
        ...(entry.options === null ? {} : { options: { ...entry.options } }),
      };
      return { ...sysEnvelope(request.id, data), ...data };
    },
  });
};
