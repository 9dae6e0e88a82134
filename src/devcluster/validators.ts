/**
 * What the API server checks after a token's signature, issuer and audience: `claims.go`
 * `validator.Validate` for bound tokens and `legacy.go` for Secret tokens (reference §2.3, §2.4),
 * with the current or the 1.19-era wording.
 */
import { safeEqual } from '../lib/hash.js';
import type { ObjectStore } from './objects.js';

/** Which release's error strings to produce: 1.29+ (`current`) or 1.19-era (`legacy`). */
export type Wording = 'current' | 'legacy';

/** go-jose's `DefaultLeeway`, used for exp/nbf/iat and for the deletion grace. */
export const LEEWAY_MS = 60_000;

/** What a valid token says about its caller (`ServiceAccountInfo`). */
export type ServiceAccountInfo = {
  namespace: string;
  name: string;
  uid: string;
  podName?: string;
  podUid?: string;
  nodeName?: string;
  nodeUid?: string;
  /** `JTI=<jti>`. */
  credentialId?: string;
};

/** A token that the service-account authenticator claims but refuses; `message` is the reason. */
export class TokenRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRejected';
  }
}

/** Dependencies of the validators: live objects, the simulator's now (ms), wording, feature gates. */
export type ValidatorDeps = {
  objects: Pick<ObjectStore, 'getServiceAccount' | 'getPod' | 'getSecret' | 'getNode'>;
  nowMs: () => number;
  wording: Wording;
  features: { jti: boolean; podNodeInfo: boolean; nodeBinding: boolean };
};

const WORDS = {
  current: {
    expired: 'service account token has expired',
    notValidYet: 'service account token is not valid yet',
    future: 'service account token is issued in the future',
    invalidated: 'service account token has been invalidated',
    saDeleted: (ns: string, name: string) => `service account ${ns}/${name} has been deleted`,
    saUid: (live: string, claim: string) => `service account UID (${live}) does not match claim (${claim})`,
    secretUid: (live: string, claim: string) =>
      `secret UID (${live}) does not match service account secret ref claim (${claim})`,
    podUid: (live: string, claim: string) =>
      `pod UID (${live}) does not match service account pod ref claim (${claim})`,
  },
  legacy: {
    expired: 'Token has expired.',
    notValidYet: 'Token could not be validated.',
    future: 'Token could not be validated.',
    invalidated: 'Token has been invalidated',
    saDeleted: (ns: string, name: string) => `ServiceAccount ${ns}/${name} has been deleted`,
    saUid: (live: string, claim: string) => `ServiceAccount UID (${live}) does not match claim (${claim})`,
    secretUid: (live: string, claim: string) => `Secret UID (${live}) does not match claim (${claim})`,
    podUid: (live: string, claim: string) => `Pod UID (${live}) does not match claim (${claim})`,
  },
} as const;

/** A `{name, uid}` claim as Go decodes it: missing members are empty strings. */
type Ref = { name: string; uid: string };

const str = (value: unknown): string => (typeof value === 'string' ? value : '');
const obj = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
const refOf = (value: unknown): Ref | undefined => {
  const o = obj(value);
  return o ? { name: str(o['name']), uid: str(o['uid']) } : undefined;
};

/** Whether an object deleted at `deletionMs` is past the grace (deleted before now − 60 s). */
const deletedBefore = (deletionMs: number | undefined, nowMs: number): boolean =>
  deletionMs !== undefined && deletionMs < nowMs - LEEWAY_MS;

/**
 * The uid and deletion checks of one bound object, in the release's order: 1.29+ compares the uid
 * first, the 1.19-era `claims.go` the deletion first.
 */
const checkLive = (
  wording: Wording,
  nowMs: number,
  live: { uid: string; deletionMs?: number },
  claimUid: string,
  errors: { deleted: string; uid: string },
): void => {
  const uid = (): void => {
    if (live.uid !== claimUid) throw new TokenRejected(errors.uid);
  };
  if (wording === 'current') uid();
  if (deletedBefore(live.deletionMs, nowMs)) throw new TokenRejected(errors.deleted);
  uid();
};

/**
 * Validate a bound token's claims against the clock and the live objects.
 *
 * @param claims the verified payload.
 * @throws TokenRejected with the API server's reason.
 */
export const validateBound = (deps: ValidatorDeps, claims: Record<string, unknown>): ServiceAccountInfo => {
  const words = WORDS[deps.wording];
  const nowMs = deps.nowMs();
  // go-jose's Claims.Validate: nbf, then exp, then iat, each with a 1-minute leeway.
  const nbf = claims['nbf'];
  const exp = claims['exp'];
  const iat = claims['iat'];
  if (typeof nbf === 'number' && nowMs + LEEWAY_MS < nbf * 1000) throw new TokenRejected(words.notValidYet);
  if (typeof exp === 'number' && nowMs - LEEWAY_MS > exp * 1000) throw new TokenRejected(words.expired);
  if (typeof iat === 'number' && nowMs + LEEWAY_MS < iat * 1000) throw new TokenRejected(words.future);

  const k = obj(claims['kubernetes.io']) ?? {};
  const namespace = str(k['namespace']);
  const saRef = refOf(k['serviceaccount']) ?? { name: '', uid: '' };
  const podRef = refOf(k['pod']);
  const secretRef = refOf(k['secret']);
  const nodeRef = refOf(k['node']);

  const sa = deps.objects.getServiceAccount(namespace, saRef.name);
  if (!sa) throw new TokenRejected(`serviceaccounts ${JSON.stringify(saRef.name)} not found`);
  checkLive(deps.wording, nowMs, sa.meta, saRef.uid, {
    deleted: words.saDeleted(namespace, saRef.name),
    uid: words.saUid(sa.meta.uid, saRef.uid),
  });

  if (secretRef) {
    const secret = deps.objects.getSecret(namespace, secretRef.name);
    if (!secret) throw new TokenRejected(words.invalidated);
    checkLive(deps.wording, nowMs, secret.meta, secretRef.uid, {
      deleted: words.invalidated,
      uid: words.secretUid(secret.meta.uid, secretRef.uid),
    });
  }

  const info: ServiceAccountInfo = { namespace, name: saRef.name, uid: saRef.uid };
  if (podRef) {
    const pod = deps.objects.getPod(namespace, podRef.name);
    if (!pod) throw new TokenRejected(words.invalidated);
    checkLive(deps.wording, nowMs, pod.meta, podRef.uid, {
      deleted: words.invalidated,
      uid: words.podUid(pod.meta.uid, podRef.uid),
    });
    info.podName = podRef.name;
    info.podUid = podRef.uid;
  }

  if (nodeRef) {
    if (podRef) {
      // For pod-bound tokens the node claims are only copied, never verified.
      if (deps.features.podNodeInfo) {
        info.nodeName = nodeRef.name;
        info.nodeUid = nodeRef.uid;
      }
    } else {
      if (!deps.features.nodeBinding)
        throw new TokenRejected(
          'token is bound to a Node object but the ServiceAccountTokenNodeBindingValidation feature gate is disabled',
        );
      const node = deps.objects.getNode(nodeRef.name);
      if (!node) throw new TokenRejected(words.invalidated);
      if (node.meta.uid !== nodeRef.uid)
        throw new TokenRejected(
          `node UID (${node.meta.uid}) does not match service account node ref claim (${nodeRef.uid})`,
        );
      if (deletedBefore(node.meta.deletionMs, nowMs)) throw new TokenRejected(words.invalidated);
      info.nodeName = nodeRef.name;
      info.nodeUid = nodeRef.uid;
    }
  }
  // warnafter past is still accepted (the API server only audits it as a stale token).
  const jti = str(claims['jti']);
  if (deps.features.jti && jti) info.credentialId = `JTI=${jti}`;
  return info;
};

const LEGACY_PREFIX = 'kubernetes.io/serviceaccount/';

/** The label the legacy token cleaner puts on an unused legacy token's Secret (1.29+). */
export const LEGACY_TOKEN_INVALID_SINCE = 'kubernetes.io/legacy-token-invalid-since';

/**
 * Validate a legacy Secret token with `--service-account-lookup` on: its Secret must exist, hold
 * this very token (constant-time compare) and its service account must exist with the claimed uid;
 * with the current wording, the Secret must not carry {@link LEGACY_TOKEN_INVALID_SINCE}.
 *
 * @throws TokenRejected with the API server's reason.
 */
export const validateLegacy = (
  deps: Pick<ValidatorDeps, 'objects' | 'wording'>,
  token: string,
  claims: Record<string, unknown>,
): ServiceAccountInfo => {
  const sub = str(claims['sub']);
  const namespace = str(claims[`${LEGACY_PREFIX}namespace`]);
  const secretName = str(claims[`${LEGACY_PREFIX}secret.name`]);
  const saName = str(claims[`${LEGACY_PREFIX}service-account.name`]);
  const saUid = str(claims[`${LEGACY_PREFIX}service-account.uid`]);
  if (!sub) throw new TokenRejected('sub claim is missing');
  if (!namespace) throw new TokenRejected('namespace claim is missing');
  if (!secretName) throw new TokenRejected('secretName claim is missing');
  if (!saName) throw new TokenRejected('serviceAccountName claim is missing');
  if (!saUid) throw new TokenRejected('serviceAccountUID claim is missing');
  if (sub !== `system:serviceaccount:${namespace}:${saName}`) throw new TokenRejected('sub claim is invalid');

  const secret = deps.objects.getSecret(namespace, secretName);
  if (!secret || secret.meta.deletionMs !== undefined) throw new TokenRejected('Token has been invalidated');
  if (!safeEqual(secret.data['token'] ?? '', token))
    throw new TokenRejected("Token does not match server's copy");
  const sa = deps.objects.getServiceAccount(namespace, saName);
  if (!sa) throw new TokenRejected(`serviceaccounts ${JSON.stringify(saName)} not found`);
  if (sa.meta.deletionMs !== undefined)
    throw new TokenRejected(`ServiceAccount ${namespace}/${saName} has been deleted`);
  if (sa.meta.uid !== saUid)
    throw new TokenRejected(`ServiceAccount UID (${sa.meta.uid}) does not match claim (${saUid})`);
  // 1.29+, once the token passed every other check: a Secret marked invalid by the legacy token
  // cleaner refuses its token until the label is removed.
  if (deps.wording === 'current' && (secret.meta.labels[LEGACY_TOKEN_INVALID_SINCE] ?? '') !== '') {
    throw new TokenRejected(
      `the token in secret ${namespace}/${secretName} for service account ${namespace}/${saName} has been marked invalid. Use tokens from the TokenRequest API or manually created secret-based tokens, or remove the '${LEGACY_TOKEN_INVALID_SINCE}' label from the secret to temporarily allow use of this token`,
    );
  }
  return { namespace, name: saName, uid: saUid };
};
