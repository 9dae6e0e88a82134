import { AuthgateError } from '../errors.js';
import type { MountTtls } from './ttl.js';

/**
 * Vault's `num_uses` marker for "this request consumed the last use; the token is revoked"
 * (`tokenRevocationPending` in vault/token_store.go).
 */
export const REVOCATION_PENDING = -1;

/**
 * A service token's state, as stored under HMAC-SHA256(server key, token). It holds the
 * accessor (an identifier, not a credential) and never the token itself.
 */
export type TokenRecord = {
  /** Record format version, so that later formats can be migrated on read. */
  v: 1;
  /** The token's accessor: 24 base64url characters. */
  accessor: string;
  /** Token policies, `default` included unless the role set `token_no_default_policy`. */
  policies: string[];
  /** Metadata shown as `meta` / `metadata` (for kubernetes: the 5 service-account keys). */
  metadata: Record<string, string>;
  /** Display name, already prefixed with the mount (`kubernetes-<ns>-<sa>`). */
  displayName: string;
  /** Creation path (`auth/kubernetes/login`). */
  path: string;
  entityId: string;
  /** The auth method's role the token was issued for (Vault's `InternalData.role`). */
  role: string;
  /** The auth mount path (`kubernetes`), so that renewal can find the role again. */
  mountPath: string;
  /** Addresses the token may be used from; empty = anywhere. */
  boundCidrs: string[];
  /** Issue time, ms since the epoch. */
  issueTimeMs: number;
  /** Expiry, ms since the epoch. A token is invalid from this instant on. */
  expireTimeMs: number;
  /** Last renewal, ms since the epoch; null until renewed. */
  lastRenewalTimeMs: number | null;
  /** The TTL granted at issue, seconds (Vault's `creation_ttl`). */
  creationTtlSeconds: number;
  /** The TTL granted at issue or at the last renewal, seconds (the `auth.lease_duration`). */
  leaseTtlSeconds: number;
  /** The role's `token_ttl` as last read, seconds; 0 = mount default. */
  ttlSeconds: number;
  /** The role's `token_max_ttl` as last read, seconds; 0 = mount max. */
  maxTtlSeconds: number;
  /** Hard cap fixed at issue and never re-read, seconds; 0 = none. */
  explicitMaxTtlSeconds: number;
  /** The role's `token_period` as last read, seconds; 0 = not periodic. */
  periodSeconds: number;
  /**
   * Vault's `num_uses`: 0 = unlimited. In the stored record, the number granted at issue (the
   * live count is an atomic store counter). Records returned by `authenticate` and
   * `lookupAccessor` carry the uses left after the request, and {@link REVOCATION_PENDING} when
   * the request consumed the last one.
   */
  numUses: number;
  /**
   * For a use-limited token, when its use counter expires (ms since the epoch): the token can
   * never be renewed past it. Null for unlimited tokens.
   */
  usesNotAfterMs: number | null;
  /** The mount's lease TTLs at issue (or as last returned by a renewal refresh). */
  mount: MountTtls;
  /** Revocation indexes the token is listed in (by role, service account, pod); see `revokeByIndex`. */
  indexes?: RevocationIndex[];
};

/**
 * A named group of tokens an operator can revoke at once, e.g. `{kind: 'pod', value: '<uid>'}`.
 * Kinds and values are chosen by the auth method; neither is secret.
 */
export type RevocationIndex = { kind: string; value: string };

export const serializeRecord = (record: TokenRecord): string => JSON.stringify(record);

const corrupt = (detail: string): AuthgateError =>
  new AuthgateError('INTERNAL', { reason: 'token_record_corrupt', detail });

/**
 * Parses a stored record. The store is trusted (only this service writes it), so this checks
 * the fields the security decisions read rather than the whole shape.
 *
 * @throws AuthgateError INTERNAL (reason `token_record_corrupt`) when the value is not a
 *   version-1 record: fail closed rather than guess.
 */
export const parseRecord = (raw: string): TokenRecord => {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (err) {
    throw corrupt(`unparseable token record: ${(err as Error).message}`);
  }
  const r = value as Partial<TokenRecord> | null;
  if (
    typeof r !== 'object' ||
    r === null ||
    r.v !== 1 ||
    typeof r.accessor !== 'string' ||
    typeof r.expireTimeMs !== 'number' ||
    typeof r.issueTimeMs !== 'number' ||
    typeof r.numUses !== 'number' ||
    !Array.isArray(r.boundCidrs) ||
    !Array.isArray(r.policies)
  ) {
    throw corrupt('token record has an unexpected shape');
  }
  return r as TokenRecord;
};
