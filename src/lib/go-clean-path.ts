/**
 * Go's `net/http` `cleanPath`, which `ServeMux` applies to every request path before it routes
 * (and redirects to, when it differs): `path.Clean` of the path made rooted (empty and `.`
 * segments dropped, `..` removing the segment before it, and nothing above the root), with a
 * trailing slash kept. Works on the path as sent (still percent-encoded, as Go ≥ 1.22 cleans
 * `URL.EscapedPath()`): `%2e%2e` is not a `..` segment here.
 */
export const goCleanPath = (p: string): string => {
  const out: string[] = [];
  for (const segment of p.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  const cleaned = `/${out.join('/')}`;
  return p.endsWith('/') && cleaned !== '/' ? `${cleaned}/` : cleaned;
};
