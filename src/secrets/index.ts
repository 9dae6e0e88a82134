export * from './kv/index.js';
export { CipherError, createSecretCipher } from './cipher.js';
export { rewrapSecrets } from './rewrap.js';
export type { RewrapDeps } from './rewrap.js';
export type { ResealCounts, SecretCipher } from './cipher.js';
export * from './identity/index.js';
export { buildSecretsMountTable, FIXED_MOUNT_FIELDS, matchSecretsMount } from './mount-table.js';
export type { SecretsMountEntry, SecretsMountTable } from './mount-table.js';
