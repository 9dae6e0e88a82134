/**
 * The one registry of error codes. Every error that reaches a client is an {@link AuthgateError}
 * whose `code` is a key of {@link ErrorCodes}; the HTTP layer maps it to Vault's envelope
 * `{"errors":[message]}` with the registered status. `reason` is internal: it goes to logs,
 * audit and metric labels, never to the client.
 */
export const ErrorCodes = {
  /** Malformed or missing input (Vault's ErrorResponse without an error → 400). */
  BAD_REQUEST: { status: 400, message: 'bad request' },
  /** Authenticated but not allowed, or a login that failed verification. Vault's logical.ErrPermissionDenied. */
  PERMISSION_DENIED: { status: 403, message: 'permission denied' },
  /** A login refused with a specific Vault message (bindings, claims). Still 403. */
  LOGIN_DENIED: { status: 403, message: 'permission denied' },
  /**
   * A login the JWT auth method refuses: Vault answers these with an ErrorResponse (400, its
   * message), yet they are refusals, not malformed requests (audit and metrics count them denied).
   */
  LOGIN_REFUSED: { status: 400, message: 'bad request' },
  NOT_FOUND: { status: 404, message: '' },
  UNSUPPORTED_OPERATION: { status: 405, message: 'unsupported operation' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'request body too large' },
  RATE_LIMITED: { status: 429, message: 'request rate limited' },
  /** A request in a form the server does not take (a transfer coding other than chunked). */
  NOT_IMPLEMENTED: { status: 501, message: 'not implemented' },
  /** A bug. Never used for bad input or a dependency being down. */
  INTERNAL: { status: 500, message: 'internal error' },
  /** A dependency (API server, JWKS endpoint, store) is unreachable: fail closed. */
  UNAVAILABLE: { status: 503, message: 'service unavailable' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export type AuthgateErrorOptions = {
  /** Client-facing message; defaults to the code's registered message. Never contains a token. */
  message?: string;
  /** Internal, low-cardinality reason (`namespace_not_bound`, `tokenreview_pod_not_found`). */
  reason?: string;
  /** Internal detail for logs (may be long; never a token). */
  detail?: string;
  cause?: unknown;
};

/**
 * The one error class of authgate. Services throw it; the HTTP error handler renders it.
 * A raw library error never reaches a response: wrap it with `cause`.
 */
export class AuthgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly reason: string;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, options: AuthgateErrorOptions = {}) {
    const message = options.message ?? ErrorCodes[code].message;
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuthgateError';
    this.code = code;
    this.status = ErrorCodes[code].status;
    this.reason = options.reason ?? code.toLowerCase();
    this.detail = options.detail;
  }
}

/** Shorthand constructors, so call sites read as the rule they enforce. */
export const badRequest = (message: string, reason = 'bad_request'): AuthgateError =>
  new AuthgateError('BAD_REQUEST', { message, reason });

export const permissionDenied = (reason: string, detail?: string): AuthgateError =>
  new AuthgateError('PERMISSION_DENIED', { reason, ...(detail === undefined ? {} : { detail }) });

/**
 * Vault's answer to a request made with a token that is not live (unknown, expired, revoked, its
 * uses spent): logical.ErrPermissionDenied and logical.ErrInvalidToken in one go-multierror, as
 * Vault's fetchACLTokenEntryAndEntity returns them. Vault Agent and Vault Proxy look for
 * `invalid token` in a 403 to log in again; a live token its policies refuse gets `permission
 * denied` alone, on which they must not.
 */
export const INVALID_TOKEN_MESSAGE = '2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n';

/** A token that is not live: 403 with {@link INVALID_TOKEN_MESSAGE}, reason `token_invalid`. */
export const invalidToken = (detail?: string): AuthgateError =>
  new AuthgateError('PERMISSION_DENIED', {
    message: INVALID_TOKEN_MESSAGE,
    reason: 'token_invalid',
    ...(detail === undefined ? {} : { detail }),
  });

export const loginDenied = (message: string, reason: string, detail?: string): AuthgateError =>
  new AuthgateError('LOGIN_DENIED', { message, reason, ...(detail === undefined ? {} : { detail }) });

export const loginRefused = (message: string, reason: string, detail?: string): AuthgateError =>
  new AuthgateError('LOGIN_REFUSED', { message, reason, ...(detail === undefined ? {} : { detail }) });

export const unavailable = (message: string, reason: string, cause?: unknown): AuthgateError =>
  new AuthgateError('UNAVAILABLE', { message, reason, cause });

export const isAuthgateError = (err: unknown): err is AuthgateError => err instanceof AuthgateError;
