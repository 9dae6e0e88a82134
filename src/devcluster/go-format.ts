/**
 * Byte-faithful renderings of what Go prints: `encoding/json` for JWT payloads (keys sorted at every
 * depth, HTML-safe escapes) and `fmt`'s `%q` of a `[]string` for error messages.
 */

/** A JSON value as the token builder handles it (integers only: NumericDates are whole seconds). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const hex4 = (code: number): string => `\\u${code.toString(16).padStart(4, '0')}`;

/**
 * A string as Go's `json.Marshal` writes it: `\"`, `\\`, `\n`, `\r`, `\t` short escapes, every
 * other control character and `<`, `>`, `&`, U+2028, U+2029 as `\u00XX` (Go escapes HTML by
 * default), and an unpaired surrogate as U+FFFD (Go replaces invalid UTF-8).
 */
export const goJsonString = (value: string): string => {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || ch === '<' || ch === '>' || ch === '&' || code === 0x2028 || code === 0x2029)
      out += hex4(code);
    else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd';
    else out += ch;
  }
  return `${out}"`;
};

/**
 * Compact JSON with object keys in lexicographic (byte) order at every depth, as Go's
 * `json.Marshal` of a `map[string]interface{}` produces. This is how go-jose's builder serializes
 * the merged claims of a service-account token.
 *
 * @throws TypeError for a non-integer or non-finite number (JWT claims here are whole seconds).
 */
export const goJson = (value: JsonValue): string => {
  if (value === null) return 'null';
  if (typeof value === 'string') return goJsonString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`goJson: ${value} is not a safe integer`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(goJson).join(',')}]`;
  const keys = Object.keys(value).sort(byBytes);
  return `{${keys.map((k) => `${goJsonString(k)}:${goJson(value[k] as JsonValue)}`).join(',')}}`;
};

/** Go sorts map keys by byte value; for UTF-16 strings this matches code-point order. */
const byBytes = (a: string, b: string): number => {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return Buffer.compare(ab, bb);
};

/** `fmt.Sprintf("%q", s)`: Go-quoted, with Go's escapes for control characters. */
export const goQuote = (value: string): string => {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\v') out += '\\v';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
};

/** `fmt.Sprintf("%q", []string{…})`: `["a" "b"]` (space-separated, Go-quoted), `[]` when empty. */
export const goQuoteList = (values: readonly string[]): string => `[${values.map(goQuote).join(' ')}]`;

/** A time as RFC 3339 with whole seconds, as `metav1.Time` serializes (`2024-05-01T10:00:00Z`). */
export const rfc3339 = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
