import type { FastifyRequest } from 'fastify';
import { badRequest, type AuthgateError } from '../errors.js';
import { parseGoBool } from '../lib/go-bool.js';
import { parseDurationSecond } from '../lib/go-duration.js';
import {
  MALFORMED_HOST_MESSAGE,
  MISSING_HOST_MESSAGE,
  TOO_MANY_HOSTS_MESSAGE,
  validHostHeader,
} from './list-method.js';

/*
 * What Vault's HTTP layer refuses or reads before any route: the request line's help and list
 * parameters, the wrapping header, the Host header and the transfer coding. Read by the app's
 * first onRequest hook (app.ts).
 */

/** A `list` query parameter that is neither empty nor a Go boolean (a repeated one is left to the route). */
export const badListFlag = (query: unknown): boolean => {
  const list = (query as Record<string, unknown> | undefined)?.['list'];
  return typeof list === 'string' && list !== '' && parseGoBool(list) === undefined;
};

/**
 * The first value of a header as sent, as Go's `Header.Get` reads it (Node joins repeated ones
 * with `, `, which would read `0` then `5m` as one bad duration).
 */
const firstHeader = (raw: readonly string[], name: string): string | undefined => {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]?.toLowerCase() === name) return raw[i + 1];
  return undefined;
};

/** Whether a request asks for help, as Vault's wrapHelpHandler reads it: a non-empty `help` parameter. */
export const asksForHelp = (url: string): boolean => {
  const q = url.indexOf('?');
  // Parsed, not searched for: Go decodes the parameter's name too (`?h%65lp=1` asks for help).
  return q >= 0 && (new URLSearchParams(url.slice(q + 1)).get('help') ?? '') !== '';
};

/**
 * The refusal of a request's `X-Vault-Wrap-TTL`, read as Vault's requestWrapInfo reads it: none
 * when it is absent, empty or 0 (Vault then answers in clear); Vault's 400s for a value that is
 * no duration or is negative; and for any other, a refusal, since authgate issues no wrapping
 * token and must not hand a secret in clear to a client that asked for it wrapped.
 */
export const wrapRefusal = (request: FastifyRequest): AuthgateError | undefined => {
  if (request.headers['x-vault-wrap-ttl'] === undefined) return undefined;
  const value = firstHeader(request.raw.rawHeaders, 'x-vault-wrap-ttl');
  if (value === undefined || value === '') return undefined;
  const ttl = parseDurationSecond(value);
  if ('error' in ttl) return badRequest(ttl.error, 'bad_wrap_ttl');
  if (ttl.value < 0n) return badRequest('requested wrap ttl cannot be negative', 'bad_wrap_ttl');
  if (ttl.value === 0n) return undefined;
  return badRequest('response wrapping is not supported by authgate', 'wrapping_unsupported');
};

/**
 * The endpoints Vault serves outside its logical handler (`sys/health`, `sys/seal-status`,
 * `sys/leader`, `sys/init`; http/handler.go), which never read `X-Vault-Wrap-TTL` nor
 * `X-Vault-Policy-Override`, and authgate's own probes beside `sys/health`. The Go client sends
 * the wrap header on every request once `VAULT_WRAP_TTL` is set, so `vault status` still works.
 */
export const NON_LOGICAL_PATHS: ReadonlySet<string> = new Set([
  '/v1/sys/health',
  '/v1/sys/health/live',
  '/v1/sys/health/ready',
  '/v1/sys/seal-status',
  '/v1/sys/leader',
  '/v1/sys/init',
]);

/**
 * Why the request's Host is refused, as RFC 9112 §3.2 requires and Go's server (so Vault) refuses
 * it: an HTTP/1.1 request without one, any with more than one (Node keeps the first), or one whose
 * value no host or port could be (`a b`, `x/y`). Answered
 * 400, then closed. Undefined for a request whose Host is fine.
 */
export const hostProblem = (request: FastifyRequest): string | undefined => {
  if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) return MISSING_HOST_MESSAGE;
  const raw = request.raw.rawHeaders;
  let hosts = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    if (name.length === 4 && name.toLowerCase() === 'host' && ++hosts > 1) return TOO_MANY_HOSTS_MESSAGE;
  }
  const host = request.headers.host;
  return host === undefined || validHostHeader(host) ? undefined : MALFORMED_HOST_MESSAGE;
};

/**
 * Whether an HTTP/1.1 request's body comes in a transfer coding other than `chunked` alone
 * (`gzip, chunked`, which Node reads as chunked and hands on still compressed): Go's server (so
 * Vault) answers it 501 and closes, and ignores the header on HTTP/1.0 (net/http transfer.go).
 */
export const unsupportedTransferCoding = (request: FastifyRequest): boolean => {
  const coding = request.headers['transfer-encoding'];
  return (
    coding !== undefined && request.raw.httpVersion !== '1.0' && coding.trim().toLowerCase() !== 'chunked'
  );
};
