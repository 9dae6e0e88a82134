import type { JwksConfig, KubernetesMountConfig } from '../config/index.js';
import { AuthgateError } from '../errors.js';
import type { Clock } from '../lib/clock.js';
import { createJwksProver, type JwksProverDeps } from './jwks-prover.js';
import type { ReviewRefusal } from './token-review-status.js';
import type { VerifierLog } from './verifier-log.js';

export type SignaturePrefilterDeps = Pick<
  JwksProverDeps,
  'fetch' | 'shareSource' | 'reviewerToken' | 'onUpstreamCall' | 'onError'
> & {
  clock: Clock;
  log: VerifierLog;
};

/** The refusals of the signature check, under the names a tokenreview mount logs them by. */
const REASONS: Record<string, string> = {
  jwks_bad_signature: 'tokenreview_prefilter_bad_signature',
  jwks_unknown_kid: 'tokenreview_prefilter_unknown_key',
  jwks_no_matching_key: 'tokenreview_prefilter_unknown_key',
  algorithm_not_allowed: 'tokenreview_prefilter_algorithm_not_allowed',
  jwks_malformed: 'tokenreview_prefilter_malformed',
};

/**
 * The signature prefilter of a `tokenreview` mount with `jwks` set: before a TokenReview, the
 * token's signature is checked against the issuer's keys (the same sources, refetch limits and
 * algorithms as `jwks` verification, see jwks-prover.ts), so a forged token — real claims under a
 * made-up signature, or signed by a key the issuer never published — is refused without an API
 * call, and a flood of them cannot fill the TokenReview queue.
 *
 * Trust decision: it only ever refuses. A token whose signature holds still gets its review, the
 * proof of what is admitted (deletions, revocations). When the keys cannot be had (no set loaded
 * yet because the source fails, or the last load failed so the set held may lack a key rotated in
 * since), it steps aside and the review decides, as it would without the prefilter: that sheds
 * nothing, and admits nothing the review refuses. It says so in the log once per change of state
 * (`tokenreview.prefilter_skipped`, `tokenreview.prefilter_resumed`), not once per login.
 */
export const createSignaturePrefilter = (
  mount: KubernetesMountConfig,
  jwks: JwksConfig,
  deps: SignaturePrefilterDeps,
) => {
  const { log } = deps;
  const prover = createJwksProver(mount, jwks, {
    clock: deps.clock,
    log,
    fetch: deps.fetch,
    shareSource: deps.shareSource,
    reviewerToken: deps.reviewerToken,
    onUpstreamCall: deps.onUpstreamCall,
    onError: deps.onError,
  });
  let skipping = false;
  const stepAside = (detail: string): undefined => {
    if (!skipping) {
      skipping = true;
      log.warn({ event: 'tokenreview.prefilter_skipped', detail }, 'tokenreview.prefilter_skipped');
    }
    return undefined;
  };
  const resume = () => {
    if (!skipping) return;
    skipping = false;
    log.info({ event: 'tokenreview.prefilter_resumed' }, 'tokenreview.prefilter_resumed');
  };

  return {
    /**
     * Resolves the refusal of a token the keys refute (reason `tokenreview_prefilter_*`, the
     * detail for the log); undefined when its signature holds or the prefilter steps aside.
     * Rejects only with what is not the token's fault and not an `AuthgateError` (a bug).
     */
    async check(jwt: string): Promise<ReviewRefusal | undefined> {
      const before = prover.keys.status();
      // With no keys and a failed load, a login does not wait for the next try: it starts it.
      if (!before.held && before.failing) {
        prover.keys.warm();
        return stepAside('no signing keys available');
      }
      try {
        await prover.prove(jwt);
      } catch (err) {
        if (!(err instanceof AuthgateError)) throw err;
        if (err.code === 'UNAVAILABLE') return stepAside(err.detail ?? err.message);
        // A refusal made with a set whose refresh failed may be a key the issuer rotated in. The
        // set is tried again once the cooldown allows, not only when a token names a new kid.
        if (prover.keys.status().failing) {
          prover.keys.warm();
          return stepAside(`key set not current: ${err.reason}`);
        }
        resume();
        return {
          reason: REASONS[err.reason] ?? 'tokenreview_prefilter_malformed',
          detail: err.detail ?? err.message,
        };
      }
      if (prover.keys.status().failing) prover.keys.warm();
      else resume();
      return undefined;
    },
    /** Starts loading the keys without waiting for them: the mount's readiness never does. */
    warm: (): void => prover.keys.warm(),
    close: (): Promise<void> => prover.close(),
  };
};
export type SignaturePrefilter = ReturnType<typeof createSignaturePrefilter>;
