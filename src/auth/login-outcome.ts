import { isAuthgateError } from '../errors.js';
import { parseUnverifiedClaims, type UnverifiedClaims } from '../identity/index.js';
import { withoutWhiteSpace } from '../lib/jwt-shape.js';
import { truncate } from '../lib/truncate.js';

/*
 * What a login attempt's outcome says, for audit, metrics and logs: whether it was refused or
 * failed, why, and whom a refused token claimed to be.
 */

/**
 * The workload a refused login's JWT claims to be, read without verification (the token was
 * refused: it may claim anything). For audit, so that an operator can see who was refused.
 */
export type ClaimedSubject = { namespace?: string; serviceAccount?: string; pod?: string };

/**
 * Outcome of a login attempt, for audit and metrics (no secrets). `denied`: the login was refused
 * (403, a jwt mount's 400 refusal, or a role that does not exist); `error`: the request was malformed (missing role or
 * jwt) or a dependency failed (5xx).
 */
export type LoginOutcome = {
  mount: string;
  role: string | undefined;
  outcome: 'ok' | 'denied' | 'error';
  /** Internal, low-cardinality (`namespace_not_bound`, `tokenreview_pod_not_found`, `missing_jwt`). */
  reason: string;
  /** The error's internal detail, if any (never a token). */
  detail?: string;
  /** Who the refused JWT claims to be, when it could be parsed. */
  claimed?: ClaimedSubject;
};

/** Bound of a claimed name in an outcome: a Kubernetes name is at most 253 characters. */
const MAX_CLAIMED_CHARS = 253;

/** The claims of `jwt` when it parses as a JWT at all; undefined otherwise. */
const claimsOf = (jwt: unknown): UnverifiedClaims | undefined => {
  if (typeof jwt !== 'string' || jwt === '') return undefined;
  try {
    return parseUnverifiedClaims(withoutWhiteSpace(jwt));
  } catch {
    return undefined;
  }
};

const claimedSubject = (claims: UnverifiedClaims | undefined): ClaimedSubject | undefined => {
  if (claims === undefined) return undefined;
  const subject: ClaimedSubject = {};
  const { namespace } = claims;
  const serviceAccount = claims.serviceAccount?.name;
  const pod = claims.pod?.name;
  if (namespace !== undefined) subject.namespace = truncate(namespace, MAX_CLAIMED_CHARS);
  if (serviceAccount !== undefined) subject.serviceAccount = truncate(serviceAccount, MAX_CLAIMED_CHARS);
  if (pod !== undefined) subject.pod = truncate(pod, MAX_CLAIMED_CHARS);
  return subject;
};

/**
 * The claims a refused login had parsed, on the error it threw (under a private symbol): its
 * outcome names who the token claimed to be without parsing the token a second time, so a
 * refusal stays as cheap as a login.
 */
const CLAIMS = Symbol('authgate.refusedClaims');
type WithClaims = object & { [CLAIMS]?: UnverifiedClaims };

/** Keeps on a refused login's error the claims the login had parsed (see {@link CLAIMS}). */
export const rememberClaims = (err: unknown, claims: UnverifiedClaims): void => {
  if (typeof err === 'object' && err !== null && Object.isExtensible(err))
    (err as WithClaims)[CLAIMS] = claims;
};

/**
 * Classifies an error thrown by `login` for audit, metrics and logs: a refusal (403, a jwt mount's
 * refusal of a token's claims or signature, which Vault answers 400, or a role the mount does not
 * have) is `denied`; a malformed request (400) or a failure (5xx, a bug) is `error`.
 */
export const outcomeOf = (
  mountPath: string,
  input: { role?: unknown; jwt?: unknown },
  err: unknown,
): LoginOutcome => {
  const role =
    typeof input.role === 'string' && input.role !== ''
      ? truncate(input.role, MAX_CLAIMED_CHARS).toLowerCase()
      : undefined;
  const known = typeof err === 'object' && err !== null ? (err as WithClaims)[CLAIMS] : undefined;
  const claimed = claimedSubject(known ?? claimsOf(input.jwt));
  // Built property by property: on Node 20, `{ ...base, outcome }` gives every refusal's outcome
  // a hidden class of its own (see stringFields in identity/claims.ts).
  const outcome: LoginOutcome = { mount: mountPath, role, outcome: 'error', reason: 'internal' };
  if (claimed !== undefined) outcome.claimed = claimed;
  if (!isAuthgateError(err)) return outcome;
  outcome.outcome =
    err.status === 403 || err.code === 'LOGIN_REFUSED' || err.reason === 'role_not_found'
      ? 'denied'
      : 'error';
  outcome.reason = err.reason;
  if (err.detail !== undefined) outcome.detail = err.detail;
  return outcome;
};
