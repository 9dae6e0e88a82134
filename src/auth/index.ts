export { createLoginService, entityId } from './login-service.js';
export type {
  LoginContext,
  LoginDeps,
  LoginInput,
  LoginResult,
  LoginService,
  KubernetesMount,
  Mount,
} from './login-service.js';
export { createMounts } from './mounts.js';
export type { MountDeps } from './mounts.js';
export { checkServiceAccountBinding, sanitizePolicies } from './role-binding.js';
export { createRevocationService, parseRevocationTarget } from './revocation-service.js';
export type { RevocationResult, RevocationService, RevocationTarget } from './revocation-service.js';
export { createMountAccessors, mountAccessor, mountIds } from './mount-accessor.js';
export { configReadData, roleReadData } from './mount-read.js';
export { jwtConfigReadData, jwtRoleReadData } from './jwt-mount-read.js';
export type { JwtMount } from './jwt-login.js';
export { outcomeOf } from './login-outcome.js';
export type { ClaimedSubject, LoginOutcome } from './login-outcome.js';
