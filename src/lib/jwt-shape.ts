import { withoutGoSpace } from './go-space.js';

/** Whether the UTF-16 code unit `c` is of the base64url alphabet (`A-Z a-z 0-9 - _`). */
const isBase64Url = (c: number): boolean =>
  (c >= 0x30 && c <= 0x39) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x61 && c <= 0x7a) ||
  c === 0x2d ||
  c === 0x5f;

/** Whether every character of `s` is of the base64url alphabet. */
const allBase64Url = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (!isBase64Url(s.charCodeAt(i))) return false;
  return true;
};

/**
 * Whether `value` holds something shaped like the start of a JWT anywhere in it: a run of base64url
 * characters holding `eyJ` (the encoding of `{"`), a `.`, a non-empty run, and a `.` again — what
 * the regular expression `eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.` finds, in time linear in the
 * length of `value`. That expression, tried again at each `eyJ` of one long run without a dot,
 * takes time quadratic in the run: seconds for 150 KB that a client sends.
 */
export const containsJwtShape = (value: string): boolean => {
  if (!value.includes('eyJ')) return false;
  const parts = value.split('.');
  for (let i = 0; i + 2 < parts.length; i++) {
    const middle = parts[i + 1] ?? '';
    if (middle === '' || !allBase64Url(middle)) continue;
    // The run of base64url characters just before the dot must hold `eyJ`.
    const head = parts[i] ?? '';
    let start = head.length;
    while (start > 0 && isBase64Url(head.charCodeAt(start - 1))) start--;
    if (head.indexOf('eyJ', start) >= 0) return true;
  }
  return false;
};

/**
 * `jwt` without white space, as go-jose's ParseSigned reads a compact token (its stripWhitespace),
 * which is how Vault's kubernetes plugin and the API server read a login's token: a token file
 * sent with its trailing newline logs in. The same string is returned when there is none.
 */
export const withoutWhiteSpace = (jwt: string): string => withoutGoSpace(jwt);
