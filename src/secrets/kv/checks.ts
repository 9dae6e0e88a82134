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
