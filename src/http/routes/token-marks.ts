import type { FastifyRequest } from 'fastify';

/*
 * What a token route leaves on its request for the audit hooks, which run after it: which token
 * its answer carries, and whether the request made it.
 */

const RENEWED = Symbol('authgate.renewedDisplayName');
type WithRenewed = FastifyRequest & { [RENEWED]?: string };

/**
 * The display name of the token whose renewal or creation answered `request` (renew-self, renew,
 * renew-accessor, create, create-orphan): Vault's audit writes it in the answer's `auth`, which
 * the HTTP answer lacks. Undefined for any other request.
 */
export const renewedDisplayNameOf = (request: FastifyRequest): string | undefined =>
  (request as WithRenewed)[RENEWED];

const CREATED = Symbol('authgate.createdToken');
type WithCreated = FastifyRequest & { [CREATED]?: true };

/**
 * Whether `request` created the token its answer carries (create, create-orphan): like a login's,
 * that token was issued by this request, and must not outlive an answer that could not be audited.
 */
export const createdTokenHere = (request: FastifyRequest): boolean =>
  (request as WithCreated)[CREATED] === true;

/** Keeps the display name of the token a renewal or a creation answers with (see above). */
export const keepRenewedDisplayName = (request: FastifyRequest, displayName: string): void => {
  (request as WithRenewed)[RENEWED] = displayName;
};

/** Marks `request` as the one that created the token its answer carries (see above). */
export const markTokenCreated = (request: FastifyRequest): void => {
  (request as WithCreated)[CREATED] = true;
};
