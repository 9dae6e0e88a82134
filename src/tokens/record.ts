import { AuthgateError } from '../errors.js';
import { entryMac, safeEqual } from '../lib/hash.js';
import type { MountTtls } from './ttl.js';

/**
 * Vault's `num_uses` marker for "this request consumed the last use; the token is revoked"
 * (`tokenRevocationPending` in vault/token_store.go).
 */
export const REVOCATION_PENDING = -1;

/**
 * A token's state: a service token's as stored under HMAC-SHA256(server key, token), holding the
 * accessor (an identifier, not a credential) and never the token itself; a batch token's as the
 * token itself carries it, sealed (batch-token.ts).
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
  /** `false` when the token may never be renewed (Vault's `renewable`); absent = renewable. */
  renewable?: false;
  /**
   * `batch` for a batch token (Vault's token type): the token carries its own record, sealed, and
   * nothing is stored (see batch-token.ts). Absent = a service token, stored.
   */
  type?: 'batch';
};

/**
 * A named group of tokens an operator can revoke at once, e.g. `{kind: 'pod', value: '<uid>'}`.
 * Kinds and values are chosen by the auth method; neither is secret.
 */
export type RevocationIndex = { kind: string; value: string };

export const serializeRecord = (record: TokenRecord): string => JSON.stringify(record);

/** What {@link sealRecord} appends: `,"mac":"<43 base64url characters>"}`. */
const MAC_OPEN = ',"mac":"';
const MAC_LENGTH = 43;
const SEAL_LENGTH = MAC_OPEN.length + MAC_LENGTH + 2;

/**
 * A record as stored under `storeKey`: its JSON with a last field `mac`, the HMAC-SHA256 under
 * `macKey` of `storeKey` and the JSON without it. Whoever writes to the store can neither change
 * a record (its policies, TTLs, CIDRs…) nor move one under another token's key without the MAC
 * failing. The MAC sits inside the JSON so that a reader of the unsigned format (a replica not
 * yet upgraded) still parses the record: it ignores a field it does not know.
 */
export const sealRecord = (macKey: Buffer, storeKey: string, record: TokenRecord): string => {
  const body = serializeRecord(record);
  return `${body.slice(0, -1)}${MAC_OPEN}${entryMac(macKey, storeKey, body)}"}`;
};

/**
 * The record {@link sealRecord} stored under `storeKey`, when its MAC holds (compared in constant
 * time); undefined for anything else: a record changed, moved, forged, or written without a MAC.
 * The MAC is checked before the JSON is parsed.
 *
 * @throws AuthgateError INTERNAL (reason `token_record_corrupt`) as {@link parseRecord}, for a
 *   record with a valid MAC: only a writer holding the key could have made it.
 */
export const openRecord = (macKey: Buffer, storeKey: string, raw: string): TokenRecord | undefined => {
  if (raw.length <= SEAL_LENGTH || !raw.endsWith('"}')) return undefined;
  const sealAt = raw.length - SEAL_LENGTH;
  if (raw.slice(sealAt, sealAt + MAC_OPEN.length) !== MAC_OPEN) return undefined;
  const body = `${raw.slice(0, sealAt)}}`;
  const mac = raw.slice(sealAt + MAC_OPEN.length, raw.length - 2);
  return safeEqual(mac, entryMac(macKey, storeKey, body)) ? parseRecord(body) : undefined;
};

const corrupt = (detail: string): AuthgateError =>
  new AuthgateError('INTERNAL', { reason: 'token_record_corrupt', detail });

/**
 * Parses a record's JSON. Its MAC has been checked ({@link openRecord}), so this checks the
 * fields the security decisions read rather than the whole shape. Fields it does not know (the
 * `mac` of a sealed record) are ignored.
 *
 * @throws AuthgateError INTERNAL (reason `token_record_corrupt`) when the value is not a
 *   version-1 record: fail closed rather than guess.
 */
export const parseRecord = (raw: string): TokenRecord => {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // Not JSON.parse's message: it quotes the text around the fault, which may be the accessor.
    throw corrupt('unparseable token record: not JSON');
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
