import type { FastifyRequest } from 'fastify';

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
