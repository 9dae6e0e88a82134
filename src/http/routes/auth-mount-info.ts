import { mountIds } from '../../auth/index.js';
import { FIXED_MOUNT_FIELDS } from '../../secrets/index.js';
import type { AuthMountConfig } from '../../config/index.js';
import { SYSTEM_LEASE_TTL_SECONDS } from './mount-ttls.js';

/** What Vault's auth mount table holds of a mount: a kubernetes mount of authgate.yaml, or the token store. */
export type AuthMountSource = Pick<
  AuthMountConfig,
  | 'description'
  | 'defaultLeaseTtlSeconds'
  | 'maxLeaseTtlSeconds'
  | 'tunedDefaultLeaseTtlSeconds'
  | 'tunedMaxLeaseTtlSeconds'
> & { type: string };

/**
 * Vault's token store, `auth/token/`: mounted by Vault itself, never enabled nor disabled, and
 * served by authgate's token endpoints. `vault auth list` shows it first; authgate.yaml cannot
 * name a mount `token`. Untuned: its TTLs are the system's (768h), as Vault's tune read answers
 * them, and its mount table entry holds 0 for both.
 */
export const TOKEN_AUTH_MOUNT: AuthMountSource = {
  type: 'token',
  description: 'token based credentials',
  defaultLeaseTtlSeconds: SYSTEM_LEASE_TTL_SECONDS,
  maxLeaseTtlSeconds: SYSTEM_LEASE_TTL_SECONDS,
  tunedDefaultLeaseTtlSeconds: 0,
  tunedMaxLeaseTtlSeconds: 0,
};

/** Every auth mount authgate serves by path (no `auth/`, no slashes): the token store, then authgate.yaml's. */
export const authMountTable = (
  mounts: ReadonlyMap<string, AuthMountConfig>,
): ReadonlyMap<string, AuthMountSource> => new Map([['token', TOKEN_AUTH_MOUNT], ...mounts]);

/**
 * An auth mount as Vault's `mountInfo` describes it: in `sys/auth`, `sys/auth/<path>` and
 * `sys/internal/ui/mounts/auth/<path>`. `path` is the mount's path without `auth/` and slashes.
 * The config names the token type, as Vault's does for every mount of its auth table, and the
 * lease TTLs as the mount sets them, 0 where it sets none (Vault's `mountInfo` with its legacy
 * TTL format; `sys/internal/ui/mounts` fills in the system's, see mount-ttls.ts). Its UUID is
 * derived as its accessor is (`mountIds`); the plugin versions are empty, as for the secrets
 * mounts of `sys/mounts` (FIXED_MOUNT_FIELDS).
 */
export const authMountInfo = (path: string, mount: AuthMountSource) => {
  const { accessor, uuid } = mountIds(mount.type, path);
  return {
    accessor,
    config: {
      default_lease_ttl: mount.tunedDefaultLeaseTtlSeconds ?? 0,
      force_no_cache: false,
      max_lease_ttl: mount.tunedMaxLeaseTtlSeconds ?? 0,
      token_type: 'default-service',
    },
    description: mount.description,
    ...FIXED_MOUNT_FIELDS,
    options: null,
    type: mount.type,
    uuid,
  };
};
