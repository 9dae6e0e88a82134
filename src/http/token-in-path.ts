import { AuthgateError } from '../errors.js';

/**
 * Vault's old forms that took the token (or accessor) in the URL path: `auth/token/lookup/<token>`,
 * answered by Vault 0.x with a warning that a token in the path "can be logged in many places";
 * current Vault has only the body's field. authgate does not serve them (404), and audits their
 * path with the value HMAC'd ({@link secretInPath}).
 */
export const IN_PATH_OPS = [
  'lookup',
  'renew',
  'revoke',
  'revoke-orphan',
  'lookup-accessor',
  'renew-accessor',
  'revoke-accessor',
] as const;
const IN_PATH = new RegExp(`^auth/token/(${IN_PATH_OPS.join('|')})/(.+)$`);

/**
 * The token or accessor a request's logical path (decoded, without `/v1/`) carries in one of
 * Vault's old URL forms (`auth/token/lookup/<token>`), so that its audit entries write it HMAC'd;
 * undefined for any other path.
 */
export const secretInPath = (path: string): string | undefined => IN_PATH.exec(path)?.[2];

/**
 * The 404 for a request that carries a token or accessor in one of those forms (`op` is the
 * form's operation): it names the body field to use instead, and never quotes the path, since
 * the answer's message is audited in clear.
 */
export const tokenInPathError = (op: string): AuthgateError => {
  const field = op.endsWith('-accessor') ? 'accessor' : 'token';
  return new AuthgateError('NOT_FOUND', {
    message: `unsupported path: send the ${field} in the request body ("${field}"), not in the URL`,
    reason: 'token_in_path',
  });
};

/** {@link tokenInPathError} when `path` (logical, decoded) carries a secret; undefined otherwise. */
export const tokenInPathErrorOf = (path: string): AuthgateError | undefined => {
  const op = IN_PATH.exec(path)?.[1];
  return op === undefined ? undefined : tokenInPathError(op);
};
