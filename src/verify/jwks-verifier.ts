import type { KubernetesMountConfig } from '../config/index.js';
import { loginDenied, permissionDenied } from '../errors.js';
import {
  type Identity,
  MalformedTokenError,
  type UnverifiedClaims,
  serviceAccountUsername,
  validateClaims,
} from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { deepFreeze } from '../lib/freeze.js';
import { annotate } from '../lib/tracing.js';
import { createJwksProver } from './jwks-prover.js';
import type { JwksSource } from './jwks-source.js';
import { createMemoryResultCache, type ResultCache } from './result-cache.js';
import {
  countKeyLoads,
  newVerifierStats,
  type Verifier,
  type VerifierStats,
  type VerifyRequest,
} from './verifier.js';
import type { VerifierLog } from './verifier-log.js';

export type JwksVerifierDeps = {
  clock: Clock;
  log: VerifierLog;
  /** Replaces node:http(s) for JWKS and discovery fetches (then `jwks.caCert` is not applied). */
  fetch?: typeof fetch;
  /**
   * Replaces the in-process verified-result cache (e.g. a shared second level). Its mark must
   * change on `clear` as on an invalidation: that is what keeps a proof out of it across either.
   */
  cache?: ResultCache<Identity> & { mark(): Promise<string> };
  /**
   * Wraps the key source with a level shared by replicas (fetched URL and discovery sets only).
   * `reload` reloads the keys when another replica announces a new set.
   */
  shareSource?: (source: JwksSource, reload: () => void) => JwksSource & { close?(): Promise<void> };
};

/** Upper bound on how long a verified token is reused without a signature check. */
export const JWKS_RESULT_TTL_MS = 60_000;
/** Bound on cached verified tokens per mount. */
const JWKS_RESULT_MAX_ENTRIES = 100_000;

/**
 * Verifies service-account JWTs locally against the cluster's published keys (node:crypto, see
 * jws-signature.ts), without an
 * API call per login. Keys come from `mount.jwks.source` (file, URL or OIDC discovery) and are
 * refreshed as {@link createJwksProver} describes.
 *
 * What is proven: the signature (only `mount.allowedAlgorithms`, never `none` or HS*), `iss` ∈
 * `mount.issuers`, `aud` ∋ the requested audience (unless undefined), exp/nbf/iat with
 * `mount.leewaySeconds`, `exp` present (legacy Secret tokens are refused), and `sub` ==
 * `system:serviceaccount:<namespace>:<name>`. NOT proven: that the pod or service account still
 * exists — local verification cannot see deletions (use `tokenreview` for that).
 *
 * A verified result is cached under the request's token digest and the audience for min(exp − now, 60 s); a hit
 * costs no signature check. Every cached result is dropped when a key leaves the set. Throws `TypeError` when the mount has no `jwks` config or no issuers.
 */
export const createJwksVerifier = (mount: KubernetesMountConfig, deps: JwksVerifierDeps): Verifier => {
  const jwks = mount.jwks;
  if (jwks === undefined) throw new TypeError(`mount ${mount.path}: verification "jwks" needs a jwks config`);
  // The issuer is what ties a key set to a cluster; config validation requires one, and so do we.
  if (mount.issuers.length === 0) throw new TypeError(`mount ${mount.path}: jwks verification needs issuers`);
  const { clock, log } = deps;
  const counters: VerifierStats = newVerifierStats();
  const cache =
    deps.cache ??
    createMemoryResultCache<Identity>({ clock, maxEntries: JWKS_RESULT_MAX_ENTRIES, identityOf: (v) => v });
  const prover = createJwksProver(mount, jwks, {
    clock,
    log,
    fetch: deps.fetch,
    shareSource: deps.shareSource,
    ...countKeyLoads(counters),
    // A key gone from the issuer's set is no longer trusted: neither is what it alone proved.
    // The clear changes the cache's mark, which keeps a proof made with the old set, stored
    // after the drop, out of the cache.
    onKeysDropped: () => void cache.clear(),
  });
  const allowed: readonly string[] = mount.allowedAlgorithms;

  const identityOf = (claims: UnverifiedClaims, audience: string | undefined): Identity => {
    // The caller parsed these claims from the very string whose signature was just verified
    // (VerifyRequest's contract), so they are proven now; parsing the payload again would only
    // repeat that work on every cache miss.
    // Vault's checks with its exact edges and messages (alg, iss, aud, exp/nbf/iat with leeway),
    // on proven claims.
    validateClaims(claims, {
      algorithms: allowed,
      issuers: mount.issuers,
      audience,
      leewaySeconds: mount.leewaySeconds,
      nowMs: clock.nowMs(),
    });
    if (claims.expiresAt === undefined) {
      // Deliberately stricter than Vault, which accepts a legacy Secret token (no exp) here: local
      // verification cannot see the Secret being deleted, so such a token would log in forever.
      // Legacy tokens are accepted through TokenReview, which checks the Secret still exists.
      throw loginDenied(
        'invalid expiration time (exp) claim: token has no expiry',
        claims.legacy ? 'legacy_token_needs_tokenreview' : 'missing_exp',
      );
    }
    const { issuer, subject, namespace } = claims;
    const name = claims.serviceAccount?.name;
    const uid = claims.serviceAccount?.uid;
    if (issuer === undefined || subject === undefined || namespace === undefined || !name || !uid) {
      throw permissionDenied('jwks_claims_missing', 'no iss/sub/namespace/service account claims');
    }
    if (subject !== serviceAccountUsername(namespace, name)) {
      throw permissionDenied('jwks_subject_mismatch', `sub=${subject}`);
    }
    // Built by assignment: on Node 20 an object literal of conditional spreads gets a hidden
    // class of its own each time it is made, and this runs for every token never seen before.
    const identity: Identity = {
      issuer,
      subject,
      namespace,
      serviceAccount: { name, uid },
      audiences: audience !== undefined ? [audience] : claims.audiences,
      legacy: claims.legacy,
    };
    if (claims.pod !== undefined) identity.pod = claims.pod;
    if (claims.node !== undefined) identity.node = claims.node;
    if (claims.secretName !== undefined) identity.secretName = claims.secretName;
    if (claims.expiresAt !== undefined) identity.expiresAt = claims.expiresAt;
    if (claims.jti !== undefined) identity.jti = claims.jti;
    return identity;
  };

  return {
    mode: 'jwks',
    async verify(request: VerifyRequest): Promise<Identity> {
      const { jwt, claims, audience } = request;
      const key = `${request.tokenDigest}\n${JSON.stringify(audience ?? null)}`;
      const hit = await cache.get(key);
      if (hit !== undefined) {
        counters.cacheHits++;
        annotate('authgate.cache', 'hit');
        return deepFreeze(hit);
      }
      counters.cacheMisses++;
      annotate('authgate.cache', 'miss');
      // Keys dropped or a revocation while the proof runs: it is not cached afterwards.
      const since = await cache.mark();
      await prover.prove(jwt);
      let identity: Identity;
      try {
        // Frozen: the cache hands this very object to every later login with the token.
        identity = deepFreeze(identityOf(claims, audience));
      } catch (err) {
        if (err instanceof MalformedTokenError) throw permissionDenied('jwks_malformed', err.message);
        throw err;
      }
      // Never reuse a result past the token's own exp; legacy tokens (no exp) get the bound only.
      const ttlMs =
        identity.expiresAt === undefined
          ? JWKS_RESULT_TTL_MS
          : Math.min(identity.expiresAt * 1000 - clock.nowMs(), JWKS_RESULT_TTL_MS);
      await cache.set(key, identity, ttlMs, since);
      return identity;
    },
    ready: () => prover.keys.ready(),
    stats: () => ({ ...counters }),
    invalidate: async (sel) => (await cache.invalidate?.(sel)) ?? 0,
    close: async () => {
      await cache.clear();
      await prover.close();
    },
  };
};
