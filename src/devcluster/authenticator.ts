/**
 * The API server's service-account token authenticator (`jwtTokenAuthenticator.AuthenticateToken`
 * in `pkg/serviceaccount/jwt.go`), for bound and legacy tokens: issuer pre-check, key selection by
 * kid, signature, audience intersection, then the validators (reference §2.1).
 */
import { goTrimSpace } from '../lib/go-space.js';
import { goQuoteList } from './go-format.js';
import { verifyJws, type KeyRing } from './keys.js';
import { LEGACY_ISSUER } from './tokens.js';
import {
  TokenRejected,
  validateBound,
  validateLegacy,
  type ServiceAccountInfo,
  type ValidatorDeps,
} from './validators.js';

/** `status.user` of a TokenReview. */
export type UserInfo = {
  username: string;
  uid: string;
  groups: string[];
  /** Sorted by key, as Go marshals a map; absent when empty. */
  extra?: Record<string, string[]>;
};

/**
 * The outcome of authenticating a token. `error` is the full `status.error` text:
 * `[invalid bearer token, <reason>]`, or `invalid bearer token` for a token no authenticator claims.
 */
export type AuthResult =
  | { ok: true; user: UserInfo; audiences: string[] }
  /** `error` is '' when nothing claimed the request and nothing failed (no bearer token at all). */
  | { ok: false; error: string };

/** Dependencies of the authenticator: keys, live objects, clock, wording and feature gates. */
export type AuthenticatorDeps = ValidatorDeps & {
  keys: Pick<KeyRing, 'verificationKeys'>;
  /** Accepted `iss` values of bound tokens (`--service-account-issuer`, all of them). */
  issuers: readonly string[];
  /** `--api-audiences`: implicit audiences of legacy tokens and of requests without audiences. */
  apiAudiences: readonly string[];
};

/** `invalidToken` of the bearer-token authenticator, for tokens nobody claims. */
const NOT_MINE = 'invalid bearer token';
/** go-jose v2's `ErrCryptoFailure`, which kube-apiserver aggregates (and de-duplicates) over keys. */
export const CRYPTO_FAILURE = 'square/go-jose: error in cryptographic primitive';

const B64URL = /^[A-Za-z0-9_-]*$/;
/** What Go's base64 decoders skip wherever it stands. */
const LINE_BREAKS = /[\r\n]/g;
/** `base64.RawURLEncoding`: `\r`/`\n` skipped, padding and other foreign characters rejected. */
const rawUrlDecode = (raw: string): Buffer | undefined => {
  const segment = raw.replace(LINE_BREAKS, '');
  return B64URL.test(segment) && segment.length % 4 !== 1 ? Buffer.from(segment, 'base64url') : undefined;
};

/**
 * The token of an `Authorization` header as the bearer authenticator (`request/bearertoken`) reads
 * it: trimmed, split on ' ' into at most 3 parts, scheme `bearer` in any case, the second part the
 * token. `undefined` when there is none (no header, another scheme, a space before the token).
 */
export const bearerToken = (authorization: string): string | undefined => {
  const auth = goTrimSpace(authorization);
  const space = auth.indexOf(' ');
  if (space < 0 || auth.slice(0, space).toLowerCase() !== 'bearer') return undefined;
  const rest = auth.slice(space + 1);
  const token = rest.includes(' ') ? rest.slice(0, rest.indexOf(' ')) : rest;
  return token === '' ? undefined : token;
};

const jsonObject = (bytes: Buffer | undefined): Record<string, unknown> | undefined => {
  if (!bytes) return undefined;
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
};

/** `aud` as `jwt.Audience` decodes it (a string or an array of strings). */
const audiencesOf = (aud: unknown): string[] | 'invalid' => {
  if (aud === undefined || aud === null) return [];
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) return aud as string[];
  return 'invalid';
};

const reject = (reason: string): AuthResult => ({ ok: false, error: `[${NOT_MINE}, ${reason}]` });

/** The user the API server builds from a service account (`ServiceAccountInfo.UserInfo`). */
export const userInfoFor = (sa: ServiceAccountInfo): UserInfo => {
  const extra: Record<string, string[]> = {};
  if (sa.podName && sa.podUid) {
    extra['authentication.kubernetes.io/pod-name'] = [sa.podName];
    extra['authentication.kubernetes.io/pod-uid'] = [sa.podUid];
  }
  if (sa.credentialId) extra['authentication.kubernetes.io/credential-id'] = [sa.credentialId];
  if (sa.nodeName) {
    extra['authentication.kubernetes.io/node-name'] = [sa.nodeName];
    if (sa.nodeUid) extra['authentication.kubernetes.io/node-uid'] = [sa.nodeUid];
  }
  const keys = Object.keys(extra).sort();
  return {
    username: `system:serviceaccount:${sa.namespace}:${sa.name}`,
    uid: sa.uid,
    // AuthenticatedGroupAdder appends system:authenticated after the service-account groups.
    groups: ['system:serviceaccounts', `system:serviceaccounts:${sa.namespace}`, 'system:authenticated'],
    ...(keys.length > 0 ? { extra: Object.fromEntries(keys.map((k) => [k, extra[k] as string[]])) } : {}),
  };
};

/** A service-account token authenticator. */
export type TokenAuthenticator = ReturnType<typeof createTokenAuthenticator>;

/** A service-account token authenticator over the simulator's keys and objects. */
export const createTokenAuthenticator = (deps: AuthenticatorDeps) => {
  const issuers = new Set(deps.issuers);

  /**
   * Authenticate `token` for `requestedAudiences` (the API audiences when absent or empty, as a
   * TokenReview without `spec.audiences` and every ordinary API request are). Never throws.
   */
  const authenticate = (token: string, requestedAudiences?: readonly string[]): AuthResult => {
    // hasCorrectIssuer: anything that is not a 3-part JWT with one of our issuers is "not mine".
    if (goTrimSpace(token).startsWith('{')) return { ok: false, error: NOT_MINE };
    const parts = token.split('.');
    if (parts.length !== 3) return { ok: false, error: NOT_MINE };
    const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
    const claims = jsonObject(rawUrlDecode(payloadPart));
    const iss = claims?.['iss'];
    if (!claims || typeof iss !== 'string') return { ok: false, error: NOT_MINE };
    const legacy = iss === LEGACY_ISSUER && !issuers.has(iss);
    if (!legacy && !issuers.has(iss)) return { ok: false, error: NOT_MINE };
    // jwt.ParseSigned: header and signature must decode too.
    const header = jsonObject(rawUrlDecode(headerPart));
    const signature = rawUrlDecode(signaturePart);
    if (!header || typeof header['alg'] !== 'string' || !signature) return { ok: false, error: NOT_MINE };

    const kid = typeof header['kid'] === 'string' ? header['kid'] : '';
    // Servers before the PublicKeysGetter refactor tried every key regardless of kid.
    const keys = deps.keys.verificationKeys(kid, deps.wording === 'current');
    if (keys.length === 0) return reject('invalid signature, no keys found');
    // go-jose signs over the segments re-encoded from what it decoded.
    const signingInput = `${headerPart}.${payloadPart}`.replace(LINE_BREAKS, '');
    if (!keys.some((k) => verifyJws(k.publicKey, header['alg'] as string, signingInput, signature)))
      return reject(CRYPTO_FAILURE);

    for (const name of ['exp', 'iat', 'nbf']) {
      const value = claims[name];
      if (value !== undefined && value !== null && typeof value !== 'number')
        return reject('square/go-jose/jwt: expected number value to unmarshal NumericDate');
    }
    const decoded = audiencesOf(claims['aud']);
    if (decoded === 'invalid')
      return reject('square/go-jose/jwt: expected string or array value to unmarshal to Audience');

    // Tokens without aud (legacy) are valid for the API audiences only.
    const tokenAudiences = decoded.length > 0 ? decoded : [...deps.apiAudiences];
    const requested =
      requestedAudiences && requestedAudiences.length > 0 ? [...requestedAudiences] : [...deps.apiAudiences];
    // Audiences.Intersect keeps the requested order.
    const audiences = requested.filter((a) => tokenAudiences.includes(a));
    if (audiences.length === 0 && deps.apiAudiences.length > 0)
      return reject(
        `token audiences ${goQuoteList(tokenAudiences)} is invalid for the target audiences ${goQuoteList(requested)}`,
      );

    try {
      const info = legacy ? validateLegacy(deps, token, claims) : validateBound(deps, claims);
      return { ok: true, user: userInfoFor(info), audiences };
    } catch (error) {
      if (error instanceof TokenRejected) return reject(error.message);
      throw error;
    }
  };

  return { authenticate };
};
