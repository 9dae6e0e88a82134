import type { JwtMountConfig, JwtRoleConfig } from '../config/index.js';
import { badRequest, isAuthgateError, loginRefused, permissionDenied } from '../errors.js';
import {
  CLAIM_MESSAGES,
  MalformedTokenError,
  parseClaimsAndPayload,
  serviceAccountUsername,
  type UnverifiedClaims,
} from '../identity/index.js';
import type { CidrSet } from '../lib/cidr.js';
import { hmacB64 } from '../lib/hash.js';
import { withoutWhiteSpace } from '../lib/jwt-shape.js';
import { truncate } from '../lib/truncate.js';
import type { IssueInput, IssuedToken, RevocationIndex } from '../tokens/index.js';
import type { JwtVerifier } from '../verify/index.js';
import { checkBoundClaims, checkValidity, mappedClaims, userClaimOf } from './jwt-claims.js';
import { loginIssueInput } from './role-binding.js';

/** A mount of type jwt as the login uses it: its config and the verifier of its signatures. */
export type JwtMount = { kind: 'jwt'; config: JwtMountConfig; verifier: Pick<JwtVerifier, 'verify'> };

/** What a jwt login shares with the kubernetes one (login-service.ts builds them once). */
export type JwtLoginDeps = {
  issue(input: IssueInput): Promise<IssuedToken>;
  nowMs(): number;
  /** The keyed hash a login names its JWT by (caches, never the token). */
  digestKey: Buffer;
  cidrsOf(role: JwtRoleConfig): CidrSet;
  entityIdOf(mount: string, alias: string): string;
  /** The mount path as a display name's prefix (`team/jwt` → `team-jwt`). */
  displayPrefixOf(mount: string): string;
  /** A role name as an answer may quote it (never a token, and cut). */
  quotedRole(name: string): string;
};

/** Bound of the user claim in a token's display name: it is the token holder's to write. */
const MAX_DISPLAY_ALIAS_CHARS = 253;

/**
 * A signature refusal as Vault's JWT method words it (cap's "error verifying token signature"),
 * keeping the prover's reason and detail for the log; an outage (503) stays one.
 */
const signatureRefusal = (err: unknown, mount: JwtMountConfig): unknown => {
  if (!isAuthgateError(err) || err.status === 503) return err;
  const detail = err.detail;
  if (err.reason === 'algorithm_not_allowed')
    return loginRefused(`error validating token: ${CLAIM_MESSAGES.alg}`, err.reason, detail);
  const message =
    err.reason === 'jwks_malformed'
      ? 'error validating token: error verifying token signature: malformed token'
      : mount.keys.source.kind === 'keys'
        ? 'error validating token: error verifying token signature: no known key successfully validated the token signature'
        : 'error validating token: error verifying token signature: failed to verify id token signature';
  return loginRefused(message, err.reason, detail);
};

/**
 * The revocation indexes of a jwt login: its role, and, when the token is a Kubernetes
 * service-account token (its `sub` names the service account its claims name), that service
 * account and pod, so that `revoke-identity` reaches tokens of either method.
 */
const indexesOf = (mountPath: string, role: string, claims: UnverifiedClaims): RevocationIndex[] => {
  const indexes: RevocationIndex[] = [{ kind: 'role', value: `${mountPath}/${role}` }];
  const { namespace, subject } = claims;
  const name = claims.serviceAccount?.name;
  if (namespace !== undefined && name !== undefined && subject === serviceAccountUsername(namespace, name)) {
    indexes.push({ kind: 'sa', value: `${namespace}/${name}` });
    if (claims.pod !== undefined) indexes.push({ kind: 'pod', value: claims.pod.uid });
  }
  return indexes;
};

/**
 * The login of a jwt mount, in the order of Vault's JWT auth method (path_login.go): the role
 * (or the mount's `default_role`), the token present, bound CIDRs, the signature, then the
 * claims — issuer, subject, audiences, times — the user claim, claim mappings and bound claims.
 * Refusals are Vault's 400s with its messages; a bound CIDR refusal is 403, a key set that
 * cannot be loaded 503.
 */
export const createJwtLogin = (deps: JwtLoginDeps) => {
  return async (
    mountPath: string,
    mount: JwtMount,
    input: { role?: unknown; jwt?: unknown },
    remoteAddress: string | undefined,
    seen: { claims?: UnverifiedClaims },
  ): Promise<{ issued: IssuedToken; role: JwtRoleConfig; mount: JwtMountConfig }> => {
    const cfg = mount.config;
    const roleName = typeof input.role === 'string' && input.role !== '' ? input.role : cfg.defaultRole;
    if (roleName === undefined) throw badRequest('missing role', 'missing_role');
    const role = cfg.roles.get(roleName.toLowerCase());
    if (role === undefined)
      throw badRequest(`role "${deps.quotedRole(roleName)}" could not be found`, 'role_not_found');
    if (typeof input.jwt !== 'string' || input.jwt === '') throw badRequest('missing token', 'missing_jwt');
    const jwt = withoutWhiteSpace(input.jwt);
    if (role.tokenBoundCidrs.length > 0 && !deps.cidrsOf(role).contains(remoteAddress))
      throw permissionDenied('cidr_not_allowed', `remote=${remoteAddress}`);

    let parsed: ReturnType<typeof parseClaimsAndPayload>;
    try {
      parsed = parseClaimsAndPayload(jwt);
    } catch (err) {
      if (!(err instanceof MalformedTokenError)) throw err;
      throw loginRefused(
        'error validating token: error verifying token signature: malformed token',
        'malformed_token',
        err.reason,
      );
    }
    const { claims, payload } = parsed;
    seen.claims = claims;
    // Trust decision: nothing of the payload is used before its signature holds.
    await mount.verifier.verify(jwt, hmacB64(deps.digestKey, jwt)).catch((err: unknown) => {
      throw signatureRefusal(err, cfg);
    });
    checkValidity(payload, cfg, role, deps.nowMs());
    const alias = userClaimOf(payload, role);
    const metadata: Record<string, string> = { ...mappedClaims(payload, role), role: role.name };
    checkBoundClaims(payload, role);

    const issued = await deps.issue(
      loginIssueInput(mountPath, cfg, role, {
        metadata,
        // Vault's: the alias name (the user claim), after the mount path.
        displayName: `${deps.displayPrefixOf(mountPath)}-${truncate(alias, MAX_DISPLAY_ALIAS_CHARS)}`,
        entityId: deps.entityIdOf(mountPath, alias),
        indexes: indexesOf(mountPath, role.name, claims),
      }),
    );
    return { issued, role, mount: cfg };
  };
};
