import { AuthgateError, badRequest } from '../../errors.js';

/*
 * The answers shared by the routes that read what authgate.yaml configures (auth mounts, their
 * roles, secrets mounts) and refuse to change it.
 */

/** Vault's 405 for an operation the path has not (`logical.ErrUnsupportedOperation`). */
export const unsupportedOperation = (reason: string): AuthgateError =>
  new AuthgateError('UNSUPPORTED_OPERATION', { reason });

/** Vault's 404 for a path no pattern of the backend matches (`logical.ErrUnsupportedPath`). */
export const unsupportedPath = (reason: string): AuthgateError =>
  new AuthgateError('NOT_FOUND', { message: 'unsupported path', reason });

/**
 * Why a write is refused: auth mounts, roles and secrets mounts come from authgate.yaml, so that
 * what runs is what is reviewed in Git (as policies do, policy-routes.ts). 400, as Vault answers
 * a request its backend refuses (an ErrorResponse), not 405: Vault's paths do have these writes,
 * and a 405 would tell a client (`vault write`, Terraform) only that they do not exist, where a
 * 400 carries the sentence that says where to make the change.
 *
 * @param what the subject and its verb (`the roles of auth/kubernetes/ are`).
 * @param where the config file's key (`auth.kubernetes.roles`).
 */
export const fromConfigFile = (what: string, where: string, reason: string): AuthgateError =>
  badRequest(`${what} read from authgate.yaml (${where}): change it there and restart authgate`, reason);
