import type { FastifyRequest } from 'fastify';
import { permissionDenied } from '../errors.js';
import { goTrimSpace } from '../lib/go-space.js';

/**
 * Every value of header `name` (lower case) as received, in order: Node keeps only the first
 * `Authorization` and joins repeated `X-Vault-Token` headers with `, `.
 */
const headerValues = (request: FastifyRequest, name: string): string[] => {
  const raw = request.raw.rawHeaders;
  const values: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) values.push(raw[i + 1] ?? '');
  }
  return values;
};

const BEARER = 'Bearer ';

/**
 * The client token of a request, read as Vault reads it (http/handler.go `getTokenFromReq`):
 * the first `X-Vault-Token` as sent (Go's `Header.Get`; Node has already trimmed the spaces and
 * tabs around it, as Go does), else the first `Authorization` header that starts with `Bearer `
 * exactly (case and the one space included), the rest trimmed as Go's `strings.TrimSpace`.
 * Undefined when neither gives a token.
 */
export const clientTokenOf = (request: FastifyRequest): string | undefined => {
  const header = request.headers['x-vault-token'];
  let vaultToken = Array.isArray(header) ? header[0] : header;
  // Repeated, the values were joined: the first is the token (`,` may also be in a lone token).
  if (vaultToken?.includes(',') === true) vaultToken = headerValues(request, 'x-vault-token')[0];
  if (vaultToken !== undefined && vaultToken !== '') return vaultToken;
  const auth = request.headers.authorization;
  if (auth === undefined) return undefined;
  const bearer = auth.startsWith(BEARER)
    ? auth
    : headerValues(request, 'authorization').find((v) => v.startsWith(BEARER));
  const token = bearer === undefined ? '' : goTrimSpace(bearer.slice(BEARER.length));
  return token === '' ? undefined : token;
};

/** The request's client token; `permission denied` (403) when it carries none. */
export const requireToken = (request: FastifyRequest): string => {
  const token = clientTokenOf(request);
  if (token === undefined) throw permissionDenied('missing_client_token');
  return token;
};

/** Recognises the operator's admin token (constant-time). */
export type AdminCheck = { isAdmin(token: string): boolean };

/** The caller must be the operator (admin token); anything else is `permission denied` (403). */
export const requireAdmin = (request: FastifyRequest, admin: AdminCheck): void => {
  if (!admin.isAdmin(requireToken(request))) throw permissionDenied('not_admin');
};
