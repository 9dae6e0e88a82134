import fc from 'fast-check';
import type { Json, JsonObject, ModelSecret } from './kv-model.js';

/* The generated inputs of test/kv-model.test.ts. */

/**
 * Secret paths under each sequence's prefix: nested, sharing prefixes, a secret named as a folder,
 * one that URLs must encode.
 */
export const PATHS = ['a', 'a/b', 'a/b/c', 'a/b/d', 'ab', 'b/ä x'] as const;
export const path = fc.constantFrom(...PATHS);
export const FOLDERS = ['', 'a', 'a/', 'a/b', 'a/b/', 'b/', 'ab', 'zz/'] as const;
export const encodePath = (p: string) => p.split('/').map(encodeURIComponent).join('/');

export const leaf = fc.oneof(
  fc.string({ maxLength: 5 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.boolean(),
);
/** Keys of secret data; `__proto__` is an ordinary key in JSON. */
export const KEY = fc.constantFrom('k', 'x', 'y', 'z', '__proto__', '');
export const dict = <T>(value: fc.Arbitrary<T>, key: fc.Arbitrary<string> = KEY) =>
  fc.dictionary(key, value, { maxKeys: 3, noNullPrototype: true });
/** Keys of custom metadata (Vault refuses an empty one). */
export const LABEL = fc.constantFrom('owner', 'tier', 'env');
/**
 * Secret data. No null inside an array: Vault's merge patch (evanphx/json-patch) prunes nulls in
 * some arrays where RFC 7396 keeps them, a quirk this model does not copy.
 */
/** A value in secret data: a leaf, null, a short array, or an object of `inner`. */
const valueOr = (inner: fc.Arbitrary<JsonObject>): fc.Arbitrary<Json> =>
  fc.oneof({ depthSize: 'small' }, leaf, fc.constant(null), fc.array(leaf, { maxLength: 2 }), inner);
export const { data, patch } = fc.letrec<{ data: JsonObject; patch: JsonObject }>((tie) => ({
  data: dict(valueOr(tie('data') as fc.Arbitrary<JsonObject>)),
  // The same shapes; its nulls remove keys.
  patch: dict(valueOr(tie('patch') as fc.Arbitrary<JsonObject>)),
}));
/** `options.cas`: absent, the current version (resolved when run), or any small number. */
export const cas = fc.oneof(
  fc.constant(undefined),
  fc.constant('current' as const),
  fc.integer({ min: -1, max: 6 }),
);
export const resolveCas = (c: number | 'current' | undefined, s: ModelSecret | undefined) =>
  c === 'current' ? (s?.current ?? 0) : c;

export const versionList = fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 3 });
/** `versions` as a list or, as Vault also reads it, a comma-separated string. */
export const versionsBody = (versions: number[], asString: boolean) => ({
  versions: asString && versions.length > 0 ? versions.join(',') : versions,
});

/** A duration as sent, its seconds, and how Vault prints it. */
export type Duration = [raw: string | number, seconds: number];
export const DURATIONS: Duration[] = [
  ['0s', 0],
  [0, 0],
  ['1s', 1],
  ['30s', 30],
  [45, 45],
  ['1h', 3600],
  ['1h30m', 5400],
];
export const duration = fc.constantFrom(...DURATIONS);
export const signedDuration = fc.constantFrom<Duration>(...DURATIONS, ['-1s', -1], ['-10m', -1]);
export const customMetadata = dict(fc.stringMatching(/^[a-z0-9 -]{1,6}$/), LABEL);

export type MetadataBody = {
  max_versions?: number;
  cas_required?: boolean;
  delete_version_after?: Duration;
  custom_metadata?: Record<string, string>;
};
export const metadataBody = fc.record(
  {
    max_versions: fc.integer({ min: 0, max: 4 }),
    cas_required: fc.boolean(),
    delete_version_after: duration,
    custom_metadata: customMetadata,
  },
  { requiredKeys: [] },
) as fc.Arbitrary<MetadataBody>;

export type MetadataPatch = {
  max_versions?: number | null;
  cas_required?: boolean | null;
  delete_version_after?: Duration | null;
  custom_metadata?: Record<string, string | null> | null;
};
export const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null, freq: 4 });
export const metadataPatch = fc.record(
  {
    max_versions: nullable(fc.integer({ min: 0, max: 4 })),
    cas_required: nullable(fc.boolean()),
    delete_version_after: nullable(duration),
    custom_metadata: nullable(dict(fc.option(fc.stringMatching(/^[a-z0-9]{1,6}$/), { nil: null }), LABEL)),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<MetadataPatch>;

export const rawDuration = (d: Duration | null | undefined) => (d === undefined || d === null ? d : d[0]);
