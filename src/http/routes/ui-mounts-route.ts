import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthMountConfig } from '../../config/index.js';
import { AuthgateError, badRequest } from '../../errors.js';
import { buildSecretsMountTable, matchSecretsMount, type KvEngine } from '../../secrets/index.js';
import { sysEnvelope } from '../envelope.js';
import { authMountInfo, authMountTable } from './auth-mount-info.js';
import { ttlsInEffect } from './mount-ttls.js';

export type UiMountsDeps = {
  /** KV v2 engines by mount path (`secret`, `team/kv`: no slash at either end). */
  engines: ReadonlyMap<string, KvEngine>;
  /**
   * Whether the caller of `sys/internal/ui/mounts/<path>` may see that mount (its path, without
   * the trailing `/`; Vault answers 403 to a token whose policies grant nothing under it).
   * Default: every caller sees every mount.
   */
  mountAccess?: (request: FastifyRequest, mountPath: string) => Promise<boolean>;
  /** The auth mounts by path (`kubernetes`), which `sys/internal/ui/mounts/auth/<path>` names too. */
  authMounts?: ReadonlyMap<string, AuthMountConfig>;
};

/**
 * `GET /v1/sys/internal/ui/mounts/<path>`: which mount serves a path. The vault CLI asks it before
 * every `vault kv` command, and consul-template (Vault Agent's templates) before every secret it
 * reads, to learn whether the mount is KV version 2. As Vault's router, it matches every secrets
 * mount authgate serves (each KV mount, `identity/`, `sys/`), longest first: `identity/` has no
 * `options.version`, so such a path is read as it is; under `auth/`, each auth mount (its `path`
 * without `auth/`, judged by the caller's grants under `auth/<path>/`, as Vault's). Like Vault it needs no ACL grant on the path
 * itself; a path under no mount (or one `mountAccess` hides) is Vault's 403 `preflight capability
 * check`, so the endpoint cannot be used to discover mounts.
 */
export const registerUiMounts = (app: FastifyInstance, deps: UiMountsDeps): void => {
  const table = buildSecretsMountTable(deps.engines);
  const authMounts = authMountTable(deps.authMounts ?? new Map());
  /** The auth mount serving `auth/<path>…` (longest first, as Vault's router), with its path. */
  const matchAuthMount = (path: string) => {
    const wanted = path.slice('auth/'.length);
    let best: { mountPath: string; entry: ReturnType<typeof authMountInfo> } | undefined;
    for (const [mountPath, mount] of authMounts) {
      const prefix = `${mountPath}/`;
      if (wanted.startsWith(prefix) && (best === undefined || prefix.length > best.mountPath.length))
        best = { mountPath: prefix, entry: authMountInfo(mountPath, mount) };
    }
    return best;
  };
  app.get('/v1/sys/internal/ui/mounts/*', async (request) => {
    const raw = (request.params as { '*'?: string })['*'] ?? '';
    if (raw === '') throw badRequest('path not set', 'ui_mounts_no_path');
    const path = `${raw.replace(/^\//, '')}${raw.endsWith('/') ? '' : '/'}`;
    const match = path.startsWith('auth/') ? matchAuthMount(path) : matchSecretsMount(table, path);
    // As Vault's hasMountAccess: an auth mount is judged by its full path, `auth/<path>/`.
    const fullPath =
      match === undefined ? '' : `${path.startsWith('auth/') ? 'auth/' : ''}${match.mountPath}`;
    const visible =
      match !== undefined &&
      (deps.mountAccess === undefined || (await deps.mountAccess(request, fullPath.slice(0, -1))));
    if (match === undefined || !visible) {
      throw new AuthgateError('PERMISSION_DENIED', {
        message: `preflight capability check returned 403, please ensure client's policies grant access to path "${path}"`,
        reason: 'ui_mounts_denied',
      });
    }
    // The system's TTLs filled in, as Vault's UI read since hashicorp/vault#23914.
    const entry = { ...match.entry, config: ttlsInEffect(match.entry.config) };
    return sysEnvelope(request.id, { ...entry, path: match.mountPath });
  });
};
