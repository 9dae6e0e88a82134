import { verifiedMetadata, type TokenRecord } from '../../tokens/index.js';
import type { IdentityClaims, IdentitySubject } from './types.js';
import { trimTrailingSlashes } from '../../lib/trim-slashes.js';

/** `iss` of every identity token: `<identity.issuer>/v1/identity/oidc`, as Vault's. */
export const issuerUrl = (baseUrl: string): string => `${trimTrailingSlashes(baseUrl)}/v1/identity/oidc`;

/**
 * The claims of one token, exactly: `iss`, `sub`, `aud`, `iat`, `exp` and the Kubernetes identity
 * under `kubernetes.io` in the shape the API server gives projected tokens, so that code that
 * reads a pod's own token reads these. `iatSeconds` and `ttlSeconds` are whole seconds.
 */
export const buildClaims = (
  issuer: string,
  audience: string,
  subject: IdentitySubject,
  iatSeconds: number,
  ttlSeconds: number,
): IdentityClaims => {
  const k8s: IdentityClaims['kubernetes.io'] = {
    namespace: subject.namespace,
    serviceaccount: { name: subject.serviceAccountName, uid: subject.serviceAccountUid },
  };
  if (subject.podName !== undefined && subject.podUid !== undefined) {
    k8s.pod = { name: subject.podName, uid: subject.podUid };
  }
  return {
    iss: issuer,
    sub: `system:serviceaccount:${subject.namespace}:${subject.serviceAccountName}`,
    aud: audience,
    iat: iatSeconds,
    exp: iatSeconds + ttlSeconds,
    'kubernetes.io': k8s,
  };
};

/**
 * The Kubernetes identity a client token was issued for, from the metadata its login recorded
 * (`service_account_namespace`, `service_account_name`, `service_account_uid`, and `pod_name` /
 * `pod_uid` when the login token was pod-bound). Undefined — Vault's "no entity" — for the admin
 * token (no record), for a token the token store made (`auth/token/create`: its metadata was
 * written by its creator, not verified), and for a token whose metadata lacks any of the three
 * service-account keys.
 * The metadata is trusted: the login wrote it after verifying the service-account token.
 */
export const subjectOfToken = (
  record: Pick<TokenRecord, 'metadata' | 'mountPath'> | undefined,
): IdentitySubject | undefined => {
  if (record === undefined) return undefined;
  // A token of the token store has no verified identity: its `meta` is its creator's words.
  const m = verifiedMetadata(record);
  const namespace = m['service_account_namespace'];
  const serviceAccountName = m['service_account_name'];
  const serviceAccountUid = m['service_account_uid'];
  if (!namespace || !serviceAccountName || !serviceAccountUid) return undefined;
  const subject: IdentitySubject = { namespace, serviceAccountName, serviceAccountUid };
  const podName = m['pod_name'];
  const podUid = m['pod_uid'];
  if (podName && podUid) {
    subject.podName = podName;
    subject.podUid = podUid;
  }
  if (m['role']) subject.role = m['role'];
  return subject;
};
