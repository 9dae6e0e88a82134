import { parseGoMediaType } from './go-mime.js';

/*
 * A form body as Vault's HTTP layer reads one (http/logical.go `isForm`, http/util.go
 * `parseFormRequest`, Go's `url.ParseQuery`). Written by hand: URLSearchParams forgives what Go
 * refuses (a `;` separator, a bad `%` escape), and a request Vault answers 400 must not be served.
 */

const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';
/** How much of a body Vault looks at to tell JSON from a form (`bufferedBody.Peek(512)`). */
const HEAD_BYTES = 512;

/**
 * Vault's `isForm`: the media type is `application/x-www-form-urlencoded` (parameters allowed,
 * any case), and the body's first 512 bytes, past JSON's whitespace, do not begin with `{` or `[`
 * (a body of whitespace alone is a form).
 */
export const isFormBody = (contentType: string | undefined, body: string): boolean => {
  // Most bodies are JSON: no media type to parse for them (a login is the hot path).
  if (contentType === undefined || !/x-www-form-urlencoded/i.test(contentType)) return false;
  const media = parseGoMediaType(contentType);
  if ('error' in media || media.mediaType !== FORM_MEDIA_TYPE) return false;
  const end = Math.min(body.length, HEAD_BYTES);
  for (let i = 0; i < end; i++) {
    const c = body[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    return c !== '{' && c !== '[';
  }
  return true;
};

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
};

/** Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte; undefined for a bad escape. */
const queryUnescape = (s: string): string | undefined => {
  if (!s.includes('%') && !s.includes('+')) return s;
  const bytes = Buffer.from(s, 'utf8');
  const out = Buffer.alloc(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    if (b === 0x25) {
      const hi = hexValue(bytes[i + 1] ?? -1);
      const lo = hexValue(bytes[i + 2] ?? -1);
      if (hi < 0 || lo < 0) return undefined;
      out[n++] = hi * 16 + lo;
      i += 2;
    } else out[n++] = b === 0x2b ? 0x20 : b;
  }
  return out.subarray(0, n).toString('utf8');
};

/**
 * The fields of a form body as Vault's `parseFormRequest` gives them: a key sent once is its
 * value, a key sent more than once its values joined with commas; undefined when Go's
 * `ParseQuery` refuses the body (a `;` separator, a bad escape), which Vault answers 400 `error
 * parsing form data`.
 */
export const parseFormBody = (body: string): Record<string, string> | undefined => {
  const fields = new Map<string, string[]>();
  for (const part of body.split('&')) {
    if (part === '') continue;
    if (part.includes(';')) return undefined;
    const eq = part.indexOf('=');
    const key = queryUnescape(eq < 0 ? part : part.slice(0, eq));
    const value = queryUnescape(eq < 0 ? '' : part.slice(eq + 1));
    if (key === undefined || value === undefined) return undefined;
    const values = fields.get(key);
    if (values === undefined) fields.set(key, [value]);
    else values.push(value);
  }
  // Own properties whatever the key (`__proto__` included), as Vault's map has them.
  return Object.fromEntries([...fields].map(([k, v]) => [k, v.join(',')]));
};
