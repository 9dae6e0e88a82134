import type { SigningAlgorithm } from './schema.js';

/** A role of a kubernetes mount, normalized: durations in seconds, defaults applied. */
export type RoleConfig = {
  name: string;
  boundServiceAccountNames: string[];
  boundServiceAccountNamespaces: string[];
  /** The audience the token must carry (and that TokenReview is asked for). Undefined only with `allowMissingAudience`. */
  audience: string | undefined;
  allowMissingAudience: boolean;
  aliasNameSource: 'serviceaccount_uid' | 'serviceaccount_name';
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
  tokenType: 'service';
};

export type JwksSourceConfig =
  { kind: 'file'; path: string } | { kind: 'url'; url: string } | { kind: 'oidc-discovery'; url: string };

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

export type KubernetesMountConfig = {
  /** Mount path without `auth/` (e.g. `kubernetes`, `k8s-east`). */
  path: string;
  type: 'kubernetes';
  description: string;
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
  defaultLeaseTtlSeconds: number;
  maxLeaseTtlSeconds: number;
  roles: Map<string, RoleConfig>;
};

/** How to reach Redis; secrets already read from their files. Exactly one mode is set. */
export type RedisConfig = {
  url?: string;
  sentinels?: Array<{ host: string; port: number }>;
  sentinelName?: string;
  clusterNodes?: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  commandTimeoutMs: number;
  connectTimeoutMs: number;
};

export type AuthgateConfig = {
  listener: {
    address: string;
    port: number;
    tls: { certFile: string; keyFile: string } | undefined;
    maxRequestBytes: number;
    trustedProxies: string[];
  };
  log: { level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  store: { type: 'memory'; keyPrefix: string } | { type: 'redis'; keyPrefix: string; redis: RedisConfig };
  serverKeyFile: string | undefined;
  adminTokenFile: string | undefined;
  mounts: Map<string, KubernetesMountConfig>;
  /** Insecure-but-allowed settings, logged once at start. */
  warnings: string[];
};
