/**
 * TokenReview (`POST /apis/authentication.k8s.io/v1/tokenreviews`): request decoding and the
 * response body (reference §3).
 */
import { badRequest, type KubeApiError } from './api-status.js';
import type { AuthResult } from './authenticator.js';

/** `spec` of a TokenReview as decoded. */
export type TokenReviewSpec = { token: string; audiences: string[] };

/** The only TokenReview version served since 1.22. */
export const TOKEN_REVIEW_API_VERSION = 'authentication.k8s.io/v1';

/** The JSON type name Go's decoder reports for a mismatched value. */
const goTypeOf = (value: unknown): string =>
  Array.isArray(value)
    ? 'array'
    : value === null
      ? 'null'
      : typeof value === 'boolean'
        ? 'bool'
        : typeof value;

/**
 * A decode error as the API server reports one:
 * `<Kind> in version "v1" cannot be handled as a <Kind>: json: cannot unmarshal …`.
 */
export const decodeError = (kind: string, goField: string, value: unknown, goType: string): KubeApiError =>
  badRequest(
    `${kind} in version "v1" cannot be handled as a ${kind}: json: cannot unmarshal ${goTypeOf(value)} into Go struct field ${goField} of type ${goType}`,
  );

/**
 * Check `kind`/`apiVersion` of a create body: both may be omitted; when given they must name the
 * resource the URL addresses.
 *
 * @throws KubeApiError 400.
 */
export const checkTypeMeta = (body: Record<string, unknown>, kind: string, apiVersion: string): void => {
  const givenVersion = body['apiVersion'];
  const givenKind = body['kind'];
  if (
    givenVersion !== undefined &&
    givenVersion !== null &&
    givenVersion !== '' &&
    givenVersion !== apiVersion
  )
    throw badRequest(
      `the API version in the data (${String(givenVersion)}) does not match the expected API version (${apiVersion})`,
    );
  if (givenKind !== undefined && givenKind !== null && givenKind !== '' && givenKind !== kind)
    throw badRequest(
      `${kind} in version "v1" cannot be handled as a ${String(givenKind)}: no kind "${String(givenKind)}" is registered for version "${apiVersion}"`,
    );
};

/**
 * Decode a TokenReview body. `apiVersion`, `kind`, `metadata` (e.g. `creationTimestamp: null`) and
 * `status: {}` are all optional; `spec.audiences` may be null or absent.
 *
 * @throws KubeApiError 400 for a mistyped body or an empty token
 *   (`token is required for TokenReview in authentication`).
 */
export const parseTokenReview = (body: unknown): TokenReviewSpec => {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw decodeError('TokenReview', 'TokenReview', body, 'v1.TokenReview');
  const record = body as Record<string, unknown>;
  checkTypeMeta(record, 'TokenReview', TOKEN_REVIEW_API_VERSION);
  const spec = record['spec'] ?? {};
  if (typeof spec !== 'object' || Array.isArray(spec))
    throw decodeError('TokenReview', 'TokenReview.spec', spec, 'v1.TokenReviewSpec');
  const { token = '', audiences = [] } = spec as { token?: unknown; audiences?: unknown };
  if (token !== null && typeof token !== 'string')
    throw decodeError('TokenReview', 'TokenReviewSpec.spec.token', token, 'string');
  if (audiences !== null && !Array.isArray(audiences))
    throw decodeError('TokenReview', 'TokenReviewSpec.spec.audiences', audiences, '[]string');
  const list = (audiences ?? []) as unknown[];
  const bad = list.find((a) => typeof a !== 'string');
  if (bad !== undefined) throw decodeError('TokenReview', 'TokenReviewSpec.spec.audiences', bad, 'string');
  if (!token) throw badRequest('token is required for TokenReview in authentication');
  return { token, audiences: list as string[] };
};

/**
 * The 201 body: the request's spec echoed (the token included, so it must never be logged) and
 * the status. On success `{authenticated: true, user, audiences}`; on failure `{user: {}, error}`,
 * with `authenticated`, `audiences` and an empty `error` omitted as Go's `omitempty` does.
 */
export const tokenReviewJson = (spec: TokenReviewSpec, result: AuthResult): Record<string, unknown> => ({
  kind: 'TokenReview',
  apiVersion: TOKEN_REVIEW_API_VERSION,
  metadata: { creationTimestamp: null },
  spec: { token: spec.token, ...(spec.audiences.length > 0 ? { audiences: spec.audiences } : {}) },
  status: result.ok
    ? {
        authenticated: true,
        user: result.user,
        ...(result.audiences.length > 0 ? { audiences: result.audiences } : {}),
      }
    : { user: {}, ...(result.error ? { error: result.error } : {}) },
});
