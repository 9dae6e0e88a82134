import { redactUrl } from '../config/index.js';
import { truncate } from '../lib/truncate.js';
import type { V1TokenReviewStatus } from '@kubernetes/client-node';
import { type Identity, serviceAccountUsername, type UnverifiedClaims } from '../identity/index.js';

/** Why a review did not prove the token: an internal reason and a detail for the log. */
export type ReviewRefusal = { reason: string; detail: string };

const EXTRA = 'authentication.kubernetes.io/';

/**
 * A low-cardinality reason for a `status.error` string, for logs and metrics only. The decision
 * to refuse never depends on this parsing (kubernetes-tokens §3.5: key off `authenticated` and
 * `status.audiences`); it only names what the API server said, across its wordings since 1.19.
 */
export const reasonFromStatusError = (
  error: string,
  claims: Pick<UnverifiedClaims, 'pod' | 'secretName' | 'boundSecret'>,
) => {
  const e = error.toLowerCase();
  if (e.includes('has been invalidated') || e.includes("does not match server's copy")) {
    // The bound object is gone (or deleting for more than 60 s).
    if (claims.pod !== undefined) return 'tokenreview_pod_not_found';
    if (claims.boundSecret !== undefined || claims.secretName !== undefined)
      return 'tokenreview_secret_not_found';
    return 'tokenreview_invalidated';
  }
  if (e.includes('has expired')) return 'tokenreview_expired';
  if (e.includes('not valid yet')) return 'tokenreview_not_yet_valid';
  if (e.includes('issued in the future')) return 'tokenreview_issued_in_future';
  if (e.includes('token audiences') || e.includes('audience')) return 'tokenreview_audience';
  if (e.includes('does not match')) return 'tokenreview_uid_mismatch';
  if (e.includes('has been deleted') || e.includes('not found'))
    return 'tokenreview_service_account_not_found';
  if (e.includes('marked invalid')) return 'tokenreview_legacy_token_invalid';
  if (e.includes('go-jose') || e.includes('signature') || e.includes('no keys found')) {
    return 'tokenreview_bad_signature';
  }
  return 'tokenreview_error';
};

/** The extras authgate reads; the API server sets each, when it sets it, to exactly one value. */
const SINGLE_EXTRAS = ['pod-name', 'pod-uid', 'node-name', 'node-uid', 'credential-id'] as const;
type SingleExtra = (typeof SINGLE_EXTRAS)[number];

/**
 * The extras of {@link SINGLE_EXTRAS}, or the first one that does not hold exactly one string:
 * an answer naming two pods proves neither, and must not be read as its first.
 */
const singleExtras = (
  extra: Record<string, string[]> | undefined,
): { values: Partial<Record<SingleExtra, string>> } | { malformed: string } => {
  const values: Partial<Record<SingleExtra, string>> = {};
  for (const key of SINGLE_EXTRAS) {
    const v: unknown = extra?.[`${EXTRA}${key}`];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.length !== 1 || typeof v[0] !== 'string')
      return { malformed: `${EXTRA}${key}` };
    values[key] = v[0];
  }
  return { values };
};

/**
 * Vault's TokenReview checks (vault-compat §1.6) plus what the extras allow, in order:
 * `status.error` → refused; not `authenticated` → refused; `status.audiences` must contain what
 * was asked (an API server that does not echo audiences is not audience-aware: refused); the
 * username must be `system:serviceaccount:<ns>:<sa>` of the claims, `user.uid` the claims' SA uid;
 * pod, node and JTI extras, when present, must agree with the claims.
 *
 * Returns the identity — claims confirmed by the review, pod/node taken from the extras the API
 * server verified — or the refusal. `requested` is the `spec.audiences` that was sent.
 */
export const interpretReview = (
  status: V1TokenReviewStatus,
  claims: UnverifiedClaims,
  requested: string[],
): { identity: Identity } | { refusal: ReviewRefusal } => {
  const refuse = (reason: string, detail: string) => ({ refusal: { reason, detail } });
  if (typeof status.error === 'string' && status.error !== '') {
    return refuse(reasonFromStatusError(status.error, claims), `lookup failed: ${status.error}`);
  }
  if (status.authenticated !== true) {
    return refuse('tokenreview_not_authenticated', 'lookup failed: service account jwt not valid');
  }
  const echoed = status.audiences ?? [];
  const audiences = requested.length > 0 ? requested.filter((a) => echoed.includes(a)) : echoed;
  if (requested.length > 0 && audiences.length === 0) {
    return refuse(
      'tokenreview_audience_not_echoed',
      `lookup failed: service account jwt valid for audience(s) ${JSON.stringify(echoed)}, but wanted ${JSON.stringify(requested)}`,
    );
  }
  const { namespace, issuer } = claims;
  const name = claims.serviceAccount?.name;
  const uid = claims.serviceAccount?.uid;
  if (namespace === undefined || name === undefined || uid === undefined || issuer === undefined) {
    return refuse('tokenreview_claims_missing', 'token has no iss/namespace/service account claims');
  }
  const user = status.user ?? {};
  const username = serviceAccountUsername(namespace, name);
  if (user.username !== username) {
    return refuse(
      'tokenreview_identity_mismatch',
      `JWT names did not match: username=${String(user.username)}`,
    );
  }
  if (user.uid !== uid) {
    return refuse('tokenreview_identity_mismatch', 'JWT UIDs did not match');
  }
  const extras = singleExtras(user.extra);
  if ('malformed' in extras) {
    return refuse('tokenreview_identity_mismatch', `${extras.malformed} does not hold exactly one value`);
  }
  const {
    'pod-name': podName,
    'pod-uid': podUid,
    'node-name': nodeName,
    'node-uid': nodeUid,
    'credential-id': credential,
  } = extras.values;
  if (
    claims.pod !== undefined &&
    (podName !== undefined || podUid !== undefined) &&
    (podName !== claims.pod.name || podUid !== claims.pod.uid)
  ) {
    return refuse('tokenreview_identity_mismatch', 'pod extras did not match the pod claim');
  }
  if (
    claims.node !== undefined &&
    ((nodeName !== undefined && nodeName !== claims.node.name) ||
      (nodeUid !== undefined && claims.node.uid !== undefined && nodeUid !== claims.node.uid))
  ) {
    return refuse('tokenreview_identity_mismatch', 'node extras did not match the node claim');
  }
  const jti = credential?.startsWith('JTI=') ? credential.slice(4) : undefined;
  if (claims.jti !== undefined && jti !== undefined && jti !== claims.jti) {
    return refuse('tokenreview_identity_mismatch', 'credential-id did not match the jti claim');
  }
  const pod = podName !== undefined && podUid !== undefined ? { name: podName, uid: podUid } : claims.pod;
  const node =
    nodeName !== undefined
      ? { name: nodeName, ...(nodeUid !== undefined ? { uid: nodeUid } : {}) }
      : claims.node;
  const finalJti = jti ?? claims.jti;
  return {
    identity: {
      issuer,
      subject: username,
      namespace,
      serviceAccount: { name, uid },
      ...(pod !== undefined ? { pod } : {}),
      ...(node !== undefined ? { node } : {}),
      ...(claims.secretName !== undefined ? { secretName: claims.secretName } : {}),
      audiences,
      ...(claims.expiresAt !== undefined ? { expiresAt: claims.expiresAt } : {}),
      ...(finalJti !== undefined ? { jti: finalJti } : {}),
      legacy: claims.legacy,
    },
  };
};

/** Bound of what an upstream said, as authgate logs, audits and caches it ({@link scrubUpstreamText}). */
export const MAX_UPSTREAM_TEXT_CHARS = 1024;

/**
 * A JWT's three base64url parts, as a bearer token or a service-account token is written. Only
 * where a run of base64url characters starts: a scan started again at each `eyJ` inside one run
 * is quadratic, and the text comes from upstream (up to a MiB).
 */
const JWT_SHAPED = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;

/**
 * What the API server (or a proxy before it) said, fit for a log line, an audit entry and the
 * result cache: a JWT quoted back (the login's, or the reviewer's) becomes `<jwt>`, and the API
 * server's URL, should its userinfo hold a password, is shown without it. Defence in depth: a
 * kube-apiserver does not quote tokens, but what sits in front of one may.
 */
export const scrubUpstreamText = (text: string, host: string): string =>
  // Cut last (a token cut in half would no longer be found): the text is every refused login's
  // log line and audit entry, and an upstream's message can be as long as its answer (a MiB).
  truncate(scrub(text, host), MAX_UPSTREAM_TEXT_CHARS);

const scrub = (text: string, host: string): string => {
  const scrubbed = text.replace(JWT_SHAPED, '<jwt>');
  const shown = redactUrl(host);
  return shown === host ? scrubbed : scrubbed.replaceAll(host, shown);
};

/** `cause` with its message and stack scrubbed as {@link scrubUpstreamText}; anything else as it is. */
export const scrubbedError = (cause: unknown, host: string): unknown => {
  if (!(cause instanceof Error)) return cause;
  const copy = new Error(scrubUpstreamText(cause.message, host));
  copy.name = cause.name;
  // The stack opens with the message: that part cut as the message is, the frames kept whole.
  copy.stack =
    cause.stack === undefined
      ? undefined
      : scrub(
          cause.stack.replace(cause.message, () => copy.message),
          host,
        );
  const { status } = cause as { status?: unknown };
  return typeof status === 'number' ? Object.assign(copy, { status }) : copy;
};
