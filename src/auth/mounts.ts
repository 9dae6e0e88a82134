import type { KubernetesMountConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../telemetry/index.js';
import { createVerifier, type Verifier, type VerifierDeps } from '../verify/index.js';
import type { Mount } from './login-service.js';

export type MountDeps = {
  clock: Clock;
  log: Logger;
  /** The review cache of a tokenreview mount when replicas share one; undefined = in-process. */
  reviewCacheFor?: (mount: KubernetesMountConfig) => VerifierDeps['reviewCache'];
  /** The shared key-set level of a jwks mount when replicas share one; undefined = per replica. */
  shareSourceFor?: (mount: KubernetesMountConfig) => VerifierDeps['shareSource'];
};

/** Builds each configured mount with the verifier its `verification` mode names. */
export const createMounts = (
  configs: ReadonlyMap<string, KubernetesMountConfig>,
  deps: MountDeps,
): Map<string, Mount & { verifier: Verifier }> => {
  const mounts = new Map<string, Mount & { verifier: Verifier }>();
  for (const [path, config] of configs) {
    const reviewCache = config.verification === 'tokenreview' ? deps.reviewCacheFor?.(config) : undefined;
    const shareSource = config.verification === 'jwks' ? deps.shareSourceFor?.(config) : undefined;
    const verifier = createVerifier(config, {
      clock: deps.clock,
      log: deps.log.child({ mount: path }),
      ...(reviewCache ? { reviewCache } : {}),
      ...(shareSource ? { shareSource } : {}),
    });
    mounts.set(path, { config, verifier });
  }
  return mounts;
};
