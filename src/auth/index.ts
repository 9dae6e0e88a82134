export { createLoginService, entityId } from './login-service.js';
export type {
  ClaimedSubject,
  LoginContext,
  LoginDeps,
  LoginInput,
  LoginOutcome,
  LoginResult,
  LoginService,
  Mount,
} from './login-service.js';
export { createMounts } from './mounts.js';
export type { MountDeps } from './mounts.js';
export { checkServiceAccountBinding, sanitizePolicies } from './role-binding.js';
export { createRevocationService, parseRevocationTarget } from './revocation-service.js';
export type { RevocationResult, RevocationService, RevocationTarget } from './revocation-service.js';
export { mountAccessor, mountIds } from './mount-accessor.js';
export { configReadData, roleReadData } from './mount-read.js';
