import type { FastifyRequest } from 'fastify';
import { permissionDenied } from '../errors.js';

/**
 * The client token of a request: `X-Vault-Token`, else `Authorization: Bearer <t>` (Vault accepts
 * both). Undefined when neither is present or the value is empty.
 */
export const clientTokenOf = (request: FastifyRequest): string | undefined => {
  const header = request.headers['x-vault-token'];
  const vaultToken = Array.isArray(header) ? header[0] : header;
  if (vaultToken !== undefined && vaultToken.trim() !== '') return vaultToken.trim();
  const auth = request.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    if (m?.[1] !== undefined && m[1].trim() !== '') return m[1].trim();
  }
  return undefined;
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
