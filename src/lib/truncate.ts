/** Default bound of {@link truncate}, in characters. */
export const DEFAULT_MAX_LOG_CHARS = 128;

/**
 * Bounds a string that may come from an attacker (a claim, a header value) before it goes into a
 * log field or an error's internal `detail`, so that one request cannot write kilobytes per log
 * line. Strings of at most `maxChars` UTF-16 code units (default 128) are returned unchanged;
 * longer ones are cut to `maxChars` and marked with `…(<original length> chars)`.
 *
 * @throws TypeError when `maxChars` is not a non-negative integer (a caller's bug).
 */
export const truncate = (value: string, maxChars: number = DEFAULT_MAX_LOG_CHARS): string => {
  if (!Number.isSafeInteger(maxChars) || maxChars < 0) {
    throw new TypeError(`truncate: maxChars must be a non-negative integer, got ${String(maxChars)}`);
  }
  if (value.length <= maxChars) return value;
  return `${value.slice(0, maxChars)}…(${value.length} chars)`;
};
