import { AuthgateError, badRequest } from '../../errors.js';
import type { CasOption, KvSettings, StoredMetadata } from './types.js';
import { trimTrailingSlashes } from '../../lib/trim-slashes.js';

/**
 * The secret a request's path names. Vault's KV v2 keeps its metadata in storage whose keys are
 * cleaned (Go's `path.Clean` in keysutil's encrypted key storage), so `metadata/a/b/`,
 * `delete/a/b/` or `destroy/a/b/` act on the secret `a/b`, never on a record of their own.
 * Only trailing slashes go: a `//` or `.` segment inside a path never reaches Vault's engine (its
 * HTTP mux redirects such a URL), and the ACL has checked the path as written.
 */
export const secretPathOf = (path: string): string => trimTrailingSlashes(path);

/** The longest secret path a write may create, in UTF-8 bytes (after trailing slashes go). */
export const MAX_SECRET_PATH_BYTES = 1024;
/** The most segments a secret path a write may create has: one folder set per level is kept. */
export const MAX_SECRET_PATH_DEPTH = 64;

/** Whether a secret could be created at `path` ({@link checkNewSecretPath}). */
export const withinPathLimits = (path: string): boolean =>
  Buffer.byteLength(path) <= MAX_SECRET_PATH_BYTES && path.split('/').length <= MAX_SECRET_PATH_DEPTH;

/**
 * Refuses a path too long or too deep to create a secret at. Each level of a path is a folder set
 * in the store, named by its whole prefix (what LIST reads), so a path of n levels costs n store
 * writes and about n² / 2 bytes of key names: unbounded, a 20 KB URL of 7 000 levels took seconds
 * of the event loop and tens of MB per write. Vault keeps no folder sets (its storage lists by
 * prefix) and sets no such limit; real paths are a few levels deep.
 */
export const checkNewSecretPath = (path: string): void => {
  if (!withinPathLimits(path)) {
    throw badRequest(
      `path too long: a secret path has at most ${MAX_SECRET_PATH_BYTES} bytes and ${MAX_SECRET_PATH_DEPTH} segments`,
      'kv_path_too_long',
    );
  }
};

/** Vault's `validateCheckAndSetOption`. */
export const checkCas = (cas: CasOption, settings: KvSettings, meta: StoredMetadata): void => {
  if (cas === null) throw badRequest('error parsing check-and-set parameter', 'kv_cas_invalid');
  if (cas !== undefined) {
    if (cas !== meta.currentVersion) {
      throw badRequest('check-and-set parameter did not match the current version', 'kv_cas_mismatch');
    }
  } else if (settings.casRequired || meta.casRequired) {
    throw badRequest('check-and-set parameter required for this call', 'kv_cas_required');
  }
};

/**
 * A write the caller's policy allows by `create` alone meets a secret that exists (found under
 * the lock, after the ACL's existence check): the ACL's 403, as Vault's existence check.
 */
export const refuseExisting = (
  existing: StoredMetadata | undefined,
  options: { absentOnly?: boolean },
): void => {
  if (options.absentOnly === true && existing !== undefined) {
    throw new AuthgateError('PERMISSION_DENIED', { reason: 'kv_exists' });
  }
};

/** Vault's warning when a secret's `cas_required: false` meets a mount that requires it. */
export const CAS_IGNORED_WARNING =
  '"cas_required" set to false, but is mandated by backend config. This value will be ignored.';
