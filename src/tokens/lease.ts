import { badRequest } from '../errors.js';
import { humanDuration } from './ttl.js';
import type { MountTtls, TtlResult } from './ttl.js';

/** Where a lease ends and what `lease_duration` says about it. */
export type Lease = {
  /** Expiry, ms since the epoch; always after now. */
  expireTimeMs: number;
  /** Whole seconds reported as `lease_duration` (the CalculateTTL TTL, or less when clamped). */
  leaseTtlSeconds: number;
  warnings: string[];
};

/**
 * Places a lease computed by `calculateTtl`: now + TTL, but never past the TTL's hard limit
 * (start + max TTL; Vault may overshoot it by the sub-second part it truncates, authgate does
 * not) nor past the use counter's expiry. A use-limited token must not outlive its counter,
 * whose TTL cannot be extended without a race that could hand back spent uses.
 *
 * @param usesNotAfterMs when the use counter expires (ms since the epoch); null when unlimited.
 * @throws AuthgateError BAD_REQUEST `past the max TTL, cannot renew` when no time is left.
 */
export const placeLease = (calc: TtlResult, nowMs: number, usesNotAfterMs: number | null): Lease => {
  const warnings = [...calc.warnings];
  let expireTimeMs = Math.min(nowMs + calc.ttlSeconds * 1000, calc.notAfterMs ?? Infinity);
  if (usesNotAfterMs !== null && usesNotAfterMs < expireTimeMs) {
    expireTimeMs = usesNotAfterMs;
    const left = Math.max(0, Math.ceil((usesNotAfterMs - nowMs) / 1000));
    warnings.push(
      `TTL of "${humanDuration(calc.ttlSeconds)}" exceeded the effective max_ttl of "${humanDuration(left)}"; TTL value is capped accordingly`,
    );
  }
  if (expireTimeMs <= nowMs) throw badRequest('past the max TTL, cannot renew', 'token_past_max_ttl');
  const leaseTtlSeconds = Math.min(calc.ttlSeconds, Math.ceil((expireTimeMs - nowMs) / 1000));
  return { expireTimeMs, leaseTtlSeconds, warnings };
};

/**
 * Caller misuse (not untrusted input): a whole, non-negative number of seconds or uses.
 * @throws TypeError otherwise.
 */
export const assertCount = (name: string, value: number): void => {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
};

/**
 * Mount TTLs must be positive whole seconds (Vault always has a system default).
 * @throws TypeError otherwise.
 */
export const assertMount = (mount: MountTtls): void => {
  assertCount('mount.defaultLeaseTtlSeconds', mount.defaultLeaseTtlSeconds);
  assertCount('mount.maxLeaseTtlSeconds', mount.maxLeaseTtlSeconds);
  if (mount.defaultLeaseTtlSeconds === 0 || mount.maxLeaseTtlSeconds === 0) {
    throw new TypeError('mount lease TTLs must be > 0');
  }
};
