import { deriveKey } from '../lib/hash.js';
import { GCM_IV_BYTES, openGcm, sealGcm } from '../lib/aead.js';
import { AuthgateError } from '../errors.js';
import { recordOf, type TokenRecord } from './record.js';

/** A batch token: `agb.` and base64url(IV ‖ AES-256-GCM ciphertext ‖ tag) of its record. */
export const BATCH_PREFIX = 'agb.';
/**
 * Its shape: at least an IV and a tag (28 bytes, 38 characters); at most 16 KiB, far beyond any
 * record a login makes (about 1 KiB), so that a header of garbage is refused before any work.
 */
export const BATCH_FORMAT = /^agb\.[A-Za-z0-9_-]{38,16384}$/;
/** Bound into every batch token's ciphertext: another format or use of the key does not open. */
const AAD = 'authgate batch token v1';

/** The fields a batch token carries: the rest are {@link IMPLIED}. */
type Carried = Omit<TokenRecord, Implied>;
type Implied =
  | 'accessor'
  | 'lastRenewalTimeMs'
  | 'leaseTtlSeconds'
  | 'ttlSeconds'
  | 'maxTtlSeconds'
  | 'explicitMaxTtlSeconds'
  | 'periodSeconds'
  | 'numUses'
  | 'usesNotAfterMs'
  | 'renewable'
  | 'type';

/**
 * What every batch token's record has, as Vault shows it (its batch tokens keep none of these):
 * no accessor, never renewed (so the role's TTLs are not kept), no period, explicit max TTL or use
 * limit shown, not renewable.
 */
const IMPLIED = {
  accessor: '',
  lastRenewalTimeMs: null,
  ttlSeconds: 0,
  maxTtlSeconds: 0,
  explicitMaxTtlSeconds: 0,
  periodSeconds: 0,
  numUses: 0,
  usesNotAfterMs: null,
  renewable: false,
  type: 'batch',
} as const satisfies Omit<Pick<TokenRecord, Implied>, 'leaseTtlSeconds'>;

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
    /** The token for `record`; only the fields of a batch record are kept (see {@link IMPLIED}). */
    seal: (record: TokenRecord): string => {
      const carried: Carried = {
        v: record.v,
        policies: record.policies,
        metadata: record.metadata,
        displayName: record.displayName,
        path: record.path,
        entityId: record.entityId,
        role: record.role,
        mountPath: record.mountPath,
        boundCidrs: record.boundCidrs,
        issueTimeMs: record.issueTimeMs,
        expireTimeMs: record.expireTimeMs,
        creationTtlSeconds: record.creationTtlSeconds,
        mount: record.mount,
        ...(record.indexes === undefined ? {} : { indexes: record.indexes }),
      };
      const { iv, body } = sealGcm(key, JSON.stringify(carried), AAD);
      return BATCH_PREFIX + Buffer.concat([iv, body]).toString('base64url');
    },
    /**
     * The record a batch token carries, live or not; undefined for anything this key did not seal
     * (malformed, altered, another server key). The tag is checked before any JSON is parsed.
     */
    open: (token: string): TokenRecord | undefined => {
      if (!BATCH_FORMAT.test(token)) return undefined;
      const raw = Buffer.from(token.slice(BATCH_PREFIX.length), 'base64url');
      const plain = openGcm(key, raw.subarray(0, GCM_IV_BYTES), raw.subarray(GCM_IV_BYTES), AAD);
      if (plain === undefined) return undefined;
      try {
        // Completed in place, not copied: this runs on every request made with a batch token.
        const parsed: unknown = JSON.parse(plain.toString('utf8'));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
        const record = Object.assign(parsed, IMPLIED) as TokenRecord;
        record.leaseTtlSeconds = record.creationTtlSeconds;
        return recordOf(record);
      } catch (err) {
        // Sealed under this key yet not a record: only a holder of the key could have made it.
        if (err instanceof SyntaxError || err instanceof AuthgateError) return undefined;
        throw err;
      }
    },
  };
};
export type BatchCodec = ReturnType<typeof createBatchCodec>;
