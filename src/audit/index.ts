/**
 * Audit: Vault-format entries (sensitive values HMAC'd with per-device salts) written to file,
 * stdout and stream devices, failing closed; and the login queries the CLI and the operator
 * endpoint share. Other parts import only this file.
 */
export { createAudit, MAX_LOGINS_LIMIT } from './create-audit.js';
export type { Audit, AuditDeps } from './create-audit.js';
export { AUDIT_UNAVAILABLE, createAuditBroker } from './broker.js';
export type { AuditBroker, AuditBrokerDeps, AuditDevice, DeviceSettings } from './broker.js';
export { createHasher, hashStrings, HMAC_PREFIX } from './hash.js';
export type { Hasher } from './hash.js';
export { formatRequestEntry, formatResponseEntry, requestBlock } from './entry.js';
export type { EntryOptions } from './entry.js';
export { auditSaltAad, createSaltSource, SaltUnopenableError } from './salt.js';
export type { SaltResealCounts, SaltSealer, SaltSource } from './salt.js';
export { createFileSink, createStoreStreamSink, createStreamSink } from './sinks.js';
export type { AuditSink } from './sinks.js';
export { matchesLogin, parseEntryLine, parseLoginFilter, parseTimeBound, toLoginRecord } from './query.js';
export type { LoginFilter, LoginRecord, RawLoginFilter } from './query.js';
export { createLoginSummary } from './summary.js';
export type { IdentityCounts, LoginSummary } from './summary.js';
export {
  collectLogins,
  fileEntries,
  recentStreamLogins,
  streamEntries,
  streamEntriesFor,
  summarizeLogins,
} from './sources.js';
export { followFile, followStream } from './follow.js';
export type { FollowOptions } from './follow.js';
export type {
  AuditEntry,
  AuditLoginSubject,
  AuditMount,
  AuditOperation,
  AuditOutcome,
  AuditRequest,
  AuditResponse,
  AuthgateAuditBlock,
} from './types.js';
