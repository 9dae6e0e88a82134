/**
 * TokenRequest (`POST …/serviceaccounts/<name>/token`) and legacy Secret token minting, with the API
 * server's defaulting, validation, bound-object checks and 3607-second extension (reference §4).
 */
import { randomInt, randomUUID } from 'node:crypto';
import { badRequest, conflict, invalidField, notFound } from './api-status.js';
import { goQuote, rfc3339 } from './go-format.js';
import { checkTypeMeta, decodeError } from './token-review.js';
import type { KeyRing } from './keys.js';
import { SERVICE_ACCOUNT_TOKEN_SECRET, type ObjectStore } from './objects.js';
import {
  boundClaims,
  encodeToken,
  EXPIRATION_EXTENSION_SECONDS,
  legacyClaims,
  WARN_ONLY_EXPIRATION_SECONDS,
  type RefClaim,
} from './tokens.js';

/** `MinTokenAgeSec`: 10 minutes. */
export const MIN_TOKEN_SECONDS = 600;
/** The upper bound of `expirationSeconds`: 2^32. */
export const MAX_TOKEN_SECONDS = 2 ** 32;
/** `expirationSeconds` when the request gives none. */
export const DEFAULT_TOKEN_SECONDS = 3600;

/** `spec.boundObjectRef` of a TokenRequest. */
export type BoundObjectRef = { kind?: string; apiVersion?: string; name?: string; uid?: string };

/**
 * A TokenRequest body (`POST …/serviceaccounts/<name>/token`) for service account
 * `namespace`/`name`, decoded as the API server's JSON decoder reads it into `TokenRequest`.
 *
 * @throws KubeApiError 400 for a body, kind, apiVersion or spec member of the wrong JSON type.
 */
export const decodeTokenRequest = (namespace: string, name: string, body: unknown): TokenRequestInput => {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw decodeError('TokenRequest', 'TokenRequest', body, 'v1.TokenRequest');
  const record = body as Record<string, unknown>;
  checkTypeMeta(record, 'TokenRequest', 'authentication.k8s.io/v1');
  const metadata = (record['metadata'] ?? {}) as Record<string, unknown>;
  const spec = (record['spec'] ?? {}) as Record<string, unknown>;
  const { audiences = null, expirationSeconds = null, boundObjectRef = null } = spec;
  if (audiences !== null && !(Array.isArray(audiences) && audiences.every((a) => typeof a === 'string')))
    throw decodeError('TokenRequest', 'TokenRequestSpec.spec.audiences', audiences, '[]string');
  if (expirationSeconds !== null && !Number.isInteger(expirationSeconds))
    throw decodeError('TokenRequest', 'TokenRequestSpec.spec.expirationSeconds', expirationSeconds, 'int64');
  return {
    namespace,
    name,
    metadataName: typeof metadata['name'] === 'string' ? metadata['name'] : null,
    metadataNamespace: typeof metadata['namespace'] === 'string' ? metadata['namespace'] : null,
    audiences: audiences as string[] | null,
    expirationSeconds: expirationSeconds as number | null,
    boundObjectRef: decodeBoundObjectRef(boundObjectRef),
  };
};

/**
 * `spec.boundObjectRef` as Go decodes it into `BoundObjectReference`: members in struct order
 * (kind, apiVersion, name, uid), empty ones omitted (`omitempty`), unknown ones dropped.
 *
 * @throws KubeApiError 400 for a ref, or a member of one, of the wrong JSON type.
 */
export const decodeBoundObjectRef = (value: unknown): BoundObjectRef | null => {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value))
    throw decodeError(
      'TokenRequest',
      'TokenRequestSpec.spec.boundObjectRef',
      value,
      'v1.BoundObjectReference',
    );
  const ref: BoundObjectRef = {};
  for (const field of ['kind', 'apiVersion', 'name', 'uid'] as const) {
    const member = (value as Record<string, unknown>)[field];
    if (member === undefined || member === null) continue;
    if (typeof member !== 'string')
      throw decodeError(
        'TokenRequest',
        `BoundObjectReference.spec.boundObjectRef.${field}`,
        member,
        'string',
      );
    if (member !== '') ref[field] = member;
  }
  return ref;
};

/** A TokenRequest after JSON decoding (nulls are what `kubectl create token` sends). */
export type TokenRequestInput = {
  /** Namespace and name from the URL. */
  namespace: string;
  name: string;
  /** `metadata.name`/`metadata.namespace` from the body, which must match the URL if set. */
  metadataName?: string | null;
  metadataNamespace?: string | null;
  audiences?: readonly string[] | null;
  expirationSeconds?: number | null;
  boundObjectRef?: BoundObjectRef | null;
};

/** The created TokenRequest. */
export type TokenRequestResult = {
  name: string;
  namespace: string;
  creationMs: number;
  audiences: string[];
  /** After capping, before extension (what `spec.expirationSeconds` echoes). */
  expirationSeconds: number;
  boundObjectRef: BoundObjectRef | null;
  token: string;
  /** now + expirationSeconds, RFC 3339 (earlier than the JWT `exp` of an extended token). */
  expirationTimestamp: string;
  /** `Warning` header texts (a shortened expiration). */
  warnings: string[];
};

/** Dependencies of TokenRequest minting (objects, keys, clock, API server flags). */
export type TokenRequestDeps = {
  objects: Pick<ObjectStore, 'getServiceAccount' | 'getPod' | 'getSecret' | 'getNode' | 'putSecret'>;
  keys: Pick<KeyRing, 'signingKey'>;
  /** The first issuer: tokens' `iss`. */
  issuer: string;
  apiAudiences: readonly string[];
  nowMs: () => number;
  features: { jti: boolean; podNodeInfo: boolean; nodeBinding: boolean };
  /** `--service-account-max-token-expiration` (0: no cap). */
  maxTokenExpirationSeconds: number;
  /** `--service-account-extend-token-expiration`. */
  extendTokenExpiration: boolean;
};

const GROUP = 'authentication.k8s.io';

const validateExpiration = (seconds: number): void => {
  const problem =
    seconds < MIN_TOKEN_SECONDS
      ? 'may not specify a duration less than 10 minutes'
      : seconds > MAX_TOKEN_SECONDS
        ? 'may not specify a duration larger than 2^32 seconds'
        : undefined;
  if (problem)
    throw invalidField({
      kind: 'TokenRequest',
      group: GROUP,
      name: '',
      field: 'spec.expirationSeconds',
      value: seconds,
      detail: problem,
    });
};

/**
 * The registry's key function refuses a name before any lookup (`NamespaceKeyFunc`,
 * `NoNamespaceKeyFunc` with `path.IsValidPathSegmentName`).
 *
 * @throws KubeApiError 400.
 */
const checkKeyName = (name: string): void => {
  if (name === '') throw badRequest('Name parameter required.');
  const problems =
    name === '.' || name === '..'
      ? [`may not be '${name}'`]
      : ['/', '%'].filter((c) => name.includes(c)).map((c) => `may not contain '${c}'`);
  if (problems.length > 0)
    throw badRequest(`Name parameter invalid: ${goQuote(name)}: ${problems.join(';')}`);
};

const LEGACY_SUFFIX_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** TokenRequest and legacy-token minting. */
export type TokenRequestService = ReturnType<typeof createTokenRequestService>;

/** TokenRequest and legacy-token minting over the simulator's objects and keys. */
export const createTokenRequestService = (deps: TokenRequestDeps) => {
  /** Resolve `boundObjectRef` to the claims it adds; throws the API server's errors. */
  const resolveBinding = (
    namespace: string,
    saName: string,
    ref: BoundObjectRef,
  ): { pod?: RefClaim; secret?: RefClaim; node?: RefClaim; uid: string } => {
    const version = ref.apiVersion ?? '';
    const group = version.includes('/') ? version.slice(0, version.indexOf('/')) : '';
    const kind = ref.kind ?? '';
    const name = ref.name ?? '';
    let found: { pod?: RefClaim; secret?: RefClaim; node?: RefClaim; uid: string };
    if (group === '' && kind === 'Pod') {
      checkKeyName(name);
      const pod = deps.objects.getPod(namespace, name);
      if (!pod) throw notFound('pods', name);
      if (pod.serviceAccountName !== saName)
        throw badRequest(
          `cannot bind token for serviceaccount ${JSON.stringify(saName)} to pod running with different serviceaccount name.`,
        );
      found = { pod: { name, uid: pod.meta.uid }, uid: pod.meta.uid };
      if (deps.features.podNodeInfo && pod.nodeName) {
        // A missing Node object still yields the name (the API server falls back to name only).
        const node = deps.objects.getNode(pod.nodeName);
        found.node = { name: pod.nodeName, ...(node ? { uid: node.meta.uid } : {}) };
      }
    } else if (group === '' && kind === 'Node') {
      if (!deps.features.nodeBinding)
        throw badRequest(
          'cannot bind token to a Node object as the "ServiceAccountTokenNodeBinding" feature-gate is disabled',
        );
      checkKeyName(name);
      const node = deps.objects.getNode(name);
      if (!node) throw notFound('nodes', name);
      found = { node: { name, uid: node.meta.uid }, uid: node.meta.uid };
    } else if (group === '' && kind === 'Secret') {
      checkKeyName(name);
      const secret = deps.objects.getSecret(namespace, name);
      if (!secret) throw notFound('secrets', name);
      found = { secret: { name, uid: secret.meta.uid }, uid: secret.meta.uid };
    } else {
      const v = version.includes('/') ? version.slice(version.indexOf('/') + 1) : version;
      throw badRequest(`cannot bind token to object of type ${group}/${v}, Kind=${kind}`);
    }
    if (ref.uid && ref.uid !== found.uid)
      throw conflict(
        kind,
        name,
        `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`,
      );
    return found;
  };

  /**
   * Create a token as `TokenREST.Create` (1.25+) does. Order of checks: body name/namespace vs URL
   * (422), service account (404), expirationSeconds bounds (422, `ValidateTokenRequest`), bound
   * object (404/400/409), then capping, the 3607-second extension (pod-bound, only API audiences)
   * and signing.
   *
   * @throws KubeApiError with the API server's status and message.
   */
  const create = async (input: TokenRequestInput): Promise<TokenRequestResult> => {
    for (const [field, given, url] of [
      ['name', input.metadataName, input.name],
      ['namespace', input.metadataNamespace, input.namespace],
    ] as const) {
      if (given && given !== url)
        throw invalidField({
          kind: 'TokenRequest',
          group: GROUP,
          name: input.name,
          field: `metadata.${field}`,
          value: given,
          detail: `must match the service account ${field} if specified`,
        });
    }
    const sa = deps.objects.getServiceAccount(input.namespace, input.name);
    if (!sa) throw notFound('serviceaccounts', input.name);
    let expirationSeconds = input.expirationSeconds ?? DEFAULT_TOKEN_SECONDS;
    validateExpiration(expirationSeconds);
    const audiences =
      input.audiences && input.audiences.length > 0 ? [...input.audiences] : [...deps.apiAudiences];
    const nowMs = deps.nowMs();
    const ref = input.boundObjectRef ?? null;
    const binding = ref ? resolveBinding(input.namespace, input.name, ref) : { uid: '' };

    const warnings: string[] = [];
    const max = deps.maxTokenExpirationSeconds;
    if (max > 0 && expirationSeconds > max) {
      warnings.push(`requested expiration of ${expirationSeconds} seconds shortened to ${max} seconds`);
      expirationSeconds = max;
    }
    let exp = expirationSeconds;
    let warnAfterSeconds: number | undefined;
    if (
      deps.extendTokenExpiration &&
      binding.pod &&
      expirationSeconds === WARN_ONLY_EXPIRATION_SECONDS &&
      audiences.every((a) => deps.apiAudiences.includes(a))
    ) {
      warnAfterSeconds = expirationSeconds;
      exp = EXPIRATION_EXTENSION_SECONDS;
    }
    const claims = boundClaims({
      issuer: deps.issuer,
      namespace: input.namespace,
      serviceAccount: { name: sa.meta.name, uid: sa.meta.uid },
      audiences,
      nowMs,
      expirationSeconds: exp,
      ...(warnAfterSeconds ? { warnAfterSeconds } : {}),
      ...(deps.features.jti ? { jti: randomUUID() } : {}),
      ...(binding.pod ? { pod: binding.pod } : {}),
      ...(binding.secret ? { secret: binding.secret } : {}),
      ...(binding.node ? { node: binding.node } : {}),
    });
    return {
      name: sa.meta.name,
      namespace: input.namespace,
      creationMs: nowMs,
      audiences,
      expirationSeconds,
      // The request's ref as decoded: the API server fills in no uid.
      boundObjectRef: ref,
      token: await encodeToken(deps.keys.signingKey(), claims),
      expirationTimestamp: rfc3339(Math.floor(nowMs / 1000) * 1000 + expirationSeconds * 1000),
      warnings,
    };
  };

  /**
   * Mint a legacy Secret-based token (§1.5) as the token controller does: signed with the current
   * key and its kid (`JWTTokenGenerator`), or with `kid: ""` as tokens minted before kid support
   * (`emptyKid`) still are; stored in a `kubernetes.io/service-account-token` Secret (created, or
   * overwritten so that an older token no longer matches the server's copy).
   *
   * @throws KubeApiError 404 when the service account does not exist.
   */
  const createLegacy = async (
    namespace: string,
    saName: string,
    secretName?: string,
    options: { emptyKid?: boolean } = {},
  ): Promise<string> => {
    const sa = deps.objects.getServiceAccount(namespace, saName);
    if (!sa) throw notFound('serviceaccounts', saName);
    const name =
      secretName ??
      `${saName}-token-${Array.from({ length: 5 }, () => LEGACY_SUFFIX_ALPHABET[randomInt(LEGACY_SUFFIX_ALPHABET.length)]).join('')}`;
    const claims = legacyClaims({
      namespace,
      serviceAccount: { name: sa.meta.name, uid: sa.meta.uid },
      secretName: name,
    });
    const key = deps.keys.signingKey();
    const token = await encodeToken(key, claims, options.emptyKid ? '' : key.kid);
    deps.objects.putSecret(namespace, name, {
      type: SERVICE_ACCOUNT_TOKEN_SECRET,
      annotations: {
        'kubernetes.io/service-account.name': sa.meta.name,
        'kubernetes.io/service-account.uid': sa.meta.uid,
      },
      data: { namespace, token },
    });
    return token;
  };

  return { create, createLegacy };
};

/** The TokenRequest JSON of a 201 response (§4.3). */
export const tokenRequestJson = (r: TokenRequestResult): Record<string, unknown> => ({
  kind: 'TokenRequest',
  apiVersion: 'authentication.k8s.io/v1',
  metadata: { name: r.name, namespace: r.namespace, creationTimestamp: rfc3339(r.creationMs) },
  spec: { audiences: r.audiences, expirationSeconds: r.expirationSeconds, boundObjectRef: r.boundObjectRef },
  status: { token: r.token, expirationTimestamp: r.expirationTimestamp },
});
