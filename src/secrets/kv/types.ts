import type { KvMountConfig } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import type { Keys, Store } from '../../store/index.js';
import type { SecretCipher } from '../cipher.js';
import type { SecretsMountEntry } from '../mount-table.js';

/** What a KV v2 engine needs. Narrowed with `Pick<>` so tests pass fakes. */
export type KvEngineDeps = {
  store: Pick<
    Store,
    | 'get'
    | 'set'
    | 'delete'
    | 'deleteIfEquals'
    | 'setAdd'
    | 'setMembers'
    | 'setRemove'
    | 'batch'
    | 'confirmReplicated'
    | 'writeEpoch'
  >;
  keys: Pick<Keys, 'kvMetadata' | 'kvVersion' | 'kvFolder' | 'kvConfig' | 'kvLock'>;
  clock: Clock;
  cipher: SecretCipher;
  mount: KvMountConfig;
  /** Owner ids of write locks. Default `crypto.randomUUID`. */
  randomId?: () => string;
  /** Waits between attempts to take a busy write lock. Default `setTimeout`. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * How long a write lock lives if its holder never releases it (a crashed replica), in ms.
   * Default 10 000. Every write finishes in a few store round trips, far below this.
   */
  lockTtlMs?: number;
  /** How long a write waits for a busy secret before answering 503, in ms. Default 3000. */
  lockWaitMs?: number;
};

/** One version's bookkeeping inside a secret's metadata record. Times are ms since the epoch. */
export type StoredVersion = {
  createdMs: number;
  /** Soft-deleted at (may be in the future: `delete_version_after`); null = not deleted. */
  deletionMs: number | null;
  destroyed: boolean;
};

/**
 * A secret's metadata record (Vault's `KeyMetadata`), stored as JSON under `keys.kvMetadata`.
 * It never holds a value: values live sealed under `keys.kvVersion`, one key per version.
 */
export type StoredMetadata = {
  createdMs: number;
  updatedMs: number;
  currentVersion: number;
  /** Vault's `oldest_version`: 0 until the first trim, then the oldest version kept. */
  oldestVersion: number;
  /** This secret's `max_versions`; 0 = the mount's. */
  maxVersions: number;
  casRequired: boolean;
  /** This secret's `delete_version_after`, seconds; 0 = the mount's. */
  deleteVersionAfterSeconds: number;
  /** User metadata; null when empty (Vault answers `null`). */
  customMetadata: Record<string, string> | null;
  /** By version number, `oldestVersion`..`currentVersion` (trimmed ones removed). */
  versions: Record<string, StoredVersion>;
};

/** A mount's settings: written through `<mount>/config`, else those of `authgate.yaml`. */
export type KvSettings = {
  /** 0 = Vault's default of 10. */
  maxVersions: number;
  casRequired: boolean;
  /** Seconds; 0 = none; negative = disabled for every secret of the mount (Vault's `-1s`). */
  deleteVersionAfterSeconds: number;
};

/** Vault's per-version metadata, as `data/` answers it (read, write, patch). */
export type KvVersionView = {
  created_time: string;
  custom_metadata: Record<string, string> | null;
  /** RFC 3339, or `""` when the version is not deleted. */
  deletion_time: string;
  destroyed: boolean;
  version: number;
};

/** Vault's answer to `GET <mount>/metadata/<path>`. */
export type KvMetadataView = {
  cas_required: boolean;
  created_time: string;
  current_version: number;
  custom_metadata: Record<string, string> | null;
  /** A Go duration (`"3h25m19s"`, `"0s"`). */
  delete_version_after: string;
  max_versions: number;
  oldest_version: number;
  updated_time: string;
  versions: Record<string, { created_time: string; deletion_time: string; destroyed: boolean }>;
};

/** Vault's answer to `GET <mount>/config`. */
export type KvConfigView = { cas_required: boolean; delete_version_after: string; max_versions: number };

/**
 * A read of one version: its data, or — when that version is soft-deleted or destroyed — only its
 * metadata (Vault answers that with 404 and the metadata in the body).
 */
export type KvReadResult<T> =
  { kind: 'found'; value: T; metadata: KvVersionView } | { kind: 'gone'; metadata: KvVersionView };

/** `options.cas` of a write: undefined = not given; null = given but not an integer. */
export type CasOption = number | null | undefined;

/** A parsed `data/` write (POST/PUT) or patch (PATCH) body. */
export type KvWriteInput = { data: Record<string, unknown>; cas: CasOption };

/** A parsed `metadata/` write: each field present only when the request carried it. */
export type KvMetadataInput = {
  maxVersions?: number;
  casRequired?: boolean;
  deleteVersionAfterSeconds?: number;
  customMetadata?: Record<string, string>;
};

/** A parsed `metadata/` patch (JSON merge patch): null resets a field; a null custom key removes it. */
export type KvMetadataPatch = {
  maxVersions?: number | null;
  casRequired?: boolean | null;
  deleteVersionAfterSeconds?: number | null;
  customMetadata?: Record<string, string | null> | null;
};

/** A parsed `config` write. `deleteVersionAfterSeconds` < 0 disables it for the mount. */
export type KvConfigInput = {
  maxVersions?: number;
  casRequired?: boolean;
  deleteVersionAfterSeconds?: number;
};

/** Vault's mount description, as `sys/internal/ui/mounts/<path>` answers it. */
export type KvMountInfo = SecretsMountEntry & { path: string; type: 'kv'; options: { version: '2' } };
