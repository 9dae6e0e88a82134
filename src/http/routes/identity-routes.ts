import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AuthgateError, badRequest } from '../../errors.js';
import { durationSecondField, fieldValidationMessage } from '../../lib/go-duration.js';
import { weakDecodeString } from '../../lib/go-mapstructure.js';
import { subjectOfToken, type IdentityTokens } from '../../secrets/identity/index.js';
import { isList } from '../acl-hook.js';
import { requestAuth, type AclRouteConfig } from '../acl-route.js';
import { envelope } from '../envelope.js';
import { unsupportedPath } from './config-file-answers.js';

export type IdentityRouteDeps = {
  identity: Pick<
    IdentityTokens,
    'issue' | 'discovery' | 'jwks' | 'rotate' | 'introspect' | 'jwksMaxAgeSeconds' | 'discoveryMaxAgeSeconds'
  >;
};

type NameParams = { Params: { name: string } };

/**
 * The rotate body's `verification_ttl`, read as Vault's framework reads its `TypeDurationSecond`
 * field, before the key is looked up: absent (or `null`) is no override; a bad value is Vault's 400
 * `Field validation failed: error converting input <value> for field "verification_ttl": …`. A
 * body that is not an object (a list, a string) is Vault's 400 `error parsing JSON`: Vault decodes
 * a body into a map.
 */
const rotateOptions = (body: unknown): { verificationTtlSeconds?: number } => {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('error parsing JSON', 'identity_body_not_object');
  }
  const raw = (body as { verification_ttl?: unknown }).verification_ttl;
  if (raw === undefined || raw === null) return {};
  const field = durationSecondField(raw);
  if ('error' in field) {
    throw badRequest(fieldValidationMessage('verification_ttl', raw, field.error), 'bad_verification_ttl');
  }
  return { verificationTtlSeconds: field.value };
};

/**
 * The introspection body's `token` and `client_id`, read as Vault's framework reads `TypeString`
 * fields: absent or `null` is `""`, a number or a bool its text; a list or a map is Vault's 400
 * `Field validation failed: …`. A body that is not an object is Vault's 400 `error parsing JSON`.
 */
const introspectFields = (body: unknown): { token: string; clientId: string } => {
  if (body !== undefined && body !== null && (typeof body !== 'object' || Array.isArray(body))) {
    throw badRequest('error parsing JSON', 'identity_body_not_object');
  }
  const fields = (body ?? {}) as { token?: unknown; client_id?: unknown };
  const read = (name: 'token' | 'client_id'): string => {
    const raw = fields[name];
    const decoded = weakDecodeString(raw);
    if ('error' in decoded) {
      throw badRequest(fieldValidationMessage(name, raw, decoded.error), 'bad_introspect_field');
    }
    return decoded.value;
  };
  return { token: read('token'), clientId: read('client_id') };
};

// The capability from the method: `read` for a token (GET), `update` for a rotation (POST/PUT).
const guarded: { config: AclRouteConfig } = { config: { acl: {} } };

/**
 * Vault's identity-token endpoints (`identity/oidc`):
 *
 * - `GET /v1/identity/oidc/token/:name` (ACL `read`): a signed token naming the caller's
 *   Kubernetes identity, in Vault's envelope `{data: {client_id, token, ttl}}`. Vault's path has
 *   a read operation only: a list (`GET ?list=true`), a POST/PUT (an update) or a HEAD is 405
 *   `unsupported operation` to a caller whose policies grant that (403 to any other);
 * - `GET /v1/identity/oidc/.well-known/openid-configuration` and `…/.well-known/keys`: public
 *   (no token, as Vault), raw JSON with `Cache-Control` (the keys only when there are any, as
 *   Vault), for downstream verifiers;
 * - `POST|PUT /v1/identity/oidc/introspect` (ACL `update`): whether an identity token checks
 *   out, Vault's raw `{"active":true}` or `{"active":false,"error":"…"}`, always 200;
 * - `POST|PUT /v1/identity/oidc/key/:name/rotate` (ACL `update`; `/rotate/` too, as Vault's
 *   `rotate/?$`): rotate a signing key now; 204. Vault's optional `verification_ttl` sets how
 *   long the retired key stays published.
 */
export const registerIdentityRoutes = (app: FastifyInstance, deps: IdentityRouteDeps): void => {
  const { identity } = deps;

  app.route<NameParams>({
    method: 'GET',
    url: '/v1/identity/oidc/token/:name',
    // Not Fastify's HEAD-as-GET, which would sign a token only to drop it: see the HEAD route below.
    exposeHeadRoute: false,
    ...guarded,
    handler: async (request) => {
      // `token/` names no role: Vault's pattern needs a name, so no pattern of its backend matches.
      if (request.params.name === '') throw unsupportedPath('identity_token_unsupported_path');
      // A list (`GET ?list=true`) was authorised on `identity/oidc/token/<name>/`, not on the
      // role's own path, so signing for it would honour a grant the policies never gave for
      // the role. The route has no list operation in Vault either: 405.
      if (isList(request)) {
        throw new AuthgateError('UNSUPPORTED_OPERATION', { reason: 'identity_unsupported_operation' });
      }
      // The admin token has no record, hence no identity: Vault's "no entity" 400.
      const subject = subjectOfToken(requestAuth(request).record);
      const issued = await identity.issue(request.params.name, subject);
      return envelope(request.id, {
        data: { client_id: issued.clientId, token: issued.token, ttl: issued.ttlSeconds },
        mountType: 'identity',
      });
    },
  });

  // Vault's path has no operation for a HEAD either (it is a `header` operation there): 405 to a
  // caller the ACL lets ask (HEAD is checked as a read), 403 to any other; never 404, the path
  // exists. It signs nothing: a token signed only to be dropped.
  app.route<NameParams>({
    method: 'HEAD',
    url: '/v1/identity/oidc/token/:name',
    ...guarded,
    handler: async () => {
      throw new AuthgateError('UNSUPPORTED_OPERATION', { reason: 'identity_unsupported_operation' });
    },
  });

  const publicJson = (reply: FastifyReply, maxAgeSeconds: number, body: unknown) =>
    reply.header('cache-control', `public, max-age=${maxAgeSeconds}`).type('application/json').send(body);

  // Vault's patterns end in `/?$`: with or without the trailing slash.
  for (const url of [
    '/v1/identity/oidc/.well-known/openid-configuration',
    '/v1/identity/oidc/.well-known/openid-configuration/',
  ]) {
    app.get(url, async (_request: FastifyRequest, reply) =>
      publicJson(reply, identity.discoveryMaxAgeSeconds, identity.discovery()),
    );
  }
  for (const url of ['/v1/identity/oidc/.well-known/keys', '/v1/identity/oidc/.well-known/keys/']) {
    app.get(url, async (_request: FastifyRequest, reply) => {
      const jwks = await identity.jwks();
      // As Vault, cacheable only when there are keys: an empty set kept by a cache would refuse
      // the first tokens of a role configured meanwhile (it then gets the default `no-store`).
      if (jwks.keys.length === 0) return reply.type('application/json').send(jwks);
      return publicJson(reply, identity.jwksMaxAgeSeconds, jwks);
    });
  }

  for (const url of ['/v1/identity/oidc/introspect', '/v1/identity/oidc/introspect/']) {
    app.route({
      method: ['POST', 'PUT'],
      url,
      ...guarded,
      handler: async (request, reply) => {
        const { token, clientId } = introspectFields(request.body);
        return reply.type('application/json').send(await identity.introspect(token, clientId));
      },
    });
  }

  for (const url of ['/v1/identity/oidc/key/:name/rotate', '/v1/identity/oidc/key/:name/rotate/']) {
    app.route<NameParams>({
      method: ['POST', 'PUT'],
      url,
      ...guarded,
      handler: async (request, reply) => {
        await identity.rotate(request.params.name, rotateOptions(request.body));
        return reply.code(204).send();
      },
    });
  }
};
