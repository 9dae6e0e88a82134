export type { Identity, ObjectRef } from './identity.js';
export { serviceAccountUsername } from './identity.js';
export type { UnverifiedClaims } from './claims.js';
export {
  MalformedTokenError,
  audienceList,
  parseClaimsAndPayload,
  parseLoginClaims,
  parseUnverifiedClaims,
} from './claims.js';
export { CLAIM_MESSAGES, validateClaims } from './validate-claims.js';
export type { ClaimExpectations } from './validate-claims.js';
