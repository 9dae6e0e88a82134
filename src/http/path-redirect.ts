import type { FastifyReply } from 'fastify';
import { goCleanPath } from '../lib/go-clean-path.js';
import { decodedPath } from './acl-hook.js';
import { tokenInPathErrorOf } from './token-in-path.js';

/**
 * Where Vault sends a `/v1/` request whose path is not clean (`//`, a `.` or `..` segment), or
 * undefined when it is clean. Vault serves `/v1/` through Go's `ServeMux` (vault/http/handler.go),
 * which answers such a path with `301 Moved Permanently` to the cleaned one (net/http
 * `cleanPath`), the query kept, before Vault's handler runs: no token is checked, nothing is
 * audited, and the request that follows the redirect is checked against the clean path.
 *
 * @param url the request target as sent (`request.url`): origin form, query included.
 */
export const cleanPathLocation = (url: string): string | undefined => {
  // Nearly every request is clean: substring scans of the whole target decide it, with no regular
  // expression nor slice (this runs at every hook of the request, logins included).
  if (!url.startsWith('/v1/') || (!url.includes('//') && !url.includes('/.'))) return undefined;
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (!path.includes('//') && !path.includes('/.')) return undefined;
  const cleaned = goCleanPath(path);
  if (cleaned === path) return undefined;
  // The query as sent; a `#…` (which Go would keep in the path) is dropped.
  const query = end !== -1 && url[end] === '?' ? url.slice(end) : '';
  return cleaned + query;
};

/**
 * Go's `hexEscapeNonASCII`, which `http.Redirect` applies to `Location`; control characters are
 * escaped too, so that the value is always a valid header (Node's parser lets no CR or LF in).
 * So is `\`, as Go's `URL.String` (which builds the redirect's target) escapes it: browsers and
 * WHATWG URL parsers (fetch, Node's `url.resolve`) read `/\evil.test` as `//evil.test`, another
 * host, where a client following the redirect would take its `X-Vault-Token`.
 */
const headerSafe = (location: string): string =>
  location.replace(/[^\x21-\x5b\x5d-\x7e]/gu, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : encodeURIComponent(c);
  });

/** Go's `htmlEscape`, for the link in the body of a redirect. */
const htmlEscape = (s: string): string =>
  s.replace(
    /[&'<>"]/g,
    (c) => ({ '&': '&amp;', "'": '&#39;', '<': '&lt;', '>': '&gt;', '"': '&#34;' })[c] ?? c,
  );

/**
 * Answers a request whose path is not clean as Vault's `ServeMux` does (`http.Redirect` with 301):
 * `Location`, and for a GET the short HTML link Go writes (a HEAD gets its type, no body). A path
 * that cleans to one of Vault's old forms carrying a token or an accessor
 * (`auth/token/lookup/<token>`) is answered as that form is, 404 without quoting it: `Location`
 * would echo the secret.
 *
 * @returns whether the request was answered (else it goes on as usual).
 */
export const redirectUncleanPath = (method: string, url: string, reply: FastifyReply): boolean => {
  const location = cleanPathLocation(url);
  if (location === undefined) return false;
  const inPath = tokenInPathErrorOf(decodedPath(location));
  if (inPath !== undefined) {
    void reply
      .code(inPath.status)
      .type('application/json')
      .send({ errors: [inPath.message] });
    return true;
  }
  const safe = headerSafe(location);
  void reply.code(301).header('location', safe);
  if (method === 'GET' || method === 'HEAD') void reply.type('text/html; charset=utf-8');
  void reply.send(method === 'GET' ? `<a href="${htmlEscape(safe)}">Moved Permanently</a>.\n\n` : undefined);
  return true;
};
