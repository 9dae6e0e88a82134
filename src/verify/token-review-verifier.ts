import { createHash } from 'node:crypto';
import type { KubernetesMountConfig } from '../config/index.js';
import { AuthgateError, permissionDenied, unavailable } from '../errors.js';
import { type Identity, parseLoginClaims, type UnverifiedClaims, validateClaims } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { deepFreeze } from '../lib/freeze.js';
import { fingerprint } from '../lib/hash.js';
import { createLogBudget } from '../lib/log-budget.js';
import { createLimiter, createSingleFlight } from '../lib/single-flight.js';
import { annotate, withSpan } from '../lib/tracing.js';
import { createMemoryResultCache, type ResultCache } from './result-cache.js';
import { createReviewerToken } from './reviewer-token.js';
import { createSignaturePrefilter } from './token-review-prefilter.js';
import { createTokenReviewClient, TokenReviewHttpError } from './token-review-client.js';
import {
  interpretReview,
  scrubbedError,
  scrubUpstreamText,
  type ReviewRefusal,
} from './token-review-status.js';
import { newVerifierStats, type Verifier, type VerifierStats, type VerifyRequest } from './verifier.js';
import type { VerifierLog } from './verifier-log.js';

/** `tokenreview.failed` lines written per second at most (per mount); past that they are counted. */
export const FAILED_LOG_LINES_PER_SECOND = 20;

/** What the review cache holds: a proven identity, or (briefly) a refusal the API server gave. */
export type CachedReview = { ok: true; identity: Identity } | { ok: false; reason: string; detail: string };

export type TokenReviewVerifierDeps = {
  clock: Clock;
  log: VerifierLog;
  /** Reads the reviewer token file. Default: node:fs. */
  readFile?: (path: string) => Promise<string>;
  /** Replaces the in-process review cache (e.g. with a shared second level). */
  cache?: ResultCache<CachedReview>;
  /** Replaces node:http(s) for the signature prefilter's JWKS fetches (then `jwks.caCert` is not applied). */
  fetch?: typeof fetch;
};

/**
 * How long a refusal the API server gave about a token (not authenticated, pod gone, audience,
 * identity mismatch) is remembered, so one bad token retried in a loop costs one TokenReview per
 * this period. Never applied to 401/403 (the reviewer's rights) or to anything UNAVAILABLE.
 */
export const NEGATIVE_CACHE_TTL_MS = 5000;

const UNAUTHORIZED_DETAIL =
  'lookup failed: service account unauthorized; this could mean it has been deleted or recreated with a new token';
/**
 * With a reviewer token the 401 is about that bearer, not about the login's service account
 * (Vault's wording above would send an operator after the wrong one).
 */
const REVIEWER_UNAUTHORIZED_DETAIL =
  'lookup failed: the API server refused the token reviewer JWT (401): it has expired or been revoked, or token_reviewer_jwt_file does not hold a service-account token';

/**
 * Proves a JWT with the API server's TokenReview (`POST /apis/authentication.k8s.io/v1/tokenreviews`),
 * which also sees deletions: a token whose pod is gone (past the API server's 60 s grace) is refused.
 *
 * - Bearer: the contents of `mount.tokenReviewerJwtFile` (re-read when the kubelet rotates it, at
 *   least every 60 s, and after a 401), or — with no file — the login JWT itself, as Vault does.
 * - `spec.audiences` = `[audience]`, or the token's own `aud` list when the role has none.
 * - Successes are cached under the request's token digest and the audiences for min(exp − now,
 *   `tokenReview.cacheTtlSeconds`); refusals from a review for {@link NEGATIVE_CACHE_TTL_MS};
 *   UNAVAILABLE never. Concurrent misses of one key make one call; at most
 *   `tokenReview.maxConcurrent` calls are in flight, `maxQueue` more wait, the rest get 503.
 * - The claims are re-checked locally first (alg, iss, aud, exp/nbf/iat with leeway) so a token
 *   wrong on its face never costs an API call.
 * - With `mount.jwks` set, a miss then has its signature checked against those keys (see
 *   token-review-prefilter.ts): a token they refute is refused (`permission denied`, reason
 *   `tokenreview_prefilter_*`) without a TokenReview; one they prove still gets its review. A
 *   cache hit pays nothing for it.
 *
 * Throws `TypeError` when the mount has no `kubernetesHost`.
 */
export const createTokenReviewVerifier = (
  mount: KubernetesMountConfig,
  deps: TokenReviewVerifierDeps,
): Verifier => {
  const host = mount.kubernetesHost;
  if (host === undefined)
    throw new TypeError(`mount ${mount.path}: tokenreview verification needs kubernetesHost`);
  const { clock, log } = deps;
  const cfg = mount.tokenReview;
  const counters: VerifierStats = newVerifierStats();
  const client = createTokenReviewClient({ host, caCert: mount.kubernetesCaCert, timeoutMs: cfg.timeoutMs });
  const reviewerFile = mount.tokenReviewerJwtFile;
  const reviewer =
    reviewerFile === undefined
      ? undefined
      : createReviewerToken(reviewerFile, {
          clock,
          log,
          ...(deps.readFile ? { readFile: deps.readFile } : {}),
        });
  const cache =
    deps.cache ??
    createMemoryResultCache<CachedReview>({
      clock,
      maxEntries: cfg.cacheMaxEntries,
      identityOf: (v) => (v.ok ? v.identity : undefined),
    });
  const prefilter =
    mount.jwks === undefined
      ? undefined
      : createSignaturePrefilter(mount, mount.jwks, {
          clock,
          log,
          reviewerToken: reviewer,
          // Counted as a jwks mount's are, apart from the TokenReviews: a failed load is an
          // upstream error like a failed review.
          onUpstreamCall: () => {
            counters.keyFetches++;
          },
          onError: () => {
            counters.upstreamErrors++;
          },
          ...(deps.fetch ? { fetch: deps.fetch } : {}),
        });
  const flight = createSingleFlight<Identity>();
  // A login waits for a slot at most one `timeout`, then for its call at most another: without the
  // bound, a login queued behind a stalled API server waited for every call ahead of it to time
  // out in turn (up to max_queue ÷ max_concurrent × timeout, minutes), long after its client gave up.
  const limiter = createLimiter(
    cfg.maxConcurrent,
    cfg.maxQueue,
    () => unavailable('too many pending TokenReview calls', 'tokenreview_queue_full'),
    {
      ms: cfg.timeoutMs,
      onTimeout: () =>
        unavailable('no TokenReview slot free within the timeout', 'tokenreview_queue_timeout'),
    },
  );

  // As `login.denied`: forged tokens that pass the bindings, or an API server that is down, must not
  // turn a flood of logins into a flood of log lines. Past the budget, one line a second counts them.
  const failedLines = createLogBudget({
    perSecond: FAILED_LOG_LINES_PER_SECOND,
    nowMs: () => performance.now(),
    onSuppressed: ({ suppressed, reasons }) =>
      log.warn(
        { event: 'tokenreview.failed_suppressed', suppressed, reasons },
        'tokenreview.failed_suppressed',
      ),
  });
  const failed = (jwt: string, reason: string, detail: string) => {
    if (!failedLines.take(reason)) return;
    log.warn(
      { event: 'tokenreview.failed', reason, detail, jwtFingerprint: fingerprint(jwt) },
      'tokenreview.failed',
    );
  };

  const refused = (jwt: string, refusal: ReviewRefusal): AuthgateError => {
    const detail = scrubUpstreamText(refusal.detail, host);
    failed(jwt, refusal.reason, detail);
    return permissionDenied(refusal.reason, detail);
  };

  const down = (
    jwt: string,
    message: string,
    reason: string,
    detail: string,
    cause: unknown,
  ): AuthgateError => {
    counters.upstreamErrors++;
    const scrubbed = scrubUpstreamText(detail, host);
    failed(jwt, reason, scrubbed);
    // Not the client's fault and not cached: the next login tries again. The cause is logged with
    // the request's failure: its message and stack are scrubbed as the detail is.
    return new AuthgateError('UNAVAILABLE', {
      message,
      reason,
      detail: scrubbed,
      cause: scrubbedError(cause, host),
    });
  };

  /** One TokenReview round (retried once with a re-read reviewer token after a 401). */
  const callApi = (jwt: string, audiences: string[]) =>
    withSpan('k8s.tokenreview', { 'authgate.mount': mount.path }, () => callApiOnce(jwt, audiences));
  const callApiOnce = async (jwt: string, audiences: string[]) => {
    let bearer = reviewer === undefined ? jwt : await reviewer.get();
    for (let attempt = 0; ; attempt++) {
      counters.upstreamCalls++;
      try {
        return await client.review(jwt, audiences, bearer);
      } catch (err) {
        if (err instanceof TokenReviewHttpError) {
          if (err.status === 401 && reviewer !== undefined && attempt === 0) {
            // The kubelet may have rotated the reviewer token since we last looked.
            const fresh = await reviewer.get(true);
            if (fresh !== bearer) {
              bearer = fresh;
              continue;
            }
          }
          // Refused as Vault refuses (403 permission denied), but with a reviewer token of its own
          // it is authgate's credential the API server turned down, not the client's: counted as
          // an upstream error, so that an alert on it fires while every login fails.
          if ((err.status === 401 || err.status === 403) && reviewer !== undefined) counters.upstreamErrors++;
          if (err.status === 401) {
            const detail = reviewer === undefined ? UNAUTHORIZED_DETAIL : REVIEWER_UNAUTHORIZED_DETAIL;
            throw refused(jwt, { reason: 'tokenreview_unauthorized', detail });
          }
          if (err.status === 403) {
            throw refused(jwt, { reason: 'tokenreview_forbidden', detail: `lookup failed: ${err.message}` });
          }
          if (err.status === 400 || err.status === 422) {
            throw refused(jwt, {
              reason: 'tokenreview_bad_request',
              detail: `lookup failed: ${err.message}`,
            });
          }
          throw down(
            jwt,
            'kubernetes API server unavailable',
            'tokenreview_upstream_error',
            `HTTP ${err.status}: ${err.message}`,
            err,
          );
        }
        throw down(
          jwt,
          'kubernetes API server unreachable',
          'tokenreview_unreachable',
          (err as Error).message,
          err,
        );
      }
    }
  };

  /** `since`: the cache's mark taken before the call, so that a revocation meanwhile is honoured. */
  const review = async (
    jwt: string,
    claims: UnverifiedClaims,
    audiences: string[],
    key: string,
    since: string | undefined,
  ) => {
    const status = await callApi(jwt, audiences);
    const outcome = interpretReview(status, claims, audiences);
    if ('refusal' in outcome) {
      const refusal = { ...outcome.refusal, detail: scrubUpstreamText(outcome.refusal.detail, host) };
      await cache.set(key, { ok: false, ...refusal }, NEGATIVE_CACHE_TTL_MS, since);
      throw refused(jwt, refusal);
    }
    const { identity } = outcome;
    const boundMs = cfg.cacheTtlSeconds * 1000;
    // A success is never reused past the token's own exp; legacy tokens (no exp) get the bound.
    const ttlMs =
      identity.expiresAt === undefined
        ? boundMs
        : Math.min(identity.expiresAt * 1000 - clock.nowMs(), boundMs);
    await cache.set(key, { ok: true, identity }, ttlMs, since);
    return identity;
  };

  /** The JWT's claims, checked on their face (Vault's messages) before any API call. */
  const checkedClaims = (jwt: string, audience: string | undefined): UnverifiedClaims => {
    const claims = parseLoginClaims(jwt);
    validateClaims(claims, {
      algorithms: mount.allowedAlgorithms,
      issuers: mount.issuers,
      audience,
      leewaySeconds: mount.leewaySeconds,
      nowMs: clock.nowMs(),
    });
    return claims;
  };

  return {
    mode: 'tokenreview',
    async verify(request: VerifyRequest): Promise<Identity> {
      const { jwt, audience } = request;
      // Re-derived from the very JWT being proven, so a caller's bug cannot pair one token's
      // review with another token's claims. With a role audience the cache is consulted first:
      // a hit was proven for these exact bytes and never outlives the token's exp.
      const claims = audience === undefined ? checkedClaims(jwt, audience) : undefined;
      const audiences = audience !== undefined ? [audience] : (claims?.audiences ?? []);
      // JSON, not a join: ["a,b"] and ["a","b"] must not share a key. The role's audience comes
      // from the config; a token's own list is the client's, unbounded, so only its hash goes in.
      const key =
        audience !== undefined
          ? `${request.tokenDigest}\n${JSON.stringify(audiences)}`
          : `${request.tokenDigest}\n#${createHash('sha256').update(JSON.stringify(audiences)).digest('base64url')}`;
      const hit = await cache.get(key);
      if (hit !== undefined) {
        counters.cacheHits++;
        annotate('authgate.cache', 'hit');
        if (hit.ok) return deepFreeze(hit.identity);
        log.debug(
          { event: 'tokenreview.refusal_cached', reason: hit.reason, jwtFingerprint: fingerprint(jwt) },
          'tokenreview.refusal_cached',
        );
        throw permissionDenied(hit.reason, hit.detail);
      }
      counters.cacheMisses++;
      annotate('authgate.cache', 'miss');
      const proven = claims ?? checkedClaims(jwt, audience);
      // Before the singleflight and the limiter: a forged token neither waits for a slot nor takes one.
      const forged = await prefilter?.check(jwt);
      if (forged !== undefined) throw refused(jwt, forged);
      // Marked before the review: a pod or service account revoked while it runs (the review may
      // have been answered before the pod went) must not be cached by it, and a login that comes
      // after the revocation does not join it, but has a review of its own.
      const since = await cache.mark?.();
      const flightKey = since === undefined ? key : `${key}\n${since}`;
      const identity = await flight.run(flightKey, async () => {
        const fill = () => limiter.run(() => review(jwt, proven, audiences, key, since));
        if (cache.fillOnce === undefined) return fill();
        // A shared cache: replicas that miss at once wait for one review instead of each making one.
        const value = await cache.fillOnce(key, async () => ({ ok: true, identity: await fill() }), since);
        if (!value.ok) throw permissionDenied(value.reason, value.detail);
        return value.identity;
      });
      // Frozen: a cache may hand this very object to every later login with the token.
      return deepFreeze(identity);
    },

    /**
     * Resolves when the reviewer token file (if configured) is readable and the API server
     * answers HTTP at all to `GET /.well-known/openid-configuration` (any status below 500).
     * Makes no TokenReview. Rejects `UNAVAILABLE` otherwise. The prefilter's keys start loading,
     * but are not waited for: the review serves without them.
     */
    async ready(): Promise<void> {
      prefilter?.warm();
      const bearer = reviewer === undefined ? undefined : await reviewer.get();
      try {
        await client.probe(bearer);
      } catch (err) {
        throw new AuthgateError('UNAVAILABLE', {
          message: 'kubernetes API server unreachable',
          reason: 'tokenreview_unreachable',
          detail: (err as Error).message,
          cause: err,
        });
      }
    },
    stats: () => ({ ...counters }),
    invalidate: async (sel) => (await cache.invalidate?.(sel)) ?? 0,
    async close(): Promise<void> {
      failedLines.flush();
      client.close();
      await cache.clear();
      await prefilter?.close();
    },
  };
};
