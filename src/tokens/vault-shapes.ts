import { vaultCidrText } from '../lib/cidr.js';
import { goTime } from '../lib/go-time.js';
import type { TokenRecord } from './record.js';
import { isTokenStoreRecord } from './token-create.js';

/** Vault's token types: a service token is stored; a batch token carries its own state. */
export type TokenType = 'service' | 'batch';

/**
 * The `data` of Vault's `GET /v1/auth/token/lookup-self`, `POST …/lookup` and `…/lookup-accessor`
 * (vault/token_store.go `handleLookup`). Times: `creation_time` and `last_renewal_time` are Unix
 * seconds, `issue_time`, `expire_time` and `last_renewal` RFC 3339 strings as Go prints them
 * (src/lib/go-time.ts: no fraction on a whole second, no trailing zeros); TTLs are seconds.
 */
export type LookupData = {
  accessor: string;
  creation_time: number;
  creation_ttl: number;
  display_name: string;
  entity_id: string;
  /** RFC 3339 as Go prints it. Vault's `null` is for non-expiring root tokens, never issued here. */
  expire_time: string;
  explicit_max_ttl: number;
  /** The token for lookup-self and lookup (whose caller named it); `""` for lookup-accessor. */
  id: string;
  issue_time: string;
  /** `null` for a token the token store made without `meta`, as Vault's nil map. */
  meta: Record<string, string> | null;
  num_uses: number;
  orphan: true;
  path: string;
  policies: string[];
  renewable: boolean;
  /**
   * Seconds left as Vault's `leaseEntry.ttl` counts them: expiry minus now rounded (half up) to
   * the second, truncated; never negative.
   */
  ttl: number;
  type: TokenType;
  /** Present only for periodic tokens. */
  period?: number;
  /** Present only when the token is CIDR-bound; a one-address block as its address (go-sockaddr). */
  bound_cidrs?: string[];
  /** Present only once renewed. */
  last_renewal_time?: number;
  last_renewal?: string;
};

/**
 * A token's metadata as Vault shows it: a login's always has some; a token the token store made
 * without `meta` has Vault's nil map, `null`.
 */
const metadataOf = (record: TokenRecord): Record<string, string> | null =>
  isTokenStoreRecord(record) && Object.keys(record.metadata).length === 0 ? null : { ...record.metadata };

/**
 * Vault's `leaseEntry.ttl()` (vault/expiration.go): `ExpireTime.Sub(time.Now().Round(time.Second))`
 * truncated to whole seconds. Not `round(expiry − now)`: a token issued at x.6 s with a TTL of
 * 3600 s reads 3599 at once in Vault. Never negative (a live token's expiry is after now).
 */
const secondsLeft = (expireTimeMs: number, nowMs: number): number =>
  Math.max(0, Math.trunc((expireTimeMs - Math.floor((nowMs + 500) / 1000) * 1000) / 1000));

/**
 * Shapes a token record as Vault's lookup `data`. Pure: the HTTP route passes the clock's now.
 *
 * @param record the record returned by `authenticate` (lookup-self), `lookupToken` or
 *   `lookupAccessor`.
 * @param nowMs now, ms since the epoch, for the remaining `ttl`.
 * @param id the client token for lookup-self and lookup; `""` for lookup-accessor, which must
 *   not reveal it.
 */
export const lookupResponseData = (record: TokenRecord, nowMs: number, id: string): LookupData => {
  const data: LookupData = {
    accessor: record.accessor,
    creation_time: Math.floor(record.issueTimeMs / 1000),
    creation_ttl: record.creationTtlSeconds,
    display_name: record.displayName,
    entity_id: record.entityId,
    expire_time: goTime(record.expireTimeMs),
    explicit_max_ttl: record.explicitMaxTtlSeconds,
    id,
    // No identity_policies: Vault adds it only when the entity has some, and authgate's have none.
    issue_time: goTime(record.issueTimeMs),
    meta: metadataOf(record),
    num_uses: record.numUses,
    orphan: true,
    path: record.path,
    policies: [...record.policies],
    renewable: record.renewable !== false,
    ttl: secondsLeft(record.expireTimeMs, nowMs),
    type: record.type ?? 'service',
  };
  if (record.periodSeconds > 0) data.period = record.periodSeconds;
  if (record.boundCidrs.length > 0) data.bound_cidrs = record.boundCidrs.map(vaultCidrText);
  if (record.lastRenewalTimeMs !== null) {
    data.last_renewal_time = Math.floor(record.lastRenewalTimeMs / 1000);
    data.last_renewal = goTime(record.lastRenewalTimeMs);
  }
  return data;
};

/**
 * The `auth` block of Vault's login and renew responses (sdk/logical/translate_response.go
 * `HTTPAuth`). Login tokens have no parent, hence `orphan: true`; authgate has no identity
 * policies, so `identity_policies` (omitempty in Vault) is left out and `policies` equals
 * `token_policies`.
 */
export type AuthBlock = {
  client_token: string;
  accessor: string;
  policies: string[];
  token_policies: string[];
  /** `null` for a token the token store made without `meta`, as Vault's nil map. */
  metadata: Record<string, string> | null;
  /** Seconds: the TTL granted by this login or renewal. */
  lease_duration: number;
  renewable: boolean;
  entity_id: string;
  token_type: TokenType;
  orphan: true;
  mfa_requirement: null;
  num_uses: number;
};

/**
 * Shapes a record as Vault's `auth` block. Pure.
 *
 * @param record the record returned by `issue` (login) or held by `renew`.
 * @param clientToken the token, which the login and renew-self responses carry back.
 */
export const authBlock = (record: TokenRecord, clientToken: string): AuthBlock => ({
  client_token: clientToken,
  accessor: record.accessor,
  policies: [...record.policies],
  token_policies: [...record.policies],
  metadata: metadataOf(record),
  lease_duration: record.leaseTtlSeconds,
  renewable: record.renewable !== false,
  entity_id: record.entityId,
  token_type: record.type ?? 'service',
  orphan: true,
  mfa_requirement: null,
  num_uses: record.numUses,
});
