/**
 * Vault's name/namespace glob (ryanuber/go-glob v1): only `*` is special and matches any run of
 * characters, including none, `/` and `.`. Case-sensitive; no `?`, classes or escapes. A pattern
 * without `*` is plain equality; the empty pattern matches only the empty string.
 */
export const globMatch = (pattern: string, subject: string): boolean => {
  if (pattern === '*') return true;
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === subject;
  const first = parts[0] ?? '';
  const last = parts[parts.length - 1] ?? '';
  if (!subject.startsWith(first)) return false;
  let rest = subject.slice(first.length);
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] ?? '';
    const at = rest.indexOf(part);
    if (at < 0) return false;
    rest = rest.slice(at + part.length);
  }
  return rest.endsWith(last);
};

/** True when any pattern of the list matches (Vault's `strutil.StrListContainsGlob`). */
export const globListMatch = (patterns: readonly string[], subject: string): boolean =>
  patterns.some((p) => globMatch(p, subject));
