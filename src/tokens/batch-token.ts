import { deriveKey } from '../lib/hash.js';
import { GCM_IV_BYTES, openGcm, sealGcm } from '../lib/aead.js';
import type { RevocationIndex, TokenRecord } from './record.js';

/** A batch token: `agb.` and base64url(IV ‖ AES-256-GCM ciphertext ‖ tag) of its record. */
export const BATCH_PREFIX = 'agb.';
/**
 * Its shape: at least an IV and a tag (28 bytes, 38 characters); at most 16 KiB, far beyond any
 * record a login makes (under 1 KiB), so that a header of garbage is refused before any work.
 */
export const BATCH_FORMAT = /^agb\.[A-Za-z0-9_-]{38,16384}$/;
/** Bound into every batch token's ciphertext: another format or use of the key does not open. */
const AAD = 'authgate batch token v1';

/**
 * What a batch token carries, by position (a JSON array: the field names would be a third of the
 * token, which is sealed at every login and sent with every request): policies, metadata, display
 * name, path, entity id, role, mount path, bound CIDRs, issue time (ms), expiry (ms), TTL granted
 * (s), the mount's default and max lease TTLs (s), and the revocation indexes as `kind, value`
 * pairs. The rest of the record is what every batch token has, as Vault shows it: no accessor,
 * never renewed (so the role's TTLs are not kept), no period, explicit max TTL or use limit, not
 * renewable.
 */
type Carried = [
  policies: string[],
  metadata: Record<string, string>,
  displayName: string,
  path: string,
  entityId: string,
  role: string,
  mountPath: string,
  boundCidrs: string[],
  issueTimeMs: number,
  expireTimeMs: number,
  creationTtlSeconds: number,
  defaultLeaseTtlSeconds: number,
  maxLeaseTtlSeconds: number,
  indexes: string[],
];
const CARRIED_LENGTH = 14;

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStringMap = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((s) => typeof s === 'string');

/** The record a payload carries, when it has the shape {@link Carried} says; undefined otherwise. */
const recordOf = (c: unknown): TokenRecord | undefined => {
  if (!Array.isArray(c) || c.length !== CARRIED_LENGTH) return undefined;
  const [policies, metadata, displayName, path, entityId, role, mountPath, cidrs, issued, expires, ttl] = c;
  const [, , , , , , , , , , , defaultLease, maxLease, pairs] = c;
  if (
    !isStrings(policies) ||
    !isStringMap(metadata) ||
    typeof displayName !== 'string' ||
    typeof path !== 'string' ||
    typeof entityId !== 'string' ||
    typeof role !== 'string' ||
    typeof mountPath !== 'string' ||
    !isStrings(cidrs) ||
    !isCount(issued) ||
    !isCount(expires) ||
    !isCount(ttl) ||
    !isCount(defaultLease) ||
    !isCount(maxLease) ||
    !isStrings(pairs) ||
    pairs.length % 2 !== 0
  ) {
    return undefined;
  }
  const indexes: RevocationIndex[] = [];
  for (let i = 0; i < pairs.length; i += 2)
    indexes.push({ kind: pairs[i] as string, value: pairs[i + 1] as string });
  return {
    v: 1,
    accessor: '',
    policies,
    metadata,
    displayName,
    path,
    entityId,
    role,
    mountPath,
    boundCidrs: cidrs,
    issueTimeMs: issued,
    expireTimeMs: expires,
    lastRenewalTimeMs: null,
    creationTtlSeconds: ttl,
    leaseTtlSeconds: ttl,
    ttlSeconds: 0,
    maxTtlSeconds: 0,
    explicitMaxTtlSeconds: 0,
    periodSeconds: 0,
    numUses: 0,
    usesNotAfterMs: null,
    mount: { defaultLeaseTtlSeconds: defaultLease, maxLeaseTtlSeconds: maxLease },
    ...(indexes.length > 0 ? { indexes } : {}),
    renewable: false,
    type: 'batch',
  };
};

/**
 * Seals and opens batch tokens (Vault's `batch` token type): the token is its own record,
 * encrypted and authenticated under a key derived from the server key, and nothing is stored.
 * Any replica that holds the server key opens it; whoever lacks the key can neither read one
 * (its policies, metadata) nor make or change one: GCM's tag fails.
 *
 * @throws TypeError when `serverKey` is shorter than 32 bytes.
 */
export const createBatchCodec = (serverKey: Buffer) => {
  if (!Buffer.isBuffer(serverKey) || serverKey.length < 32) {
    throw new TypeError('serverKey must be a Buffer of at least 32 bytes');
  }
  const key = deriveKey(serverKey, 'authgate batch token');
  return {
    /** The token for `record`; only what a batch record holds is kept (see {@link Carried}). */
    seal: (record: TokenRecord): string => {
      const carried: Carried = [
        record.policies,
        record.metadata,
        record.displayName,
        record.path,
        record.entityId,
        record.role,
        record.mountPath,
        record.boundCidrs,
        record.issueTimeMs,
        record.expireTimeMs,
        record.creationTtlSeconds,
        record.mount.defaultLeaseTtlSeconds,
        record.mount.maxLeaseTtlSeconds,
        (record.indexes ?? []).flatMap((i) => [i.kind, i.value]),
      ];
      const { iv, body } = sealGcm(key, JSON.stringify(carried), AAD);
      return BATCH_PREFIX + Buffer.concat([iv, body]).toString('base64url');
    },
    /**
     * The record a batch token carries, live or not; undefined for anything this key did not seal
     * (malformed, altered, spelt otherwise than issued, another server key). The tag is checked before any JSON is parsed.
     */
    open: (token: string): TokenRecord | undefined => {
      if (!BATCH_FORMAT.test(token)) return undefined;
      const body = token.slice(BATCH_PREFIX.length);
      const raw = Buffer.from(body, 'base64url');
      // One spelling a token: base64url's last character may carry unused bits, and a token with
      // them changed decodes to the same bytes. Only the spelling authgate issued is the token
      // (the audit's HMAC of it, a log's fingerprint, name it alone).
      if (raw.toString('base64url') !== body) return undefined;
      const plain = openGcm(key, raw.subarray(0, GCM_IV_BYTES), raw.subarray(GCM_IV_BYTES), AAD);
      if (plain === undefined) return undefined;
      let carried: unknown;
      try {
        carried = JSON.parse(plain.toString('utf8'));
      } catch {
        // Sealed under this key yet not JSON: only a holder of the key could have made it.
        return undefined;
      }
      return recordOf(carried);
    },
  };
};
export type BatchCodec = ReturnType<typeof createBatchCodec>;
