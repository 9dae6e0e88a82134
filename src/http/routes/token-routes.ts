import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AuthgateError, badRequest, permissionDenied } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';
import { parseDurationSeconds } from '../../lib/duration.js';
import { parseRevocationTarget, type RevocationService } from '../../auth/index.js';
import type { RenewRefresh, TokenRecord, TokenService } from '../../tokens/index.js';
import { clientTokenOf } from '../client-token.js';
import { envelope } from '../envelope.js';

export type TokenRouteDeps = {
  tokens: Pick<
    TokenService,
    'authenticate' | 'renew' | 'revoke' | 'lookupAccessor' | 'revokeAccessor' | 'lookupResponseData'
  >;
  /** Recognises the operator's admin token (constant-time). */
  admin: { isAdmin(token: string): boolean };
  clock: Clock;
  renewalTerms: RenewRefresh;
  revocation: Pick<RevocationService, 'revoke'>;
};

const IncrementBody = Type.Object(
  { increment: Type.Optional(Type.Union([Type.String(), Type.Integer({ minimum: 0 })])) },
  { additionalProperties: true },
);
const AccessorBody = Type.Object({ accessor: Type.Optional(Type.String()) }, { additionalProperties: true });

const requireToken = (request: FastifyRequest): string => {
  const token = clientTokenOf(request);
  if (token === undefined) throw permissionDenied('missing_client_token');
  return token;
};

/** The caller must be the operator (admin token); anything else is `permission denied`. */
const requireAdmin = (request: FastifyRequest, admin: TokenRouteDeps['admin']): void => {
  const token = requireToken(request);
  if (!admin.isAdmin(token)) throw permissionDenied('not_admin');
};

const accessorOf = (body: unknown): string => {
  const accessor = (body as { accessor?: string } | undefined)?.accessor;
  if (accessor === undefined || accessor === '') throw badRequest('missing accessor', 'missing_accessor');
  return accessor;
};

/**
 * The token endpoints a workload and an operator use (vault-compat §3): lookup-self,
 * renew-self, revoke-self; lookup-accessor and revoke-accessor for the admin token.
 */
export const registerTokenRoutes = (app: FastifyInstance, deps: TokenRouteDeps): void => {
  const self = async (request: FastifyRequest): Promise<{ token: string; record: TokenRecord }> => {
    const token = requireToken(request);
    const record = await deps.tokens.authenticate(token, { remoteAddress: request.ip });
    return { token, record };
  };

  app.get('/v1/auth/token/lookup-self', async (request) => {
    const { token, record } = await self(request);
    return envelope(request.id, {
      data: deps.tokens.lookupResponseData(record, deps.clock.nowMs(), token),
      mountType: 'token',
    });
  });

  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/renew-self',
    schema: { body: IncrementBody },
    handler: async (request) => {
      const raw = (request.body as { increment?: string | number } | undefined)?.increment;
      let incrementSeconds = 0;
      if (raw !== undefined) {
        try {
          incrementSeconds = parseDurationSeconds(raw);
        } catch {
          throw badRequest(`invalid increment ${JSON.stringify(raw)}`, 'bad_increment');
        }
      }
      const token = requireToken(request);
      const auth = await deps.tokens.renew(token, {
        incrementSeconds,
        remoteAddress: request.ip,
        refresh: deps.renewalTerms,
      });
      return envelope(request.id, { auth, mountType: 'token' });
    },
  });

  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/revoke-self',
    handler: async (request, reply) => {
      const { token } = await self(request);
      await deps.tokens.revoke(token);
      return reply.code(204).send();
    },
  });

  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/lookup-accessor',
    schema: { body: AccessorBody },
    handler: async (request) => {
      requireAdmin(request, deps.admin);
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
    schema: { body: AccessorBody },
    handler: async (request, reply) => {
      requireAdmin(request, deps.admin);
      await deps.tokens.revokeAccessor(accessorOf(request.body));
      return reply.code(204).send();
    },
  });

  // authgate's own operator endpoint (Vault has no equivalent): revoke every token of a role,
  // a service account or a pod, and drop their cached reviews on every replica.
  app.route({
    method: ['POST', 'PUT'],
    url: '/v1/auth/token/revoke-identity',
    schema: { body: Type.Object({}, { additionalProperties: true }) },
    handler: async (request) => {
      requireAdmin(request, deps.admin);
      const target = parseRevocationTarget((request.body ?? {}) as Record<string, unknown>);
      const result = await deps.revocation.revoke(target);
      return envelope(request.id, {
        data: { revoked_tokens: result.revokedTokens, invalidated_reviews: result.invalidatedReviews },
        mountType: 'token',
      });
    },
  });

  // Vault answers a method a path does not support with 405.
  for (const url of ['/v1/auth/token/renew-self', '/v1/auth/token/revoke-self']) {
    app.get(url, async () => {
      throw new AuthgateError('UNSUPPORTED_OPERATION');
    });
  }
};
