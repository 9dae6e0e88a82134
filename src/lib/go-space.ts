/**
 * Go's `unicode.IsSpace`, for a UTF-16 code unit (every character it names is in the BMP):
 * `\t \n \v \f \r`, space, U+0085, U+00A0, and Unicode's other White_Space characters. JavaScript's
 * `\s` differs (it has U+FEFF, Go has U+0085).
 */
export const isGoSpace = (c: number): boolean =>
  c === 0x20 ||
  (c >= 0x09 && c <= 0x0d) ||
  (c >= 0x80 &&
    (c === 0x85 ||
      c === 0xa0 ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f ||
      c === 0x3000));

/** Go's `strings.TrimSpace`: `s` without {@link isGoSpace} characters at either end, in one pass. */
export const goTrimSpace = (s: string): string => {
  let start = 0;
  let end = s.length;
  while (start < end && isGoSpace(s.charCodeAt(start))) start++;
  while (end > start && isGoSpace(s.charCodeAt(end - 1))) end--;
  return start === 0 && end === s.length ? s : s.slice(start, end);
};

/** `s` without any {@link isGoSpace} character; `s` itself, with nothing allocated, when it has none. */
export const withoutGoSpace = (s: string): string => {
  let i = 0;
  while (i < s.length && !isGoSpace(s.charCodeAt(i))) i++;
  if (i === s.length) return s;
  let out = s.slice(0, i);
  for (; i < s.length; i++) if (!isGoSpace(s.charCodeAt(i))) out += s[i];
  return out;
};
