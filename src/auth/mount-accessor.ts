import { stableMountIds } from '../lib/hash.js';
import { TOKEN_STORE_MOUNT } from '../tokens/index.js';

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

/**
 * The accessor of the mount a token was issued by, from its `mountPath`: each configured auth
 * mount's by its own type (what `sys/auth` lists, and what a policy template names), the token
 * store's (`auth_token_…`) for a token it made. Computed once per mount. A path that names no
 * mount (one removed since the token was issued) has `''`, which no template names.
 */
export const createMountAccessors = (
  mounts: ReadonlyMap<string, { type: string }>,
): ((mountPath: string) => string) => {
  const byPath = new Map([...mounts].map(([path, mount]) => [path, mountAccessor(mount.type, path)]));
  const tokenStore = mountAccessor('token', TOKEN_STORE_MOUNT);
  return (mountPath) => (mountPath === TOKEN_STORE_MOUNT ? tokenStore : (byPath.get(mountPath) ?? ''));
};
