import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { badRequest } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { parseDurationSeconds } from '../../lib/duration.js';
import { parseRevocationTarget, type RevocationService } from '../../auth/index.js';
import type { RenewRefresh, TokenRecord, TokenService } from '../../tokens/index.js';
import { requestAuth, type AclRouteConfig } from '../acl-route.js';
import { envelope } from '../envelope.js';
import { missingBodyIsEmpty } from '../vault-errors.js';

export type TokenRouteDeps = {
  tokens: Pick<TokenService, 'renew' | 'revoke' | 'lookupAccessor' | 'revokeAccessor' | 'lookupResponseData'>;
  clock: Clock;
  renewalTerms: RenewRefresh;
  revocation: Pick<RevocationService, 'revoke'>;
};

// `increment` is checked by the handler, after the token: a bad one is `invalid increment`.
const IncrementBody = Type.Object(
  { increment: Type.Optional(Type.Unknown()) },
  { additionalProperties: true },
);
// A JSON null is an absent field, as Vault's FieldData reads it: `missing accessor`.
const AccessorBody = Type.Object(
  { accessor: Type.Optional(Type.Union([Type.String(), Type.Null()])) },
  { additionalProperties: true },
);

/**
 * The renewal increment of a renew-self body, in whole seconds: a non-negative integer number of
 * seconds, or a Vault duration string (`"1h"`, `"90"`); absent, `null` or `""` is 0, as Vault's
 * `ParseDurationSecond` reads them (hvac 0.11.2's `renew_token()` sends `"increment": null`).
 * Anything else — another type, an
 * unparseable string, a negative, fractional or non-finite number, a value beyond
 * `Number.MAX_SAFE_INTEGER` seconds — is 400 `invalid increment`, so it never reaches the token
 * service (which treats a bad increment as a caller's bug).
 */
const incrementOf = (body: unknown): number => {
  const raw = (body as { increment?: unknown } | undefined)?.increment;
  if (raw === undefined || raw === null) return 0;
  const invalid = () => badRequest('invalid increment', 'bad_increment');
  if (typeof raw === 'number' && !(Number.isSafeInteger(raw) && raw >= 0)) throw invalid();
  if (typeof raw !== 'number' && typeof raw !== 'string') throw invalid();
  let seconds: number;
  try {
    seconds = parseDurationSeconds(raw);
  } catch {
    throw invalid();
  }
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw invalid();
  return seconds;
};

const accessorOf = (body: unknown): string => {
  const accessor = (body as { accessor?: string | null } | undefined)?.accessor;
  if (accessor === undefined || accessor === null || accessor === '')
    throw badRequest('missing accessor', 'missing_accessor');
  return accessor;
};

/**
 * The token endpoints a workload and an operator use (vault-compat §3): lookup-self,
 * renew-self, revoke-self; lookup-accessor and revoke-accessor for the admin token.
 */
export const registerTokenRoutes = (app: FastifyInstance, deps: TokenRouteDeps): void => {
  // The caller's right is checked in onRequest (the ACL hook, or the admin check), before the
  // body is parsed or validated: a refused caller learns 403 and nothing about valid bodies.
  const guarded: { config: AclRouteConfig } = { config: { acl: {} } };

  /** The caller's own token record; the admin token has none (it is not a token of the store). */
  const self = (request: FastifyRequest): { token: string; record: TokenRecord } => {
    const { token, record } = requestAuth(request);
    if (record === undefined)
      throw badRequest('the admin token is not a token of the token store', 'admin_self');
    return { token, record };
  };

  // Vault serves lookup-self as a read and as an update (`vault token lookup` sends GET; some
  // clients POST); the body, if any, is ignored. The ACL needs `read` for GET and `update`
  // otherwise, as Vault's.
  app.route({
    method: ['GET', 'POST', 'PUT'],
    url: '/v1/auth/token/lookup-self',
    ...guarded,
    handler: async (request) => {
      const auth = requestAuth(request);
      const nowMs = deps.clock.nowMs();
      const data =
        auth.record === undefined
          ? adminLookupData(auth.token)
          : deps.tokens.lookupResponseData(auth.record, nowMs, auth.token);
      return envelope(request.id, { data, mountType: 'token' });
    },
  });

  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/renew-self',
    preValidation: missingBodyIsEmpty,
    schema: { body: IncrementBody },
    ...guarded,
    handler: async (request) => {
      const { token, record } = self(request);
      // After the hook spent the request's use: a bad increment costs one, as in Vault.
      const incrementSeconds = incrementOf(request.body);
      const { auth, warnings } = await deps.tokens.renew(token, {
        incrementSeconds,
        remoteAddress: request.ip,
        refresh: deps.renewalTerms,
        usesLeft: record.numUses,
      });
      return envelope(request.id, { auth, warnings, mountType: 'token' });
    },
  });

  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/revoke-self',
    ...guarded,
    handler: async (request, reply) => {
      const { token } = self(request);
      await deps.tokens.revoke(token);
      return reply.code(204).send();
    },
  });

  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/lookup-accessor',
    preValidation: missingBodyIsEmpty,
    schema: { body: AccessorBody },
    ...guarded,
    handler: async (request) => {
      const record = await deps.tokens.lookupAccessor(accessorOf(request.body));
      return envelope(request.id, {
        data: deps.tokens.lookupResponseData(record, deps.clock.nowMs(), ''),
        mountType: 'token',
      });
    },
  });

  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/revoke-accessor',
    preValidation: missingBodyIsEmpty,
    schema: { body: AccessorBody },
    ...guarded,
    handler: async (request, reply) => {
      const { warnings } = await deps.tokens.revokeAccessor(accessorOf(request.body));
      // As Vault: 204 after a revocation; 200 with the warnings (`No token found with this
      // accessor`) in the envelope when there was nothing to revoke.
      if (warnings.length === 0) return reply.code(204).send();
      return envelope(request.id, { warnings, mountType: 'token' });
    },
  });

  // authgate's own operator endpoint (Vault has no equivalent): revoke every token of a role,
  // a service account or a pod, and drop their cached reviews on every replica.
  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/revoke-identity',
    preValidation: missingBodyIsEmpty,
    schema: { body: Type.Object({}, { additionalProperties: true }) },
    // authgate's operator endpoint: `sudo` on its path (the admin token has every capability).
    config: { acl: { capability: 'sudo' } } satisfies AclRouteConfig,
    handler: async (request) => {
      const target = parseRevocationTarget((request.body ?? {}) as Record<string, unknown>);
      const result = await deps.revocation.revoke(target);
      return envelope(request.id, {
        data: { revoked_tokens: result.revokedTokens, invalidated_reviews: result.invalidatedReviews },
        mountType: 'token',
      });
    },
  });
};

/**
 * lookup-self for the admin token, shaped as Vault's answer for a root token: no expiry, no
 * accessor, the `root` policy. The token itself is echoed (`id`) only to its own holder, as Vault.
 */
const adminLookupData = (token: string): Record<string, unknown> => ({
  accessor: '',
  creation_time: 0,
  creation_ttl: 0,
  display_name: 'root',
  entity_id: '',
  expire_time: null,
  explicit_max_ttl: 0,
  id: token,
  meta: null,
  num_uses: 0,
  orphan: true,
  path: 'auth/token/root',
  policies: ['root'],
  ttl: 0,
  type: 'service',
});
