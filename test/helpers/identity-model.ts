import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  errors as joseErrors,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
} from 'jose';
import {
  NAMESPACES,
  SERVICE_ACCOUNTS,
  type Algorithm,
  type KeySpec,
  type ModelConfig,
  type RoleSpec,
} from './identity-model-inputs.js';

/*
 * The relying party of test/identity-model.test.ts, and what it expects of authgate: the
 * `identity` section a generated config becomes, the login roles that ask for tokens, and the
 * checks of the served documents (Vault's, and what a verifier needs).
 */

/** Login roles: all bound to every generated workload; each with the policies it is given. */
export const LOGIN_ROLES = Object.fromEntries(
  (['signer', 'narrow', 'reader'] as const).map((name) => [
    name,
    {
      bound_service_account_names: [...SERVICE_ACCOUNTS],
      bound_service_account_namespaces: [...NAMESPACES],
      audience: 'vault',
      token_policies: [`model-${name}`],
      token_ttl: '1h',
    },
  ]),
);

export const POLICIES = {
  'model-signer': { path: { 'identity/oidc/token/*': { capabilities: ['read'] } } },
  'model-narrow': { path: { 'identity/oidc/token/r0': { capabilities: ['read'] } } },
  'model-reader': { path: { 'secret/data/*': { capabilities: ['read'] } } },
};

/** The generated config as `authgate.yaml`'s `identity` section (durations in seconds). */
export const identitySection = (config: ModelConfig, issuer: string) => ({
  issuer,
  keys: Object.fromEntries(
    config.keys.map((k) => [
      k.name,
      {
        algorithm: k.algorithm,
        rotation_period: k.rotationPeriodSeconds,
        verification_ttl: k.verificationTtlSeconds,
      },
    ]),
  ),
  roles: Object.fromEntries(
    config.roles.map((r) => [r.name, { key: r.key, audience: r.audience, ttl: r.ttlSeconds }]),
  ),
});

export const keyOf = (config: ModelConfig, role: RoleSpec): KeySpec =>
  config.keys.find((k) => k.name === role.key) as KeySpec;

/**
 * The JWKS `max-age` authgate documents: the shortest rotation period or verification TTL of any
 * key (`default` is always configured by the generator), at most an hour. Vault bounds it the
 * same way (a random value up to that bound, hashicorp/vault#12414).
 */
export const expectedJwksMaxAge = (config: ModelConfig): number =>
  Math.min(3600, ...config.keys.flatMap((k) => [k.rotationPeriodSeconds, k.verificationTtlSeconds]));

/** The members a published key may have, by key type: public ones only. */
const PUBLIC_MEMBERS: Record<string, string[]> = {
  EC: ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'],
  OKP: ['alg', 'crv', 'kid', 'kty', 'use', 'x'],
  RSA: ['alg', 'e', 'kid', 'kty', 'n', 'use'],
};
const KEY_TYPE: Record<Algorithm, { kty: string; crv?: string }> = {
  ES256: { kty: 'EC', crv: 'P-256' },
  ES384: { kty: 'EC', crv: 'P-384' },
  ES512: { kty: 'EC', crv: 'P-521' },
  EdDSA: { kty: 'OKP', crv: 'Ed25519' },
  RS256: { kty: 'RSA' },
  RS384: { kty: 'RSA' },
  RS512: { kty: 'RSA' },
};
/** Members that would give a private key away (RFC 7518 §6.2.2, §6.3.2; `k` of a secret key). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * What is wrong with a served key set, as sentences (empty when nothing): every key has a `kid`
 * (its RFC 7638 thumbprint, unique in the set), `use: sig`, an algorithm some configured key
 * uses with the key type and curve that algorithm needs, and public members only.
 */
export const keySetProblems = async (set: JSONWebKeySet, config: ModelConfig): Promise<string[]> => {
  const problems: string[] = [];
  const algorithms = new Set(config.keys.map((k) => k.algorithm));
  const kids = new Set<string>();
  for (const jwk of set.keys as JWK[]) {
    const at = `key ${jwk.kid ?? '(no kid)'}`;
    if (typeof jwk.kid !== 'string' || jwk.kid === '') problems.push(`${at}: no kid`);
    else if (kids.has(jwk.kid)) problems.push(`${at}: kid served twice`);
    else kids.add(jwk.kid);
    for (const m of PRIVATE_MEMBERS) if (m in jwk) problems.push(`${at}: private member "${m}"`);
    const members = Object.keys(jwk).sort();
    const allowed = PUBLIC_MEMBERS[jwk.kty ?? ''];
    if (allowed === undefined || members.join() !== allowed.join())
      problems.push(`${at}: members ${members.join()}`);
    if (jwk.use !== 'sig') problems.push(`${at}: use ${String(jwk.use)}`);
    if (!algorithms.has(jwk.alg as Algorithm)) problems.push(`${at}: alg ${String(jwk.alg)} not configured`);
    else {
      const want = KEY_TYPE[jwk.alg as Algorithm];
      if (jwk.kty !== want.kty || jwk.crv !== want.crv)
        problems.push(`${at}: ${jwk.kty}/${jwk.crv} for ${jwk.alg}`);
    }
    if (jwk.kid !== undefined && (await calculateJwkThumbprint(jwk)) !== jwk.kid)
      problems.push(`${at}: kid is not the key's thumbprint`);
  }
  return problems;
};

/** A GET (or HEAD) over real HTTP, as a verifier makes it. */
export const fetchDocument = async (
  url: string,
  method: 'GET' | 'HEAD' = 'GET',
): Promise<{ status: number; cacheControl: string | null; contentType: string | null; text: string }> => {
  const res = await fetch(url, { method });
  return {
    status: res.status,
    cacheControl: res.headers.get('cache-control'),
    contentType: res.headers.get('content-type'),
    text: await res.text(),
  };
};

/** What a JWT verification settles to: 'valid' or jose's error code. */
export const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'valid',
    (err: unknown) => (err instanceof joseErrors.JOSEError ? err.code : `not a jose error: ${String(err)}`),
  );

export type Verifier = {
  /** `jwtVerify` as a relying party calls it, at `nowMs`, with `clockToleranceSeconds` of skew. */
  verify(jwt: string, audience: string, nowMs: number, clockToleranceSeconds?: number): Promise<string>;
};

/** jose with `createRemoteJWKSet` over `jwksUri`: fetches once, on first use. */
export const remoteVerifier = (jwksUri: string, issuer: string): Verifier => {
  const keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: 5000 });
  return {
    verify: (jwt, audience, nowMs, clockToleranceSeconds = 0) =>
      outcome(
        jwtVerify(jwt, keys, {
          issuer,
          audience,
          currentDate: new Date(nowMs),
          clockTolerance: clockToleranceSeconds,
        }),
      ),
  };
};

/** jose over a key set fetched earlier (a verifier that caches the JWKS for its `max-age`). */
export const snapshotVerifier = (set: JSONWebKeySet, issuer: string): Verifier => {
  const keys = createLocalJWKSet(set);
  return {
    verify: (jwt, audience, nowMs) =>
      outcome(jwtVerify(jwt, keys, { issuer, audience, currentDate: new Date(nowMs) })),
  };
};
