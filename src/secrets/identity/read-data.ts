import type { IdentityKeyConfig, IdentityRoleConfig } from '../../config/index.js';

/**
 * What `GET identity/oidc/role/<name>` answers in `data`: Vault's four keys (`pathOIDCReadRole`).
 * The role's audience is Vault's `client_id`; authgate's roles have no claim templates.
 */
export const roleReadData = (role: IdentityRoleConfig): Record<string, unknown> => ({
  client_id: role.audience,
  key: role.key,
  template: '',
  ttl: role.ttlSeconds,
});

/**
 * What `GET identity/oidc/key/<name>` answers in `data`: Vault's four keys (`pathOIDCReadKey`),
 * durations in seconds. Any role may use any key, which Vault writes `allowed_client_ids: ["*"]`.
 */
export const keyReadData = (key: IdentityKeyConfig): Record<string, unknown> => ({
  rotation_period: key.rotationPeriodSeconds,
  verification_ttl: key.verificationTtlSeconds,
  algorithm: key.algorithm,
  allowed_client_ids: ['*'],
});
