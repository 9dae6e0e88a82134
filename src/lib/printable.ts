/**
 * `text` with control characters and bidirectional overrides written as `\\uXXXX`: a value quoted
 * from a file or an answer must show on a terminal as it is written, not move the cursor, change
 * colours or reorder the line.
 */
export const printable = (text: string): string =>
  text.replace(
    /[\p{Cc}\u202a-\u202e\u2066-\u2069]/gu,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
