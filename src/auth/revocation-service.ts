import { badRequest } from '../errors.js';
import type { TokenService } from '../tokens/index.js';
import type { IdentitySelector } from '../verify/index.js';

/** Who to revoke: every token of a role, of a service account, or of a pod. */
export type RevocationTarget =
  { mount: string; role: string } | { namespace: string; serviceAccount: string } | { podUid: string };

export type RevocationDeps = {
  tokens: Pick<TokenService, 'revokeByIndex'>;
  /** What holds cached verifications: every mount's verifier. */
  caches: ReadonlyArray<{ invalidate(sel: IdentitySelector): Promise<number> }>;
};

export type RevocationResult = { revokedTokens: number; invalidatedReviews: number };

/**
 * Operator revocation by identity. For a service account or a pod, drops their cached
 * verifications (TokenReviews, verified JWKS results) on every replica, so that the next login is
 * verified again: reviewed by the API server (and refused if the pod is gone), or its signature
 * checked anew; then revokes the client tokens listed in the matching index.
 */
export const createRevocationService = (deps: RevocationDeps) => ({
  revoke: async (target: RevocationTarget): Promise<RevocationResult> => {
    let index: { kind: string; value: string };
    let selector: IdentitySelector | undefined;
    if ('podUid' in target) {
      index = { kind: 'pod', value: target.podUid };
      selector = { podUid: target.podUid };
    } else if ('serviceAccount' in target) {
      index = { kind: 'sa', value: `${target.namespace}/${target.serviceAccount}` };
      selector = { namespace: target.namespace, serviceAccount: target.serviceAccount };
    } else {
      index = { kind: 'role', value: `${target.mount}/${target.role.toLowerCase()}` };
    }
    // The cached verifications first: a login still reusing one while the tokens are revoked would
    // get a token after the index was read, and keep it. Once they are gone, a login is verified
    // again (and refused if the pod is gone); only one already past verification can still land.
    // Should they not go (a 503), the tokens are revoked all the same before the error is said.
    let invalidatedReviews = 0;
    let failed: { err: unknown } | undefined;
    try {
      if (selector !== undefined) {
        for (const cache of deps.caches) invalidatedReviews += await cache.invalidate(selector);
      }
    } catch (err) {
      failed = { err };
    }
    const revokedTokens = await deps.tokens.revokeByIndex(index);
    if (failed !== undefined) throw failed.err;
    return { revokedTokens, invalidatedReviews };
  },
});
export type RevocationService = ReturnType<typeof createRevocationService>;

/**
 * Reads a revoke-identity request body: exactly one of `{mount, role}`,
 * `{namespace, service_account}` or `{pod_uid}`. Throws BAD_REQUEST otherwise.
 */
export const parseRevocationTarget = (body: Record<string, unknown>): RevocationTarget => {
  const str = (k: string) =>
    typeof body[k] === 'string' && body[k] !== '' ? (body[k] as string) : undefined;
  const pod = str('pod_uid');
  const ns = str('namespace');
  const sa = str('service_account');
  const mount = str('mount');
  const role = str('role');
  const forms = [
    pod !== undefined,
    ns !== undefined || sa !== undefined,
    mount !== undefined || role !== undefined,
  ];
  if (forms.filter(Boolean).length !== 1) {
    throw badRequest(
      'exactly one of pod_uid, namespace+service_account or mount+role is required',
      'bad_revocation_target',
    );
  }
  if (pod !== undefined) return { podUid: pod };
  if (ns !== undefined && sa !== undefined) return { namespace: ns, serviceAccount: sa };
  if (mount !== undefined && role !== undefined) return { mount, role };
  throw badRequest(
    'namespace and service_account go together, as do mount and role',
    'bad_revocation_target',
  );
};
