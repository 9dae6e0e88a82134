import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AuthgateError, badRequest } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { durationSecondField, fieldValidationMessage } from '../../lib/go-duration.js';
import { parseRevocationTarget, type RevocationService } from '../../auth/index.js';
import type { RenewRefresh, RenewResult, TokenRecord, TokenService } from '../../tokens/index.js';
import type { AdminCheck } from '../client-token.js';
import { isList } from '../acl-hook.js';
import { requestAuth, type AclRouteConfig } from '../acl-route.js';
import { envelope } from '../envelope.js';
import { missingBodyIsEmpty, type ExactNumbersRouteConfig } from '../vault-errors.js';
import { IN_PATH_OPS, tokenInPathError } from '../token-in-path.js';
import { unsupportedOperation } from './config-file-answers.js';
import {
  registerTokenCreateRoutes,
  type TokenCreateRouteDeps,
  type UpdateRoute,
} from './token-create-routes.js';
import { keepRenewedDisplayName } from './token-marks.js';

export type TokenRouteDeps = {
  tokens: Pick<
    TokenService,
    | 'renew'
    | 'renewToken'
    | 'renewAccessor'
    | 'revoke'
    | 'revokeOrphan'
    | 'lookupToken'
    | 'lookupAccessor'
    | 'revokeAccessor'
    | 'listAccessors'
    | 'lookupResponseData'
  > &
    TokenCreateRouteDeps['tokens'];
  policies: TokenCreateRouteDeps['policies'];
  /** Recognises the admin token when a body names it: it is not a token of the store. */
  admin: AdminCheck;
  clock: Clock;
  renewalTerms: RenewRefresh;
  revocation: Pick<RevocationService, 'revoke'>;
};

// `increment` is checked by the handler, after the token: a bad one is Vault's `Field validation failed: …`.
const Increment = Type.Optional(Type.Unknown());
// A JSON null is an absent field, as Vault's FieldData reads it: `missing accessor`.
const OptionalString = Type.Optional(Type.Union([Type.String(), Type.Null()]));
const IncrementBody = Type.Object({ increment: Increment }, { additionalProperties: true });
const AccessorBody = Type.Object({ accessor: OptionalString }, { additionalProperties: true });
const TokenBody = Type.Object({ token: OptionalString }, { additionalProperties: true });
// auth/token/create reads its fields itself, as Vault's handler decodes the raw request data.
const AnyBody = Type.Object({}, { additionalProperties: true });
const TokenIncrementBody = Type.Object(
  { token: OptionalString, increment: Increment },
  { additionalProperties: true },
);
const AccessorIncrementBody = Type.Object(
  { accessor: OptionalString, increment: Increment },
  { additionalProperties: true },
);

/**
 * The renewal increment of a renew body, in whole seconds, read as Vault's framework reads its
 * `TypeDurationSecond` field (src/lib/go-duration.ts): a number of seconds (a JSON number as
 * written, or a string), `<n>d`, or a Go duration (`"1h30m"`); absent, `null` or `""` is 0 (hvac
 * 0.11.2's `renew_token()` sends `"increment": null`). Anything else — a negative duration, an
 * unparseable string, `1.5`, `true`, a list — is Vault's 400 `Field validation failed: error
 * converting input <value> for field "increment": <Go's reason>` (a string of 16 characters or
 * more that is not made of a duration's characters shown as `***`), so it never reaches the token service (which treats a bad increment as a
 * caller's bug).
 */
const incrementOf = (body: unknown): number => {
  const raw = (body as { increment?: unknown } | undefined)?.increment;
  const field = durationSecondField(raw);
  if ('error' in field) {
    // A body beside a token may carry one in the wrong field: the message does not quote it
    // (go-duration.ts shows a secret-like value as ***).
    throw badRequest(fieldValidationMessage('increment', raw, field.error), 'bad_increment');
  }
  return field.value;
};

/** A string field of a body the schema checked; absent, `null` and `""` are all absent, as in Vault. */
const fieldOf = (body: unknown, name: 'token' | 'accessor'): string | undefined => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

const accessorOf = (body: unknown): string => {
  const accessor = fieldOf(body, 'accessor');
  if (accessor === undefined) throw badRequest('missing accessor', 'missing_accessor');
  return accessor;
};

/** The token a body names (renew, revoke); Vault's handleRenew and handleRevokeTree need one. */
const namedTokenOf = (body: unknown): string => {
  const token = fieldOf(body, 'token');
  if (token === undefined) throw badRequest('missing token ID', 'missing_token');
  return token;
};

/**
 * The token endpoints a workload and an operator use (vault-compat §3): lookup-self,
 * renew-self, revoke-self; and Vault's forms that name another token, by token (lookup, renew,
 * revoke) or by accessor (lookup-accessor, renew-accessor, revoke-accessor), for the admin token
 * or a policy granting `update` on them. A named token always travels in the body, never in the
 * URL, where access logs would keep it.
 */
export const registerTokenRoutes = (app: FastifyInstance, deps: TokenRouteDeps): void => {
  // The caller's right is checked in onRequest (the ACL hook, or the admin check), before the
  // body is parsed or validated: a refused caller learns 403 and nothing about valid bodies.
  const guarded: { config: AclRouteConfig } = { config: { acl: {} } };

  /**
   * A guarded POST|PUT route whose body holds Vault's fields: no body is no fields (as Vault
   * reads it), then `body` checks their types. A body with an `increment` keeps its numbers as
   * written (`1.0`, `1e3`), which Vault reads as text, and refuses, where JSON.parse would not.
   */
  const update: UpdateRoute = (url, body, handler) => {
    const exactNumbers = 'increment' in ((body as { properties?: object }).properties ?? {});
    app.route({
      method: ['POST', 'PUT'],
      url,
      preValidation: missingBodyIsEmpty,
      schema: { body },
      config: { ...guarded.config, exactNumbers } satisfies AclRouteConfig & ExactNumbersRouteConfig,
      handler,
    });
  };

  /** The caller's own token record; the admin token has none (it is not a token of the store). */
  const self = (request: FastifyRequest): { token: string; record: TokenRecord } => {
    const { token, record } = requestAuth(request);
    if (record === undefined)
      throw badRequest('the admin token is not a token of the token store', 'admin_self');
    return { token, record };
  };

  /** Lookup data of the caller's own token, as lookup-self answers it. */
  const selfData = (request: FastifyRequest): Record<string, unknown> => {
    const auth = requestAuth(request);
    return auth.record === undefined
      ? adminLookupData(auth.token)
      : deps.tokens.lookupResponseData(auth.record, deps.clock.nowMs(), auth.token);
  };

  /**
   * A renewal or revocation that names the admin token would answer as if it were unknown
   * (`token not found`, or a revocation's 204 that leaves it working): say what it is instead.
   * No oracle: whoever could ask this may as well send the value as their own token (a lookup
   * naming it answers as lookup-self does for it).
   */
  const refuseAdminToken = (token: string): void => {
    if (deps.admin.isAdmin(token))
      throw badRequest('the admin token is not a token of the token store', 'admin_token_named');
  };

  /** A renewal's answer, its token's display name kept for the audit entry. */
  const renewed = (request: FastifyRequest, result: RenewResult) => {
    keepRenewedDisplayName(request, result.displayName);
    return envelope(request.id, { auth: result.auth, warnings: result.warnings, mountType: 'token' });
  };

  // Vault serves lookup-self as a read and as an update (`vault token lookup` sends GET; some
  // clients POST); the body, if any, is ignored. The ACL needs `read` for GET and `update`
  // otherwise, as Vault's.
  app.route({
    method: ['GET', 'POST', 'PUT'],
    url: '/v1/auth/token/lookup-self',
    ...guarded,
    handler: async (request) => {
      // A list was checked for `list` on `lookup-self/`, not `read`: Vault's pattern has no list.
      if (isList(request)) throw unsupportedOperation('token_lookup_self_not_list');
      return envelope(request.id, { data: selfData(request), mountType: 'token' });
    },
  });

  // `vault token lookup <token>`, hvac's lookup(). Vault's handleLookup also serves GET, with the
  // token in the query string: not here (405), so that a token never sits in a URL.
  update('/v1/auth/token/lookup', TokenBody, async (request) => {
    const named = fieldOf(request.body, 'token');
    // As Vault's handleLookup: no token named is the caller's own, answered as lookup-self
    // (its uses left counted after this request's).
    if (named === undefined || named === requestAuth(request).token)
      return envelope(request.id, { data: selfData(request), mountType: 'token' });
    const data = deps.admin.isAdmin(named)
      ? adminLookupData(named)
      : deps.tokens.lookupResponseData(await deps.tokens.lookupToken(named), deps.clock.nowMs(), named);
    return envelope(request.id, { data, mountType: 'token' });
  });

  update('/v1/auth/token/renew-self', IncrementBody, async (request) => {
    const { token, record } = self(request);
    // After the hook spent the request's use: a bad increment costs one, as in Vault.
    const incrementSeconds = incrementOf(request.body);
    const result = await deps.tokens.renew(token, {
      incrementSeconds,
      remoteAddress: request.ip,
      refresh: deps.renewalTerms,
      usesLeft: record.numUses,
    });
    return renewed(request, result);
  });

  // `vault token renew <token>`. The answer carries the token back, as Vault's (node-vault's
  // tokenRenew then uses it as its own, against Vault too).
  update('/v1/auth/token/renew', TokenIncrementBody, async (request) => {
    // Vault's framework reads the fields' types before its handler asks for the token.
    const incrementSeconds = incrementOf(request.body);
    const token = namedTokenOf(request.body);
    refuseAdminToken(token);
    const result = await deps.tokens.renewToken(token, { incrementSeconds, refresh: deps.renewalTerms });
    return renewed(request, result);
  });

  // `vault token renew -accessor`: the answer's client_token is "", as Vault's.
  update('/v1/auth/token/renew-accessor', AccessorIncrementBody, async (request) => {
    const incrementSeconds = incrementOf(request.body);
    const result = await deps.tokens.renewAccessor(accessorOf(request.body), {
      incrementSeconds,
      refresh: deps.renewalTerms,
    });
    return renewed(request, result);
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

  // `vault token revoke <token>`. Vault revokes the token's children too; authgate's tokens are
  // orphans (a login issues them), so the token alone goes, as with revoke-accessor. An unknown
  // token is 204, as Vault's revokeCommon answers it.
  update('/v1/auth/token/revoke', TokenBody, async (request, reply) => {
    const token = namedTokenOf(request.body);
    refuseAdminToken(token);
    await deps.tokens.revoke(token);
    return reply.code(204).send();
  });

  // `vault token revoke -mode=orphan <token>`: as revoke (authgate's tokens have no children to
  // orphan), but Vault's handleRevokeOrphan asks `sudo` on the path itself, after the token, and
  // refuses a token it does not find.
  update('/v1/auth/token/revoke-orphan', TokenBody, async (request, reply) => {
    const token = namedTokenOf(request.body);
    const caller = requestAuth(request);
    if (!caller.admin && caller.sudo !== true)
      throw badRequest('root or sudo privileges required to revoke and orphan', 'revoke_orphan_not_sudo');
    refuseAdminToken(token);
    await deps.tokens.revokeOrphan(token);
    return reply.code(204).send();
  });

  registerTokenCreateRoutes(update, deps);

  update('/v1/auth/token/lookup-accessor', AccessorBody, async (request) => {
    const record = await deps.tokens.lookupAccessor(accessorOf(request.body));
    return envelope(request.id, {
      data: deps.tokens.lookupResponseData(record, deps.clock.nowMs(), ''),
      mountType: 'token',
    });
  });

  update('/v1/auth/token/revoke-accessor', AccessorBody, async (request, reply) => {
    const { warnings } = await deps.tokens.revokeAccessor(accessorOf(request.body));
    // As Vault: 204 after a revocation; 200 with the warnings (`No token found with this
    // accessor`) in the envelope when there was nothing to revoke.
    if (warnings.length === 0) return reply.code(204).send();
    return envelope(request.id, { warnings, mountType: 'token' });
  });

  // `vault list auth/token/accessors`: LIST (or GET ?list=true), the only operation of Vault's
  // pattern `accessors/$`, which its token store marks root-protected (PathsSpecial.Root
  // `accessors*`): the admin token, or `list` and `sudo` on the path. As Vault's answer to an
  // empty list (logical.RespondErrorCommon), no live token is 404 with no message.
  for (const url of ['/v1/auth/token/accessors', '/v1/auth/token/accessors/']) {
    app.get(url, { config: { acl: { sudo: true } } satisfies AclRouteConfig }, async (request) => {
      if (!isList(request)) throw unsupportedOperation('token_accessors_not_list');
      const keys = await deps.tokens.listAccessors();
      if (keys.length === 0) throw new AuthgateError('NOT_FOUND', { reason: 'token_accessors_none' });
      return envelope(request.id, { data: { keys }, mountType: 'token' });
    });
  }

  // A token in the URL ends up in access logs on the way: answered 404, as current Vault, but
  // without echoing the path (the not-found handler would) and before any ACL check (whose
  // refusal detail is the path). Unguarded: the answer is the same for anyone.
  for (const op of IN_PATH_OPS) {
    app.route({
      method: ['GET', 'POST', 'PUT', 'DELETE'],
      url: `/v1/auth/token/${op}/*`,
      handler: async () => {
        throw tokenInPathError(op);
      },
    });
  }

  // authgate's own operator endpoint (Vault has no equivalent): revoke every token of a role,
  // a service account or a pod, and drop their cached reviews on every replica.
  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/revoke-identity',
    preValidation: missingBodyIsEmpty,
    schema: { body: AnyBody },
    // authgate's operator endpoint: `update` and `sudo` on its path (the admin token has every capability).
    config: { acl: { sudo: true } } satisfies AclRouteConfig,
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
