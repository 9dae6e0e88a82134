export type { Identity, ObjectRef } from './identity.js';
export { serviceAccountUsername } from './identity.js';
export type { UnverifiedClaims } from './claims.js';
export { MalformedTokenError, audienceList, parseUnverifiedClaims } from './claims.js';
