import { randomUUID } from 'node:crypto';
import { AuthgateError, unavailable } from '../../errors.js';
import { containsExactNumber, parseExactJson, stringifyExactJson } from '../../lib/exact-json.js';
import { ReplicationUnconfirmedError, StoreUnavailableError, type BatchOp } from '../../store/index.js';
import { CipherError } from '../cipher.js';
import { isJsonObject, type JsonObject } from './json.js';
import { parseMetadata } from './metadata.js';
import type { KvEngineDeps, KvSettings, StoredMetadata } from './types.js';

const DEFAULT_LOCK_TTL_MS = 10_000;
const DEFAULT_LOCK_WAIT_MS = 3_000;
const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 100;

/**
 * The first character of a version's plaintext when its data holds numbers kept as their text
 * (`ExactNumber`): the rest is that JSON, numbers as written. Data without any is stored as
 * plain `JSON.stringify` text, as before exact numbers existed; that text always starts with `{`,
 * so the marker can never be the start of a value stored either way before.
 */
const EXACT_MARKER = '=';

/** A version's plaintext: plain JSON, or the marker and JSON whose numbers keep their text. */
const encodeVersionData = (data: JsonObject): string =>
  containsExactNumber(data) ? EXACT_MARKER + stringifyExactJson(data) : JSON.stringify(data);

/** The data of a version's plaintext, in either format of {@link encodeVersionData}. */
const decodeVersionData = (text: string): unknown =>
  text.startsWith(EXACT_MARKER) ? parseExactJson(text.slice(EXACT_MARKER.length)) : JSON.parse(text);

/** Fail closed with a 503 when the store is down; any other error propagates. */
export const guard = async <T>(pending: Promise<T>): Promise<T> => {
  try {
    return await pending;
  } catch (err) {
    if (err instanceof ReplicationUnconfirmedError) {
      throw unavailable(
        "the write is not yet confirmed by the store's replicas; repeat it",
        'kv_write_unconfirmed',
        err,
      );
    }
    if (err instanceof StoreUnavailableError)
      throw unavailable('kv store unavailable', 'kv_store_unavailable', err);
    throw err;
  }
};

/** Stored state that does not parse or open: corruption or tampering, never the client's fault. */
const corrupt = (reason: string, cause: unknown, detail: string): AuthgateError =>
  new AuthgateError('INTERNAL', { reason, cause, detail });

/**
 * The parent folders of a secret path, each with the entry that names the next level in it:
 * `a/b/c` → `['', 'a/']`, `['a/', 'b/']`, `['a/b/', 'c']` (folders end with `/`, `''` = root).
 */
export const folderEntries = (path: string): Array<[folder: string, entry: string]> => {
  const segments = path.split('/');
  const last = segments.length - 1;
  let folder = '';
  return segments.map((segment, i) => {
    const entry: [string, string] = [folder, i === last ? segment : `${segment}/`];
    folder += `${segment}/`;
    return entry;
  });
};

/**
 * How one mount's secrets sit in the store (internal to kv/):
 * - `kvMetadata(mount, path)`: the metadata record (JSON; never a value);
 * - `kvVersion(mount, path, n)`: version n's data, `cipher.seal(JSON)` bound to (mount, path, n)
 *   (see {@link encodeVersionData} for the JSON);
 * - `kvFolder(mount, folder)`: a set of the folder's children (`name`, or `name/` for a folder);
 * - `kvConfig(mount)`: the settings written through `<mount>/config` (JSON);
 * - `kvLock(mount, path)`: the write lock of one secret (the owner's random id, with a TTL).
 */
export const createKvStorage = (deps: KvEngineDeps) => {
  const { store, keys, cipher, mount } = deps;
  const m = mount.path;
  const randomId = deps.randomId ?? randomUUID;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const lockTtlMs = deps.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  const lockWaitMs = deps.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS;

  // The AAD names mount, path and version unambiguously (a JSON array, so `:` or `/` in a path
  // cannot make two locations look alike): a sealed value copied to another secret or version
  // no longer opens.
  const aad = (path: string, version: number) => JSON.stringify(['kv', m, path, version]);

  const loadMetadata = async (path: string): Promise<StoredMetadata | undefined> => {
    const raw = await guard(store.get(keys.kvMetadata(m, path)));
    if (raw === undefined) return undefined;
    try {
      return parseMetadata(raw);
    } catch (err) {
      // A parser's error quotes the record (its custom_metadata): not kept as the cause.
      const cause = err instanceof SyntaxError ? undefined : err;
      throw corrupt('kv_metadata_corrupt', cause, `metadata record of ${m}/${path} does not parse`);
    }
  };

  const metadataOp = (path: string, meta: StoredMetadata): BatchOp => ({
    op: 'set',
    key: keys.kvMetadata(m, path),
    value: JSON.stringify(meta),
  });

  const versionOp = (path: string, version: number, data: JsonObject): BatchOp => ({
    op: 'set',
    key: keys.kvVersion(m, path, version),
    value: cipher.seal(encodeVersionData(data), aad(path, version)),
  });

  const deleteVersionOp = (path: string, version: number): BatchOp => ({
    op: 'delete',
    key: keys.kvVersion(m, path, version),
  });

  /**
   * Version `version`'s data, or undefined when its key is absent (destroyed or trimmed meanwhile).
   * A value that does not open (altered, moved, another key) is a 500, never a crash or a leak.
   */
  const openVersion = async (path: string, version: number): Promise<JsonObject | undefined> => {
    const sealed = await guard(store.get(keys.kvVersion(m, path, version)));
    if (sealed === undefined) return undefined;
    let data: unknown;
    try {
      data = decodeVersionData(cipher.open(sealed, aad(path, version)).toString('utf8'));
    } catch (err) {
      if (err instanceof CipherError)
        throw corrupt('kv_value_unsealable', err, `version ${version} of ${m}/${path} does not open`);
      // Opened, but not JSON. Not the parser's error as the cause: request.failed would log its
      // message, which quotes the text around the fault, the secret itself.
      throw corrupt('kv_value_corrupt', undefined, `version ${version} of ${m}/${path} does not parse`);
    }
    if (!isJsonObject(data))
      throw corrupt('kv_value_corrupt', undefined, `version ${version} of ${m}/${path}`);
    return data;
  };

  /**
   * Re-seals version `version` under the current key when it was sealed under another (a previous
   * key, or the format before values named their key). Written only if the version still exists
   * (`if-present`): a version's data never changes once written, so a version destroyed or
   * trimmed meanwhile stays gone, and two re-keys racing write the same data.
   */
  const resealVersion = async (
    path: string,
    version: number,
  ): Promise<'current' | 'resealed' | 'unopenable'> => {
    const key = keys.kvVersion(m, path, version);
    const sealed = await guard(store.get(key));
    if (sealed === undefined || !cipher.isStale(sealed)) return 'current';
    let plaintext: Buffer;
    try {
      plaintext = cipher.open(sealed, aad(path, version));
    } catch {
      return 'unopenable';
    }
    await guard(store.set(key, cipher.seal(plaintext, aad(path, version)), { mode: 'if-present' }));
    return 'resealed';
  };

  const commit = async (ops: BatchOp[]): Promise<void> => {
    await guard(store.batch(ops));
  };

  const defaults = (): KvSettings => ({
    maxVersions: mount.maxVersions,
    casRequired: mount.casRequired,
    deleteVersionAfterSeconds: mount.deleteVersionAfterSeconds,
  });

  /** The mount's settings, read from the store on every call: replicas share them. */
  const loadSettings = async (): Promise<KvSettings> => {
    const raw = await guard(store.get(keys.kvConfig(m)));
    if (raw === undefined) return defaults();
    try {
      const s = JSON.parse(raw) as KvSettings;
      if (
        !Number.isSafeInteger(s.maxVersions) ||
        typeof s.casRequired !== 'boolean' ||
        !Number.isSafeInteger(s.deleteVersionAfterSeconds)
      ) {
        throw new TypeError('malformed KV config record');
      }
      return s;
    } catch (err) {
      throw corrupt('kv_config_corrupt', err, `config record of mount ${m} does not parse`);
    }
  };

  const saveSettings = async (s: KvSettings): Promise<void> => {
    const since = store.writeEpoch?.();
    await guard(store.set(keys.kvConfig(m), JSON.stringify(s)));
    await guard(store.confirmReplicated?.(since) ?? Promise.resolve());
  };

  /**
   * Runs `fn` holding the write lock of one secret. Every change to a secret (its versions and its
   * metadata record) is a read-modify-write of that record, so writers of one secret — on this
   * replica or another — take turns: the lock is a store key set only if absent, with a TTL so a
   * crashed holder cannot block the secret for longer than `lockTtlMs`. A writer that cannot get
   * it within `lockWaitMs` gets a 503 (retryable), never a lost update.
   *
   * `fn` receives `assertHeld`, called just before committing: if the lock expired meanwhile (the
   * holder stalled for `lockTtlMs`), another writer may have read the record, so this one gives
   * up (503) rather than overwrite that writer's change. The remaining window (between that check
   * and the commit, a few ms against a 10 s TTL) is what a store without compare-and-set allows.
   */
  const withLock = async <T>(
    path: string,
    fn: (assertHeld: () => Promise<void>) => Promise<T>,
  ): Promise<T> => {
    const key = keys.kvLock(m, path);
    const owner = randomId();
    // Taken before the lock, the first write: see Store.writeEpoch.
    const since = store.writeEpoch?.();
    let waitedMs = 0;
    let delayMs = FIRST_RETRY_MS;
    while (!(await guard(store.set(key, owner, { mode: 'if-absent', ttlMs: lockTtlMs })))) {
      if (waitedMs >= lockWaitMs) {
        throw unavailable('another write to this secret is in progress; retry', 'kv_lock_busy');
      }
      await sleep(delayMs);
      waitedMs += delayMs;
      delayMs = Math.min(delayMs * 2, MAX_RETRY_MS);
    }
    const assertHeld = async () => {
      if ((await guard(store.get(key))) !== owner) {
        throw unavailable('the write took too long and was abandoned; retry', 'kv_lock_lost');
      }
    };
    try {
      const result = await fn(assertHeld);
      // Answered once the replicas the store confirms with hold it: a secret destroyed on the
      // master alone would come back with a failover.
      await guard(store.confirmReplicated?.(since) ?? Promise.resolve());
      return result;
    } finally {
      // Released only if still ours (it may have expired and been taken), in one atomic step: a
      // read then a delete could drop the next writer's lock. A failed release is harmless: the
      // TTL frees the secret.
      try {
        await store.deleteIfEquals(key, owner);
      } catch {
        /* the TTL frees it */
      }
    }
  };

  /**
   * Names a new secret in its folders, deepest first, so that a concurrent `removeFromFolders`
   * of a sibling (see there) always sees this entry when it re-checks.
   */
  const addToFolders = async (path: string): Promise<void> => {
    for (const [folder, entry] of folderEntries(path).reverse()) {
      await guard(store.setAdd(keys.kvFolder(m, folder), [entry]));
    }
  };

  /**
   * Removes a deleted secret from its folder, then each folder left empty from its parent. Writers
   * add deepest first, so after removing `b/` from `a/` this re-reads `a/b/`: if a writer put an
   * entry there meanwhile, `b/` goes back. In every interleaving the parent ends up naming a
   * non-empty folder.
   */
  const removeFromFolders = async (path: string): Promise<void> => {
    const entries = folderEntries(path);
    const last = entries[entries.length - 1];
    if (last === undefined) return;
    await guard(store.setRemove(keys.kvFolder(m, last[0]), [last[1]]));
    for (let i = entries.length - 1; i > 0; i--) {
      const [folder] = entries[i] as [string, string];
      const [parent, entry] = entries[i - 1] as [string, string];
      if ((await guard(store.setMembers(keys.kvFolder(m, folder)))).length > 0) return;
      await guard(store.setRemove(keys.kvFolder(m, parent), [entry]));
      if ((await guard(store.setMembers(keys.kvFolder(m, folder)))).length > 0) {
        await guard(store.setAdd(keys.kvFolder(m, parent), [entry]));
        return;
      }
    }
  };

  /** The children of a folder (`''` = the mount's root; otherwise ending with `/`), sorted. */
  const listFolder = async (folder: string): Promise<string[]> =>
    (await guard(store.setMembers(keys.kvFolder(m, folder)))).sort();

  return {
    loadMetadata,
    metadataOp,
    versionOp,
    deleteVersionOp,
    deleteMetadataOp: (path: string): BatchOp => ({ op: 'delete', key: keys.kvMetadata(m, path) }),
    openVersion,
    resealVersion,
    commit,
    loadSettings,
    saveSettings,
    withLock,
    addToFolders,
    removeFromFolders,
    listFolder,
  };
};
export type KvStorage = ReturnType<typeof createKvStorage>;
