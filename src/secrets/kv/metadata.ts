import { formatDuration } from '../../lib/duration.js';
import { goTime } from '../../lib/go-time.js';
import { mergePatch } from './json.js';
import type {
  KvConfigView,
  KvMetadataInput,
  KvMetadataPatch,
  KvMetadataView,
  KvSettings,
  KvVersionView,
  StoredMetadata,
  StoredVersion,
} from './types.js';

/** Versions kept when neither the secret nor the mount sets `max_versions` (Vault's). */
export const DEFAULT_MAX_VERSIONS = 10;

/**
 * A time as Vault prints it (Go's RFC3339Nano, UTC): trailing zeros of the fraction dropped,
 * `2026-01-01T00:00:00Z`, `2026-01-01T00:00:00.12Z`; `""` for no time.
 */
export const formatTime = (ms: number | null): string => (ms === null ? '' : goTime(ms));

/** Seconds as Go prints a `time.Duration` (`3h25m19s`, `0s`, `-1s`). */
export const formatSeconds = (seconds: number): string =>
  seconds < 0 ? `-${formatDuration(-seconds)}` : formatDuration(seconds);

/** A metadata record for a secret that has none yet. */
export const newMetadata = (nowMs: number): StoredMetadata => ({
  createdMs: nowMs,
  updatedMs: nowMs,
  currentVersion: 0,
  oldestVersion: 0,
  maxVersions: 0,
  casRequired: false,
  deleteVersionAfterSeconds: 0,
  customMetadata: null,
  versions: {},
});

/** The version's bookkeeping, or undefined when there is no such version (never written, or trimmed). */
export const versionOf = (meta: StoredMetadata, version: number): StoredVersion | undefined =>
  Object.hasOwn(meta.versions, String(version)) ? meta.versions[String(version)] : undefined;

/**
 * Whether a version no longer answers reads: destroyed, or soft-deleted at or before `nowMs`.
 * (Vault compares with `Before(now)` in nanoseconds; at millisecond resolution "at" counts too,
 * so that a delete is visible to a read in the same millisecond.)
 */
export const isGone = (v: StoredVersion, nowMs: number): boolean =>
  v.destroyed || (v.deletionMs !== null && v.deletionMs <= nowMs);

/**
 * When a version written (or undeleted) at `fromMs` is soft-deleted: after the smaller non-zero
 * `delete_version_after` of the mount and of the secret (Vault's `deletionTime`); null when neither
 * is set or the mount disables it.
 */
export const deletionTimeMs = (fromMs: number, settings: KvSettings, meta: StoredMetadata): number | null => {
  if (settings.deleteVersionAfterSeconds < 0) return null;
  const candidates = [settings.deleteVersionAfterSeconds, meta.deleteVersionAfterSeconds].filter(
    (s) => s > 0,
  );
  if (candidates.length === 0) return null;
  return fromMs + Math.min(...candidates) * 1000;
};

/**
 * Adds the next version to `meta` (mutated) and moves Vault's sliding window: the larger of the
 * secret's and the mount's `max_versions` (10 when both are 0) versions are kept. Returns the
 * numbers of the versions that fell out of the window, whose sealed values the caller deletes.
 */
export const addVersion = (
  meta: StoredMetadata,
  createdMs: number,
  deletionMs: number | null,
  mountMaxVersions: number,
): number[] => {
  meta.currentVersion += 1;
  meta.versions[String(meta.currentVersion)] = { createdMs, deletionMs, destroyed: false };
  meta.updatedMs = createdMs;
  const larger = Math.max(meta.maxVersions, mountMaxVersions);
  const maxVersions = larger > 0 ? larger : DEFAULT_MAX_VERSIONS;
  if (meta.currentVersion - meta.oldestVersion < maxVersions) return [];
  // As Vault: everything up to current - max goes, however many that is (max_versions may have
  // been lowered since the last write).
  const lastTrimmed = meta.currentVersion - maxVersions;
  const trimmed: number[] = [];
  for (const key of Object.keys(meta.versions)) {
    const n = Number(key);
    if (n <= lastTrimmed) {
      delete meta.versions[key];
      trimmed.push(n);
    }
  }
  meta.oldestVersion = lastTrimmed + 1;
  return trimmed.sort((a, b) => a - b);
};

/** Vault's per-version metadata of `version` (which must exist in `meta`). */
export const versionView = (meta: StoredMetadata, version: number): KvVersionView => {
  const v = versionOf(meta, version);
  if (v === undefined) throw new TypeError(`version ${version} is not in the metadata`);
  return {
    created_time: formatTime(v.createdMs),
    custom_metadata: meta.customMetadata,
    deletion_time: formatTime(v.deletionMs),
    destroyed: v.destroyed,
    version,
  };
};

/** Vault's answer to a metadata read. */
export const metadataView = (meta: StoredMetadata): KvMetadataView => {
  const versions: KvMetadataView['versions'] = {};
  for (const [n, v] of Object.entries(meta.versions)) {
    versions[n] = {
      created_time: formatTime(v.createdMs),
      deletion_time: formatTime(v.deletionMs),
      destroyed: v.destroyed,
    };
  }
  return {
    cas_required: meta.casRequired,
    created_time: formatTime(meta.createdMs),
    current_version: meta.currentVersion,
    custom_metadata: meta.customMetadata,
    delete_version_after: formatSeconds(meta.deleteVersionAfterSeconds),
    max_versions: meta.maxVersions,
    oldest_version: meta.oldestVersion,
    updated_time: formatTime(meta.updatedMs),
    versions,
  };
};

/** Vault's answer to a config read. */
export const configView = (s: KvSettings): KvConfigView => ({
  cas_required: s.casRequired,
  delete_version_after: formatSeconds(s.deleteVersionAfterSeconds),
  max_versions: s.maxVersions,
});

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Parses a stored metadata record. A record that is not what this module writes (corrupt, or
 * written by something else) throws `TypeError`; the caller turns that into a 500.
 */
export const parseMetadata = (raw: string): StoredMetadata => {
  const m: unknown = JSON.parse(raw);
  if (
    !isRecord(m) ||
    !isCount(m['createdMs']) ||
    !isCount(m['updatedMs']) ||
    !isCount(m['currentVersion']) ||
    !isCount(m['oldestVersion']) ||
    !isCount(m['maxVersions']) ||
    typeof m['casRequired'] !== 'boolean' ||
    !isCount(m['deleteVersionAfterSeconds']) ||
    !(m['customMetadata'] === null || isRecord(m['customMetadata'])) ||
    !isRecord(m['versions'])
  ) {
    throw new TypeError('malformed KV metadata record');
  }
  for (const v of Object.values(m['versions'])) {
    if (
      !isRecord(v) ||
      !isCount(v['createdMs']) ||
      !(v['deletionMs'] === null || isCount(v['deletionMs'])) ||
      typeof v['destroyed'] !== 'boolean'
    ) {
      throw new TypeError('malformed KV version record');
    }
  }
  return m as StoredMetadata;
};

/** Sets on `meta` the fields `input` gives (`POST metadata/`); an empty custom metadata is none. */
export const applyMetadataInput = (meta: StoredMetadata, input: KvMetadataInput): void => {
  if (input.maxVersions !== undefined) meta.maxVersions = input.maxVersions;
  if (input.casRequired !== undefined) meta.casRequired = input.casRequired;
  if (input.deleteVersionAfterSeconds !== undefined)
    meta.deleteVersionAfterSeconds = input.deleteVersionAfterSeconds;
  if (input.customMetadata !== undefined) {
    meta.customMetadata = Object.keys(input.customMetadata).length > 0 ? input.customMetadata : null;
  }
};

/** Applies a JSON merge patch of the settings to `meta` (`PATCH metadata/`): null resets a field. */
export const applyMetadataPatch = (meta: StoredMetadata, patch: KvMetadataPatch): void => {
  if (patch.maxVersions !== undefined) meta.maxVersions = patch.maxVersions ?? 0;
  if (patch.casRequired !== undefined) meta.casRequired = patch.casRequired ?? false;
  if (patch.deleteVersionAfterSeconds !== undefined) {
    meta.deleteVersionAfterSeconds = patch.deleteVersionAfterSeconds ?? 0;
  }
  if (patch.customMetadata !== undefined) {
    const merged = mergePatch(meta.customMetadata ?? {}, patch.customMetadata ?? null) as Record<
      string,
      string
    > | null;
    meta.customMetadata = merged !== null && Object.keys(merged).length > 0 ? merged : null;
  }
};
