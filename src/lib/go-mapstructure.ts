import { isExactNumber } from './exact-json.js';
import { goParseBoolStrict, goParseInt, goValue } from './go-duration.js';

/*
 * mapstructure's weak decoding (`mapstructure.WeakDecode`, mitchellh/mapstructure 1.5), as
 * Vault's framework and plugins convert a request's JSON values into Go types, with its errors
 * word for word. Vault decodes bodies with `UseNumber`: a JSON number is a `json.Number`, whose
 * kind is string, so it is read as its text (`1.0` is no int, `1` is a bool only as `"1"` is).
 */

/** What a decode gives: a value, or the error mapstructure would print. */
export type Decoded<T> = { value: T } | { error: string };

/** The Go type of a decoded JSON list; a query parameter given twice is a `[]string`. */
export type GoListType = '[]interface {}' | '[]string';
export const JSON_LIST: GoListType = '[]interface {}';

type GoMap = Record<string, unknown>;

const isMap = (v: unknown): v is GoMap =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !isExactNumber(v);

/** A string, or a number's text as written (a `json.Number`); undefined for any other value. */
const textOf = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v;
  if (isExactNumber(v)) return v.text;
  return typeof v === 'number' ? String(v) : undefined;
};

const goType = (v: unknown, listType: GoListType): string => {
  if (Array.isArray(v)) return listType;
  if (isMap(v)) return 'map[string]interface {}';
  return typeof v === 'boolean' ? 'bool' : 'string';
};

const unconvertible = (name: string, target: string, v: unknown, listType: GoListType) => ({
  error: `'${name}' expected type '${target}', got unconvertible type '${goType(v, listType)}', value: '${goValue(v)}'`,
});

/** Into a Go `int` (64 bits): null is 0, a bool 1 or 0, a string or number `strconv.ParseInt(s, 0, 64)`. */
export const weakDecodeInt = (v: unknown, name = '', listType: GoListType = JSON_LIST): Decoded<bigint> => {
  if (v === null || v === undefined) return { value: 0n };
  if (typeof v === 'boolean') return { value: v ? 1n : 0n };
  const text = textOf(v);
  if (text === undefined) return unconvertible(name, 'int', v, listType);
  const n = goParseInt(text === '' ? '0' : text);
  return 'error' in n ? { error: `cannot parse '${name}' as int: ${n.error}` } : n;
};

/** Into a Go `bool`: null and `""` are false, a string or number `strconv.ParseBool`. */
export const weakDecodeBool = (v: unknown, name = '', listType: GoListType = JSON_LIST): Decoded<boolean> => {
  if (v === null || v === undefined) return { value: false };
  if (typeof v === 'boolean') return { value: v };
  const text = textOf(v);
  if (text === undefined) return unconvertible(name, 'bool', v, listType);
  if (text === '') return { value: false };
  const b = goParseBoolStrict(text);
  return 'error' in b ? { error: `cannot parse '${name}' as bool: ${b.error}` } : b;
};

/** Into a Go `string`: null is `""`, a number its text, a bool `"1"` or `"0"`; no list or map. */
export const weakDecodeString = (v: unknown, name = ''): Decoded<string> => {
  if (v === null || v === undefined) return { value: '' };
  if (typeof v === 'boolean') return { value: v ? '1' : '0' };
  const text = textOf(v);
  return text === undefined ? unconvertible(name, 'string', v, JSON_LIST) : { value: text };
};

const setOwn = (target: GoMap, key: string, value: unknown): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
};

/**
 * decodeMap into `acc`: a map's keys merged in, a list's elements decoded in turn (depth first,
 * as mapstructure recurses; here with a stack of its own, so any depth is safe).
 */
const decodeMapInto = (input: unknown, acc: { map: GoMap | null }): string | undefined => {
  const stack: Array<[unknown, string]> = [[input, '']];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const [v, name] = item;
    if (v === null || v === undefined) continue;
    if (isMap(v)) {
      acc.map ??= {};
      for (const [k, x] of Object.entries(v)) setOwn(acc.map, k, x);
    } else if (Array.isArray(v)) {
      if (v.length === 0) acc.map ??= {};
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${name}[${i}]`]);
    } else {
      return `'${name}' expected a map, got '${typeof v === 'boolean' ? 'bool' : 'string'}'`;
    }
  }
  return undefined;
};

/**
 * Into a Go `map[string]interface{}`: a map as it is; a list is the merge of its elements' maps
 * (`[]` is empty, `[{"a":1},{"b":2}]` is `{"a":1,"b":2}`); null, or a list of nulls, is a nil
 * map (`null` here). Anything else: `'' expected a map, got 'string'` (a number's kind is string).
 */
export const weakDecodeMap = (v: unknown): Decoded<GoMap | null> => {
  if (isMap(v)) return { value: v };
  const acc: { map: GoMap | null } = { map: null };
  const error = decodeMapInto(v, acc);
  return error === undefined ? { value: acc.map } : { error };
};

/** At most this many of a decode's errors are listed (a list of 100 000 bad versions has as many). */
const MAX_LISTED_ERRORS = 100;

/** mapstructure's `Error` for several element errors: counted, sorted, one per line. */
const decodingErrors = (errors: string[]): string => {
  const points = errors.map((e) => `* ${e}`).sort();
  const listed = points.slice(0, MAX_LISTED_ERRORS);
  if (points.length > listed.length) listed.push(`* … ${points.length - listed.length} more`);
  return `${errors.length} error(s) decoding:\n\n${listed.join('\n')}`;
};

/** The elements of a comma slice field: a string or number split at commas (`""` is empty), a list, or one value lifted into a list (`{}` is empty). */
const commaSliceItems = (v: unknown): unknown[] => {
  if (v === null || v === undefined) return [];
  const text = textOf(v);
  if (text !== undefined) return text === '' ? [] : text.split(',');
  if (Array.isArray(v)) return v;
  return isMap(v) && Object.keys(v).length === 0 ? [] : [v];
};

/** Each element of a comma slice field decoded, named `[i]` in its error; every error listed. */
const decodeCommaSlice = <T>(
  v: unknown,
  decode: (item: unknown, name: string) => Decoded<T>,
): Decoded<T[]> => {
  const values: T[] = [];
  const errors: string[] = [];
  for (const [i, item] of commaSliceItems(v).entries()) {
    const decoded = decode(item, `[${i}]`);
    if ('error' in decoded) errors.push(decoded.error);
    else values.push(decoded.value);
  }
  return errors.length > 0 ? { error: decodingErrors(errors) } : { value: values };
};

/**
 * Vault's `TypeCommaIntSlice` (mapstructure with `StringToSliceHookFunc(",")`): a string or
 * number split at commas (`""` is empty), a list, or one value lifted into a list (`{}` is
 * empty); each element into an int, named `[i]` in its error.
 */
export const weakDecodeCommaIntSlice = (v: unknown): Decoded<bigint[]> => decodeCommaSlice(v, weakDecodeInt);

/**
 * Vault's `TypeCommaStringSlice` (`parseutil.ParseCommaStringSlice`): the elements as
 * {@link weakDecodeCommaIntSlice} finds them, each into a string (a number its text, a bool `"1"`
 * or `"0"`, null `""`; a list or map is an error), then trimmed of white space (`strutil.TrimStrings`).
 * Empty elements are kept: `"a,,b"` is three.
 */
export const weakDecodeCommaStringSlice = (v: unknown): Decoded<string[]> => {
  const decoded = decodeCommaSlice(v, weakDecodeString);
  return 'error' in decoded ? decoded : { value: decoded.value.map((s) => s.trim()) };
};
