/**
 * Signed identity tokens (Vault's `identity/oidc`): key rings in the shared store, scheduled and
 * manual rotation, token signing, discovery and JWKS. Other parts import only this file.
 */
export { createIdentityTokens } from './identity-tokens.js';
export type { IdentityTokens, IdentityTokensDeps } from './identity-tokens.js';
export type { IdentityLog } from './key-ring-store.js';
export { subjectOfToken, issuerUrl } from './claims.js';
export { keyReadData, roleReadData } from './read-data.js';
export { IDENTITY_ALGORITHMS } from './types.js';
export type {
  DiscoveryDocument,
  IdentityAlgorithm,
  IdentityClaims,
  IdentitySubject,
  IssuedIdentityToken,
  JwksDocument,
  PublicJwk,
} from './types.js';
