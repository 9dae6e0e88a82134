import { stableMountIds } from '../lib/hash.js';

/**
 * The accessor (`auth_kubernetes_1a2b3c4d`) and UUID of an auth mount. Vault draws both at
 * random when the mount is enabled; authgate's mounts come from the config file, so they are
 * derived from the mount path instead: every replica, and every restart, names a mount the same
 * way, and policies templated with `{{identity.entity.aliases.<accessor>.metadata.…}}` keep
 * working.
 */
export const mountIds = (type: string, mountPath: string): { accessor: string; uuid: string } =>
  stableMountIds(`auth/${mountPath}/`, `auth_${type}`);

/** The accessor of an auth mount, as {@link mountIds} derives it. */
export const mountAccessor = (type: string, mountPath: string): string => mountIds(type, mountPath).accessor;
