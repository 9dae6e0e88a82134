import { createHash } from 'node:crypto';
import type { AuthMountConfig } from '../config/index.js';

/**
 * A short digest (base64url, 22 characters) of what a mount's verification rests on: for
 * `tokenreview`, the API server a review goes to (URL and CA); for `jwks`, where its key set comes
 * from (file, URL or discovery URL, and CA). Both with the accepted issuers, in any order. For a
 * jwt mount, where its keys come from (discovery or JWKS URL, and CA) and its `bound_issuer`.
 *
 * Why: state that replicas share to verify logins (reviews, key sets) is a proof made against one
 * cluster, and is kept under this digest as well as the mount's path. Gateways over one store whose
 * mount of one name trusts another cluster — a rolling update that repoints the mount, or two
 * clusters whose API server is `https://kubernetes.default.svc` and whose issuer is the default —
 * then never take each other's proofs: nothing in a token tells such clusters apart.
 */
export const trustScope = (mount: AuthMountConfig): string => {
  if (mount.type === 'jwt')
    return digestOf({
      jwt: mount.keys.source,
      ca: mount.keys.caCert ?? null,
      issuer: mount.boundIssuer ?? null,
    });
  const anchor =
    mount.verification === 'jwks'
      ? { jwks: mount.jwks?.source, ca: mount.jwks?.caCert ?? null }
      : { host: mount.kubernetesHost, ca: mount.kubernetesCaCert ?? null };
  return digestOf({ ...anchor, issuers: [...mount.issuers].sort() });
};

const digestOf = (anchor: object): string =>
  createHash('sha256').update(JSON.stringify(anchor)).digest('base64url').slice(0, 22);
