import type { JsonWebKey } from 'node:crypto';
import type { LabelSelector } from '../lib/label-selector.js';
import type { RedisConnectionOptions } from '../lib/redis-connection-options.js';
import type { IdentityKeyAlgorithm, JwtSigningAlgorithm, SigningAlgorithm } from './algorithms.js';

/** Reports one problem at a path of the document (`auth.kubernetes.roles.nginx.token_ttl`). */
export type Problem = (path: string, message: string) => void;

/** The token settings of a role, kubernetes or jwt (Vault's tokenutil fields), normalized. */
export type TokenRoleConfig = {
  /** The role's name, lowercased. */
  name: string;
  tokenPolicies: string[];
  /** 0 = the mount's default lease TTL. */
  tokenTtlSeconds: number;
  /** 0 = the mount's max lease TTL. */
  tokenMaxTtlSeconds: number;
  /** 0 = none. A hard cap that renewals never pass. */
  tokenExplicitMaxTtlSeconds: number;
  /** 0 = unlimited. */
  tokenNumUses: number;
  tokenBoundCidrs: string[];
  tokenNoDefaultPolicy: boolean;
  /** 0 = not periodic. */
  tokenPeriodSeconds: number;
  /**
   * `token_type` as the config file gives it: `default` (also when absent), `service` or `batch`.
   * `default` issues service tokens (the mount's default type is Vault's `default-service`), and
   * is kept apart from `service` only so that a role read answers what was configured, as
   * Vault's does. `batch` issues batch tokens: never stored, never renewed (tokens/batch-token.ts).
   */
  tokenType: 'default' | 'service' | 'batch';
};

/** A role of a kubernetes mount, normalized: durations in seconds, defaults applied. */
export type RoleConfig = TokenRoleConfig & {
  boundServiceAccountNames: string[];
  /** Globs (only `*` is special); `['*']` alone is any. Empty only with a namespace selector. */
  boundServiceAccountNamespaces: string[];
  /**
   * `bound_service_account_namespace_selector`: a namespace whose labels (read from the API server
   * after the token is verified) match may use the role too, ORed with the namespaces above.
   * `text` is what a role read shows: the text configured, or the mapping as JSON.
   */
  boundServiceAccountNamespaceSelector: { text: string; selector: LabelSelector } | undefined;
  /** The audience the token must carry (and that TokenReview is asked for). Undefined only with `allowMissingAudience`. */
  audience: string | undefined;
  allowMissingAudience: boolean;
  aliasNameSource: 'serviceaccount_uid' | 'serviceaccount_name';
};

/** A value a bound claim may have: a scalar of JSON. */
export type ClaimValue = string | number | boolean;

/** A role of a jwt mount (Vault's JWT auth method, `role_type: jwt`), normalized. */
export type JwtRoleConfig = TokenRoleConfig & {
  roleType: 'jwt';
  /** `aud` must hold one of these; empty = a token with any `aud` is refused. */
  boundAudiences: string[];
  /** `sub` must equal it; undefined = any. */
  boundSubject: string | undefined;
  /** Claim name, or JSON pointer (leading `/`), → the values one of which it must have (all keys must match). */
  boundClaims: Record<string, ClaimValue[]>;
  /** `glob`: values are globs where `*` is any run of characters (strings only). */
  boundClaimsType: 'string' | 'glob';
  /** Claim (or JSON pointer) → the token metadata key its value is copied to. */
  claimMappings: Record<string, string>;
  /** The claim that names the workload: the alias, the entity and the token's display name follow it. */
  userClaim: string;
  userClaimJsonPointer: boolean;
  /** Allowed skew on exp/nbf/iat, seconds (0 = none). */
  clockSkewLeewaySeconds: number;
  /** With no `exp`, the token is valid this long after its nbf/iat (0 = none). */
  expirationLeewaySeconds: number;
  /** With no `nbf` nor `iat`, the token is valid from this long before its exp (0 = none). */
  notBeforeLeewaySeconds: number;
  /** The three leeways as Vault keeps them, which a role read answers: 0 = the default, -1 = none. */
  leewaysAsSet: { clockSkew: number; expiration: number; notBefore: number };
};

export type JwksSourceConfig =
  | { kind: 'file'; path: string }
  | { kind: 'url'; url: string }
  | { kind: 'oidc-discovery'; url: string }
  /** Keys given in the config file (a jwt mount's `jwt_validation_pubkeys`), without a `kid`. */
  | { kind: 'keys'; keys: JsonWebKey[] };

export type JwksConfig = {
  source: JwksSourceConfig;
  /** PEM CA bundle for HTTPS fetches (already read from `ca_cert_file`). */
  caCert: string | undefined;
  cooldownMs: number;
  maxAgeMs: number;
  timeoutMs: number;
};

export type TokenReviewConfig = {
  cacheTtlSeconds: number;
  cacheMaxEntries: number;
  maxConcurrent: number;
  maxQueue: number;
  timeoutMs: number;
};

/** What every auth mount has, whatever its type; `R` is its kind of role. */
export type MountCommon<R extends TokenRoleConfig> = {
  /** Mount path without `auth/` (e.g. `kubernetes`, `k8s-east`). */
  path: string;
  description: string;
  /**
   * `allow_insecure_http`: plain `http:` to non-loopback hosts was accepted for the mount's URLs
   * (API server, JWKS, discovery), and a `config.insecure` warning recorded. Absent or false:
   * config refused such URLs. Optional only so that hand-built mounts in tests need not set it.
   */
  allowInsecureHttp?: boolean;
  /** The mount's default lease TTL in effect: `default_lease_ttl`, else the system's 768h. */
  defaultLeaseTtlSeconds: number;
  /** The mount's max lease TTL in effect: `max_lease_ttl`, else the system's 768h. */
  maxLeaseTtlSeconds: number;
  /**
   * `default_lease_ttl` as authgate.yaml sets it, in seconds; 0 where it does not (the system's
   * applies). Vault's mount table keeps a mount's TTLs so, and `sys/auth` shows them so. Optional
   * only so that hand-built mounts in tests need not set it: absent is unset.
   */
  tunedDefaultLeaseTtlSeconds?: number;
  /** `max_lease_ttl` as authgate.yaml sets it, as {@link tunedDefaultLeaseTtlSeconds}. */
  tunedMaxLeaseTtlSeconds?: number;
  /**
   * The roles by lowercased name. The one setting a reload (SIGHUP) changes on a running mount:
   * the map is then replaced whole, never edited (`applyRoleReload`), so read it once per request
   * and keep the role you got.
   */
  roles: ReadonlyMap<string, R>;
};

export type KubernetesMountConfig = MountCommon<RoleConfig> & {
  type: 'kubernetes';
  /** The API server's URL without a trailing `/`: `https:`, or `http:` to a loopback host unless `allowInsecureHttp`. */
  kubernetesHost: string | undefined;
  /** PEM of the cluster CA (from `kubernetes_ca_cert` or `_file`), undefined = system roots. */
  kubernetesCaCert: string | undefined;
  tokenReviewerJwtFile: string | undefined;
  verification: 'tokenreview' | 'jwks';
  jwks: JwksConfig | undefined;
  tokenReview: TokenReviewConfig;
  /** Accepted `iss` values; empty = any issuer (tokenreview mode only). */
  issuers: string[];
  allowedAlgorithms: SigningAlgorithm[];
  leewaySeconds: number;
  /**
   * `namespace_cache_ttl`: how long the labels of a namespace, read for a role's namespace
   * selector, are reused (0 = read at every login that needs them).
   */
  namespaceCacheTtlSeconds: number;
};

/**
 * A mount of type `jwt`: Vault's JWT auth method, tokens checked locally against the issuer's
 * keys (OIDC discovery, a JWKS URL, or PEM keys given in the file).
 */
export type JwtMountConfig = MountCommon<JwtRoleConfig> & {
  type: 'jwt';
  /**
   * Where the keys come from: `oidc-discovery` and `url` as a kubernetes mount's `jwks`, or
   * `keys`, those of `jwt_validation_pubkeys`, tried whatever a token's `kid` says.
   */
  keys: JwksConfig;
  /** `bound_issuer`: the `iss` every token must carry; undefined = any. */
  boundIssuer: string | undefined;
  /** `jwt_supported_algs`: the `alg` a token may be signed with (all ten when not set). */
  allowedAlgorithms: JwtSigningAlgorithm[];
  /** `jwt_supported_algs` as set (empty when not set), as Vault's config read echoes it. */
  allowedAlgorithmsAsSet: JwtSigningAlgorithm[];
  /** `default_role`, lowercased: the role of a login that names none. */
  defaultRole: string | undefined;
};

/** An auth mount of authgate.yaml, of either type. */
export type AuthMountConfig = KubernetesMountConfig | JwtMountConfig;

/**
 * How to reach Redis, as store/ connects (lib/redis-connection-options.ts): the secrets already
 * read from their files, exactly one mode set, and both timeouts set.
 */
export type RedisConfig = RedisConnectionOptions &
  Required<Pick<RedisConnectionOptions, 'commandTimeoutMs' | 'connectTimeoutMs'>> & {
    /** The files the secrets were read from, followed while the server runs. */
    files: RedisSecretFiles;
    /**
     * `confirm_replicas` and `confirm_timeout`: revocations and secret writes wait until this many
     * replicas hold them. Absent when `confirm_replicas` is 0.
     */
    confirm?: { replicas: number; timeoutMs: number };
  };

/** The files of `store.redis` that hold secrets: their paths, as resolved from authgate.yaml. */
export type RedisSecretFiles = {
  password?: string;
  sentinelPassword?: string;
  ca?: string;
  cert?: string;
  key?: string;
};

/** One audit device, normalized. Every device writes Vault's JSON entries, secrets HMAC'd. */
export type AuditDeviceConfig = {
  /** The device's name: its salt, its stream key and `sys/audit-hash/<name>` follow it. */
  name: string;
  /** `file` (JSON lines, reopened on SIGHUP), `stdout`, or `redis` (a bounded stream in the store). */
  type: 'file' | 'stdout' | 'redis';
  /** `file` only: the absolute path. */
  path: string | undefined;
  /** HMAC accessors too (Vault's `hmac_accessor`). Default true. */
  hmacAccessor: boolean;
  /** Written before each line (`file`, `stdout`); `''` = none. */
  prefix: string;
  /** The bounded wait for this device, ms; past it the write counts as failed. Default 2000. */
  timeoutMs: number;
  /** `redis` only: entries the stream keeps at least. Default 100 000. */
  maxLen: number;
};

/** One KV v2 mount (`secrets.kv.<path>`), normalized. Values written through `/config` override these per mount. */
export type KvMountConfig = {
  /** Mount path without slashes at either end (`secret`, `team/kv`). */
  path: string;
  /** Versions kept per secret; older ones are removed on write. 0 (the default) = Vault's 10, and a secret's own `max_versions` applies. */
  maxVersions: number;
  /** Every write must carry `options.cas`. Default false. */
  casRequired: boolean;
  /** A version is soft-deleted this long after it is written; 0 = never. */
  deleteVersionAfterSeconds: number;
};

/** A signing key for identity tokens (`identity.keys.<name>`). */
export type IdentityKeyConfig = {
  name: string;
  /** JWS algorithm of the keys generated for it. Default ES256. */
  algorithm: IdentityKeyAlgorithm;
  /** A new key pair is generated this long after the current one. Default 24 h (Vault's). */
  rotationPeriodSeconds: number;
  /** A retired public key stays published this long (≥ the longest token TTL). Default 24 h (Vault's). */
  verificationTtlSeconds: number;
};

/** A role of identity tokens (`identity.roles.<name>`): what `identity/oidc/token/<name>` signs. */
export type IdentityRoleConfig = {
  name: string;
  /** The signing key's name (`identity.keys`). Default `default`. */
  key: string;
  /** The token's `aud` (Vault's `client_id`). */
  audience: string;
  /** Token lifetime, seconds. Default 24 h (Vault's). */
  ttlSeconds: number;
};

/** Secrets engines and identity tokens. */
export type SecretsConfig = {
  /** Key material (≥ 32 bytes) from `secrets.encryption_key_file`; undefined = derived from the server key. */
  encryptionKey: Buffer | undefined;
  /**
   * Key material (each ≥ 32 bytes) from `secrets.previous_encryption_key_files`, in order: keys
   * that open values sealed before the current key, and never seal. Default none.
   */
  previousEncryptionKeys: Buffer[];
  /** KV v2 mounts by path. Default: one mount, `secret`. */
  kv: Map<string, KvMountConfig>;
};

export type IdentityConfig = {
  /** The base URL tokens name: `iss` = `<issuer>/v1/identity/oidc`. Default `http://127.0.0.1:8200`. */
  issuer: string;
  /** Signing keys by name; a `default` key (ES256) always exists. */
  keys: Map<string, IdentityKeyConfig>;
  roles: Map<string, IdentityRoleConfig>;
};

/** Where policies come from: inline documents (Vault's JSON shape, in YAML) and a directory of files. */
export type PolicySourcesConfig = {
  /** `policies.<name>` of the config file, unparsed: the policy part checks them. */
  inline: Record<string, unknown>;
  /** `policy_dir`, absolute: `*.hcl`, `*.json`, `*.yaml`/`*.yml`, each one policy named after the file. */
  dir: string | undefined;
};

/**
 * The normalized configuration `parseConfig` returns: defaults applied, durations in the units
 * their names say, and every file it names already read and checked. Holds secrets (`serverKey`,
 * `adminToken`, Redis password): never log it whole.
 */
export type AuthgateConfig = {
  listener: {
    address: string;
    port: number;
    /**
     * PEM certificate chain and private key, read and checked (parse, key matches) at config time,
     * and the absolute paths they were read from (the server follows them: a renewed pair is
     * put in force without a restart).
     */
    tls: { cert: Buffer; key: Buffer; certFile: string; keyFile: string } | undefined;
    maxRequestBytes: number;
    /** Time a client has to send its whole request, ms (Node's `requestTimeout`; then 408). */
    requestTimeoutMs: number;
    trustedProxies: string[];
    /**
     * `login_rate_limit`: at most `rate` logins per `intervalMs` from one client address (a token
     * bucket per address, per replica), then 429. Undefined: no limit.
     */
    loginRateLimit: { rate: number; intervalMs: number } | undefined;
  };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  /** `/metrics` on or off (traces follow the OTEL_* variables). */
  telemetry: { metrics: boolean };
  store: { type: 'memory'; keyPrefix: string } | { type: 'redis'; keyPrefix: string; redis: RedisConfig };
  /** The server key (HMAC key of tokens and caches) read from `server_key_file`: at least 32 bytes. */
  serverKey: Buffer | undefined;
  /** The operator token read from `admin_token_file`: at least 16 characters. */
  adminToken: string | undefined;
  mounts: Map<string, AuthMountConfig>;
  /** Audit devices in the order the file lists them; empty = no auditing. */
  audit: AuditDeviceConfig[];
  policies: PolicySourcesConfig;
  secrets: SecretsConfig;
  identity: IdentityConfig;
  /** Insecure-but-allowed settings, logged once at start. */
  warnings: string[];
};
