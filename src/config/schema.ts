import Type, { type Static } from 'typebox';
import { IDENTITY_KEY_ALGORITHMS } from './algorithms.js';
import { ListenerSchema } from './listener-schema.js';
import { JwtMountSchema } from './jwt-schema.js';
import {
  Algorithm,
  Count,
  Duration,
  MountCommonFields,
  NamedRecord,
  namedRoles,
  ROLE_NAME_PATTERN,
  StringList,
  TokenRoleFields,
} from './schema-parts.js';

export { ROLE_NAME_PATTERN } from './schema-parts.js';

/*
 * The JSON Schema (TypeBox) of `authgate.yaml`, as written by operators: snake_case keys as in
 * Vault's API, durations as Vault accepts them (`"1h"`, `"90s"` or a number of seconds). What a
 * schema cannot say (bounds of durations, cross-field rules, files) is checked when `load.ts`,
 * `mount-config.ts` and `store-config.ts` normalize a document that passes it into `AuthgateConfig`.
 */

/**
 * Most reviews `tokenreview.cache_max_entries` may keep: the cache allocates its index for all
 * of them at start (10 million: about 200 MB and 3 s; 10^8 would take a minute and 1.6 GB).
 */
export const MAX_REVIEW_CACHE_ENTRIES = 10_000_000;

/** Mount paths: `/`-separated segments of letters, digits, `-` and `_` (`kubernetes`, `k8s/prod`). */
export const MOUNT_NAME_PATTERN = '^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$';
/**
 * One role of a kubernetes mount (`auth.<mount>.roles.<name>`), with Vault's field names
 * (`auth/kubernetes/role/<name>`). Durations are unparsed here; `mount-config.ts` parses and
 * bounds them and applies the cross-field rules (audience required, `*` alone, no `root`).
 */
export const RoleSchema = Type.Object(
  {
    bound_service_account_names: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    bound_service_account_namespaces: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** A LabelSelector (mapping, or Vault's JSON/YAML text); `mount-config.ts` checks it and the namespaces. */
    bound_service_account_namespace_selector: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Record(Type.String(), Type.Unknown())], {
        description:
          'a LabelSelector: a mapping with matchLabels and/or matchExpressions, or its JSON/YAML text',
      }),
    ),
    audience: Type.Optional(Type.String({ minLength: 1 })),
    /** Opt-in: a role without an audience accepts a token minted for any audience. */
    allow_missing_audience: Type.Optional(Type.Boolean()),
    alias_name_source: Type.Optional(
      Type.Union([Type.Literal('serviceaccount_uid'), Type.Literal('serviceaccount_name')]),
    ),
    ...TokenRoleFields,
  },
  { additionalProperties: false },
);

const JwksSchema = Type.Object(
  {
    /** A local JWKS file (`{"keys":[...]}`), re-read when it changes. */
    file: Type.Optional(Type.String({ minLength: 1 })),
    /** A JWKS URL: `https:`, or `http:` to a loopback host (or with `allow_insecure_http`). */
    url: Type.Optional(Type.String({ minLength: 1 })),
    /** Discover the JWKS from `<issuer or this URL>/.well-known/openid-configuration`. */
    oidc_discovery_url: Type.Optional(Type.String({ minLength: 1 })),
    /** PEM CA bundle for the JWKS / discovery endpoints. */
    ca_cert_file: Type.Optional(Type.String({ minLength: 1 })),
    /** Minimum time between two refetches caused by an unknown kid. Default 30s. */
    cooldown: Type.Optional(Duration),
    /** Keys are refetched at least this often. Default 10m. */
    max_age: Type.Optional(Duration),
    /** Timeout of one fetch. Default 5s. */
    timeout: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

const TokenReviewSchema = Type.Object(
  {
    /** Upper bound on how long a successful review is reused (also bounded by the token's exp). Default 60s. */
    cache_ttl: Type.Optional(Duration),
    /** Maximum number of cached reviews in process. Default 100 000. */
    cache_max_entries: Type.Optional(Count(1, MAX_REVIEW_CACHE_ENTRIES)),
    /** Maximum TokenReview calls in flight to the API server. Default 32. */
    max_concurrent: Type.Optional(Count(1)),
    /** Calls waiting beyond `max_concurrent` before new ones get 503. Default 1000. */
    max_queue: Type.Optional(Count(0)),
    /** Timeout of one TokenReview call. Default 5s. */
    timeout: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

/** One `auth.<mount>` of type `kubernetes`, with Vault's field names; `mount-config.ts` normalizes it. */
export const KubernetesMountSchema = Type.Object(
  {
    type: Type.Literal('kubernetes'),
    ...MountCommonFields,
    kubernetes_host: Type.Optional(Type.String({ minLength: 1 })),
    kubernetes_ca_cert: Type.Optional(Type.String({ minLength: 1 })),
    kubernetes_ca_cert_file: Type.Optional(Type.String({ minLength: 1 })),
    token_reviewer_jwt_file: Type.Optional(Type.String({ minLength: 1 })),
    verification: Type.Union([Type.Literal('tokenreview'), Type.Literal('jwks')]),
    jwks: Type.Optional(JwksSchema),
    tokenreview: Type.Optional(TokenReviewSchema),
    issuers: Type.Optional(StringList),
    allowed_algorithms: Type.Optional(Type.Array(Algorithm, { minItems: 1 })),
    leeway: Type.Optional(Duration),
    /** How long a namespace's labels read for a namespace selector are reused. Default 30s; 0 = every login. */
    namespace_cache_ttl: Type.Optional(Duration),

    roles: namedRoles(RoleSchema),
  },
  { additionalProperties: false },
);

/**
 * `auth.<mount>`: the schema its `type` names, and only that one (Ajv's discriminator), so that a
 * mistake in a mount is reported field by field rather than as "matches no kind of mount".
 */
const MountSchema = Type.Unsafe<Static<typeof KubernetesMountSchema> | Static<typeof JwtMountSchema>>({
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [KubernetesMountSchema, JwtMountSchema],
});

const HostPort = Type.Object(
  { host: Type.String({ minLength: 1 }), port: Count(1, 65535) },
  { additionalProperties: false },
);

const RedisSchema = Type.Object(
  {
    /** Standalone: `redis://[user:pass@]host:port[/db]`, or `rediss://` for TLS. */
    url: Type.Optional(Type.String({ minLength: 1 })),
    /** Sentinel mode: the sentinels, and the master's name (`sentinel_name`, default mymaster). */
    sentinels: Type.Optional(Type.Array(HostPort, { minItems: 1 })),
    sentinel_name: Type.Optional(Type.String({ minLength: 1 })),
    /** Sentinel mode: the sentinels' own ACL user and password (`requirepass` of sentinel.conf). */
    sentinel_username: Type.Optional(Type.String({ minLength: 1 })),
    sentinel_password_file: Type.Optional(Type.String({ minLength: 1 })),
    /** Cluster mode: seed nodes. */
    cluster_nodes: Type.Optional(Type.Array(HostPort, { minItems: 1 })),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password_file: Type.Optional(Type.String({ minLength: 1 })),
    tls: Type.Optional(
      Type.Object(
        {
          ca_file: Type.Optional(Type.String({ minLength: 1 })),
          cert_file: Type.Optional(Type.String({ minLength: 1 })),
          key_file: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    command_timeout: Type.Optional(Duration),
    connect_timeout: Type.Optional(Duration),
    /**
     * Revocations and secret writes are answered only once this many replicas hold them (Redis
     * `WAIT`); 0 (default) answers once the master does.
     */
    confirm_replicas: Type.Optional(Count(0, 64)),
    /** How long a write waits for `confirm_replicas` before it is answered 503. */
    confirm_timeout: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

/** Audit device names: letters, digits, `-` and `_` (`file`, `audit-redis`). */
export const AUDIT_DEVICE_NAME_PATTERN = '^[A-Za-z0-9_-]+$';

/**
 * One audit device (`audit.<name>`), with Vault's option names where Vault has them
 * (`hmac_accessor`, `prefix`); `audit-config.ts` applies the rules of each type.
 */
export const AuditDeviceSchema = Type.Object(
  {
    type: Type.Union([Type.Literal('file'), Type.Literal('stdout'), Type.Literal('redis')]),
    /** `file`: the JSON-lines file, created (0600) if absent, reopened on SIGHUP. */
    path: Type.Optional(Type.String({ minLength: 1 })),
    /** HMAC accessors as well as tokens. Default true. */
    hmac_accessor: Type.Optional(Type.Boolean()),
    /** `file`, `stdout`: a string written before each JSON line. */
    prefix: Type.Optional(Type.String()),
    /** How long a request waits for this device before it counts as failed. Default 2s. */
    timeout: Type.Optional(Duration),
    /** `redis`: entries the stream keeps (at least). Default 100 000. */
    max_len: Type.Optional(Count(1)),
  },
  { additionalProperties: false },
);

/** Names of policies, KV mounts' secrets, identity keys and roles. */
export const POLICY_NAME_PATTERN = '^[A-Za-z0-9_.-]+$';

/**
 * One policy in Vault's JSON shape (`{"path": {"<glob>": {"capabilities": [...]}}}`), written in
 * YAML. Only the outline is checked here; `src/policy` checks capabilities, templates and the
 * parameter constraints it refuses, with the policy's name in every message. Its top-level keys
 * are Vault's, `name` (ignored) and `path`; a `comment` belongs in a path block.
 */
const PolicySchema = Type.Object(
  {
    name: Type.Optional(Type.String()),
    path: Type.Record(
      Type.String({ minLength: 1 }),
      Type.Object({ capabilities: Type.Array(Type.String()) }, { additionalProperties: true }),
    ),
  },
  { additionalProperties: false },
);

/** A KV v2 mount (`secrets.kv.<path>`), with Vault's `kv/config` field names. */
const KvMountSchema = Type.Object(
  {
    /** Versions kept per secret. Default 0: Vault's 10, unless a secret sets its own. */
    max_versions: Type.Optional(Count(0, 4_294_967_295)),
    /** Every write must carry `options.cas`. Default false. */
    cas_required: Type.Optional(Type.Boolean()),
    /** Soft-delete versions this long after they are written. Default 0 (never). */
    delete_version_after: Type.Optional(Duration),
  },
  { additionalProperties: false },
);

const SecretsSchema = Type.Object(
  {
    /** File with ≥ 32 bytes of key material for values at rest; default: derived from the server key. */
    encryption_key_file: Type.Optional(Type.String({ minLength: 1 })),
    /** Files of keys that sealed values before the current one: they open values, never seal. */
    previous_encryption_key_files: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    /** KV v2 mounts by path. Default: `secret`. */
    kv: Type.Optional(
      NamedRecord(
        KvMountSchema,
        MOUNT_NAME_PATTERN,
        "KV mount paths are letters, digits, '-' and '_', in segments separated by '/'",
      ),
    ),
  },
  { additionalProperties: false },
);

const IdentitySchema = Type.Object(
  {
    /** Base URL of authgate as downstream services reach it; `iss` = `<issuer>/v1/identity/oidc`. */
    issuer: Type.Optional(Type.String({ minLength: 1 })),
    keys: Type.Optional(
      NamedRecord(
        Type.Object(
          {
            algorithm: Type.Optional(Type.Union(IDENTITY_KEY_ALGORITHMS.map((a) => Type.Literal(a)))),
            rotation_period: Type.Optional(Duration),
            verification_ttl: Type.Optional(Duration),
          },
          { additionalProperties: false },
        ),
        ROLE_NAME_PATTERN,
        "key names are letters, digits, '_', '-' and '.'",
      ),
    ),
    roles: Type.Optional(
      NamedRecord(
        Type.Object(
          {
            key: Type.Optional(Type.String({ minLength: 1 })),
            /** The tokens' `aud` (Vault's `client_id`). */
            audience: Type.String({ minLength: 1 }),
            ttl: Type.Optional(Duration),
          },
          { additionalProperties: false },
        ),
        ROLE_NAME_PATTERN,
        "role names are letters, digits, '_', '-' and '.'",
      ),
    ),
  },
  { additionalProperties: false },
);

/**
 * The whole `authgate.yaml` (after `AUTHGATE_*` overrides), validated with Ajv in `parseConfig`
 * so that every problem is reported. Unknown fields are refused at every level, and mount and
 * role names are checked ({@link MOUNT_NAME_PATTERN}, {@link ROLE_NAME_PATTERN}) while every
 * mount and role is still validated field by field.
 */
export const ConfigSchema = Type.Object(
  {
    listener: Type.Optional(ListenerSchema),
    /** Metrics and traces. Traces are exported by OTLP when the standard OTEL_* variables ask for it. */
    telemetry: Type.Optional(
      Type.Object(
        {
          /** Serve Prometheus metrics at `/metrics`. Default true. */
          metrics: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
    log: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(
            Type.Union(
              ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
            ),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    store: Type.Optional(
      Type.Object(
        {
          type: Type.Union([Type.Literal('memory'), Type.Literal('redis')]),
          key_prefix: Type.Optional(Type.String({ minLength: 1 })),
          redis: Type.Optional(RedisSchema),
        },
        { additionalProperties: false },
      ),
    ),
    /** File holding the server key (≥ 32 bytes) that HMACs tokens. Required outside dev. */
    server_key_file: Type.Optional(Type.String({ minLength: 1 })),
    /** File holding the admin (operator) token. */
    admin_token_file: Type.Optional(Type.String({ minLength: 1 })),
    /** Audit devices by name; none = no auditing. */
    audit: Type.Optional(
      NamedRecord(
        AuditDeviceSchema,
        AUDIT_DEVICE_NAME_PATTERN,
        "audit device names are letters, digits, '-' and '_'",
      ),
    ),
    /** ACL policies by name, in Vault's JSON shape (see docs/policies.md). */
    policies: Type.Optional(
      NamedRecord(PolicySchema, POLICY_NAME_PATTERN, "policy names are letters, digits, '_', '-' and '.'"),
    ),
    /** A directory of policy files (`*.hcl`, `*.json`, `*.yaml`), each named after its file. */
    policy_dir: Type.Optional(Type.String({ minLength: 1 })),
    secrets: Type.Optional(SecretsSchema),
    identity: Type.Optional(IdentitySchema),
    auth: NamedRecord(
      MountSchema,
      MOUNT_NAME_PATTERN,
      "mount names are letters, digits, '-' and '_', in segments separated by '/' (e.g. kubernetes, k8s/prod)",
    ),
  },
  { additionalProperties: false },
);

/** A document that passed {@link ConfigSchema}, before normalization. */
export type ConfigDocument = Static<typeof ConfigSchema>;
/** An audit device that passed {@link AuditDeviceSchema}, before normalization. */
export type AuditDeviceDocument = Static<typeof AuditDeviceSchema>;
/** A role that passed {@link RoleSchema}, before normalization. */
export type RoleDocument = Static<typeof RoleSchema>;
/** A mount that passed {@link KubernetesMountSchema}, before normalization. */
export type KubernetesMountDocument = Static<typeof KubernetesMountSchema>;
/** The `token_*` settings of a role that passed its schema, before normalization. */
export type TokenRoleDocument = Static<ReturnType<typeof Type.Object<typeof TokenRoleFields>>>;
