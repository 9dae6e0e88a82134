import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { isJsonPointer } from '../lib/json-pointer.js';
import { JWT_SIGNING_ALGORITHMS } from './algorithms.js';
import { durationSeconds, LEEWAY_BOUNDS } from './durations.js';
import { checkCaText } from './files.js';
import { MOUNT_DEFAULTS, normalizeMountTtls, normalizeTokenRole } from './mount-config.js';
import type { JwtMountDocument, JwtRoleDocument } from './jwt-schema.js';
import type { ClaimValue, JwksConfig, JwtMountConfig, JwtRoleConfig, Problem } from './types.js';
import { checkTrustUrl } from './urls.js';

/** Vault's JWT method defaults (hashicorp/cap jwt.go): go-jose's 60 s skew, 150 s for the others. */
export const JWT_LEEWAY_DEFAULTS = {
  clockSkewSeconds: 60,
  expirationSeconds: 150,
  notBeforeSeconds: 150,
} as const;

/** A PEM CA given inline (`oidc_discovery_ca_pem`, `jwks_ca_pem`), checked to hold a certificate. */
const checkCaPem = (pem: string | undefined, path: string, problem: Problem): string | undefined =>
  pem === undefined ? undefined : checkCaText(pem, path, problem);

/** The curves a key set's EC keys may be on (ES256, ES384, ES512), by Node's names. */
const EC_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

/**
 * Why a public key can sign no token authgate accepts, as the key store would skip it at every
 * load (then every login would be refused): not RSA, EC or Ed25519, an RSA key under 2048 bits,
 * or an EC key on a curve no ES* algorithm uses. Undefined when it is usable.
 */
const unusableKey = (key: KeyObject): string | undefined => {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa')
    return (details.modulusLength ?? 0) < 2048
      ? `is an RSA key of ${details.modulusLength ?? 0} bits: at least 2048 are required`
      : undefined;
  if (key.asymmetricKeyType === 'ec')
    return EC_CURVES.has(details.namedCurve ?? '')
      ? undefined
      : `is an EC key on ${details.namedCurve ?? 'an unknown curve'}: expected P-256, P-384 or P-521`;
  if (key.asymmetricKeyType === 'ed25519') return undefined;
  return `is a key of type ${String(key.asymmetricKeyType)}: expected an RSA, EC or Ed25519 public key`;
};

/**
 * `jwt_validation_pubkeys` as a key set: each PEM an RSA, EC or Ed25519 public key (or a certificate's),
 * published without a `kid`, so that it is tried whatever kid a token names, as Vault does.
 */
const pemKeys = (pems: readonly string[], at: string, problem: Problem): JsonWebKey[] =>
  pems.flatMap((pem, index) => {
    const path = `${at}.jwt_validation_pubkeys.${index}`;
    // A private key here is a leak into the config file; createPublicKey would quietly accept it.
    if (pem.includes('PRIVATE KEY')) {
      problem(path, 'is a private key: give the public key (the private key never leaves the issuer)');
      return [];
    }
    try {
      const key = createPublicKey(pem);
      const why = unusableKey(key);
      if (why !== undefined) {
        problem(path, why);
        return [];
      }
      return [key.export({ format: 'jwk' })];
    } catch (err) {
      problem(path, `error parsing public key: ${(err as Error).message}`);
      return [];
    }
  });

/**
 * A leeway of a jwt role as Vault reads it: absent or 0 = `fallback`, -1 = none, else the
 * duration (at most 300 s, as a kubernetes mount's `leeway`); and as Vault keeps it (0 when
 * absent), which a role read answers.
 */
const leeway = (
  value: string | number | undefined,
  path: string,
  fallback: number,
  problem: Problem,
): { seconds: number; asSet: number } => {
  if (value === -1) return { seconds: 0, asSet: -1 };
  const asSet = durationSeconds(problem)(value, path, 0, LEEWAY_BOUNDS);
  return { seconds: asSet === 0 ? fallback : asSet, asSet };
};

const asList = (value: ClaimValue | ClaimValue[]): ClaimValue[] => (Array.isArray(value) ? value : [value]);

const normalizeJwtRole = (
  r: JwtRoleDocument,
  rp: string,
  maxLease: number,
  problem: Problem,
  warnings: string[],
): Omit<JwtRoleConfig, 'name'> => {
  const token = normalizeTokenRole(r, rp, maxLease, problem, warnings);
  const boundAudiences = r.bound_audiences ?? [];
  // Entries, made into objects by Object.fromEntries: a claim named `__proto__` is then a claim,
  // where an assignment would set the object's prototype and drop the binding unseen.
  const boundClaims: Array<[string, ClaimValue[]]> = [];
  const boundClaimsType = r.bound_claims_type ?? 'string';
  for (const [claim, value] of Object.entries(r.bound_claims ?? {})) {
    const values = asList(value);
    if (claim.startsWith('/') && !isJsonPointer(claim))
      problem(`${rp}.bound_claims`, `${JSON.stringify(claim)} is not a JSON pointer`);
    if (boundClaimsType === 'glob' && values.some((v) => typeof v !== 'string'))
      problem(`${rp}.bound_claims.${claim}`, 'claim is not a string: a glob is matched against strings only');
    boundClaims.push([claim, values]);
  }
  if (
    boundAudiences.length === 0 &&
    token.tokenBoundCidrs.length === 0 &&
    r.bound_subject === undefined &&
    boundClaims.length === 0
  ) {
    // Vault's rule: without one, any token of the issuer logs in with this role.
    problem(rp, 'must have at least one bound constraint when creating/updating a role');
  }
  const claimMappings: Array<[string, string]> = [];
  const targets = new Set<string>();
  for (const [claim, key] of Object.entries(r.claim_mappings ?? {})) {
    if (claim.startsWith('/') && !isJsonPointer(claim))
      problem(`${rp}.claim_mappings`, `${JSON.stringify(claim)} is not a JSON pointer`);
    // `__proto__` too: assigned as a metadata key, it would set a prototype and vanish.
    if (key === 'role' || key === '__proto__')
      problem(
        `${rp}.claim_mappings.${claim}`,
        `metadata key "${key}" is reserved and may not be a mapping destination`,
      );
    if (targets.has(key))
      problem(`${rp}.claim_mappings`, `multiple keys are mapped to metadata key "${key}"`);
    targets.add(key);
    claimMappings.push([claim, key]);
  }
  // Vault reads a pointer user claim as `getClaim` does: by its name first, so one that is no
  // pointer (`sub`) still works, and is accepted here as there.
  const userClaimJsonPointer = r.user_claim_json_pointer === true;
  const defaults = JWT_LEEWAY_DEFAULTS;
  const clockSkew = leeway(
    r.clock_skew_leeway,
    `${rp}.clock_skew_leeway`,
    defaults.clockSkewSeconds,
    problem,
  );
  const expiration = leeway(
    r.expiration_leeway,
    `${rp}.expiration_leeway`,
    defaults.expirationSeconds,
    problem,
  );
  const notBefore = leeway(
    r.not_before_leeway,
    `${rp}.not_before_leeway`,
    defaults.notBeforeSeconds,
    problem,
  );
  return {
    ...token,
    roleType: 'jwt',
    boundAudiences,
    boundSubject: r.bound_subject,
    boundClaims: Object.fromEntries(boundClaims),
    boundClaimsType,
    claimMappings: Object.fromEntries(claimMappings),
    userClaim: r.user_claim,
    userClaimJsonPointer,
    clockSkewLeewaySeconds: clockSkew.seconds,
    expirationLeewaySeconds: expiration.seconds,
    notBeforeLeewaySeconds: notBefore.seconds,
    leewaysAsSet: { clockSkew: clockSkew.asSet, expiration: expiration.asSet, notBefore: notBefore.asSet },
  };
};

/**
 * Normalizes one `auth.<mount>` of type jwt (Vault's JWT auth method): exactly one key source
 * (OIDC discovery, a JWKS URL or PEM keys), its URLs and CAs checked, and each role with Vault's
 * rules (a user claim, at least one bound constraint, claim mappings that do not collide).
 */
export const normalizeJwtMount = (
  mountPath: string,
  m: JwtMountDocument,
  at: string,
  problem: Problem,
  warnings: string[],
): JwtMountConfig => {
  const ttls = normalizeMountTtls(m, at, problem);
  const allowInsecureHttp = m.allow_insecure_http === true;
  const given = [m.jwt_validation_pubkeys, m.jwks_url, m.oidc_discovery_url].filter((s) => s !== undefined);
  if (given.length !== 1)
    problem(at, "exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set");
  if (m.oidc_discovery_ca_pem !== undefined && m.oidc_discovery_url === undefined)
    problem(`${at}.oidc_discovery_ca_pem`, 'is for oidc_discovery_url, which is not set');
  if (m.jwks_ca_pem !== undefined && m.jwks_url === undefined)
    problem(`${at}.jwks_ca_pem`, 'is for jwks_url, which is not set');
  for (const [key, url] of [
    ['jwks_url', m.jwks_url],
    ['oidc_discovery_url', m.oidc_discovery_url],
  ] as const) {
    if (url !== undefined) checkTrustUrl(url, `${at}.${key}`, allowInsecureHttp, problem, warnings);
  }
  const refresh = {
    cooldownMs: MOUNT_DEFAULTS.jwks.cooldownMs,
    maxAgeMs: MOUNT_DEFAULTS.jwks.maxAgeMs,
    timeoutMs: MOUNT_DEFAULTS.jwks.timeoutMs,
  };
  const keys: JwksConfig =
    m.oidc_discovery_url !== undefined
      ? {
          source: { kind: 'oidc-discovery', url: m.oidc_discovery_url },
          caCert: checkCaPem(m.oidc_discovery_ca_pem, `${at}.oidc_discovery_ca_pem`, problem),
          ...refresh,
        }
      : m.jwks_url !== undefined
        ? {
            source: { kind: 'url', url: m.jwks_url },
            caCert: checkCaPem(m.jwks_ca_pem, `${at}.jwks_ca_pem`, problem),
            ...refresh,
          }
        : {
            source: { kind: 'keys', keys: pemKeys(m.jwt_validation_pubkeys ?? [], at, problem) },
            caCert: undefined,
            ...refresh,
          };

  const roles = new Map<string, JwtRoleConfig>();
  for (const [name, r] of Object.entries(m.roles)) {
    const rp = `${at}.roles.${name}`;
    const lower = name.toLowerCase();
    if (roles.has(lower)) problem(rp, 'role names are case-insensitive; another role has the same name');
    roles.set(lower, { name: lower, ...normalizeJwtRole(r, rp, ttls.maxLeaseTtlSeconds, problem, warnings) });
  }
  const defaultRole = m.default_role?.toLowerCase();
  if (defaultRole !== undefined && !roles.has(defaultRole))
    problem(`${at}.default_role`, `names no role of this mount: ${JSON.stringify(m.default_role)}`);
  return {
    path: mountPath,
    type: 'jwt',
    description: m.description ?? '',
    allowInsecureHttp,
    keys,
    boundIssuer: m.bound_issuer,
    allowedAlgorithms: m.jwt_supported_algs ?? [...JWT_SIGNING_ALGORITHMS],
    allowedAlgorithmsAsSet: m.jwt_supported_algs ?? [],
    defaultRole,
    ...ttls,
    roles,
  };
};
