import { createHash } from 'node:crypto';

/**
 * The accessor of an auth mount, as Vault names them (`auth_kubernetes_1a2b3c4d`). Vault draws
 * it at random when the mount is enabled; authgate's mounts come from the config file, so the
 * accessor is derived from the mount path instead: every replica, and every restart, names a
 * mount the same way, and policies templated with
 * `{{identity.entity.aliases.<accessor>.metadata.…}}` keep working.
 */
export const mountAccessor = (type: string, mountPath: string): string =>
  `auth_${type}_${createHash('sha256').update(`auth/${mountPath}/`).digest('hex').slice(0, 8)}`;
