import type { FastifyRequest } from 'fastify';
import type { Capability } from '../policy/index.js';
import type { TokenRecord } from '../tokens/index.js';

/**
 * What a route declares in its Fastify `config` to be guarded by the ACL hook (acl-hook.ts).
 * A route without `acl` is not checked by it (login, health, `.well-known`, admin-only routes
 * that check the admin token themselves).
 */
export type AclRouteConfig = {
  acl?: {
    /**
     * Vault's ExistenceCheck: for POST/PUT, whether the target already exists, so that the
     * request needs `update` (it exists) or `create` (it does not). Called only when the caller's
     * policies grant exactly one of the two. Absent: POST/PUT always need `update`.
     */
    exists?: (request: FastifyRequest) => Promise<boolean>;
    /**
     * A root-protected path (Vault's `PathsSpecial.Root`): the request needs `sudo` on its path
     * in addition to the capability of its operation, never `sudo` alone nor the operation alone.
     */
    sudo?: true;
    /**
     * The logical path a non-list request acts on, when the route's engine reads the request's
     * path as another (a KV secret named with a trailing slash is that secret). The request then
     * needs its capability on both: Vault checks only the path as written, where a rule on the
     * secret's exact path (a deny) would not hold. Absent: the request's own path only.
     */
    actsOn?: (path: string) => string;
  };
};

/**
 * The capability a token's policies allowed a request by: that of its operation, or, for a
 * write they allow both to create and to update, `create-or-update` (the target's existence was
 * not checked, as it did not matter).
 */
export type AllowedBy = Exclude<Capability, 'deny' | 'sudo'> | 'create-or-update';

/** Who made a request that passed the ACL hook. */
export type RequestAuth = {
  /** The client token as sent (never logged or echoed). */
  token: string;
  /** The operator's admin token: every path, every capability (Vault's root). */
  admin: boolean;
  /** The token's record (uses already counted for this request); undefined for the admin token. */
  record: TokenRecord | undefined;
  /**
   * The write was allowed by `create` alone (the target did not exist when checked): the engine
   * must still find it absent when it writes, or a concurrent create would let this request
   * overwrite what its policy only lets it create.
   */
  createOnly?: boolean;
  /** What the token's policies allowed the request by; undefined for the admin token and a refusal. */
  allowedBy?: AllowedBy;
  /**
   * The token's policies also grant `sudo` on the path: for a handler that asks it itself, as
   * Vault's `SudoPrivilege` (auth/token/revoke-orphan). The admin token has it (`admin`).
   */
  sudo?: true;
  /**
   * The token is live but its policies refused the request (403): recorded only so that the
   * audit entries name who was refused, as Vault's do; the route never runs.
   */
  denied?: true;
};

const AUTH = Symbol('authgate.requestAuth');
type WithAuth = FastifyRequest & { [AUTH]?: RequestAuth };

/** Records the caller of a request (the ACL hook does, once the token is authenticated). */
export const setRequestAuth = (request: FastifyRequest, auth: RequestAuth): void => {
  (request as WithAuth)[AUTH] = auth;
};

/** The caller of a request, when the ACL hook has checked it; undefined otherwise. */
export const requestAuthOf = (request: FastifyRequest): RequestAuth | undefined =>
  (request as WithAuth)[AUTH];

/**
 * The caller of a request guarded by the ACL hook.
 * @throws TypeError when called from a route that did not declare `config.acl` (a bug).
 */
export const requestAuth = (request: FastifyRequest): RequestAuth => {
  const auth = (request as WithAuth)[AUTH];
  if (auth === undefined) throw new TypeError(`route ${request.routeOptions.url ?? ''} is not ACL-guarded`);
  return auth;
};
