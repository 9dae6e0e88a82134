export * from './kv/index.js';
export { CipherError, createSecretCipher } from './cipher.js';
export type { SecretCipher } from './cipher.js';
export * from './identity/index.js';
export { buildSecretsMountTable, matchSecretsMount } from './mount-table.js';
export type { SecretsMountEntry, SecretsMountTable } from './mount-table.js';
