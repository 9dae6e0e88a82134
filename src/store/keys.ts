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
  /**
   * A revocation index: the token HMACs issued for one role, service account or pod, each until it
   * expires (an expiring index; on Redis a sorted set scored by expiry).
   */
  index: (kind: string, value: string) => `${prefix}idx:${kind}:${value}`,
  /**
   * The same index as written before indexes expired member by member (a plain Redis set, which
   * kept every member as long as logins came). Read by revocations until the last such key expires
   * with the tokens it lists; nothing writes it any more.
   */
  legacyIndex: (kind: string, value: string) => `${prefix}index:${kind}:${value}`,
  /**
   * When the tokens of one revocation index were last revoked (ms since the epoch, as text): a
   * batch token of that index issued no later is refused. Batch tokens are not stored, so this
   * is how a revocation by role, service account or pod reaches them.
   */
  batchRevoked: (kind: string, value: string) => `${prefix}batch-revoked:${kind}:${value}`,
  /**
   * When the store's data began (ms since the epoch, as text; no TTL): written once, by the first
   * replica that finds it absent. A store that lost its data lost the batch tokens' revocation
   * marks with it, so a batch token issued before this time is refused.
   */
  storeBorn: () => `${prefix}store-born`,
  /** A cached verification result (TokenReview or JWKS), under the token's digest and the audiences. */
  verified: (kind: string, cacheKey: string) => `${prefix}verified:${kind}:${cacheKey}`,
  /** A counter raised by every invalidation of the `kind` cache (see verify/shared-cache.ts). */
  verifiedEpoch: (kind: string) => `${prefix}verified-epoch:${kind}`,
  /** A JWKS key set shared by replicas (fetched once, loaded by all). */
  jwks: (kind: string) => `${prefix}jwks:${kind}`,
  /**
   * Written before each `WAIT` of a replication confirmation (see Store.confirmReplicated): a
   * replica that holds it holds every write made before it.
   */
  replicationProbe: () => `${prefix}replication-probe`,
  /** Pub/sub channel on which replicas announce cache invalidations. */
  invalidationChannel: () => `${prefix}invalidate`,
  /** The HMAC salt of one audit device (a random UUID, created by the first replica that needs it). */
  auditSalt: (device: string) => `${prefix}audit-salt:${device}`,
  /** The bounded stream of audit entries that a `redis` audit device writes. */
  auditStream: (device: string) => `${prefix}audit:${device}`,
  /** Lock held by the replica that is verifying one token, so others wait for its result. */
  verifyLock: (kind: string, cacheKey: string) => `${prefix}lock:${kind}:${cacheKey}`,
  /** A KV v2 secret's metadata (versions, max_versions, custom metadata) at `path` of `mount`. */
  kvMetadata: (mount: string, path: string) => `${prefix}kv:${mount}:meta:${path}`,
  /** One sealed (AES-256-GCM) version of a KV v2 secret. */
  kvVersion: (mount: string, path: string, version: number) => `${prefix}kv:${mount}:data:${path}:${version}`,
  /** The set of direct children (`name`, or `name/` for a folder) of a KV folder (`''` = the root). */
  kvFolder: (mount: string, folder: string) => `${prefix}kv:${mount}:folder:${folder}`,
  /** A KV v2 mount's settings written through `/config` (max_versions, cas_required, delete_version_after). */
  kvConfig: (mount: string) => `${prefix}kv:${mount}:config`,
  /** Short lock held while one writer changes a KV secret's versions (check-and-set). */
  kvLock: (mount: string, path: string) => `${prefix}lock:kv:${mount}:${path}`,
  /** The identity-token signing key ring of one named key (private keys sealed). */
  oidcKeyRing: (key: string) => `${prefix}oidc:key:${key}`,
  /** Lock held by the replica that rotates one signing key. */
  oidcLock: (key: string) => `${prefix}lock:oidc:${key}`,
});
export type Keys = ReturnType<typeof createKeys>;
