import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AuthgateError, badRequest } from '../../errors.js';
import type { AuthMountConfig } from '../../config/index.js';
import { weakDecodeCommaStringSlice } from '../../lib/go-mapstructure.js';
import { fieldValidationMessage } from '../../lib/go-duration.js';
import { normalizePolicyName, type PolicyRegistry } from '../../policy/index.js';
import type { TokenRecord, TokenService } from '../../tokens/index.js';
import type { AdminCheck } from '../client-token.js';
import { createSubjectOf, isList } from '../acl-hook.js';
import { requestAuth, type AclRouteConfig } from '../acl-route.js';
import { sysEnvelope } from '../envelope.js';
import { fromConfigFile, unsupportedOperation, unsupportedPath } from './config-file-answers.js';
import { sanitized, tunedPath } from './sys-mounts-routes.js';
import { authMountInfo, authMountTable } from './auth-mount-info.js';
import { trimTrailingSlashes } from '../../lib/trim-slashes.js';

export type PolicyRouteDeps = {
  policies: Pick<PolicyRegistry, 'names' | 'get' | 'aclFor'>;
  /** The tokens an operator names to `sys/capabilities` and `sys/capabilities-accessor`. */
  tokens: Pick<TokenService, 'lookupToken' | 'lookupAccessor'>;
  admin: AdminCheck;
  /** Re-reads the policy sources and swaps the set in; rejects (keeping the old set) on any problem. */
  reload: () => Promise<void>;
  mounts: ReadonlyMap<string, AuthMountConfig>;
};

const guarded: { config: AclRouteConfig } = { config: { acl: {} } };

/** Vault's reserved policy name: listed and readable, never defined in a source. */
const ROOT = 'root';

/** Policies live in authgate.yaml and `policy_dir`, so that what runs is what is reviewed in Git. */
const readOnly = () =>
  badRequest(
    'policies are read from authgate.yaml and policy_dir: change them there, then reload (SIGHUP or POST /v1/sys/policies/reload)',
    'policy_read_only',
  );

/**
 * Vault's policy endpoints, read-only (`sys/policy`, `sys/policies/acl`), the auth mount table
 * (`sys/auth`, where operators find the accessor for templated policies; enabling, disabling and
 * tuning a mount, `sys/auth/<path>[/tune]`, is a 400 saying the mounts live in authgate.yaml, to
 * a caller with `sudo`, as Vault's `auth/*` is root-protected), and authgate's
 * `sys/policies/reload` (the admin token, or `update` and `sudo` on it). Each read is ACL-guarded like any Vault path.
 */
export const registerPolicyRoutes = (app: FastifyInstance, deps: PolicyRouteDeps): void => {
  const subjectOf = createSubjectOf(deps.mounts);
  // Vault's GetPolicy: the name trimmed and lowercased; `root` is special-cased, a policy with
  // no rules (it grants nothing here: the admin token is authgate's root).
  const policyOf = (raw: string): { name: string; text: string } => {
    const name = normalizePolicyName(raw);
    if (name === ROOT) return { name, text: '' };
    const policy = deps.policies.get(name);
    if (policy === undefined) throw new AuthgateError('NOT_FOUND', { reason: 'policy_not_found' });
    return policy;
  };
  // Vault's handlePoliciesList: the stored names, then `root` (`vault policy list` shows it).
  const policyNames = (): string[] => [...deps.policies.names(), ROOT];

  // `vault policy list` (older servers): sys/policy, read or listed, answers both keys and policies.
  for (const url of ['/v1/sys/policy', '/v1/sys/policy/']) {
    app.get(url, guarded, async (request) => {
      const names = policyNames();
      return {
        ...sysEnvelope(request.id, { keys: names, policies: names }),
        keys: names,
        policies: names,
      };
    });
  }
  // A list of one policy's path was checked for `list` on `<name>/`, not `read`: Vault's pattern
  // (`policy/(?P<name>.+)`) has no list operation, 405; never the policy's rules.
  const policyOfRead = (request: FastifyRequest<{ Params: { name: string } }>) => {
    if (isList(request)) throw unsupportedOperation('policy_unsupported_operation');
    return policyOf(request.params.name);
  };
  app.get<{ Params: { name: string } }>('/v1/sys/policy/:name', guarded, async (request) => {
    const policy = policyOfRead(request);
    const data = { name: policy.name, rules: policy.text };
    return { ...sysEnvelope(request.id, data), ...data };
  });
  // LIST sys/policies/acl arrives as GET ?list=true (src/http/client-errors.ts serves it so). Vault's
  // pattern has the list operation only: a read is 405.
  for (const url of ['/v1/sys/policies/acl', '/v1/sys/policies/acl/']) {
    app.get(url, guarded, async (request) => {
      if (!isList(request)) throw unsupportedOperation('policies_unsupported_operation');
      return sysEnvelope(request.id, { keys: policyNames() });
    });
  }
  app.get<{ Params: { name: string } }>('/v1/sys/policies/acl/:name', guarded, async (request) => {
    const policy = policyOfRead(request);
    return sysEnvelope(request.id, { name: policy.name, policy: policy.text });
  });
  for (const url of ['/v1/sys/policy/:name', '/v1/sys/policies/acl/:name']) {
    app.route({
      method: ['POST', 'PUT', 'DELETE'],
      url,
      ...guarded,
      handler: async () => {
        throw readOnly();
      },
    });
  }

  /**
   * What a token may do on each path, as Vault answers it (sorted, `deny` when nothing, `root` for
   * the admin token, and the single path's list again under `capabilities`). `record` undefined is
   * the admin token.
   */
  const capabilities = (requestId: string, record: TokenRecord | undefined, paths: readonly string[]) => {
    const acl = record === undefined ? undefined : deps.policies.aclFor(subjectOf(record));
    // No prototype: a path named `__proto__` is a key like any other, not a prototype to set.
    const data = Object.create(null) as Record<string, unknown>;
    for (const path of paths) {
      const caps = acl === undefined ? ['root'] : [...acl.capabilities(path.replace(/^\/+/, ''))].sort();
      data[path] = caps.length === 0 ? ['deny'] : caps;
    }
    if (paths.length === 1) data['capabilities'] = data[paths[0] as string];
    return { ...sysEnvelope(requestId, data), ...data };
  };
  const capabilityRoute = (url: string, handler: (request: FastifyRequest) => Promise<unknown>) =>
    app.route({ method: ['POST', 'PUT'], url, ...guarded, handler });

  // `vault token capabilities <path>`: the caller's own token. The default policy grants
  // `update` on it.
  capabilityRoute('/v1/sys/capabilities-self', async (request) =>
    capabilities(request.id, requestAuth(request).record, requirePaths(decodePaths(request.body))),
  );
  // `vault token capabilities <token> <path>`, and the same by accessor: an operator's question
  // about another token (Vault: `update` on the path, which the default policy does not grant).
  // The named token spends no use. An unknown, expired or revoked one is Vault's 400
  // `invalid token` (`invalid accessor` by accessor). Vault's order: the fields' conversion, the
  // token's or accessor's presence, the accessor's lookup, the paths, the token's lookup.
  capabilityRoute('/v1/sys/capabilities', async (request) => {
    const fields = decodePaths(request.body);
    const token = stringField(request.body, 'token');
    if (token === undefined) throw badRequest('no token found', 'capabilities_no_token');
    const paths = requirePaths(fields);
    if (deps.admin.isAdmin(token)) return capabilities(request.id, undefined, paths);
    const record = await deps.tokens.lookupToken(token).catch((err: unknown) => {
      if (err instanceof AuthgateError && err.status === 403)
        throw badRequest('invalid token', 'capabilities_invalid_token');
      throw err;
    });
    return capabilities(request.id, record, paths);
  });
  capabilityRoute('/v1/sys/capabilities-accessor', async (request) => {
    const fields = decodePaths(request.body);
    const accessor = stringField(request.body, 'accessor');
    if (accessor === undefined) throw badRequest('missing accessor', 'capabilities_missing_accessor');
    const record = await deps.tokens.lookupAccessor(accessor);
    return capabilities(request.id, record, requirePaths(fields));
  });

  app.post(
    '/v1/sys/policies/reload',
    { config: { acl: { sudo: true } } satisfies AclRouteConfig },
    async (request) => {
      await deps.reload();
      return sysEnvelope(request.id, { policies: deps.policies.names() });
    },
  );

  const authMounts = authMountTable(deps.mounts);
  app.get('/v1/sys/auth', guarded, async (request) => {
    // Listed, it is `sys/auth/` (checked for `list` there), which no pattern of Vault's matches.
    if (isList(request)) throw unsupportedPath('sys_auth_unsupported_path');
    const data: Record<string, unknown> = {};
    for (const [path, mount] of authMounts) data[`${path}/`] = authMountInfo(path, mount);
    return { ...sysEnvelope(request.id, data), ...data };
  });

  // `vault read sys/auth/<path>` and `vault read sys/auth/<path>/tune`: root paths in Vault
  // (sudo), as the writes below. `/tune` is matched first, as Vault's router does.
  app.get<{ Params: { '*': string } }>(
    '/v1/sys/auth/*',
    { config: { acl: { sudo: true } } satisfies AclRouteConfig },
    async (request) => {
      const rest = request.params['*'];
      if (trimTrailingSlashes(rest) === '') throw unsupportedPath('sys_auth_unsupported_path');
      if (isList(request)) throw unsupportedOperation('sys_auth_unsupported_operation');
      const tuned = tunedPath(rest);
      const path = sanitized(tuned ?? rest);
      const mount = authMounts.get(path.slice(0, -1));
      if (tuned === undefined) {
        if (mount === undefined) throw badRequest(`No auth engine at ${path}`, 'sys_auth_not_found');
        // As Vault's HTTP layer (injectDataIntoTopRoutes): the data at the top too, as for the list.
        const data = authMountInfo(path.slice(0, -1), mount);
        return { ...sysEnvelope(request.id, data), ...data };
      }
      if (mount === undefined)
        throw badRequest(`cannot fetch sysview for path "auth/${path}"`, 'sys_auth_not_found');
      const data = {
        description: mount.description,
        default_lease_ttl: mount.defaultLeaseTtlSeconds,
        max_lease_ttl: mount.maxLeaseTtlSeconds,
        force_no_cache: false,
        token_type: 'default-service',
      };
      return { ...sysEnvelope(request.id, data), ...data };
    },
  );

  app.route({
    method: ['POST', 'PUT', 'DELETE'],
    url: '/v1/sys/auth/*',
    config: { acl: { sudo: true } } satisfies AclRouteConfig,
    handler: async () => {
      throw fromConfigFile('auth methods are', 'auth', 'auth_mounts_read_only');
    },
  });
};

/** A string field of the body; absent, `null`, `""` and any other type are absent, as Vault's `d.Raw` reads a string. */
const stringField = (body: unknown, name: string): string | undefined => {
  const value = (body as Record<string, unknown> | null | undefined)?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

type PathFields = { paths: string[]; path: string[] };

/**
 * `paths` and the older `path`, both Vault `TypeCommaStringSlice` fields (a list, or a string
 * split at commas; each element trimmed), converted as Vault's framework converts them before
 * its handler runs: a value that is no such slice is its 400 `Field validation failed: …`.
 */
const decodePaths = (body: unknown): PathFields => {
  const b = (body ?? {}) as Record<string, unknown>;
  const decode = (field: keyof PathFields): string[] => {
    const raw = Object.hasOwn(b, field) ? b[field] : undefined;
    const decoded = weakDecodeCommaStringSlice(raw);
    if ('error' in decoded)
      throw badRequest(fieldValidationMessage(field, raw, decoded.error), 'capabilities_bad_paths');
    return decoded.value;
  };
  return { paths: decode('paths'), path: decode('path') };
};

/**
 * The paths asked about: `paths`, or `path` when `paths` is empty (Vault's handleCapabilities).
 * None is Vault's 400 `paths must be supplied`; an empty one its `missing path` (Core.Capabilities).
 */
const requirePaths = ({ paths, path }: PathFields): string[] => {
  const list = paths.length > 0 ? paths : path;
  if (list.length === 0) throw badRequest('paths must be supplied', 'capabilities_no_paths');
  if (list.length > 1000) throw badRequest('too many paths (at most 1000)', 'capabilities_too_many');
  if (list.includes('')) throw badRequest('missing path', 'capabilities_missing_path');
  return list;
};
