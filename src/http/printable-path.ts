/**
 * A character Go's `unicode.IsPrint` refuses: printable are letters, marks, numbers, punctuation,
 * symbols and the ASCII space; not controls, format characters (U+200B, U+FEFF), other spaces
 * (U+00A0, U+3000), line and paragraph separators, private-use and unassigned code points.
 */
const UNPRINTABLE = /[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/u;
/** A path that holds neither an escape nor a byte outside printable ASCII: printable as it is. */
const PLAIN = /^[\x21-\x7e]*$/;

/**
 * Whether the path of request target `url` (up to `?` or `#`, percent-decoded) has a character
 * that is not printable. Vault wraps its whole handler in go-cleanhttp's
 * `PrintablePathCheckHandler` (vault/http/handler.go), which answers such a request 400 before
 * anything else: no redirect, no token check, no audit, nothing stored under such a name. A path
 * that does not decode is left to the router, which refuses it.
 */
export const hasUnprintablePath = (url: string): boolean => {
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (!path.includes('%') && PLAIN.test(path)) return false;
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false;
  }
  return UNPRINTABLE.test(decoded);
};
