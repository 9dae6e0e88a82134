export { createKvEngine } from './engine.js';
export type { KvEngine } from './engine.js';
export {
  CUSTOM_METADATA_LIMITS,
  MAX_DATA_DEPTH,
  bodyObject,
  fieldWarnings,
  parseConfigBody,
  parseMetadataBody,
  parseMetadataPatch,
  parseDataQuery,
  parseSubkeysQuery,
  readQuery,
  parseVersions,
  parseWriteBody,
} from './params.js';
export { DEFAULT_MAX_VERSIONS } from './metadata.js';
export { MAX_SECRET_PATH_BYTES, MAX_SECRET_PATH_DEPTH, secretPathOf } from './checks.js';
export type {
  CasOption,
  KvConfigInput,
  KvConfigView,
  KvEngineDeps,
  KvMetadataInput,
  KvMetadataPatch,
  KvMetadataView,
  KvMountInfo,
  KvReadResult,
  KvVersionView,
  KvWriteInput,
} from './types.js';
