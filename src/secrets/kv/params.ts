import { badRequest } from '../../errors.js';
import { parseDurationSeconds } from '../../lib/duration.js';
import { isExactNumber } from '../../lib/exact-json.js';
import { goValue } from '../../lib/go-duration.js';
import { isJsonObject, setOwn, type JsonObject } from './json.js';
import type { CasOption, KvConfigInput, KvMetadataInput, KvMetadataPatch, KvWriteInput } from './types.js';
import { parseGoBool } from '../../lib/go-bool.js';

/*
 * Request fields as Vault's framework reads them: weakly typed (`"5"` is 5, `true` is 1), each
 * failure a 400 with Vault's wording. A secret's `data` is never echoed in a message: Vault would
 * quote it, authgate says only what kind of value it was.
 */

/** Vault's `custom_metadata` limits. */
export const CUSTOM_METADATA_LIMITS = { maxKeys: 64, maxKeyBytes: 128, maxValueBytes: 512 } as const;
const CM_PREFIX = 'custom_metadata validation failed';

const goKind = (v: unknown): string =>
  Array.isArray(v)
    ? 'slice'
    : typeof v === 'number' || isExactNumber(v)
      ? 'float64'
      : typeof v === 'object'
        ? 'map'
        : typeof v;

const conversionError = (field: string, raw: unknown, why: string, echo = true) =>
  badRequest(
    `error converting input ${echo ? `${goValue(raw)} ` : ''}for field "${field}": ${why}`,
    'kv_bad_field',
  );

/**
 * An integer string as mapstructure's weak decoding reads it ("" is 0). Decimal only: Go would also
 * take `0x1f` and read `017` as octal, which no client sends for a version number.
 */
const parseGoInt = (s: string): number | undefined => {
  if (s === '') return 0;
  if (!/^[+-]?\d+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
};

/**
 * mapstructure's weak decoding into an int; undefined when it would fail. null is 0. A number
 * kept as its text (a `cas` of `1.0` in a data write) is read as its float64, as before exact
 * numbers: only secret data keeps the text.
 */
const weakInt = (raw: unknown): number | undefined => {
  if (raw === null) return 0;
  if (isExactNumber(raw)) return weakInt(raw.valueOf());
  if (typeof raw === 'number') return Number.isSafeInteger(raw) ? raw : undefined;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (typeof raw === 'string') return parseGoInt(raw);
  return undefined;
};

/** mapstructure's weak decoding into a bool (Go's strconv.ParseBool for strings; "" is false). */
const weakBool = (raw: unknown): boolean | undefined => {
  if (raw === null) return false;
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') return raw !== 0;
  if (typeof raw === 'string') return parseGoBool(raw === '' ? 'false' : raw);
  return undefined;
};

const intField = (body: JsonObject, field: string): number => {
  const n = weakInt(body[field]);
  if (n === undefined) throw conversionError(field, body[field], `cannot parse '' as int`);
  return n;
};
const boolField = (body: JsonObject, field: string): boolean => {
  const b = weakBool(body[field]);
  if (b === undefined) throw conversionError(field, body[field], `cannot parse '' as bool`);
  return b;
};

/**
 * The longest Go `time.Duration`, in whole seconds (2^63 - 1 ns, about 292 years): Vault cannot
 * parse a longer one. Beyond it a deletion time could leave the range of a Date, and a version
 * whose deletion time cannot be printed or stored would break every later read of its secret.
 */
const MAX_DURATION_SECONDS = 9_223_372_036;

/** `parseutil.ParseDurationSecond` into whole seconds, within Go's range; negative only when `signed`. */
const durationField = (body: JsonObject, field: string, signed: boolean): number => {
  const raw = body[field];
  let seconds: number;
  try {
    if (typeof raw === 'number') {
      seconds = raw < 0 ? -parseDurationSeconds(-raw) : parseDurationSeconds(raw);
    } else if (typeof raw === 'string') {
      const t = raw.trim();
      seconds = t.startsWith('-') ? -parseDurationSeconds(t.slice(1)) : parseDurationSeconds(t);
    } else {
      throw new TypeError('not a duration');
    }
  } catch {
    throw conversionError(field, raw, `time: invalid duration "${goValue(raw)}"`);
  }
  if (Math.abs(seconds) > MAX_DURATION_SECONDS) {
    throw conversionError(field, raw, `time: invalid duration "${goValue(raw)}"`);
  }
  if (!signed && seconds < 0) throw conversionError(field, raw, `cannot provide negative value '${seconds}'`);
  return seconds === 0 ? 0 : seconds; // no -0
};

/** A TypeMap field: an object; null and `[]` are empty (as mapstructure decodes them). */
const mapField = (body: JsonObject, field: string, echo = true): JsonObject => {
  const raw = body[field];
  if (raw === null || (Array.isArray(raw) && raw.length === 0)) return {};
  if (isJsonObject(raw)) return raw;
  throw conversionError(field, raw, `'' expected a map, got '${goKind(raw)}'`, echo);
};

/** A request body: a JSON object (Vault decodes bodies into a map); absent or `null` is empty. */
export const bodyObject = (body: unknown): JsonObject => {
  if (body === undefined || body === null) return {};
  if (isJsonObject(body)) return body;
  throw badRequest('error parsing JSON', 'kv_body_not_object');
};

const casOf = (body: JsonObject): CasOption => {
  if (!Object.hasOwn(body, 'options')) return undefined;
  const options = mapField(body, 'options');
  if (!Object.hasOwn(options, 'cas')) return undefined;
  return weakInt(options['cas']) ?? null;
};

/**
 * How deep a secret's `data` may nest, in objects and arrays (`data` itself is level 1). JSON.parse
 * takes any depth, but sealing (JSON.stringify), merge patch, subkeys and the response serializer
 * recurse: from about 4000 levels they overflow the stack, a 500 for bad input. Vault (Go's JSON
 * decoder) stops at 10 000; authgate refuses earlier, far beyond what a real secret nests.
 */
export const MAX_DATA_DEPTH = 1000;

/** Whether `value` nests deeper than `max` objects or arrays; iterative, so any depth is safe to check. */
const nestsDeeperThan = (value: unknown, max: number): boolean => {
  const stack: Array<[unknown, number]> = [[value, 1]];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, depth] = item;
    if (v === null || typeof v !== 'object' || isExactNumber(v)) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
};

/**
 * A `data/` write or patch body: `{data: {...}, options: {cas: n}}`. `data` is required (`no data
 * provided`), must be an object, and may nest at most {@link MAX_DATA_DEPTH} levels; a bad `cas`
 * is reported by the engine, after the existence check, as Vault does.
 */
export const parseWriteBody = (body: unknown): KvWriteInput => {
  const b = bodyObject(body);
  const cas = casOf(b);
  if (!Object.hasOwn(b, 'data')) throw badRequest('no data provided', 'kv_no_data');
  // The value is a secret: the message names its kind, never its content.
  const data = mapField(b, 'data', false);
  if (nestsDeeperThan(data, MAX_DATA_DEPTH)) {
    throw badRequest(
      `error converting input for field "data": nested deeper than ${MAX_DATA_DEPTH} levels`,
      'kv_data_too_deep',
    );
  }
  return { data, cas };
};

/**
 * `versions` of delete, undelete and destroy (Vault's TypeCommaIntSlice): a list of integers,
 * one integer, or a comma-separated string. Empty when absent; the engine refuses empty.
 */
export const parseVersions = (body: unknown): number[] => {
  const b = bodyObject(body);
  const raw = b['versions'];
  if (raw === undefined || raw === null) return [];
  const items =
    typeof raw === 'string' ? (raw === '' ? [] : raw.split(',')) : Array.isArray(raw) ? raw : [raw];
  const out: number[] = [];
  for (const item of items) {
    const n = weakInt(item);
    if (n === undefined) throw conversionError('versions', raw, `cannot parse '' as int`);
    out.push(n);
  }
  return [...new Set(out)];
};

/**
 * `?version=` of a read: absent, 0 or negative = the current version. Given twice, it is a list,
 * as Vault's `parseQuery` makes it, which its integer field cannot take: refused as Vault does.
 */
export const parseVersionParam = (raw: unknown, field = 'version'): number => {
  if (Array.isArray(raw) && raw.length > 1) {
    const shown = goValue(raw);
    throw conversionError(
      field,
      raw,
      `'' expected type 'int', got unconvertible type '[]string', value: '${shown}'`,
    );
  }
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return 0;
  const n = weakInt(value);
  if (n === undefined) throw conversionError(field, value, `cannot parse '' as int`);
  return n;
};

/** Vault's `strutil.Printable`: letters, marks, numbers, punctuation, symbols and ASCII space. */
const printable = (s: string): boolean => /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u.test(s);
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** go-multierror's message for a list of errors. */
const multiError = (errors: string[]): string =>
  errors.length === 1
    ? `1 error occurred:\n\t* ${errors[0]}\n\n`
    : `${errors.length} errors occurred:\n\t${errors.map((e) => `* ${e}`).join('\n\t')}\n\n`;

/**
 * Vault's `validateCustomMetadata`: at most 64 keys (checked first, alone); each key 1..128 bytes,
 * each value 1..512 bytes, both printable. Every problem is reported.
 */
export const validateCustomMetadata = (cm: Record<string, string>): void => {
  const keys = Object.keys(cm).sort();
  if (keys.length > CUSTOM_METADATA_LIMITS.maxKeys) {
    throw badRequest(
      multiError([
        `${CM_PREFIX}: payload must contain at most ${CUSTOM_METADATA_LIMITS.maxKeys} keys, provided ${keys.length}`,
      ]),
      'kv_custom_metadata',
    );
  }
  const errors: string[] = [];
  for (const key of keys) {
    const value = cm[key] ?? '';
    const q = JSON.stringify(key);
    const kl = bytes(key);
    const vl = bytes(value);
    if (kl === 0 || kl > CUSTOM_METADATA_LIMITS.maxKeyBytes) {
      errors.push(
        `${CM_PREFIX}: length of key ${q} is ${kl} but must be 0 < len(key) <= ${CUSTOM_METADATA_LIMITS.maxKeyBytes}`,
      );
    }
    if (vl === 0 || vl > CUSTOM_METADATA_LIMITS.maxValueBytes) {
      errors.push(
        `${CM_PREFIX}: length of value for key ${q} is ${vl} but must be 0 < len(value) <= ${CUSTOM_METADATA_LIMITS.maxValueBytes}`,
      );
    }
    if (!printable(key)) errors.push(`${CM_PREFIX}: key ${q} (${key}) contains unprintable characters`);
    if (!printable(value)) errors.push(`${CM_PREFIX}: value for key ${q} contains unprintable characters`);
  }
  if (errors.length > 0) throw badRequest(multiError(errors), 'kv_custom_metadata');
};

/** Each value weakly decoded to a string (Vault's `parseCustomMetadata`); nulls kept when `keepNulls`. */
const customMetadataOf = (raw: JsonObject, keepNulls: boolean): Record<string, string | null> => {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(raw)) {
    let s: string | null;
    if (v === null) s = keepNulls ? null : '';
    else if (typeof v === 'string') s = v;
    else if (typeof v === 'number') s = String(v);
    else if (typeof v === 'boolean') s = v ? '1' : '0';
    else {
      throw badRequest(
        `${CM_PREFIX}: '' expected type 'string', got unconvertible type '${goKind(v)}'`,
        'kv_custom_metadata',
      );
    }
    setOwn(out, k, s);
  }
  return out;
};

/** Drops null values (a patch's "remove this key"). */
const withoutNulls = (cm: Record<string, string | null>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cm)) if (v !== null) setOwn(out, k, v);
  return out;
};

/** A `metadata/` write (POST/PUT) body: only the fields it carries. */
export const parseMetadataBody = (body: unknown): KvMetadataInput => {
  const b = bodyObject(body);
  const input: KvMetadataInput = {};
  if (Object.hasOwn(b, 'max_versions')) input.maxVersions = countField(b, 'max_versions');
  if (Object.hasOwn(b, 'cas_required')) input.casRequired = boolField(b, 'cas_required');
  // A null duration counts as absent (Vault's framework skips nil durations).
  if (b['delete_version_after'] !== undefined && b['delete_version_after'] !== null) {
    input.deleteVersionAfterSeconds = durationField(b, 'delete_version_after', false);
  }
  if (Object.hasOwn(b, 'custom_metadata')) {
    const cm = withoutNulls(customMetadataOf(mapField(b, 'custom_metadata'), false));
    validateCustomMetadata(cm);
    input.customMetadata = cm;
  }
  return input;
};

/** A `metadata/` PATCH body (JSON merge patch): null resets a field or removes a custom key. */
export const parseMetadataPatch = (body: unknown): KvMetadataPatch => {
  const b = bodyObject(body);
  const patch: KvMetadataPatch = {};
  const nullable = <T>(field: string, parse: () => T): T | null => (b[field] === null ? null : parse());
  if (Object.hasOwn(b, 'max_versions'))
    patch.maxVersions = nullable('max_versions', () => countField(b, 'max_versions'));
  if (Object.hasOwn(b, 'cas_required'))
    patch.casRequired = nullable('cas_required', () => boolField(b, 'cas_required'));
  if (Object.hasOwn(b, 'delete_version_after')) {
    patch.deleteVersionAfterSeconds = nullable('delete_version_after', () =>
      durationField(b, 'delete_version_after', false),
    );
  }
  if (Object.hasOwn(b, 'custom_metadata')) {
    patch.customMetadata = nullable('custom_metadata', () => {
      const cm = customMetadataOf(mapField(b, 'custom_metadata'), true);
      validateCustomMetadata(withoutNulls(cm));
      return cm;
    });
  }
  return patch;
};

/**
 * A `config` write body. A negative `delete_version_after` disables it for the mount: stored as
 * Vault's one disabled value, -1 s (`DisableDeleteVersionAfter`), whatever negative was sent.
 */
export const parseConfigBody = (body: unknown): KvConfigInput => {
  const b = bodyObject(body);
  const input: KvConfigInput = {};
  if (Object.hasOwn(b, 'max_versions')) input.maxVersions = countField(b, 'max_versions');
  if (Object.hasOwn(b, 'cas_required')) input.casRequired = boolField(b, 'cas_required');
  if (b['delete_version_after'] !== undefined && b['delete_version_after'] !== null) {
    input.deleteVersionAfterSeconds = Math.max(-1, durationField(b, 'delete_version_after', true));
  }
  return input;
};

/**
 * `max_versions`: Vault stores it as an unsigned 32-bit integer (a negative one wraps around);
 * authgate refuses what does not fit instead.
 */
const countField = (b: JsonObject, field: string): number => {
  const n = intField(b, field);
  if (n < 0 || n > 0xffff_ffff) {
    throw badRequest(`${field} must be between 0 and ${0xffff_ffff}`, 'kv_bad_field');
  }
  return n;
};
