import { X509Certificate, createPublicKey, type JsonWebKey } from 'node:crypto';
import { isJsonPointer } from '../lib/json-pointer.js';
import { SIGNING_ALGORITHMS } from './algorithms.js';
import { durationSeconds, LEEWAY_BOUNDS } from './durations.js';
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
const checkCaPem = (pem: string | undefined, path: string, problem: Problem): string | undefined => {
  if (pem === undefined) return undefined;
  try {
    new X509Certificate(pem);
  } catch (err) {
    problem(path, `holds no PEM certificate: ${(err as Error).message}`);
    return undefined;
  }
  return pem;
};

/**
 * `jwt_validation_pubkeys` as a key set: each PEM an RSA or EC public key (or a certificate's),
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
      if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') {
        problem(path, `is a ${String(key.asymmetricKeyType)} key: expected an RSA or EC public key`);
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
 * duration (at most 300 s, as a kubernetes mount's `leeway`).
 */
const leewaySeconds = (
  value: string | number | undefined,
  path: string,
  fallback: number,
  problem: Problem,
): number => {
  if (value === -1) return 0;
  const seconds = durationSeconds(problem)(value, path, fallback, LEEWAY_BOUNDS);
  return seconds === 0 ? fallback : seconds;
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
    if (key === 'role')
      problem(
        `${rp}.claim_mappings.${claim}`,
        'metadata key "role" is reserved and may not be a mapping destination',
      );
    if (targets.has(key))
      problem(`${rp}.claim_mappings`, `multiple keys are mapped to metadata key "${key}"`);
    targets.add(key);
    claimMappings.push([claim, key]);
  }
  const userClaimJsonPointer = r.user_claim_json_pointer === true;
  if (userClaimJsonPointer && !isJsonPointer(r.user_claim))
    problem(`${rp}.user_claim`, 'is not a JSON pointer (user_claim_json_pointer is set)');
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
    clockSkewLeewaySeconds: leewaySeconds(
      r.clock_skew_leeway,
      `${rp}.clock_skew_leeway`,
      JWT_LEEWAY_DEFAULTS.clockSkewSeconds,
      problem,
    ),
    expirationLeewaySeconds: leewaySeconds(
      r.expiration_leeway,
      `${rp}.expiration_leeway`,
      JWT_LEEWAY_DEFAULTS.expirationSeconds,
      problem,
    ),
    notBeforeLeewaySeconds: leewaySeconds(
      r.not_before_leeway,
      `${rp}.not_before_leeway`,
      JWT_LEEWAY_DEFAULTS.notBeforeSeconds,
      problem,
    ),
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
    allowedAlgorithms: m.jwt_supported_algs ?? [...SIGNING_ALGORITHMS],
    defaultRole,
    ...ttls,
    roles,
  };
};
