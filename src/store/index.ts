export type { SetMode, SetOptions, Store } from './store.js';
export { StoreUnavailableError } from './store.js';
export { createMemoryStore } from './memory-store.js';
export type { MemoryStoreOptions } from './memory-store.js';
export { DEFAULT_KEY_PREFIX, createKeys } from './keys.js';
export type { Keys } from './keys.js';
