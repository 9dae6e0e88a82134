import type { KubernetesMountConfig } from '../config/index.js';
import { withSpan } from '../lib/tracing.js';
import { createJwksVerifier, type JwksVerifierDeps } from './jwks-verifier.js';
import { createTokenReviewVerifier, type TokenReviewVerifierDeps } from './token-review-verifier.js';
import type { Verifier } from './verifier.js';

export type { Verifier, VerifierControl, VerifierStats, VerifyRequest } from './verifier.js';
export { createJwtVerifier } from './jwt-verifier.js';
export type { JwtVerifier, JwtVerifierDeps } from './jwt-verifier.js';
export type { VerifierLog } from './verifier-log.js';
export type { ResultCache } from './result-cache.js';
export type { JwksSource } from './jwks-source.js';
export { createMemoryResultCache } from './result-cache.js';
export { createSharedCache } from './shared-cache.js';
export { createSharedJwksSource } from './shared-jwks-source.js';
export type { SharedJwksDeps } from './shared-jwks-source.js';
export type { IdentitySelector, SharedCache, SharedCacheDeps } from './shared-cache.js';
export { createJwksVerifier, JWKS_RESULT_TTL_MS } from './jwks-verifier.js';
export type { JwksVerifierDeps } from './jwks-verifier.js';
export { trustScope } from './trust-scope.js';
export { createTokenReviewVerifier, NEGATIVE_CACHE_TTL_MS } from './token-review-verifier.js';
export type { CachedReview, TokenReviewVerifierDeps } from './token-review-verifier.js';

/** Dependencies of {@link createVerifier}: what both kinds need, plus each one's optional extras. */
export type VerifierDeps = Pick<JwksVerifierDeps, 'clock' | 'log' | 'fetch'> &
  Pick<TokenReviewVerifierDeps, 'readFile'> & {
    /** A review cache shared by replicas (tokenreview mounts); default: in-process only. */
    reviewCache?: TokenReviewVerifierDeps['cache'];
    /** A key-set level shared by replicas (jwks mounts); default: each replica fetches. */
    shareSource?: JwksVerifierDeps['shareSource'];
  };

/**
 * The verifier a mount's `verification` names: `tokenreview` (API server, sees deletions) or
 * `jwks` (local signature check against published keys). Throws `TypeError` when the mount lacks
 * what that mode needs (`kubernetesHost`; `jwks` config and issuers).
 */
export const createVerifier = (mount: KubernetesMountConfig, deps: VerifierDeps): Verifier =>
  traced(mount, build(mount, deps));

/** Every verification runs in a span `authgate.verify` (cache hit or miss set inside). */
const traced = (mount: KubernetesMountConfig, verifier: Verifier): Verifier => ({
  ...verifier,
  mode: verifier.mode,
  verify: (request) =>
    withSpan('authgate.verify', { 'authgate.mount': mount.path, 'authgate.mode': verifier.mode }, () =>
      verifier.verify(request),
    ),
});

const build = (mount: KubernetesMountConfig, deps: VerifierDeps): Verifier => {
  const { clock, log } = deps;
  return mount.verification === 'jwks'
    ? createJwksVerifier(mount, {
        clock,
        log,
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
        ...(deps.shareSource ? { shareSource: deps.shareSource } : {}),
      })
    : createTokenReviewVerifier(mount, {
        clock,
        log,
        ...(deps.readFile ? { readFile: deps.readFile } : {}),
        ...(deps.reviewCache ? { cache: deps.reviewCache } : {}),
        ...(deps.fetch ? { fetch: deps.fetch } : {}),
      });
};
export { createNamespaceLabels, NAMESPACE_CACHE_MAX_ENTRIES } from './namespace-labels.js';
export type { NamespaceLabels, NamespaceLabelsDeps } from './namespace-labels.js';
