import { formatDuration } from '../lib/duration.js';
import { badRequest } from '../errors.js';

/**
 * A mount's lease TTLs (Vault's system view for the mount), in seconds. Both must be > 0; Vault
 * falls back to the system default (768h) where a mount sets none, and so should the caller.
 */
export type MountTtls = { defaultLeaseTtlSeconds: number; maxLeaseTtlSeconds: number };

/** Inputs of {@link calculateTtl}; every duration is in whole seconds, 0 meaning "unset". */
export type TtlInput = {
  /** The renewal increment asked for by the client; 0 at login. Ignored for periodic tokens. */
  incrementSeconds: number;
  /** The role's `token_ttl` (Vault's backend TTL); 0 = the mount's default lease TTL. */
  backendTtlSeconds: number;
  /** The role's `token_period`; > 0 makes the token periodic. */
  periodSeconds: number;
  /** The role's `token_max_ttl`; 0 = the mount's max lease TTL. */
  backendMaxTtlSeconds: number;
  /** The token's `explicit_max_ttl`: a hard cap that applies to periodic tokens too. */
  explicitMaxTtlSeconds: number;
  mount: MountTtls;
  /** When the lease started (the token's issue time), ms since the epoch. */
  startMs: number;
  /** Now, ms since the epoch. */
  nowMs: number;
};

/** Result of {@link calculateTtl}. */
export type TtlResult = {
  /** The granted TTL in whole seconds (> 0). */
  ttlSeconds: number;
  /**
   * The instant (ms since the epoch, on a whole second) the lease may never outlive: start + max
   * TTL, or start + explicit max TTL for a periodic token; null for a periodic token without an
   * explicit max TTL, which lives as long as it is renewed.
   */
  notAfterMs: number | null;
  /** Vault's warnings when a value was capped, worded as Vault words them. */
  warnings: string[];
};

/**
 * Vault's `humanDuration` (sdk/framework/lease.go): Go's duration string without zero units,
 * as it appears in Vault's TTL warnings (`768h`, `1h30m`, `2h5s`). `seconds` must be a
 * non-negative integer.
 */
export const humanDuration = (seconds: number): string => {
  let s = formatDuration(seconds);
  if (s.endsWith('m0s')) s = s.slice(0, -2);
  const idx = s.indexOf('h0m');
  if (idx > 0) s = s.slice(0, idx + 1) + s.slice(idx + 3);
  return s;
};

/**
 * The lease TTL of a token at login or renewal, with the semantics of Vault's
 * `framework.CalculateTTL` (sdk/framework/lease.go):
 *
 * - max TTL = the mount's max, lowered by the role's max TTL and the explicit max TTL when set;
 * - periodic: TTL = period (capped at max TTL); only the explicit max TTL bounds its life;
 * - otherwise TTL = increment, else role TTL, else the mount default, capped so that the lease
 *   ends no later than start + max TTL.
 *
 * Like Vault, times are truncated to whole seconds first.
 *
 * @throws AuthgateError BAD_REQUEST `past the max TTL, cannot renew` when start + max TTL is not
 *   after now (a renewal after the role's max TTL was lowered below the token's age).
 * @throws TypeError when the effective max TTL is not > 0 (a mount without a max lease TTL).
 */
export const calculateTtl = (input: TtlInput): TtlResult => {
  const nowS = Math.floor(input.nowMs / 1000);
  const startS = Math.floor(input.startMs / 1000);
  let maxTtl = input.mount.maxLeaseTtlSeconds;
  if (input.backendMaxTtlSeconds > 0 && input.backendMaxTtlSeconds < maxTtl) {
    maxTtl = input.backendMaxTtlSeconds;
  }
  if (input.explicitMaxTtlSeconds > 0 && input.explicitMaxTtlSeconds < maxTtl) {
    maxTtl = input.explicitMaxTtlSeconds;
  }
  if (!(maxTtl > 0)) throw new TypeError('max TTL must be greater than zero');

  const warnings: string[] = [];
  let ttl: number;
  let maxValidS: number | null = null;
  if (input.periodSeconds > 0) {
    let period = input.periodSeconds;
    if (period > maxTtl) {
      warnings.push(
        `period of "${humanDuration(period)}" exceeded the effective max_ttl of "${humanDuration(maxTtl)}"; period value is capped accordingly`,
      );
      period = maxTtl;
    }
    ttl = period;
    if (input.explicitMaxTtlSeconds > 0) maxValidS = startS + input.explicitMaxTtlSeconds;
  } else {
    if (input.incrementSeconds > 0) ttl = input.incrementSeconds;
    else if (input.backendTtlSeconds > 0) ttl = input.backendTtlSeconds;
    else ttl = input.mount.defaultLeaseTtlSeconds;
    maxValidS = startS + maxTtl;
  }

  if (maxValidS !== null) {
    const maxValidTtl = maxValidS - nowS;
    if (maxValidTtl <= 0) throw badRequest('past the max TTL, cannot renew', 'token_past_max_ttl');
    if (maxValidTtl < ttl) {
      warnings.push(
        `TTL of "${humanDuration(ttl)}" exceeded the effective max_ttl of "${humanDuration(maxValidTtl)}"; TTL value is capped accordingly`,
      );
      ttl = maxValidTtl;
    }
  }
  return { ttlSeconds: ttl, notAfterMs: maxValidS === null ? null : maxValidS * 1000, warnings };
};
