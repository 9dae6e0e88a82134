/**
 * Client tokens: issue, per-request authentication, renewal, revocation and accessors, with
 * Vault's TTL semantics and response shapes. Other parts import only this file.
 */
export { createTokenService } from './token-service.js';
export { TOKEN_PREFIX } from './token-storage.js';
export { BATCH_PREFIX } from './batch-token.js';
export type { TokenService } from './token-service.js';
// Every type of types.ts is the service's interface.
export type * from './types.js';
export { REVOCATION_PENDING } from './record.js';
export type { RevocationIndex, TokenRecord } from './record.js';
export { calculateTtl, humanDuration } from './ttl.js';
export type { MountTtls, TtlInput, TtlResult } from './ttl.js';
export { authBlock, lookupResponseData } from './vault-shapes.js';
export type { AuthBlock, LookupData } from './vault-shapes.js';
export {
  isTokenStoreRecord,
  parseCreateRequest,
  TOKEN_ROLES_UNSUPPORTED,
  TOKEN_STORE_MOUNT,
  TOKEN_STORE_TTLS,
  verifiedMetadata,
} from './token-create.js';
export type { CreatePath } from './token-create.js';
