import type { FastifyReply, FastifyRequest } from 'fastify';
import Type, { type TSchema } from 'typebox';
import { badRequest } from '../../errors.js';
import type { PolicyRegistry } from '../../policy/index.js';
import {
  parseCreateRequest,
  TOKEN_ROLES_UNSUPPORTED,
  type CreatePath,
  type TokenService,
} from '../../tokens/index.js';
import { requestAuth } from '../acl-route.js';
import { envelope } from '../envelope.js';
import { keepRenewedDisplayName, markTokenCreated } from './token-marks.js';

/** A guarded POST|PUT route of the token routes (token-routes.ts `update`). */
export type UpdateRoute = (
  url: string,
  body: TSchema,
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
) => void;

export type TokenCreateRouteDeps = {
  tokens: Pick<TokenService, 'issue' | 'authBlock'>;
  /** The loaded policies: a created token's policy that is not one is warned about, as Vault does. */
  policies: Pick<PolicyRegistry, 'get'>;
};

// auth/token/create reads its fields itself, as Vault's handler decodes the raw request data.
const AnyBody = Type.Object({}, { additionalProperties: true });

/** Vault's `auth/token/create`, `create-orphan` and `create/<role>`, on the token routes' `update`. */
export const registerTokenCreateRoutes = (update: UpdateRoute, deps: TokenCreateRouteDeps): void => {
  // `vault token create`, Terraform's provider, hvac's and node-vault's token create. Only the
  // admin token (Vault's root) creates tokens: any other token's would be Vault's child token,
  // revoked with its parent, and authgate keeps no parent/child tree. Every created token is an
  // orphan, so create-orphan is the same call; for the admin, as for Vault's root, no_parent is
  // allowed.
  const onlyAdminCreates = (request: FastifyRequest): void => {
    const auth = requestAuth(request);
    // Vault's first check of the parent: a batch token creates nothing, whatever its policies.
    if (auth.record?.type === 'batch')
      throw badRequest('batch tokens cannot create more tokens', 'token_create_batch_parent');
    if (!auth.admin)
      throw badRequest(
        'child tokens are not supported: only the admin token creates tokens',
        'token_create_child',
      );
  };
  for (const path of ['auth/token/create', 'auth/token/create-orphan'] satisfies CreatePath[]) {
    update(`/v1/${path}`, AnyBody, async (request) => {
      onlyAdminCreates(request);
      const issued = await deps.tokens.issue(
        parseCreateRequest((request.body ?? {}) as Record<string, unknown>, path),
      );
      keepRenewedDisplayName(request, issued.record.displayName);
      markTokenCreated(request);
      const warnings = [
        ...issued.warnings,
        ...issued.record.policies
          .filter((p) => deps.policies.get(p) === undefined)
          .map((p) => `Policy "${p}" does not exist`),
      ];
      return envelope(request.id, {
        auth: deps.tokens.authBlock(issued.record, issued.clientToken),
        warnings,
        mountType: 'token',
      });
    });
  }

  // `vault token create -role=<r>` (hvac's `role_name`): Vault's token roles, which authgate has not.
  update('/v1/auth/token/create/*', AnyBody, async (request) => {
    onlyAdminCreates(request);
    throw badRequest(TOKEN_ROLES_UNSUPPORTED, 'token_create_role');
  });
};
