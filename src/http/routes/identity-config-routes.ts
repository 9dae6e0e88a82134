import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthgateError } from '../../errors.js';
import { keyReadData, roleReadData, type IdentityTokens } from '../../secrets/identity/index.js';
import { isList } from '../acl-hook.js';
import type { AclRouteConfig } from '../acl-route.js';
import { envelope } from '../envelope.js';
import { fromConfigFile, unsupportedOperation, unsupportedPath } from './config-file-answers.js';

export type IdentityConfigRouteDeps = {
  identity: Pick<IdentityTokens, 'settings'>;
};

type NameParams = { Params: { name: string } };

const guarded: { config: AclRouteConfig } = { config: { acl: {} } };
const answer = (request: FastifyRequest, data: Record<string, unknown>) =>
  envelope(request.id, { data, mountType: 'identity' });

/** One kind of named entry of the identity engine (`role`, `key`), as Vault's paths serve it. */
type NamedEntries = {
  /** The path segment, and the singular of the config's key (`identity.<segment>s`). */
  segment: 'role' | 'key';
  /** Vault's `data` of the entry's read; undefined when there is none of that name. */
  read: (name: string) => Record<string, unknown> | undefined;
  names: () => string[];
};

const namedEntries = <T>(
  segment: NamedEntries['segment'],
  entries: ReadonlyMap<string, T>,
  readData: (entry: T) => Record<string, unknown>,
): NamedEntries => ({
  segment,
  read: (name) => {
    const entry = entries.get(name);
    return entry === undefined ? undefined : readData(entry);
  },
  names: () => [...entries.keys()].sort(),
});

/**
 * The read side of the identity engine's configuration (`vault read identity/oidc/role/web`, which
 * tells an operator the `client_id` a downstream service checks; `vault list identity/oidc/key`;
 * `vault read identity/oidc/config`), answered from authgate.yaml in the shapes of Vault's
 * identity store (`pathOIDCReadRole`, `pathOIDCReadKey`, `pathOIDCReadConfig`). As in Vault every
 * path is ACL-guarded (a caller needs `read`, or `list`, on it; the default policy grants neither).
 * An unknown role or key is Vault's 404 with no message; a list path read without `list` is 405, a
 * list of `role/<name>/` 404 `unsupported path` (no pattern of Vault's backend matches it). Writes
 * and deletes are 400, saying which key of authgate.yaml to change ({@link fromConfigFile}): Vault's
 * paths have them, and the identity engine's config is applied at start.
 */
export const registerIdentityConfigRoutes = (app: FastifyInstance, deps: IdentityConfigRouteDeps): void => {
  const { settings } = deps.identity;
  const named = [
    namedEntries('role', settings.roles, roleReadData),
    namedEntries('key', settings.keys, keyReadData),
  ];

  for (const { segment, read, names } of named) {
    const base = `/v1/identity/oidc/${segment}`;
    const refused = () =>
      fromConfigFile(
        `the identity token ${segment}s are`,
        `identity.${segment}s`,
        `identity_${segment}s_read_only`,
      );

    // Vault's `<segment>/?$`: a list and nothing else.
    const list = async (request: FastifyRequest) => {
      if (!isList(request)) throw unsupportedOperation(`identity_${segment}_list_only`);
      const keys = names();
      if (keys.length === 0) throw new AuthgateError('NOT_FOUND', { reason: `identity_${segment}s_none` });
      return answer(request, { keys });
    };
    app.get(base, guarded, list);
    app.get(`${base}/`, guarded, list);

    app.get<NameParams>(`${base}/:name`, guarded, async (request) => {
      if (isList(request)) throw unsupportedPath(`identity_${segment}_unsupported_path`);
      const data = read(request.params.name);
      if (data === undefined)
        throw new AuthgateError('NOT_FOUND', { reason: `identity_${segment}_not_found` });
      return answer(request, data);
    });
    app.route<NameParams>({
      method: ['POST', 'PUT', 'DELETE'],
      url: `${base}/:name`,
      // Vault's ExistenceCheck: writing an entry that exists needs `update`, a new one `create`.
      config: {
        acl: { exists: async (request) => read((request.params as { name: string }).name) !== undefined },
      } satisfies AclRouteConfig,
      handler: async () => {
        throw refused();
      },
    });
  }

  // Vault's `config/?$`: a read and an update. It answers the issuer as configured (its base URL).
  for (const url of ['/v1/identity/oidc/config', '/v1/identity/oidc/config/']) {
    app.get(url, guarded, async (request) => {
      if (isList(request)) throw unsupportedOperation('identity_config_unsupported_operation');
      return answer(request, { issuer: settings.issuerBaseUrl });
    });
    app.route({
      method: ['POST', 'PUT'],
      url,
      ...guarded,
      handler: async () => {
        throw fromConfigFile('the identity token issuer is', 'identity.issuer', 'identity_config_read_only');
      },
    });
  }
};
