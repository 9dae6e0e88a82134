import { mountAccessor } from '../../auth/index.js';
import type { KubernetesMountConfig } from '../../config/index.js';

/**
 * An auth mount as Vault's `mountInfo` describes it: in `sys/auth`, `sys/auth/<path>` and
 * `sys/internal/ui/mounts/auth/<path>`. `path` is the mount's path without `auth/` and slashes.
 */
export const authMountInfo = (path: string, mount: KubernetesMountConfig) => ({
  accessor: mountAccessor(mount.type, path),
  description: mount.description,
  type: mount.type,
  local: false,
  seal_wrap: false,
  external_entropy_access: false,
  options: null,
  config: {
    default_lease_ttl: mount.defaultLeaseTtlSeconds,
    max_lease_ttl: mount.maxLeaseTtlSeconds,
    force_no_cache: false,
  },
});
