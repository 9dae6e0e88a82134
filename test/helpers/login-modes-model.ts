import { CLAIM_MESSAGES } from '../../src/identity/index.js';
import { ROLES, type RoleName } from './login-modes-inputs.js';

/*
 * What a login with one token should give on each mount of test/login-modes.test.ts. The face
 * checks are Vault's (hashicorp/cap jwt.go, run by vault-plugin-auth-kubernetes path_login.go on
 * the unverified claims): alg, iss, aud, then the times against the current instant (not whole
 * seconds) with go-jose's 60 s leeway. Then the proof: TokenReview is the API server's verdict
 * (signature with a published key, and the bound objects still there); jwks is a signature with
 * the keys the mount holds. The two differ only where docs/security.md ("What each mode can and
 * cannot see") and docs/kubernetes.md say they do.
 */

/** Vault's messages (the claim ones are hashicorp/cap's), and authgate's for a token without exp. */
export const CLAIM_ERRORS = {
  ...CLAIM_MESSAGES,
  noExp: 'invalid expiration time (exp) claim: token has no expiry',
  denied: 'permission denied',
  name: 'service account name not authorized',
  namespace: 'namespace not authorized',
} as const;

const LEEWAY_MS = 60_000;

/** What the test knows about the presented token and the cluster at the instant of the login. */
export type LoginFacts = {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  /** The token is byte for byte what the issuer signed. */
  intact: boolean;
  role: RoleName;
  nowMs: number;
  issuers: readonly string[];
  allowedAlgorithms: readonly string[];
  /** The signing key is published by the cluster now (TokenReview and a JWKS refetch see it). */
  keyPublished: boolean;
  /** The jwks mount held the signing key before this login (it loaded a set that had it). */
  keyHeldByJwks: boolean;
  /** The API server would find the bound objects (service account, pod, Secret, Node) alive. */
  objectsLive: boolean;
};

export type ExpectedLogin =
  | { status: 200; metadata: Record<string, string>; policies: string[]; alias: string }
  | { status: 403; error: string };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** The service account a payload names: projected layout when `kubernetes.io` is there, else legacy. */
export const subjectOf = (payload: Record<string, unknown>) => {
  const k8s = obj(payload['kubernetes.io']);
  if (k8s !== undefined) {
    const sa = obj(k8s['serviceaccount']);
    const pod = obj(k8s['pod']);
    return {
      legacy: false,
      namespace: str(k8s['namespace']),
      name: str(sa?.['name']),
      uid: str(sa?.['uid']),
      // Vault's serviceAccount reads the secret name from the legacy flat claim only.
      secretName: undefined,
      pod: pod === undefined ? undefined : { name: str(pod['name']), uid: str(pod['uid']) },
    };
  }
  const flat = (k: string) => str(payload[`kubernetes.io/serviceaccount/${k}`]);
  return {
    legacy: flat('namespace') !== undefined,
    namespace: flat('namespace'),
    name: flat('service-account.name'),
    uid: flat('service-account.uid'),
    secretName: flat('secret.name'),
    pod: undefined,
  };
};

/** go-glob as Vault uses it: only `*` is special. */
const globMatch = (pattern: string, value: string): boolean =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  ).test(value);
const bound = (patterns: readonly string[], value: string) =>
  (patterns.length === 1 && patterns[0] === '*') || patterns.some((p) => globMatch(p, value));

type Role = {
  bound_service_account_names: readonly string[];
  bound_service_account_namespaces: readonly string[];
  audience?: string;
  alias_name_source?: string;
  token_policies?: readonly string[];
  token_no_default_policy?: boolean;
};

/** The refusal every mode gives on the token's face and the role's bindings, if any. */
const faceRefusal = (f: LoginFacts, role: Role): string | undefined => {
  const alg = str(f.header['alg']);
  if (alg === undefined || !f.allowedAlgorithms.includes(alg)) return CLAIM_ERRORS.alg;
  const iss = str(f.payload['iss']);
  if (iss === undefined || !f.issuers.includes(iss)) return CLAIM_ERRORS.iss;
  const aud = f.payload['aud'];
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  if (role.audience !== undefined && !audiences.includes(role.audience)) return CLAIM_ERRORS.aud;
  const exp = num(f.payload['exp']);
  const nbf = num(f.payload['nbf']);
  const iat = num(f.payload['iat']);
  // cap's order: nbf, exp, iat.
  if (nbf !== undefined && f.nowMs + LEEWAY_MS < nbf * 1000) return CLAIM_ERRORS.nbf;
  if (exp !== undefined && f.nowMs - LEEWAY_MS > exp * 1000) return CLAIM_ERRORS.exp;
  if (iat !== undefined && f.nowMs + LEEWAY_MS < iat * 1000) return CLAIM_ERRORS.iat;
  const sa = subjectOf(f.payload);
  if (sa.namespace === undefined || sa.name === undefined || sa.uid === undefined) return CLAIM_ERRORS.denied;
  if (!bound(role.bound_service_account_names, sa.name)) return CLAIM_ERRORS.name;
  if (!bound(role.bound_service_account_namespaces, sa.namespace)) return CLAIM_ERRORS.namespace;
  return undefined;
};

const accepted = (f: LoginFacts, role: Role): ExpectedLogin => {
  const sa = subjectOf(f.payload);
  const [namespace, name, uid] = [sa.namespace ?? '', sa.name ?? '', sa.uid ?? ''];
  const metadata: Record<string, string> = {
    role: f.role,
    service_account_name: name,
    service_account_namespace: namespace,
    service_account_secret_name: sa.secretName ?? '',
    service_account_uid: uid,
  };
  if (sa.pod?.name !== undefined && sa.pod.uid !== undefined) {
    metadata['pod_name'] = sa.pod.name;
    metadata['pod_uid'] = sa.pod.uid;
  }
  const policies = new Set((role.token_policies ?? []).map((p) => p.toLowerCase()));
  if (role.token_no_default_policy !== true) policies.add('default');
  return {
    status: 200,
    metadata,
    policies: [...policies].sort(),
    alias: role.alias_name_source === 'serviceaccount_name' ? `${namespace}/${name}` : uid,
  };
};

/** The outcome through a `tokenreview` mount: the API server proves the token. */
export const expectTokenReview = (f: LoginFacts): ExpectedLogin => {
  const role: Role = ROLES[f.role];
  const face = faceRefusal(f, role);
  if (face !== undefined) return { status: 403, error: face };
  if (!f.intact || !f.keyPublished || !f.objectsLive) return { status: 403, error: CLAIM_ERRORS.denied };
  return accepted(f, role);
};

/**
 * The outcome through a `jwks` mount. Differences from TokenReview, each documented:
 * - deleted objects are not seen (docs/security.md, "What each mode can and cannot see");
 * - legacy Secret tokens (no `exp`) are refused (same table);
 * - a key is trusted while the mount holds it: one removed from the issuer's set until the next
 *   refresh, and a token without `kid` (legacy) is checked only against the keys held
 *   (docs/kubernetes.md, "The jwks mode instead of TokenReview").
 */
export const expectJwks = (f: LoginFacts): ExpectedLogin => {
  const role: Role = ROLES[f.role];
  const face = faceRefusal(f, role);
  if (face !== undefined) return { status: 403, error: face };
  const kid = str(f.header['kid']) ?? '';
  // A kid the mount does not hold makes it fetch the set again (cooldown 0 in the test).
  const keyUsable = f.keyHeldByJwks || (kid !== '' && f.keyPublished);
  if (!f.intact || !keyUsable) return { status: 403, error: CLAIM_ERRORS.denied };
  if (num(f.payload['exp']) === undefined) return { status: 403, error: CLAIM_ERRORS.noExp };
  return accepted(f, role);
};
