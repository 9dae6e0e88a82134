import type { KubernetesMountConfig } from '../config/index.js';
import { loginDenied, permissionDenied } from '../errors.js';
import {
  CLAIM_MESSAGES,
  type Identity,
  MalformedTokenError,
  type UnverifiedClaims,
  serviceAccountUsername,
  validateClaims,
} from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { deepFreeze } from '../lib/freeze.js';
import { annotate } from '../lib/tracing.js';
import { truncate } from '../lib/truncate.js';
import { verifyJws } from './jws-signature.js';
import { createKeyStore } from './jwks-key-store.js';
import { createJwksSource, type JwksSource } from './jwks-source.js';
import { createReviewerToken } from './reviewer-token.js';
import { createMemoryResultCache, type ResultCache } from './result-cache.js';
import type { Verifier, VerifierStats, VerifyRequest } from './verifier.js';
import type { VerifierLog } from './verifier-log.js';

export type JwksVerifierDeps = {
  clock: Clock;
  log: VerifierLog;
  /** Replaces node:http(s) for JWKS and discovery fetches (then `jwks.caCert` is not applied). */
  fetch?: typeof fetch;
  /** Replaces the in-process verified-result cache (e.g. a shared second level). */
  cache?: ResultCache<Identity>;
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
/** A file source is re-checked (one `stat`) at most this often. */
const FILE_RECHECK_MS = 2000;

const MSG = CLAIM_MESSAGES;

/**
 * Verifies service-account JWTs locally against the cluster's published keys (node:crypto, see
 * jws-signature.ts), without an
 * API call per login. Keys come from `mount.jwks.source` (file, URL or OIDC discovery) and are
 * refreshed as {@link createKeyStore} describes.
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
  const counters: VerifierStats = { cacheHits: 0, cacheMisses: 0, upstreamCalls: 0, upstreamErrors: 0 };
  const isFile = jwks.source.kind === 'file';
  // The reviewer token goes only to the API server itself (same origin as kubernetes_host).
  const reviewer =
    mount.tokenReviewerJwtFile !== undefined && mount.kubernetesHost !== undefined
      ? {
          token: createReviewerToken(mount.tokenReviewerJwtFile, { clock, log }),
          origin: new URL(mount.kubernetesHost).origin,
        }
      : undefined;
  const inner = createJwksSource(jwks, mount.issuers, {
    clock,
    fetch: deps.fetch,
    allowInsecureHttp: mount.allowInsecureHttp === true,
    ...(reviewer === undefined
      ? {}
      : {
          bearerFor: async (url: string) =>
            new URL(url).origin === reviewer.origin ? reviewer.token.get().catch(() => undefined) : undefined,
        }),
    onUpstreamCall: () => {
      counters.upstreamCalls++;
    },
  });
  /** Bumped whenever keys leave the set: a proof begun before then is not cached. */
  let keyGeneration = 0;
  const cache =
    deps.cache ??
    createMemoryResultCache<Identity>({ clock, maxEntries: JWKS_RESULT_MAX_ENTRIES, identityOf: (v) => v });
  let reload = (): void => undefined;
  const source = isFile || deps.shareSource === undefined ? inner : deps.shareSource(inner, () => reload());
  const keyStore = createKeyStore({
    source,
    maxAgeMs: isFile ? FILE_RECHECK_MS : jwks.maxAgeMs,
    cooldownMs: isFile ? FILE_RECHECK_MS : jwks.cooldownMs,
    clock,
    log,
    onError: () => {
      counters.upstreamErrors++;
    },
    // A key gone from the issuer's set is no longer trusted: neither is what it alone proved.
    // The generation keeps a proof made with the old set, stored after the drop, out of the cache.
    onKeysDropped: () => {
      keyGeneration++;
      void cache.clear();
    },
  });
  reload = () => void keyStore.reload();
  const allowed: readonly string[] = mount.allowedAlgorithms;

  /**
   * The signature, with a key of the issuer's set that fits the header's alg and kid. The claims
   * are checked next, by identityOf, on the proven payload. Resolves when the signature holds.
   */
  const prove = async (jwt: string): Promise<void> => {
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(
        Buffer.from(jwt.slice(0, jwt.indexOf('.')), 'base64url').toString('utf8'),
      ) as Record<string, unknown>;
    } catch (err) {
      throw permissionDenied('jwks_malformed', (err as Error).message);
    }
    const alg = header['alg'];
    // Checked before any key lookup, so a `none`/HS* token never causes a JWKS fetch.
    if (typeof alg !== 'string' || !allowed.includes(alg)) {
      throw loginDenied(MSG.alg, 'algorithm_not_allowed', `alg=${truncate(String(alg))}`);
    }
    // RFC 7515 §4.1.11: a critical extension authgate does not understand must be refused.
    if (header['crit'] !== undefined || header['b64'] !== undefined) {
      throw permissionDenied('jwks_malformed', 'unsupported critical header parameter');
    }
    // RFC 7515 §4.1.4: a kid is a string. go-jose (Vault) fails to parse any other header, and
    // a token is not let through by reading it as one that names no key. A `null` it reads as
    // absent (a JSON null leaves its field unset), and so does authgate.
    const rawKid = header['kid'] === null ? undefined : header['kid'];
    if (rawKid !== undefined && typeof rawKid !== 'string') {
      throw permissionDenied('jwks_malformed', 'kid is not a string');
    }
    // Tokens minted before kid support carry `kid: ""`: same as no kid, every key of the family is tried.
    const kid = rawKid !== undefined && rawKid !== '' ? rawKid : undefined;
    const keys = await keyStore.candidates(alg, kid);
    const kidForLog = truncate(String(kid));
    if (keys.length === 0) {
      throw kid !== undefined && !keyStore.knows(kid)
        ? permissionDenied('jwks_unknown_kid', `kid=${kidForLog}`)
        : permissionDenied('jwks_no_matching_key', `alg=${alg} kid=${kidForLog}`);
    }
    // Several keys may match a kid-less token: any one that verifies proves it.
    if (keys.some((key) => verifyJws(jwt, alg, key))) return;
    throw permissionDenied('jwks_bad_signature', `alg=${alg} kid=${kidForLog} keys tried=${keys.length}`);
  };

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
      const generation = keyGeneration;
      await prove(jwt);
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
      if (generation === keyGeneration) await cache.set(key, identity, ttlMs);
      return identity;
    },
    ready: () => keyStore.ready(),
    stats: () => ({ ...counters }),
    invalidate: async (sel) => (await cache.invalidate?.(sel)) ?? 0,
    close: async () => {
      await cache.clear();
      await (source as { close?: () => Promise<void> }).close?.();
    },
  };
};
