import { createCidrSet } from '../lib/cidr.js';
import type { Problem } from './types.js';

const LOOPBACK = createCidrSet(['127.0.0.0/8', '::1']);

/**
 * True for `localhost`, 127.0.0.0/8 and `::1` (a URL's `hostname`, IPv6 in brackets or not).
 * Only these count: traffic to them never leaves the machine (or the pod), so plain HTTP to them
 * cannot be read or altered on the network. Other names, even ones that resolve to loopback,
 * do not count: what they resolve to is decided elsewhere.
 */
export const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || LOOPBACK.contains(host);
};

/**
 * Whether `value` holds whitespace or a control character. The URL parser drops some of them
 * silently (a tab or a newline anywhere, a NUL or a space at either end), so the URL it checks
 * is not the string the server then uses (`https://host:6443\0` + `/apis/…` parses no more).
 */
export const hasSpaceOrControl = (value: string): boolean => /[\s\p{Cc}]/u.test(value);

/** Why `value` is not a Redis URL (`redis://` or `rediss://`, with a host), or undefined when it is one. */
export const redisUrlProblem = (value: string): string | undefined => {
  if (hasSpaceOrControl(value)) return 'expected a URL without spaces or control characters';
  if (!/^rediss?:\/\/[^/]/.test(value)) return 'expected a redis:// or rediss:// URL';
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  // Never the value itself in the message: it may hold a password.
  if (url === undefined || url.hostname === '')
    return 'not a valid URL (characters such as @ : / ? # in a password must be percent-encoded)';
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
  } catch {
    return 'not a valid URL (a % in the user or password must be percent-encoded too, as %25)';
  }
  // ioredis turns every query parameter into a client option that wins over authgate's own
  // (`?enableOfflineQueue=1` queued commands while Redis was away, `?commandTimeout=` lifted the
  // timeout), as strings: the store.redis keys are the only way to set them.
  if (url.search !== '' || url.hash !== '')
    return 'takes no query (?…) or fragment (#…): set timeouts, TLS and credentials with the store.redis keys';
  return undefined;
};

export { redactUrl } from '../lib/redact-url.js';

/**
 * Checks a URL authgate fetches trust material from (the API server for TokenReview, a JWKS or
 * OIDC discovery endpoint) and reports a problem at `path` unless it is an `https:` URL, or
 * an `http:` URL to a loopback host, or an `http:` URL and `allowInsecureHttp` (then a warning
 * is pushed). Why: whoever can alter a plain-HTTP answer from these endpoints can forge logins
 * (a TokenReview that says "authenticated", or a key set holding their own key).
 */
export const checkTrustUrl = (
  value: string,
  path: string,
  allowInsecureHttp: boolean,
  problem: Problem,
  warnings: string[],
): void => {
  if (hasSpaceOrControl(value)) {
    problem(path, 'expected an http(s) URL without spaces or control characters');
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    problem(path, 'expected an http(s) URL');
    return;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.hostname === '') {
    problem(path, 'expected an http(s) URL');
    return;
  }
  if (url.protocol === 'https:' || isLoopbackHost(url.hostname)) return;
  if (allowInsecureHttp) {
    warnings.push(
      `${path}: plain HTTP to ${url.host} (allow_insecure_http); whoever can alter that traffic can forge logins`,
    );
    return;
  }
  problem(
    path,
    `plain HTTP to ${url.host} is refused: whoever can alter that traffic can forge logins. Use https, or set allow_insecure_http: true on the mount`,
  );
};
