import type { AuthMountConfig, KubernetesMountConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../telemetry/index.js';
import {
  createJwtVerifier,
  createNamespaceLabels,
  createVerifier,
  type JwtVerifier,
  type NamespaceLabels,
  type Verifier,
  type VerifierDeps,
} from '../verify/index.js';
import type { JwtMount } from './jwt-login.js';
import type { KubernetesMount } from './login-service.js';

export type MountDeps = {
  clock: Clock;
  log: Logger;
  /** The review cache of a tokenreview mount when replicas share one; undefined = in-process. */
  reviewCacheFor?: (mount: KubernetesMountConfig) => VerifierDeps['reviewCache'];
  /** The shared key-set level of a jwks or jwt mount when replicas share one; undefined = per replica. */
  shareSourceFor?: (mount: AuthMountConfig) => VerifierDeps['shareSource'];
};

/** A mount as built: its verifier and namespace reader whole, for stats and closing. */
export type BuiltMount =
  | (KubernetesMount & { verifier: Verifier; namespaces?: NamespaceLabels })
  | (JwtMount & { verifier: JwtVerifier; namespaces?: undefined });

/**
 * Builds each configured mount: a kubernetes mount with the verifier its `verification` mode
 * names, and a reader of namespaces' labels where it has an API server and a reviewer token (it
 * connects only when a role with a namespace selector needs it; a reload may add such a role); a
 * jwt mount with the verifier of its issuer's signatures.
 */
export const createMounts = (
  configs: ReadonlyMap<string, AuthMountConfig>,
  deps: MountDeps,
): Map<string, BuiltMount> => {
  const mounts = new Map<string, BuiltMount>();
  for (const [path, config] of configs) {
    if (config.type === 'jwt') {
      const shareSource = deps.shareSourceFor?.(config);
      const verifier = createJwtVerifier(config, {
        clock: deps.clock,
        log: deps.log.child({ mount: path }),
        ...(shareSource ? { shareSource } : {}),
      });
      mounts.set(path, { kind: 'jwt', config, verifier });
      continue;
    }
    const reviewCache = config.verification === 'tokenreview' ? deps.reviewCacheFor?.(config) : undefined;
    const shareSource = config.verification === 'jwks' ? deps.shareSourceFor?.(config) : undefined;
    const log = deps.log.child({ mount: path });
    const verifier = createVerifier(config, {
      clock: deps.clock,
      log,
      ...(reviewCache ? { reviewCache } : {}),
      ...(shareSource ? { shareSource } : {}),
    });
    const namespaces =
      config.kubernetesHost !== undefined && config.tokenReviewerJwtFile !== undefined
        ? createNamespaceLabels(config, { clock: deps.clock, log })
        : undefined;
    mounts.set(path, { config, verifier, ...(namespaces === undefined ? {} : { namespaces }) });
  }
  return mounts;
};
