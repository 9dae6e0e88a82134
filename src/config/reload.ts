import { isDeepStrictEqual } from 'node:util';
import type {
  AuthgateConfig,
  AuthMountConfig,
  JwtMountConfig,
  KubernetesMountConfig,
  TokenRoleConfig,
} from './types.js';

/**
 * Every setting of a kubernetes mount other than its roles, with its key in authgate.yaml. These
 * build the mount's verifier, caches and routes at start, so a reload cannot apply them. Typed
 * over the whole config type: a new mount setting does not compile until it is listed here.
 */
const MOUNT_KEYS: { readonly [K in Exclude<keyof KubernetesMountConfig, 'roles'>]-?: string } = {
  path: 'path',
  type: 'type',
  description: 'description',
  kubernetesHost: 'kubernetes_host',
  // Also a change of the file's content: a rotated CA is not taken either.
  kubernetesCaCert: 'kubernetes_ca_cert',
  tokenReviewerJwtFile: 'token_reviewer_jwt_file',
  allowInsecureHttp: 'allow_insecure_http',
  verification: 'verification',
  jwks: 'jwks',
  tokenReview: 'tokenreview',
  issuers: 'issuers',
  allowedAlgorithms: 'allowed_algorithms',
  leewaySeconds: 'leeway',
  namespaceCacheTtlSeconds: 'namespace_cache_ttl',
  defaultLeaseTtlSeconds: 'default_lease_ttl',
  maxLeaseTtlSeconds: 'max_lease_ttl',
  tunedDefaultLeaseTtlSeconds: 'default_lease_ttl',
  tunedMaxLeaseTtlSeconds: 'max_lease_ttl',
};
const MOUNT_KEY_ENTRIES = Object.entries(MOUNT_KEYS) as Array<[keyof typeof MOUNT_KEYS, string]>;

/** The settings of a jwt mount other than its roles, as {@link MOUNT_KEYS}. */
const JWT_MOUNT_KEYS: { readonly [K in Exclude<keyof JwtMountConfig, 'roles'>]-?: string } = {
  path: 'path',
  type: 'type',
  description: 'description',
  allowInsecureHttp: 'allow_insecure_http',
  // The source's URL or keys, and its CA: `oidc_discovery_url`, `jwks_url`, `jwt_validation_pubkeys`.
  keys: 'oidc_discovery_url / jwks_url / jwt_validation_pubkeys',
  boundIssuer: 'bound_issuer',
  allowedAlgorithms: 'jwt_supported_algs',
  allowedAlgorithmsAsSet: 'jwt_supported_algs',
  defaultRole: 'default_role',
  defaultLeaseTtlSeconds: 'default_lease_ttl',
  maxLeaseTtlSeconds: 'max_lease_ttl',
  tunedDefaultLeaseTtlSeconds: 'default_lease_ttl',
  tunedMaxLeaseTtlSeconds: 'max_lease_ttl',
};
const JWT_MOUNT_KEY_ENTRIES = Object.entries(JWT_MOUNT_KEYS) as Array<[keyof typeof JWT_MOUNT_KEYS, string]>;

/**
 * The parts of the config a reload never applies (each builds something at start: the listener,
 * the store's connection, the audit devices, the keys), with their names in authgate.yaml.
 * `mounts` and `policies` are what a reload applies; `warnings` are derived. Typed over the whole
 * config: a new section does not compile until it is listed here or there.
 */
const RESTART_SECTIONS: {
  readonly [K in Exclude<keyof AuthgateConfig, 'mounts' | 'policies' | 'warnings'>]-?: string;
} = {
  listener: 'listener',
  log: 'log',
  telemetry: 'telemetry',
  store: 'store',
  serverKey: 'server_key_file',
  adminToken: 'admin_token_file',
  audit: 'audit',
  secrets: 'secrets',
  identity: 'identity',
};
const RESTART_SECTION_ENTRIES = Object.entries(RESTART_SECTIONS) as Array<
  [keyof typeof RESTART_SECTIONS, string]
>;

/**
 * What of a section a restart would change. The listener's certificate and key, and the Redis
 * store's passwords, CA and client certificate, are followed by their files (the server re-reads
 * them on SIGHUP and every minute), so there only their paths count, not their content.
 */
const restartView = (config: AuthgateConfig, key: keyof typeof RESTART_SECTIONS): unknown => {
  if (key === 'store') {
    if (config.store.type !== 'redis') return config.store;
    const redis = config.store.redis;
    return {
      ...config.store,
      redis: { ...redis, password: 0, sentinelPassword: 0, tls: redis.tls !== undefined },
    };
  }
  if (key !== 'listener') return config[key];
  const { tls, ...listener } = config.listener;
  return { ...listener, tls: tls && { certFile: tls.certFile, keyFile: tls.keyFile } };
};

/**
 * The sections of authgate.yaml outside the auth mounts and the policies whose values differ
 * between the running config and a reloaded one (a key file's content included, the listener's
 * certificate and key excepted): a reload does not apply them. Names only: the values (keys,
 * tokens) are never part of the answer.
 */
export const sectionsNeedingRestart = (running: AuthgateConfig, next: AuthgateConfig): string[] =>
  RESTART_SECTION_ENTRIES.filter(
    ([key]) => !isDeepStrictEqual(restartView(running, key), restartView(next, key)),
  ).map(([, name]) => name);

/** The new role set of a running mount, and how it differs from the one in force (role names). */
export type RoleSetChange = {
  mount: string;
  /** The roles of the mount's own type (a mount whose type changed is not reloaded). */
  roles: ReadonlyMap<string, TokenRoleConfig>;
  added: string[];
  removed: string[];
  changed: string[];
};

/**
 * A part of the new file that only a restart applies: a mount `added` or `removed`, or a mount
 * whose settings other than roles `changed` (`keys`, as authgate.yaml names them). The roles of
 * a changed mount are not applied either (see {@link planRoleReload}).
 */
export type RestartRequired =
  { mount: string; change: 'added' | 'removed' } | { mount: string; change: 'changed'; keys: string[] };

export type RoleReloadPlan = {
  /** Mounts whose role set differs from the running one; empty when nothing changed. */
  roleSets: RoleSetChange[];
  restartRequired: RestartRequired[];
};

/** The keys of authgate.yaml whose values differ between two versions of one mount. */
const changedMountKeys = (running: AuthMountConfig, next: AuthMountConfig): string[] => {
  if (running.type !== next.type) return ['type'];
  const differ = <M extends AuthMountConfig>(a: M, b: M, entries: Array<[keyof M, string]>) =>
    entries.filter(([key]) => !isDeepStrictEqual(a[key], b[key])).map(([, name]) => name);
  const names =
    running.type === 'jwt'
      ? differ(running, next as JwtMountConfig, JWT_MOUNT_KEY_ENTRIES)
      : differ(running, next as KubernetesMountConfig, MOUNT_KEY_ENTRIES);
  // A key names two settings (the TTL in effect, and as set): named once.
  return [...new Set(names)];
};

const diffRoles = (
  running: ReadonlyMap<string, TokenRoleConfig>,
  next: ReadonlyMap<string, TokenRoleConfig>,
): Pick<RoleSetChange, 'added' | 'removed' | 'changed'> => ({
  added: [...next.keys()].filter((name) => !running.has(name)).sort(),
  removed: [...running.keys()].filter((name) => !next.has(name)).sort(),
  changed: [...next]
    .filter(([name, role]) => running.has(name) && !isDeepStrictEqual(running.get(name), role))
    .map(([name]) => name)
    .sort(),
});

/**
 * What a reload of the config file can apply to the running auth mounts: the new role set of each
 * mount whose other settings are unchanged. Both configs were parsed and validated whole by
 * `parseConfig`, so a role here passed the same checks as at start.
 *
 * A mount whose other settings changed keeps its running roles too: its new roles were checked
 * against the new settings (a `token_period` against the new `max_lease_ttl`), not against the
 * ones that keep running, and they may have been written for them (a new audience for new
 * issuers). Such a mount, like one added or removed, is listed in `restartRequired`.
 */
export const planRoleReload = (
  running: ReadonlyMap<string, AuthMountConfig>,
  next: ReadonlyMap<string, AuthMountConfig>,
): RoleReloadPlan => {
  const plan: RoleReloadPlan = { roleSets: [], restartRequired: [] };
  for (const [path, now] of running) {
    const then = next.get(path);
    if (then === undefined) {
      plan.restartRequired.push({ mount: path, change: 'removed' });
      continue;
    }
    const keys = changedMountKeys(now, then);
    if (keys.length > 0) {
      plan.restartRequired.push({ mount: path, change: 'changed', keys });
      continue;
    }
    const diff = diffRoles(now.roles, then.roles);
    if (diff.added.length + diff.removed.length + diff.changed.length > 0)
      plan.roleSets.push({ mount: path, roles: then.roles, ...diff });
  }
  for (const path of next.keys())
    if (!running.has(path)) plan.restartRequired.push({ mount: path, change: 'added' });
  return plan;
};

/**
 * Puts each planned role set in force: the running mount's `roles` is replaced whole, never
 * edited, so a reader that took the map once (a login, a role read) sees one set throughout.
 * Synchronous: no request runs between the first mount's swap and the last one's.
 */
export const applyRoleReload = (
  running: ReadonlyMap<string, AuthMountConfig>,
  plan: Pick<RoleReloadPlan, 'roleSets'>,
): void => {
  for (const { mount, roles } of plan.roleSets) {
    const config = running.get(mount);
    // The plan holds a role set only for a mount whose type is unchanged: its roles are that type's.
    if (config !== undefined) (config as { roles: ReadonlyMap<string, TokenRoleConfig> }).roles = roles;
  }
};
