import { envelope, NOT_FOUND } from './kv-suite.js';

/*
 * A model of Vault's KV version 2 engine, for test/kv-model.test.ts: what each request should
 * answer and how it changes the secrets. The reference is hashicorp/vault-plugin-secrets-kv:
 * path_data.go (read, write, patch, delete, `AddVersion`'s sliding window), path_metadata.go,
 * path_delete.go (delete and undelete), path_destroy.go, path_config.go, path_subkeys.go,
 * delete_version_after.go. Where authgate differs on purpose (docs/secrets.md, "Differences from
 * Vault") the model follows authgate: times have millisecond precision, and a version whose
 * deletion time is the current millisecond is already deleted (Vault: `Before(now)`, in ns).
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
export type Answer = { status: number; json: unknown };

export type ModelVersion = {
  createdMs: number;
  deletionMs: number | null;
  destroyed: boolean;
  data: JsonObject;
};
export type ModelSecret = {
  createdMs: number;
  updatedMs: number;
  current: number;
  oldest: number;
  maxVersions: number;
  casRequired: boolean;
  deleteAfterSeconds: number;
  custom: Record<string, string> | null;
  versions: Map<number, ModelVersion>;
};
export type ModelConfig = { maxVersions: number; casRequired: boolean; deleteAfterSeconds: number };
export type Model = { secrets: Map<string, ModelSecret>; config: ModelConfig };
/** Where this sequence's secrets live: `secret/data/<prefix>/<path>`. */
export type Real = { prefix: string };

/** A time as Go's RFC3339Nano prints it: the fraction's trailing zeros dropped. */
export const goTime = (ms: number | null): string =>
  ms === null
    ? ''
    : new Date(ms)
        .toISOString()
        .replace(/\.(\d*?)0*Z$/, (_m, frac: string) => (frac === '' ? 'Z' : `.${frac}Z`));

/** Seconds as Go's `time.Duration.String()` prints them. */
export const goDuration = (seconds: number): string => {
  if (seconds === 0) return '0s';
  if (seconds < 0) return `-${goDuration(-seconds)}`;
  const [hours, minutes, secs] = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60];
  if (hours > 0) return `${hours}h${minutes}m${secs}s`;
  if (minutes > 0) return `${minutes}m${secs}s`;
  return `${secs}s`;
};

export const CAS_IGNORED =
  '"cas_required" set to false, but is mandated by backend config. This value will be ignored.';

/** authgate's deviation: deleted at or before this millisecond (Vault: strictly before). */
export const isGone = (v: ModelVersion, nowMs: number): boolean =>
  v.destroyed || (v.deletionMs !== null && v.deletionMs <= nowMs);

/** delete_version_after.go's `deletionTime`, unless the mount disables it (negative). */
export const deletionTime = (fromMs: number, config: ModelConfig, s: ModelSecret): number | null => {
  if (config.deleteAfterSeconds < 0) return null;
  const set = [config.deleteAfterSeconds, s.deleteAfterSeconds].filter((x) => x > 0);
  return set.length === 0 ? null : fromMs + Math.min(...set) * 1000;
};

export const newSecret = (nowMs: number): ModelSecret => ({
  createdMs: nowMs,
  updatedMs: nowMs,
  current: 0,
  oldest: 0,
  maxVersions: 0,
  casRequired: false,
  deleteAfterSeconds: 0,
  custom: null,
  versions: new Map(),
});

/** path_data.go's `AddVersion`: the new version, then the sliding window of max_versions. */
export const addVersion = (s: ModelSecret, config: ModelConfig, data: JsonObject, nowMs: number): void => {
  s.current += 1;
  s.versions.set(s.current, {
    createdMs: nowMs,
    deletionMs: deletionTime(nowMs, config, s),
    destroyed: false,
    data,
  });
  s.updatedMs = nowMs;
  const larger = Math.max(s.maxVersions, config.maxVersions);
  const max = larger > 0 ? larger : 10;
  if (s.current - s.oldest >= max) {
    const last = s.current - max;
    for (const n of [...s.versions.keys()]) if (n <= last) s.versions.delete(n);
    s.oldest = last + 1;
  }
};

/** The per-version metadata of `data/` answers. */
export const versionView = (s: ModelSecret, n: number) => {
  const v = s.versions.get(n) as ModelVersion;
  return {
    created_time: goTime(v.createdMs),
    custom_metadata: s.custom,
    deletion_time: goTime(v.deletionMs),
    destroyed: v.destroyed,
    version: n,
  };
};

export const metadataView = (s: ModelSecret) => ({
  cas_required: s.casRequired,
  created_time: goTime(s.createdMs),
  current_version: s.current,
  custom_metadata: s.custom,
  delete_version_after: goDuration(s.deleteAfterSeconds),
  max_versions: s.maxVersions,
  oldest_version: s.oldest,
  updated_time: goTime(s.updatedMs),
  versions: Object.fromEntries(
    [...s.versions].map(([n, v]) => [
      String(n),
      { created_time: goTime(v.createdMs), deletion_time: goTime(v.deletionMs), destroyed: v.destroyed },
    ]),
  ),
});

export const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 7396, written from the RFC's pseudo-code. */
export const mergePatch = (target: Json | undefined, patch: Json): Json => {
  if (!isObject(patch)) return patch;
  const out: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else
      Object.defineProperty(out, k, {
        value: mergePatch(Object.hasOwn(out, k) ? out[k] : undefined, v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
  }
  return out;
};

/** path_subkeys.go's `removeValues`, with `depth` (0 = no limit). */
export const subkeys = (data: JsonObject, depth: number): JsonObject => {
  const walk = (o: JsonObject, level: number): JsonObject =>
    Object.fromEntries(
      Object.entries(o).map(([k, v]) => [
        k,
        isObject(v) && Object.keys(v).length > 0 && (depth === 0 || level + 1 <= depth)
          ? walk(v, level + 1)
          : null,
      ]),
    );
  return walk(data, 1);
};

/** A read of version `version` (≤ 0: the current one), as path_data.go and path_subkeys.go answer it. */
export const expectedRead = (
  nowMs: number,
  s: ModelSecret | undefined,
  version: number,
  field: 'data' | 'subkeys',
  map: (d: JsonObject) => JsonObject,
): Answer => {
  if (s === undefined) return NOT_FOUND;
  const n = version > 0 ? version : s.current;
  const v = s.versions.get(n);
  if (v === undefined) return NOT_FOUND;
  // A deleted or destroyed version: 404 with its metadata, in an envelope without mount type.
  if (isGone(v, nowMs))
    return { status: 404, json: envelope({ [field]: null, metadata: versionView(s, n) }, '') };
  return { status: 200, json: envelope({ [field]: map(v.data), metadata: versionView(s, n) }) };
};

/** path_data.go's `validateCheckAndSetOption`; undefined when the write may go ahead. */
export const casProblem = (cas: number | undefined, config: ModelConfig, s: ModelSecret | undefined) => {
  if (cas !== undefined) {
    if (cas !== (s?.current ?? 0)) return 'check-and-set parameter did not match the current version';
  } else if (config.casRequired || s?.casRequired === true) {
    return 'check-and-set parameter required for this call';
  }
  return undefined;
};
export const badRequest = (message: string): Answer => ({ status: 400, json: { errors: [message] } });
