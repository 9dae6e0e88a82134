import { AuthgateError, badRequest } from '../../errors.js';
import { stableMountIds } from '../../lib/hash.js';
import {
  CAS_IGNORED_WARNING,
  checkCas,
  checkNewSecretPath,
  refuseExisting,
  secretPathOf,
  withinPathLimits,
} from './checks.js';
import { mergePatch, subkeysOf, type JsonObject } from './json.js';
import {
  addVersion,
  applyMetadataInput,
  applyMetadataPatch,
  configView,
  deletionTimeMs,
  isGone,
  metadataView,
  newMetadata,
  versionOf,
  versionView,
} from './metadata.js';
import { rewrapMount } from './rewrap.js';
import { createKvStorage } from './storage.js';
import type {
  KvConfigInput,
  KvConfigView,
  KvEngineDeps,
  KvMetadataInput,
  KvMetadataPatch,
  KvMetadataView,
  KvMountInfo,
  KvReadResult,
  KvSettings,
  KvVersionView,
  KvWriteInput,
  StoredMetadata,
} from './types.js';

const notFound = () => new AuthgateError('NOT_FOUND', { reason: 'kv_not_found' });

/**
 * A KV v2 secrets engine for one mount, faithful to Vault's `kv` plugin (version 2): versioned
 * secrets with check-and-set, soft delete, undelete, destroy, per-secret metadata, and mount
 * settings. Values are sealed with the cipher, bound to (mount, path, version); the store holds
 * no value in plaintext. State lives only in the store, so replicas sharing it agree.
 * A path with trailing slashes names the secret without them, as in Vault ({@link secretPathOf}).
 *
 * Errors are AuthgateErrors: 400 with Vault's message for bad input, 404 (empty `errors`) for a
 * missing secret or version, 503 when the store is down or a secret stays busy, 500 when a stored
 * value does not open (tampering).
 */
export const createKvEngine = (deps: KvEngineDeps) => {
  const { clock, mount } = deps;
  const storage = createKvStorage(deps);

  /** The metadata and the live version to read, or a 404 when either is missing. */
  const locate = async (path: string, version: number) => {
    const meta = await storage.loadMetadata(path);
    if (meta === undefined) throw notFound();
    const n = version > 0 ? version : meta.currentVersion;
    const v = versionOf(meta, n);
    if (v === undefined) throw notFound();
    return { meta, n, v };
  };

  /**
   * Reads version `version` (≤ 0 = current) and maps its data. The metadata is read first and the
   * value second, without a lock: when the value vanished in between (destroyed, trimmed), the
   * read starts over once so it answers what the metadata now says.
   */
  const readVersion = async <T>(
    named: string,
    version: number,
    map: (data: JsonObject) => T,
  ): Promise<KvReadResult<T>> => {
    const path = secretPathOf(named);
    for (let attempt = 0; ; attempt++) {
      const { meta, n, v } = await locate(path, version);
      const metadata = versionView(meta, n);
      if (isGone(v, clock.nowMs())) return { kind: 'gone', metadata };
      const data = await storage.openVersion(path, n);
      if (data !== undefined) return { kind: 'found', value: map(data), metadata };
      if (attempt > 0) {
        throw new AuthgateError('INTERNAL', {
          reason: 'kv_version_missing',
          detail: 'could not find version data',
        });
      }
    }
  };

  /**
   * Adds a version holding `data` to `meta`, then stores the sealed value and, after it, the
   * metadata that names it (with the trimmed versions' deletion): whatever fails midway, the
   * metadata never names a version whose value is not stored. A value stored without its metadata
   * (a failed second step) is named by nothing and overwritten by the next write.
   */
  const commitVersion = async (
    path: string,
    meta: StoredMetadata,
    data: JsonObject,
    settings: KvSettings,
    assertHeld: () => Promise<void>,
  ): Promise<KvVersionView> => {
    const now = clock.nowMs();
    const deletion = deletionTimeMs(now, settings, meta);
    const trimmed = addVersion(meta, now, deletion, settings.maxVersions);
    await assertHeld();
    await storage.commit([storage.versionOp(path, meta.currentVersion, data)]);
    await storage.commit([
      storage.metadataOp(path, meta),
      ...trimmed.map((n) => storage.deleteVersionOp(path, n)),
    ]);
    return versionView(meta, meta.currentVersion);
  };

  /** Applies `change` to an existing secret's metadata under its lock; absent = nothing to do. */
  const updateExisting = async (
    path: string,
    change: (meta: StoredMetadata, nowMs: number) => boolean,
  ): Promise<void> => {
    await storage.withLock(path, async (assertHeld) => {
      const meta = await storage.loadMetadata(path);
      if (meta === undefined || !change(meta, clock.nowMs())) return;
      await assertHeld();
      await storage.commit([storage.metadataOp(path, meta)]);
    });
  };

  const requireVersions = (versions: readonly number[], message: string) => {
    if (versions.length === 0) throw badRequest(message, 'kv_no_versions');
  };

  const ids = stableMountIds(`authgate kv mount ${mount.path}`, 'kv');

  return {
    /** The mount's path (`secret`, `team/kv`). */
    mountPath: mount.path,

    /** Whether the secret has a metadata record (Vault's ExistenceCheck: create vs update). */
    exists: async (path: string): Promise<boolean> =>
      (await storage.loadMetadata(secretPathOf(path))) !== undefined,

    /**
     * `GET data/<path>?version=n`: the version's data and metadata; `gone` for a soft-deleted or
     * destroyed version (Vault's 404 with the metadata). 404 when there is no such secret or version.
     */
    read: (path: string, version = 0): Promise<KvReadResult<JsonObject>> =>
      readVersion(path, version, (d) => d),

    /**
     * `GET subkeys/<path>`: the secret's structure with every leaf null, `depth` levels deep
     * (0 = all). Same 404s and `gone` as `read`.
     */
    subkeys: (path: string, version = 0, depth = 0): Promise<KvReadResult<JsonObject>> =>
      readVersion(path, version, (d) => subkeysOf(d, depth)),

    /**
     * `POST data/<path>`: writes a new version. `cas` 0 = only if the secret has no version yet;
     * n = only if n is the current version; required when the mount or the secret says so.
     * `absentOnly` (a write that the caller's policy allows by `create` alone): only while the
     * secret does not exist ({@link exists}: no metadata), checked under the lock, before
     * check-and-set, as Vault's existence check comes before the handler.
     *
     * @throws AuthgateError with reason `kv_exists` when `absentOnly` and the secret exists.
     */
    write: async (
      path: string,
      input: KvWriteInput,
      options: { absentOnly?: boolean } = {},
    ): Promise<KvVersionView> => {
      if (path === '') throw badRequest('missing path', 'kv_missing_path');
      const settings = await storage.loadSettings();
      return storage.withLock(path, async (assertHeld) => {
        const existing = await storage.loadMetadata(path);
        if (existing === undefined) checkNewSecretPath(path);
        const meta = existing ?? newMetadata(clock.nowMs());
        refuseExisting(existing, options);
        checkCas(input.cas, settings, meta);
        // Named in its folders before its metadata exists: a crash in between leaves a name
        // that LIST shows and a metadata delete clears, never a secret that LIST cannot see.
        if (existing === undefined) await storage.addToFolders(path);
        return commitVersion(path, meta, input.data, settings, assertHeld);
      });
    },

    /**
     * `PATCH data/<path>`: a new version from the current one and a JSON merge patch. 404 when the
     * secret or its current version does not exist; `gone` when that version is deleted or destroyed.
     */
    patch: async (path: string, input: KvWriteInput): Promise<KvReadResult<KvVersionView>> =>
      storage.withLock(path, async (assertHeld): Promise<KvReadResult<KvVersionView>> => {
        const meta = await storage.loadMetadata(path);
        if (meta === undefined) throw notFound();
        const settings = await storage.loadSettings();
        checkCas(input.cas, settings, meta);
        const current = versionOf(meta, meta.currentVersion);
        if (current === undefined) throw notFound();
        const metadata = versionView(meta, meta.currentVersion);
        if (isGone(current, clock.nowMs())) return { kind: 'gone', metadata };
        const existing = await storage.openVersion(path, meta.currentVersion);
        if (existing === undefined) throw notFound();
        const patched = mergePatch(existing, input.data) as JsonObject;
        return {
          kind: 'found',
          value: await commitVersion(path, meta, patched, settings, assertHeld),
          metadata,
        };
      }),

    /** `DELETE data/<path>`: soft-deletes the current version (nothing when already gone). */
    deleteLatest: (path: string): Promise<void> =>
      updateExisting(path, (meta, now) => {
        const v = versionOf(meta, meta.currentVersion);
        if (v === undefined || isGone(v, now)) return false;
        v.deletionMs = now;
        return true;
      }),

    /** `POST delete/<path>`: soft-deletes these versions (unknown, destroyed or deleted ones are skipped). */
    deleteVersions: async (path: string, versions: readonly number[]): Promise<void> => {
      requireVersions(versions, 'No version number provided');
      await updateExisting(secretPathOf(path), (meta, now) => {
        for (const n of versions) {
          const v = versionOf(meta, n);
          if (v !== undefined && !isGone(v, now)) v.deletionMs = now;
        }
        return true;
      });
    },

    /**
     * `POST undelete/<path>`: restores these versions (destroyed ones cannot be); each gets a new
     * deletion time from now when `delete_version_after` applies, as in Vault.
     */
    undeleteVersions: async (path: string, versions: readonly number[]): Promise<void> => {
      requireVersions(versions, 'No version number provided');
      const settings = await storage.loadSettings();
      await updateExisting(secretPathOf(path), (meta, now) => {
        for (const n of versions) {
          const v = versionOf(meta, n);
          if (v !== undefined && !v.destroyed) v.deletionMs = deletionTimeMs(now, settings, meta);
        }
        return true;
      });
    },

    /** `POST destroy/<path>`: marks these versions destroyed and deletes their sealed values. */
    destroyVersions: async (named: string, versions: readonly number[]): Promise<void> => {
      requireVersions(versions, 'no version number provided');
      const path = secretPathOf(named);
      await storage.withLock(path, async (assertHeld) => {
        const meta = await storage.loadMetadata(path);
        if (meta === undefined) return;
        const doomed = versions.filter((n) => versionOf(meta, n) !== undefined);
        for (const n of doomed) (versionOf(meta, n) as { destroyed: boolean }).destroyed = true;
        await assertHeld();
        // Metadata first in the batch: a version is marked destroyed before its value goes.
        await storage.commit([
          storage.metadataOp(path, meta),
          ...doomed.map((n) => storage.deleteVersionOp(path, n)),
        ]);
      });
    },

    /** `GET metadata/<path>`: the secret's metadata and every kept version's; 404 when none. */
    readMetadata: async (path: string): Promise<KvMetadataView> => {
      const meta = await storage.loadMetadata(secretPathOf(path));
      if (meta === undefined) throw notFound();
      return metadataView(meta);
    },

    /**
     * `POST metadata/<path>`: sets the given settings, creating the metadata (no version) when the
     * secret has none. A request with none of the fields changes nothing. Returns Vault's warnings.
     * `absentOnly` as for {@link write}: only while the secret does not exist, checked under the
     * lock.
     *
     * @throws AuthgateError with reason `kv_exists` when `absentOnly` and the secret exists.
     */
    writeMetadata: async (
      named: string,
      input: KvMetadataInput,
      options: { absentOnly?: boolean } = {},
    ): Promise<{ warnings: string[] }> => {
      const path = secretPathOf(named);
      if (path === '') throw badRequest('missing path', 'kv_missing_path');
      if (Object.keys(input).length === 0) return { warnings: [] };
      const settings = await storage.loadSettings();
      const warnings = input.casRequired === false && settings.casRequired ? [CAS_IGNORED_WARNING] : [];
      await storage.withLock(path, async (assertHeld) => {
        const existing = await storage.loadMetadata(path);
        if (existing === undefined) checkNewSecretPath(path);
        refuseExisting(existing, options);
        const meta = existing ?? newMetadata(clock.nowMs());
        applyMetadataInput(meta, input);
        if (existing === undefined) await storage.addToFolders(path);
        await assertHeld();
        await storage.commit([storage.metadataOp(path, meta)]);
      });
      return { warnings };
    },

    /** `PATCH metadata/<path>`: a JSON merge patch of the settings; 404 when the secret has no metadata. */
    patchMetadata: async (named: string, patch: KvMetadataPatch): Promise<{ warnings: string[] }> => {
      const path = secretPathOf(named);
      if (path === '') throw badRequest('missing path', 'kv_missing_path');
      const settings = await storage.loadSettings();
      const warnings = patch.casRequired === false && settings.casRequired ? [CAS_IGNORED_WARNING] : [];
      await storage.withLock(path, async (assertHeld) => {
        const meta = await storage.loadMetadata(path);
        if (meta === undefined) throw notFound();
        applyMetadataPatch(meta, patch);
        await assertHeld();
        await storage.commit([storage.metadataOp(path, meta)]);
      });
      return { warnings };
    },

    /** `DELETE metadata/<path>`: deletes the metadata and every version for good. */
    deleteMetadata: async (named: string): Promise<void> => {
      const path = secretPathOf(named);
      await storage.withLock(path, async (assertHeld) => {
        const meta = await storage.loadMetadata(path);
        if (meta !== undefined) {
          const versions = Object.keys(meta.versions).map(Number);
          await assertHeld();
          // Versions before the record: a failure midway leaves the record, and a retry finishes.
          await storage.commit([
            ...versions.map((n) => storage.deleteVersionOp(path, n)),
            storage.deleteMetadataOp(path),
          ]);
        }
        // Also when there was no record: clears a name left by a write that crashed midway. A
        // path no write could name (over the limits) has no name to clear without a record, and
        // climbing its thousands of levels is what the limits keep from happening.
        if (meta !== undefined || withinPathLimits(path)) await storage.removeFromFolders(path);
      });
    },

    /**
     * `LIST metadata/<folder>`: the folder's children, sorted — secrets by name, sub-folders as
     * `name/`. Empty when the folder has none (the route answers 404, as Vault does).
     */
    list: (folder: string): Promise<string[]> =>
      storage.listFolder(folder === '' || folder.endsWith('/') ? folder : `${folder}/`),

    /** `GET config`: the mount's settings. */
    readConfig: async (): Promise<KvConfigView> => configView(await storage.loadSettings()),

    /** `POST config`: changes the given settings of the mount (for every replica). */
    writeConfig: async (input: KvConfigInput): Promise<void> => {
      if (Object.keys(input).length === 0) return;
      const s = await storage.loadSettings();
      await storage.saveSettings({
        maxVersions: input.maxVersions ?? s.maxVersions,
        casRequired: input.casRequired ?? s.casRequired,
        deleteVersionAfterSeconds: input.deleteVersionAfterSeconds ?? s.deleteVersionAfterSeconds,
      });
    },

    /**
     * The mount as Vault's `sys/internal/ui/mounts/<path>` describes it (the vault CLI reads
     * `options.version` and `path` to speak KV v2). Accessor and UUID are derived from the path,
     * so every replica answers the same.
     */
    mountInfo: (): KvMountInfo => ({
      accessor: ids.accessor,
      config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 },
      description: 'key/value secret storage',
      external_entropy_access: false,
      local: false,
      options: { version: '2' },
      path: `${mount.path}/`,
      plugin_version: '',
      running_plugin_version: '',
      running_sha256: '',
      seal_wrap: false,
      type: 'kv',
      uuid: ids.uuid,
    }),

    /** Re-seals the mount's values sealed under a previous key (see {@link rewrapMount}). */
    rewrap: (onUnopenable: (path: string, version: number) => void) => rewrapMount(storage, onUnopenable),
  };
};

/** A KV v2 engine of one mount (see {@link createKvEngine}). */
export type KvEngine = ReturnType<typeof createKvEngine>;
