import type { Identity, UnverifiedClaims } from '../identity/index.js';
import type { IdentitySelector } from './result-cache.js';

/** What a login asks a verifier to prove. */
export type VerifyRequest = {
  /** The raw JWT as presented. Never logged; caches key on an HMAC of it. */
  jwt: string;
  /**
   * HMAC-SHA256 of `jwt` under a key every replica shares (base64url), computed once per login by
   * the caller from the same string: the caches key on it, never on the token, and a login does
   * not hash the whole JWT a second time.
   */
  tokenDigest: string;
  /** The same JWT's claims, parsed without verification by the caller (already checked for shape). */
  claims: UnverifiedClaims;
  /**
   * The role's audience. TokenReview is asked for exactly `[audience]`; JWKS requires `aud` to
   * contain it. Undefined only for roles that explicitly allow a missing audience: then the
   * token's own `aud` list is used (as Vault does).
   */
  audience: string | undefined;
};

/** Counters a verifier keeps, for metrics and tests. */
export type VerifierStats = {
  cacheHits: number;
  cacheMisses: number;
  /** TokenReview API calls made (tokenreview) or JWKS fetches (jwks). */
  upstreamCalls: number;
  upstreamErrors: number;
  /**
   * Key-set and discovery fetches, whatever the mount: a jwks or jwt mount's (its upstream calls),
   * a tokenreview mount's signature prefilter's (beside its TokenReviews).
   */
  keyFetches: number;
};

/** Counters at zero. */
export const newVerifierStats = (): VerifierStats => ({
  cacheHits: 0,
  cacheMisses: 0,
  upstreamCalls: 0,
  upstreamErrors: 0,
  keyFetches: 0,
});

/**
 * Proves that a JWT is a live service-account token and returns the identity it names.
 *
 * Failure modes (always an `AuthgateError` from ../errors.ts, never a raw library error):
 * - `LOGIN_DENIED` with Vault's message (e.g. `invalid audience (aud) claim: …`) for claim failures;
 * - `PERMISSION_DENIED` (client sees `permission denied`) for a bad signature, an unknown key or
 *   any TokenReview refusal, with the precise `reason` (`tokenreview_pod_not_found`, …) and
 *   `detail` for the log;
 * - `UNAVAILABLE` (503) when the API server or JWKS endpoint cannot be reached: fail closed.
 */
export type Verifier = {
  readonly mode: 'tokenreview' | 'jwks';
  verify(request: VerifyRequest): Promise<Identity>;
  /** Resolves when the verifier can serve (keys loaded / API server reachable); rejects otherwise. */
  ready(): Promise<void>;
  stats(): VerifierStats;
  /**
   * Drops the cached verifications of a pod or service account (operator revocation), so that
   * the workload's next login is verified again; resolves how many were dropped. On a shared
   * cache, on every replica.
   */
  invalidate(sel: IdentitySelector): Promise<number>;
  close(): Promise<void>;
};

/**
 * What every mount's verifier offers besides its proof, whatever it proves (a kubernetes mount's
 * identity, a jwt mount's signature): readiness, counters, cache invalidation and closing.
 */
export type VerifierControl = Omit<Verifier, 'verify'>;

/** A key-set prover's callbacks that count its fetches and its failed loads into `counters`. */
export const countKeyLoads = (counters: VerifierStats) => ({
  onUpstreamCall: (): void => {
    counters.upstreamCalls++;
    counters.keyFetches++;
  },
  onError: (): void => {
    counters.upstreamErrors++;
  },
});
