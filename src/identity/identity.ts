/**
 * The identity of a workload, as established by a verifier. Everything here is either verified
 * (signature or TokenReview) or copied from a verified token; nothing comes from request input.
 */
export type ObjectRef = { name: string; uid: string };

export type Identity = {
  /** `iss` of the token (`kubernetes/serviceaccount` for legacy secret tokens). */
  issuer: string;
  /** `sub`: `system:serviceaccount:<ns>:<sa>`. */
  subject: string;
  namespace: string;
  serviceAccount: ObjectRef;
  /** The pod a projected token is bound to. */
  pod?: ObjectRef;
  /** The node of that pod (1.30+); `uid` is absent when the Node object was missing at mint time. */
  node?: { name: string; uid?: string };
  /** The Secret of a legacy token (or a secret-bound token). */
  secretName?: string;
  /** Audiences the token was accepted for (the intersection with what was asked). */
  audiences: string[];
  /** `exp` in seconds since the epoch; absent for legacy tokens, which never expire. */
  expiresAt?: number;
  /** `jti` (1.30+). */
  jti?: string;
  /** True for a legacy Secret-based token (flat `kubernetes.io/serviceaccount/*` claims). */
  legacy: boolean;
};

/** Kubernetes' username for a service account (`MakeUsername`). */
export const serviceAccountUsername = (namespace: string, name: string): string =>
  `system:serviceaccount:${namespace}:${name}`;
