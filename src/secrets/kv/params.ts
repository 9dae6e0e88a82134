import { badRequest } from '../../errors.js';
import { isExactNumber } from '../../lib/exact-json.js';
import { durationSecondField, fieldValidationMessage } from '../../lib/go-duration.js';
import {
  JSON_LIST,
  weakDecodeBool,
  weakDecodeCommaIntSlice,
  weakDecodeInt,
  weakDecodeMap,
  weakDecodeString,
  type Decoded,
  type GoListType,
} from '../../lib/go-mapstructure.js';
import { isJsonObject, setOwn, type JsonObject } from './json.js';
import type { CasOption, KvConfigInput, KvMetadataInput, KvMetadataPatch, KvWriteInput } from './types.js';

/*
 * Request fields exactly as Vault's framework reads them (sdk/framework FieldData): every field of
 * the path's schema that the request carries is converted before the handler runs (mapstructure's
 * weak decoding, parseutil.ParseDurationSecond; a number is read as its text), and the first that
 * fails is a 400 `Field validation failed: error converting input <value> for field "<name>": …`.
 * A secret's `data` is never echoed in a message: Vault would quote it.
 */

/** Vault's `custom_metadata` limits. */
export const CUSTOM_METADATA_LIMITS = { maxKeys: 64, maxKeyBytes: 128, maxValueBytes: 512 } as const;
const CM_PREFIX = 'custom_metadata validation failed';

type FieldType = 'int' | 'bool' | 'map' | 'duration' | 'signedDuration' | 'commaIntSlice';
type Schema = Readonly<Record<string, FieldType>>;
type ValueOf<T extends FieldType> = T extends 'int'
  ? bigint
  : T extends 'bool'
    ? boolean
    : T extends 'map'
      ? JsonObject
      : T extends 'commaIntSlice'
        ? bigint[]
        : number;
type Fields<S extends Schema> = { [F in keyof S]?: ValueOf<S[F]> };

/** The fields of each path of Vault's KV v2 plugin (its `path` capture aside), in the order checked. */
export const KV_FIELDS = {
  data: { version: 'int', options: 'map', data: 'map' },
  metadata: {
    max_versions: 'int',
    cas_required: 'bool',
    delete_version_after: 'duration',
    custom_metadata: 'map',
  },
  config: { max_versions: 'int', cas_required: 'bool', delete_version_after: 'signedDuration' },
  versions: { versions: 'commaIntSlice' },
  subkeys: { version: 'int', depth: 'int' },
} as const satisfies Record<string, Schema>;

/** Fields whose value may be a secret: a message names the field, never the value. */
const SECRET_FIELDS: ReadonlySet<string> = new Set(['data']);

/** One field as `FieldData.GetOkErr` converts it; undefined when it counts as absent (a null duration). */
const convert = (type: FieldType, raw: unknown, listType: GoListType): Decoded<unknown> | undefined => {
  switch (type) {
    case 'int':
      return weakDecodeInt(raw, '', listType);
    case 'bool':
      return weakDecodeBool(raw, '', listType);
    case 'map': {
      // A nil map (null) reads as empty, as the handlers use it.
      const m = weakDecodeMap(raw);
      return 'error' in m ? m : { value: m.value ?? {} };
    }
    case 'commaIntSlice':
      return weakDecodeCommaIntSlice(raw);
    default:
      return raw === null ? undefined : durationSecondField(raw, { signed: type === 'signedDuration' });
  }
};

/**
 * Vault's framework on a request's fields (`FieldData.Validate`, then `GetOk`): each field of
 * `schema` present in `raw` converted; the first that fails, in the schema's order, is the 400.
 * `query`: the fields come from a query string, where a parameter given twice is a `[]string`.
 */
export const readFields = <S extends Schema>(schema: S, raw: JsonObject, query = false): Fields<S> => {
  const out: Record<string, unknown> = {};
  for (const [field, type] of Object.entries(schema)) {
    if (!Object.hasOwn(raw, field)) continue;
    const value = raw[field];
    const converted = convert(type, value, query ? '[]string' : JSON_LIST);
    if (converted === undefined) continue;
    if ('error' in converted) {
      const message = SECRET_FIELDS.has(field)
        ? `Field validation failed: error converting input for field "${field}": ${converted.error}`
        : fieldValidationMessage(field, value, converted.error);
      throw badRequest(message, 'kv_bad_field');
    }
    out[field] = converted.value;
  }
  return out as Fields<S>;
};

/** A query string's fields, checked against a path's schema (a GET, LIST or DELETE carries them there). */
export const readQuery = <K extends keyof typeof KV_FIELDS>(path: K, query: Record<string, unknown>) =>
  readFields(KV_FIELDS[path], query as JsonObject, true);

/**
 * Vault's framework's warnings about a request's fields (`Backend.HandleRequest`), which it adds
 * to any answer its handler gives with a body (never to a 204, an error or a 404 with data): the
 * fields the path does not know, sorted as Go sorts strings, and a non-null `path`, which the
 * path's own capture replaces (`captures`: the path has one). `raw` is the body of a write, the
 * query of a read, list or delete (a list's own `list` flag left out).
 */
export const fieldWarnings = (
  path: keyof typeof KV_FIELDS,
  raw: Record<string, unknown>,
  captures: boolean,
): string[] => {
  const schema: Schema = KV_FIELDS[path];
  const ignored = Object.keys(raw)
    .filter((k) => !Object.hasOwn(schema, k) && !(captures && k === 'path'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const warnings: string[] = [];
  if (ignored.length > 0)
    warnings.push(`Endpoint ignored these unrecognized parameters: [${ignored.join(' ')}]`);
  if (captures && Object.hasOwn(raw, 'path') && raw['path'] !== null) {
    warnings.push(
      "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [path]",
    );
  }
  return warnings;
};

/** An int field as a JS number (Go compares it as an int or a uint64: no version is ever this large). */
const toNumber = (n: bigint | undefined): number | undefined => (n === undefined ? undefined : Number(n));

/** A request body: a JSON object (Vault decodes bodies into a map); absent or `null` is empty. */
export const bodyObject = (body: unknown): JsonObject => {
  if (body === undefined || body === null) return {};
  if (isJsonObject(body)) return body;
  throw badRequest('error parsing JSON', 'kv_body_not_object');
};

/** `options.cas`, decoded as the plugin decodes it (weakly, into an int); null when it cannot be. */
const casOf = (options: JsonObject | undefined): CasOption => {
  if (options === undefined || !Object.hasOwn(options, 'cas')) return undefined;
  const cas = weakDecodeInt(options['cas']);
  return 'error' in cas ? null : Number(cas.value);
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
  const fields = readFields(KV_FIELDS.data, bodyObject(body));
  const { data } = fields;
  if (data === undefined) throw badRequest('no data provided', 'kv_no_data');
  if (nestsDeeperThan(data, MAX_DATA_DEPTH)) {
    throw badRequest(
      `error converting input for field "data": nested deeper than ${MAX_DATA_DEPTH} levels`,
      'kv_data_too_deep',
    );
  }
  return { data, cas: casOf(fields.options) };
};

/**
 * `versions` of delete, undelete and destroy (Vault's TypeCommaIntSlice): a list, one value, or a
 * comma-separated string, each an int. Empty when absent; the engine refuses empty.
 */
export const parseVersions = (body: unknown): number[] => {
  const { versions = [] } = readFields(KV_FIELDS.versions, bodyObject(body));
  return [...new Set(versions.map(Number))];
};

/** `?version=` of a data read or soft delete (the data path's fields checked): 0 or less = current. */
export const parseDataQuery = (query: Record<string, unknown>): number =>
  toNumber(readQuery('data', query).version) ?? 0;

/** `?version=` and `?depth=` of a subkeys read. */
export const parseSubkeysQuery = (query: Record<string, unknown>): { version: number; depth: number } => {
  const fields = readQuery('subkeys', query);
  return { version: toNumber(fields.version) ?? 0, depth: toNumber(fields.depth) ?? 0 };
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

/**
 * Each value decoded into a string as Vault's `parseCustomMetadata` does (mapstructure: a number
 * its text, a bool `1`/`0`, null `""`); nulls kept when `keepNulls` (a patch's "remove this key").
 */
const customMetadataOf = (raw: JsonObject, keepNulls: boolean): Record<string, string | null> => {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (v === null && keepNulls) {
      setOwn(out, k, null);
      continue;
    }
    const s = weakDecodeString(v);
    if ('error' in s) throw badRequest(`${CM_PREFIX}: ${s.error}`, 'kv_custom_metadata');
    setOwn(out, k, s.value);
  }
  return out;
};

/** Drops null values (a patch's "remove this key"). */
const withoutNulls = (cm: Record<string, string | null>): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(cm)) if (v !== null) setOwn(out, k, v);
  return out;
};

/** `max_versions` as Vault stores it: `uint32(n)`, so -1 is 4294967295 and 2^32 + 3 is 3. */
const maxVersionsOf = (n: bigint): number => Number(BigInt.asUintN(32, n));

/** The fields of a `metadata/` or `config` body that both share, as the engine takes them. */
const settingsOf = (fields: Fields<typeof KV_FIELDS.config>) => ({
  ...(fields.max_versions === undefined ? {} : { maxVersions: maxVersionsOf(fields.max_versions) }),
  ...(fields.cas_required === undefined ? {} : { casRequired: fields.cas_required }),
});

/**
 * A `metadata/` write (POST/PUT) body: only the fields it carries (a null `max_versions` is 0, a
 * null `cas_required` false, a null `delete_version_after` absent, as Vault reads them).
 */
export const parseMetadataBody = (body: unknown): KvMetadataInput => {
  const fields = readFields(KV_FIELDS.metadata, bodyObject(body));
  const input: KvMetadataInput = settingsOf(fields);
  if (fields.delete_version_after !== undefined)
    input.deleteVersionAfterSeconds = fields.delete_version_after;
  if (fields.custom_metadata !== undefined) {
    const cm = withoutNulls(customMetadataOf(fields.custom_metadata, false));
    validateCustomMetadata(cm);
    input.customMetadata = cm;
  }
  return input;
};

/**
 * A `metadata/` PATCH body (JSON merge patch), read as Vault's `HandlePatchOperation` reads it: a
 * null `max_versions` is 0 and a null `cas_required` false (their converted values), a null
 * `delete_version_after` changes nothing (the framework skips a nil duration), a null
 * `custom_metadata` removes every key and a null value in it that key.
 */
export const parseMetadataPatch = (body: unknown): KvMetadataPatch => {
  const b = bodyObject(body);
  const fields = readFields(KV_FIELDS.metadata, b);
  const patch: KvMetadataPatch = settingsOf(fields);
  if (fields.delete_version_after !== undefined)
    patch.deleteVersionAfterSeconds = fields.delete_version_after;
  if (fields.custom_metadata !== undefined) {
    const cm = customMetadataOf(fields.custom_metadata, true);
    validateCustomMetadata(withoutNulls(cm));
    patch.customMetadata = b['custom_metadata'] === null ? null : cm;
  }
  return patch;
};

/**
 * A `config` write body. A negative `delete_version_after` disables it for the mount: stored as
 * Vault's one disabled value, -1 s (`DisableDeleteVersionAfter`), whatever negative was sent.
 */
export const parseConfigBody = (body: unknown): KvConfigInput => {
  const fields = readFields(KV_FIELDS.config, bodyObject(body));
  const input: KvConfigInput = settingsOf(fields);
  if (fields.delete_version_after !== undefined) {
    input.deleteVersionAfterSeconds = Math.max(-1, fields.delete_version_after);
  }
  return input;
};
