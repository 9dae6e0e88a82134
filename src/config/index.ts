export type {
  AuthgateConfig,
  JwksConfig,
  JwksSourceConfig,
  KubernetesMountConfig,
  RedisConfig,
  RoleConfig,
  TokenReviewConfig,
} from './types.js';
export { ConfigError, DEFAULTS, loadConfigFile, parseConfig } from './load.js';
export type { ConfigProblem } from './load.js';
export { ConfigSchema, SIGNING_ALGORITHMS } from './schema.js';
export type { SigningAlgorithm } from './schema.js';
