import type { JWK } from 'jose';
import { IDENTITY_KEY_ALGORITHMS, type IdentityKeyConfig } from '../../config/index.js';

/** The JWS algorithms a signing key can use (`identity.keys.<name>.algorithm`). */
export type IdentityAlgorithm = IdentityKeyConfig['algorithm'];

/**
 * Every algorithm authgate can sign identity tokens with, as discovery lists them: Vault's
 * `supportedAlgs`, in its order. The whole set, not only the configured ones (as Vault does):
 * discovery is cached for an hour, and a verifier that restricts itself to the listed algorithms
 * must keep accepting tokens after an operator changes a key's algorithm.
 */
export const IDENTITY_ALGORITHMS: readonly IdentityAlgorithm[] = IDENTITY_KEY_ALGORITHMS;

/**
 * Whom an identity token names: the Kubernetes identity of the client token that asks for it
 * (its login metadata). Strings are as the login verified them.
 */
export type IdentitySubject = {
  namespace: string;
  serviceAccountName: string;
  serviceAccountUid: string;
  /** Present when the login token was bound to a pod. */
  podName?: string;
  podUid?: string;
  /** The auth method's role the client token was issued for; logged, not signed. */
  role?: string;
};

/** What `issue` returns: Vault's `data` of `identity/oidc/token/<role>`. */
export type IssuedIdentityToken = {
  /** The signed JWT (compact JWS). A credential: never log it. */
  token: string;
  /** The role's audience: the token's `aud` (Vault's `client_id`). */
  clientId: string;
  /** The token's lifetime, seconds (`exp - iat`). */
  ttlSeconds: number;
};

/** The claims of an identity token, exactly. */
export type IdentityClaims = {
  /** `<identity.issuer>/v1/identity/oidc`. */
  iss: string;
  /** `system:serviceaccount:<namespace>:<name>`, as Kubernetes names a service account. */
  sub: string;
  /** The role's audience (one string, as Vault). */
  aud: string;
  /** Issue time, seconds since the epoch. */
  iat: number;
  /** `iat` + the role's TTL, seconds since the epoch. No `nbf`: Vault sets none. */
  exp: number;
  /** The private claim Kubernetes puts in projected service-account tokens, in the same shape. */
  'kubernetes.io': {
    namespace: string;
    serviceaccount: { name: string; uid: string };
    pod?: { name: string; uid: string };
  };
};

/** A published public key: a JWK with `kid`, `alg` and `use: "sig"`. */
export type PublicJwk = JWK & { kid: string; alg: IdentityAlgorithm; use: 'sig' };

/** `GET /v1/identity/oidc/.well-known/keys`. */
export type JwksDocument = { keys: PublicJwk[] };

/** `GET /v1/identity/oidc/.well-known/openid-configuration`, Vault's fields. */
export type DiscoveryDocument = {
  issuer: string;
  jwks_uri: string;
  response_types_supported: string[];
  subject_types_supported: string[];
  id_token_signing_alg_values_supported: string[];
};
