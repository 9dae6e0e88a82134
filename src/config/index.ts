export type {
  AuditDeviceConfig,
  AuthgateConfig,
  AuthMountConfig,
  ClaimValue,
  JwtMountConfig,
  JwtRoleConfig,
  MountCommon,
  TokenRoleConfig,
  JwksConfig,
  JwksSourceConfig,
  KubernetesMountConfig,
  RedisConfig,
  RedisSecretFiles,
  RoleConfig,
  TokenReviewConfig,
  KvMountConfig,
  IdentityKeyConfig,
  IdentityRoleConfig,
  SecretsConfig,
  IdentityConfig,
  PolicySourcesConfig,
} from './types.js';
export { ConfigError, DEFAULTS, loadConfigFile, parseConfig } from './load.js';
export type { ConfigProblem } from './load.js';
export { AUDIT_DEVICE_NAME_PATTERN, ConfigSchema, MOUNT_NAME_PATTERN, ROLE_NAME_PATTERN } from './schema.js';
export { IDENTITY_KEY_ALGORITHMS, JWT_SIGNING_ALGORITHMS, SIGNING_ALGORITHMS } from './algorithms.js';
export { DEFAULT_KEY_PREFIX } from './store-config.js';
export { isLoopbackHost, redactUrl, redisUrlProblem } from './urls.js';
export { applyRoleReload, planRoleReload, sectionsNeedingRestart } from './reload.js';
export type { RestartRequired, RoleReloadPlan, RoleSetChange } from './reload.js';
export { AUDIT_DEFAULTS } from './audit-config.js';
export {
  checkCertAndKey,
  LISTENER_TLS_FIELDS,
  MIN_ADMIN_TOKEN_CHARS,
  MIN_SERVER_KEY_BYTES,
} from './files.js';
export type { JwtSigningAlgorithm, SigningAlgorithm } from './algorithms.js';
export { createFileFollower, FILE_CHECK_INTERVAL_MS } from './file-follower.js';
export type { FileCheckTrigger, FileFollower } from './file-follower.js';
export { createRedisSecretsFollower } from './redis-secrets-follower.js';
export type { RedisSecrets } from './store-config.js';
