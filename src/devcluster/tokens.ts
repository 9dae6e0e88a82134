/**
 * Service-account token claims and encoding, as `pkg/serviceaccount/claims.go` and `legacy.go`
 * build them and go-jose serializes them (reference §1).
 */
import { goJson, type JsonValue } from './go-format.js';
import { signCompact, type ServiceAccountKey } from './keys.js';

/** `iss` of legacy Secret-based tokens (`LegacyIssuer`). */
export const LEGACY_ISSUER = 'kubernetes/serviceaccount';

/** `WarnOnlyBoundTokenExpirationSeconds`: the kubelet default volume's TTL that triggers extension. */
export const WARN_ONLY_EXPIRATION_SECONDS = 3607;

/** `ExpirationExtensionSeconds`: 1 year, the lifetime of an extended token. */
export const EXPIRATION_EXTENSION_SECONDS = 365 * 24 * 60 * 60;

/** A `{name, uid}` reference claim; `uid` is omitted when empty (`omitempty`). */
export type RefClaim = { name: string; uid?: string };

/** Everything a bound token carries. Times are ms since the epoch; durations are seconds. */
export type BoundClaimsInput = {
  issuer: string;
  namespace: string;
  serviceAccount: { name: string; uid: string };
  audiences: readonly string[];
  nowMs: number;
  expirationSeconds: number;
  /** Seconds after iat for `kubernetes.io.warnafter` (extended tokens only). */
  warnAfterSeconds?: number;
  /** `jti` (ServiceAccountTokenJTI). */
  jti?: string;
  pod?: RefClaim;
  secret?: RefClaim;
  /** Node of a pod-bound token (PodNodeInfo) or of a node-bound token. */
  node?: RefClaim;
};

const ref = (r: RefClaim): JsonValue => ({ name: r.name, ...(r.uid ? { uid: r.uid } : {}) });

/**
 * The claims of a bound (TokenRequest/projected) token. `iat` = `nbf` = now truncated to whole
 * seconds; `aud` is always an array; every key is emitted in lexicographic order by `goJson`.
 *
 * @throws TypeError when bound to a Secret and to a pod or node at once (the API server's
 *   `internal error, token can only be bound to one object type`).
 */
export const boundClaims = (c: BoundClaimsInput): JsonValue => {
  if (c.secret && (c.pod || c.node))
    throw new TypeError('internal error, token can only be bound to one object type');
  const iat = Math.floor(c.nowMs / 1000);
  const kubernetes: Record<string, JsonValue> = {
    namespace: c.namespace,
    serviceaccount: { name: c.serviceAccount.name, uid: c.serviceAccount.uid },
  };
  if (c.pod) kubernetes['pod'] = ref(c.pod);
  if (c.secret) kubernetes['secret'] = ref(c.secret);
  if (c.node) kubernetes['node'] = ref(c.node);
  if (c.warnAfterSeconds) kubernetes['warnafter'] = iat + c.warnAfterSeconds;
  return {
    aud: [...c.audiences],
    exp: iat + c.expirationSeconds,
    iat,
    iss: c.issuer,
    ...(c.jti ? { jti: c.jti } : {}),
    'kubernetes.io': kubernetes,
    nbf: iat,
    sub: `system:serviceaccount:${c.namespace}:${c.serviceAccount.name}`,
  };
};

/** The flat claims of a legacy Secret token (§1.5): no aud, exp, iat, nbf or jti. */
export const legacyClaims = (c: {
  namespace: string;
  serviceAccount: { name: string; uid: string };
  secretName: string;
}): JsonValue => ({
  iss: LEGACY_ISSUER,
  'kubernetes.io/serviceaccount/namespace': c.namespace,
  'kubernetes.io/serviceaccount/secret.name': c.secretName,
  'kubernetes.io/serviceaccount/service-account.name': c.serviceAccount.name,
  'kubernetes.io/serviceaccount/service-account.uid': c.serviceAccount.uid,
  sub: `system:serviceaccount:${c.namespace}:${c.serviceAccount.name}`,
});

/**
 * Sign `claims` into a compact JWT: header `{"alg","kid"}`, payload as Go serializes the merged
 * claim map. Legacy tokens pass `kid: ''`.
 */
export const encodeToken = (
  key: ServiceAccountKey,
  claims: JsonValue,
  kid: string = key.kid,
): Promise<string> => signCompact(key, kid, goJson(claims));
