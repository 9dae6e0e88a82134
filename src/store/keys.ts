/**
 * The one registry of store keys. Every key lives under the configured prefix (default `ag:`).
 * Secrets never appear in a key: token and accessor keys are HMACs computed by the caller.
 */
export const DEFAULT_KEY_PREFIX = 'ag:';

export const createKeys = (prefix: string = DEFAULT_KEY_PREFIX) => ({
  prefix,
  /** A service token's record, under HMAC-SHA256(server key, token). */
  token: (tokenHmac: string) => `${prefix}token:${tokenHmac}`,
  /** Remaining uses of a token with num_uses > 0 (atomic counter). */
  tokenUses: (tokenHmac: string) => `${prefix}token-uses:${tokenHmac}`,
  /** Accessor → token HMAC, under HMAC(server key, accessor). */
  accessor: (accessorHmac: string) => `${prefix}accessor:${accessorHmac}`,
  /** A revocation index: the set of token HMACs issued for one role, service account or pod. */
  index: (kind: string, value: string) => `${prefix}index:${kind}:${value}`,
  /** A cached verification result (TokenReview or JWKS), under HMAC(token + audiences). */
  verified: (kind: string, cacheKey: string) => `${prefix}verified:${kind}:${cacheKey}`,
  /** A JWKS key set shared by replicas (fetched once, loaded by all). */
  jwks: (kind: string) => `${prefix}jwks:${kind}`,
  /** Pub/sub channel on which replicas announce cache invalidations. */
  invalidationChannel: () => `${prefix}invalidate`,
  /** The HMAC salt of one audit device (a random UUID, created by the first replica that needs it). */
  auditSalt: (device: string) => `${prefix}audit-salt:${device}`,
  /** The bounded stream of audit entries that a `redis` audit device writes. */
  auditStream: (device: string) => `${prefix}audit:${device}`,
  /** Lock held by the replica that is verifying one token, so others wait for its result. */
  verifyLock: (kind: string, cacheKey: string) => `${prefix}lock:${kind}:${cacheKey}`,
});
export type Keys = ReturnType<typeof createKeys>;
