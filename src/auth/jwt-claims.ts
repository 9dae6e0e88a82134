import type { ClaimValue, JwtMountConfig, JwtRoleConfig } from '../config/index.js';
import { loginRefused } from '../errors.js';
import { audienceList, CLAIM_MESSAGES } from '../identity/index.js';
import { globMatch } from '../lib/glob.js';
import { getByPointer } from '../lib/json-pointer.js';
import { truncate } from '../lib/truncate.js';

/*
 * The claim rules of Vault's JWT auth method (vault-plugin-auth-jwt path_login.go and claims.go,
 * hashicorp/cap jwt.go), on claims whose signature is proven. Each refusal is Vault's 400 with
 * Vault's message; the internal reason says which rule, and a detail quotes the claim cut short
 * (claims are the token holder's to write, and details reach logs and audit).
 */

/**
 * A claim as Vault's `getClaim` reads it: by its name, else, when the name begins with `/`, by
 * JSON pointer (`/kubernetes.io/namespace`). Own properties only.
 */
export const claimAt = (payload: Record<string, unknown>, name: string): unknown => {
  const value = Object.hasOwn(payload, name) ? payload[name] : undefined;
  return value === undefined || value === null
    ? name.startsWith('/')
      ? getByPointer(payload, name)
      : value
    : value;
};

/**
 * A claim's value as a detail or message names it: a string quoted and cut, a number or boolean
 * as written, anything else by its kind only. Never JSON.stringify of a claim: a signed token may
 * nest one 200 000 arrays deep, and that throws (a 500).
 */
const shown = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(truncate(value));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : typeof value;
};

/**
 * The registered claims whose type RFC 7519 fixes, checked as go-jose's decoding (cap, Vault)
 * refuses them: `iss`, `sub` and `jti` strings, `aud` a string or a list of strings.
 */
const checkRegisteredTypes = (payload: Record<string, unknown>): void => {
  for (const name of ['iss', 'sub', 'jti'] as const) {
    const value = payload[name];
    if (value !== undefined && value !== null && typeof value !== 'string')
      throw invalid(
        `malformed claims: "${name}" is not a string`,
        'malformed_claims',
        `${name}=${shown(value)}`,
      );
  }
  const aud = payload['aud'];
  if (
    aud !== undefined &&
    aud !== null &&
    typeof aud !== 'string' &&
    !(Array.isArray(aud) && aud.every((a) => typeof a === 'string'))
  )
    throw invalid('malformed claims: "aud" is not a string or a list of strings', 'malformed_claims');
};

const invalid = (inner: string, reason: string, detail?: string) =>
  loginRefused(`error validating token: ${inner}`, reason, detail);

/** A NumericDate claim in seconds; undefined when absent; refused when not a number. */
const numericDate = (payload: Record<string, unknown>, name: 'exp' | 'nbf' | 'iat'): number | undefined => {
  const value = payload[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw invalid(`malformed claims: "${name}" is not a number`, 'malformed_claims');
  return value;
};

/**
 * cap's `Validate` after the signature: `iss` (the mount's `bound_issuer`), `sub` (the role's
 * `bound_subject`), `aud` (one of `bound_audiences`), then the times — at least one of exp, nbf
 * and iat; a missing exp is the later of nbf and iat plus `expiration_leeway`, a missing nbf is
 * iat or else exp minus `not_before_leeway`; each compared with `clock_skew_leeway`, in ms.
 */
export const checkValidity = (
  payload: Record<string, unknown>,
  mount: Pick<JwtMountConfig, 'boundIssuer'>,
  role: JwtRoleConfig,
  nowMs: number,
): void => {
  checkRegisteredTypes(payload);
  const iss = payload['iss'];
  if (mount.boundIssuer !== undefined && iss !== mount.boundIssuer)
    throw invalid(CLAIM_MESSAGES.iss, 'issuer_mismatch', `iss=${shown(iss)}`);
  const sub = payload['sub'];
  if (role.boundSubject !== undefined && sub !== role.boundSubject)
    throw invalid('invalid subject (sub) claim', 'subject_mismatch', `sub=${shown(sub)}`);
  const audiences = audienceList(payload['aud']);
  if (role.boundAudiences.length > 0 && !role.boundAudiences.some((a) => audiences.includes(a)))
    throw invalid(CLAIM_MESSAGES.aud, 'audience_mismatch', `aud=${truncate(audiences.join(','))}`);
  const exp = numericDate(payload, 'exp');
  const nbf = numericDate(payload, 'nbf');
  const iat = numericDate(payload, 'iat');
  if (exp === undefined && nbf === undefined && iat === undefined)
    throw invalid(
      'no issued at (iat), not before (nbf), or expiration time (exp) claims in token',
      'missing_time_claims',
    );
  const expAt = exp ?? Math.max(nbf ?? -Infinity, iat ?? -Infinity) + role.expirationLeewaySeconds;
  const nbfAt = nbf ?? iat ?? expAt - role.notBeforeLeewaySeconds;
  const skewMs = role.clockSkewLeewaySeconds * 1000;
  // In cap's order: nbf, exp, iat.
  if (nowMs + skewMs < nbfAt * 1000) throw invalid(CLAIM_MESSAGES.nbf, 'not_yet_valid');
  if (nowMs - skewMs > expAt * 1000) throw invalid(CLAIM_MESSAGES.exp, 'expired');
  if (iat !== undefined && nowMs + skewMs < iat * 1000) throw invalid(CLAIM_MESSAGES.iat, 'issued_in_future');
  // Vault's rule, and stricter than Vault: a role that binds no audience takes no token that
  // names one, so a token minted for another service never logs in by accident of a role left
  // open. Vault applies it to an `aud` list only (path_login.go reads it as []interface{}), and
  // lets a single-string `aud` through; authgate applies it to both forms.
  if (role.boundAudiences.length === 0 && audiences.length > 0)
    throw loginRefused(
      'audience claim found in JWT but no audiences bound to the role',
      'audience_not_bound',
    );
};

/** The workload's name: the role's `user_claim`, which must be a string (the alias and the entity follow it). */
export const userClaimOf = (payload: Record<string, unknown>, role: JwtRoleConfig): string => {
  // By name unless the role asks for a pointer (Vault's `user_claim_json_pointer`, read as
  // `getClaim` reads: the name first, then the pointer); otherwise a claim named `/x` is read
  // as it is named, and only so.
  const value = role.userClaimJsonPointer
    ? claimAt(payload, role.userClaim)
    : Object.hasOwn(payload, role.userClaim)
      ? payload[role.userClaim]
      : undefined;
  if (value === undefined || value === null)
    throw loginRefused(`claim "${role.userClaim}" not found in token`, 'user_claim_missing');
  if (typeof value !== 'string')
    throw loginRefused(`claim "${role.userClaim}" could not be converted to string`, 'user_claim_not_string');
  return value;
};

/**
 * The token metadata `claim_mappings` asks for: each claim present copied to its key, as a string
 * (numbers and booleans as JSON writes them); a missing claim is skipped, as in Vault.
 */
export const mappedClaims = (
  payload: Record<string, unknown>,
  role: JwtRoleConfig,
): Record<string, string> => {
  const metadata: Record<string, string> = {};
  for (const [claim, key] of Object.entries(role.claimMappings)) {
    const value = claimAt(payload, claim);
    if (value === undefined || value === null) continue;
    if (typeof value === 'string') metadata[key] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') metadata[key] = String(value);
    else throw loginRefused(`error converting claim '${claim}' to string`, 'claim_mapping_not_string');
  }
  return metadata;
};

const isScalar = (v: unknown): v is ClaimValue =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/**
 * Vault's `validateBoundClaims`: every bound claim must be present and have one of its values —
 * a list claim matches on any element. `string` compares by value and type (the string "1" is
 * not the number 1); `glob` matches string claims against string globs where `*` is any run.
 */
export const checkBoundClaims = (payload: Record<string, unknown>, role: JwtRoleConfig): void => {
  for (const [claim, expected] of Object.entries(role.boundClaims)) {
    const actual = claimAt(payload, claim);
    if (actual === undefined || actual === null)
      throw loginRefused(`error validating claims: claim "${claim}" is missing`, 'bound_claim_missing');
    const actuals = Array.isArray(actual) ? actual : [actual];
    if (!actuals.every(isScalar))
      throw loginRefused(
        `error validating claims: received claim is not a string, bool, int or list: ${shown(actual)}`,
        'bound_claim_mismatch',
      );
    const matches =
      role.boundClaimsType === 'glob'
        ? actuals.some(
            (a) => typeof a === 'string' && expected.some((e) => typeof e === 'string' && globMatch(e, a)),
          )
        : actuals.some((a) => expected.some((e) => e === a));
    if (!matches)
      throw loginRefused(
        `error validating claims: claim "${claim}" does not match any associated bound claim values`,
        'bound_claim_mismatch',
      );
  }
};
