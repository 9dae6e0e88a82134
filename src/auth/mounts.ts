import type { KubernetesMountConfig } from '../config/index.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../telemetry/index.js';
import { createVerifier, type Verifier } from '../verify/index.js';
import type { Mount } from './login-service.js';

export type MountDeps = { clock: Clock; log: Logger; cacheKey: Buffer };

/** Builds each configured mount with the verifier its `verification` mode names. */
export const createMounts = (
  configs: ReadonlyMap<string, KubernetesMountConfig>,
  deps: MountDeps,
): Map<string, Mount & { verifier: Verifier }> => {
  const mounts = new Map<string, Mount & { verifier: Verifier }>();
  for (const [path, config] of configs) {
    const verifier = createVerifier(config, { ...deps, log: deps.log.child({ mount: path }) });
    mounts.set(path, { config, verifier });
  }
  return mounts;
};
