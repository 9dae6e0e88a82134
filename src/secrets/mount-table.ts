import { stableMountIds } from '../lib/hash.js';
import type { KvEngine } from './kv/index.js';

/** One entry of Vault's secrets mount table, as `sys/mounts` answers it (Vault's `mountInfo`). */
export type SecretsMountEntry = {
  accessor: string;
  config: { default_lease_ttl: number; max_lease_ttl: number; force_no_cache: boolean };
  description: string;
  external_entropy_access: boolean;
  local: boolean;
  options: Record<string, string> | null;
  plugin_version: string;
  running_plugin_version: string;
  running_sha256: string;
  seal_wrap: boolean;
  type: string;
  uuid: string;
};

/**
 * The fields of Vault's `mountInfo` that are the same for every mount authgate serves, secrets or
 * auth: none is local, seal-wrapped, given external entropy, or an external plugin.
 */
export const FIXED_MOUNT_FIELDS = {
  external_entropy_access: false,
  local: false,
  plugin_version: '',
  running_plugin_version: '',
  running_sha256: '',
  seal_wrap: false,
} as const;

/** The secrets mount table: mount path with its trailing `/` (`secret/`, `team/kv/`) → entry. */
export type SecretsMountTable = ReadonlyMap<string, SecretsMountEntry>;

/**
 * An entry for a built-in mount of authgate's own (`sys/`, `identity/`). Accessor and UUID are
 * derived from the path, as for KV mounts (engine.ts `mountInfo`), so that every replica and
 * every restart names them the same.
 */
const builtIn = (
  path: string,
  type: string,
  accessorPrefix: string,
  description: string,
): SecretsMountEntry => {
  const { accessor, uuid } = stableMountIds(`authgate ${type} mount ${path}`, accessorPrefix);
  return {
    accessor,
    config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 },
    description,
    ...FIXED_MOUNT_FIELDS,
    options: null,
    type,
    uuid,
  };
};

/**
 * The mounts authgate serves as secrets engines, in Vault's shape: each KV v2 mount of
 * `secrets.kv`, `identity/` (identity tokens) and `sys/` (the system endpoints), sorted by path.
 * Vault also lists `cubbyhole/`, which authgate does not serve, so it is left out: a client
 * that finds a mount here may use it. TTLs are 0 (the system default, Vault's `sys/mounts`
 * form): authgate's secrets have no lease. Nothing here changes while authgate runs (mounts come
 * from authgate.yaml), so the table is built once.
 */
export const buildSecretsMountTable = (
  kv: Iterable<[string, Pick<KvEngine, 'mountInfo'>]>,
): SecretsMountTable => {
  const entries: Array<[string, SecretsMountEntry]> = [
    ['identity/', builtIn('identity/', 'identity', 'identity', 'identity store')],
    ['sys/', builtIn('sys/', 'system', 'system', 'system endpoints used for control, policy and debugging')],
  ];
  for (const [path, engine] of kv) {
    // The `path` key is the UI endpoint's (`sys/internal/ui/mounts`); the table names it as its key.
    const info: SecretsMountEntry & { path?: string } = { ...engine.mountInfo() };
    delete info.path;
    entries.push([`${path}/`, info]);
  }
  return new Map(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
};

/**
 * The mount that serves `path` (the longest mount path it is under, as Vault's router matches),
 * with that mount's path; undefined when none does. `path` is relative to `/v1/`, and is read
 * with a trailing `/` (`secret` is the mount `secret/`).
 */
export const matchSecretsMount = (
  table: SecretsMountTable,
  path: string,
): { mountPath: string; entry: SecretsMountEntry } | undefined => {
  const wanted = path.endsWith('/') ? path : `${path}/`;
  let best: { mountPath: string; entry: SecretsMountEntry } | undefined;
  for (const [mountPath, entry] of table) {
    if (wanted.startsWith(mountPath) && (best === undefined || mountPath.length > best.mountPath.length)) {
      best = { mountPath, entry };
    }
  }
  return best;
};
