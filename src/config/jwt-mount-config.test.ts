import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mountDoc, parseDoc, problemsOf, TEST_CERT } from './test-support.js';
import type { JwtMountConfig } from './types.js';

const PUBLIC_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .publicKey.export({ type: 'spki', format: 'pem' })
  .toString();

const pem = (key: KeyObject) => key.export({ type: 'spki', format: 'pem' }).toString();
const SMALL_RSA_PEM = pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey);
const K256_PEM = pem(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey);
const ED25519_PEM = pem(generateKeyPairSync('ed25519').publicKey);
const ED448_PEM = pem(generateKeyPairSync('ed448').publicKey);

const role = (over: Record<string, unknown> = {}) => ({
  user_claim: 'sub',
  bound_audiences: ['vault'],
  ...over,
});
const jwtMount = (over: Record<string, unknown> = {}, roles: Record<string, unknown> = { ci: role() }) => ({
  type: 'jwt',
  oidc_discovery_url: 'https://issuer.example',
  roles,
  ...over,
});
const doc = (mount: Record<string, unknown>) => ({ auth: { jwt: mount } });
const parsed = (mount: Record<string, unknown>) => parseDoc(doc(mount)).mounts.get('jwt') as JwtMountConfig;
const messages = (mount: Record<string, unknown>) =>
  problemsOf(doc(mount)).map((p) => `${p.path}: ${p.message}`);

describe('a jwt mount in authgate.yaml', () => {
  it("takes Vault's defaults: every signing algorithm, its leeways, string bound claims", () => {
    const m = parsed(jwtMount());
    expect(m.type).toBe('jwt');
    expect(m.keys.source).toEqual({ kind: 'oidc-discovery', url: 'https://issuer.example' });
    // hashicorp/cap's ten, as Vault's JWT method accepts when jwt_supported_algs is not set.
    expect(m.allowedAlgorithms).toEqual([
      ...['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'],
      'EdDSA',
    ]);
    expect(m.allowedAlgorithmsAsSet).toEqual([]);
    expect(parsed(jwtMount({ jwt_supported_algs: ['EdDSA'] })).allowedAlgorithmsAsSet).toEqual(['EdDSA']);
    expect(m.roles.get('ci')).toMatchObject({
      roleType: 'jwt',
      boundClaimsType: 'string',
      clockSkewLeewaySeconds: 60,
      expirationLeewaySeconds: 150,
      notBeforeLeewaySeconds: 150,
      tokenType: 'default',
    });
  });

  it('reads a leeway of 0 as the default and -1 as none', () => {
    const r = parsed(
      jwtMount({}, { ci: role({ clock_skew_leeway: -1, expiration_leeway: 0, not_before_leeway: '30s' }) }),
    ).roles.get('ci');
    expect(r).toMatchObject({
      clockSkewLeewaySeconds: 0,
      expirationLeewaySeconds: 150,
      notBeforeLeewaySeconds: 30,
      // As Vault keeps them, for a role read.
      leewaysAsSet: { clockSkew: -1, expiration: 0, notBefore: 30 },
    });
  });

  it("takes a pointer user claim that is no pointer, as Vault's getClaim reads it by name", () => {
    expect(
      messages(jwtMount({}, { ci: role({ user_claim: 'sub', user_claim_json_pointer: true }) })),
    ).toEqual([]);
  });

  it('turns PEM keys into a key set without kids, Ed25519 ones too', () => {
    const m = parsed(
      jwtMount({ oidc_discovery_url: undefined, jwt_validation_pubkeys: [PUBLIC_PEM, ED25519_PEM] }),
    );
    expect(m.keys.source.kind).toBe('keys');
    const keys = m.keys.source.kind === 'keys' ? m.keys.source.keys : [];
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(keys[1]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(keys.some((k) => 'kid' in k)).toBe(false);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'no key source',
      jwtMount({ oidc_discovery_url: undefined }),
      "auth.jwt: exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set",
    ],
    [
      'two key sources',
      jwtMount({ jwks_url: 'https://issuer.example/keys' }),
      "auth.jwt: exactly one of 'jwt_validation_pubkeys', 'jwks_url' or 'oidc_discovery_url' must be set",
    ],
    [
      'plain http to a remote issuer',
      jwtMount({ oidc_discovery_url: 'http://issuer.example' }),
      'auth.jwt.oidc_discovery_url: plain HTTP to issuer.example is refused',
    ],
    [
      'a CA that is no certificate',
      jwtMount({ oidc_discovery_ca_pem: 'nope' }),
      'auth.jwt.oidc_discovery_ca_pem: holds no PEM certificate',
    ],
    [
      'a CA for the source not set',
      jwtMount({ jwks_ca_pem: TEST_CERT }),
      'auth.jwt.jwks_ca_pem: is for jwks_url, which is not set',
    ],
    [
      'a key that is not PEM',
      jwtMount({ oidc_discovery_url: undefined, jwt_validation_pubkeys: ['nope'] }),
      'auth.jwt.jwt_validation_pubkeys.0: error parsing public key',
    ],
    [
      'a private key',
      jwtMount({
        oidc_discovery_url: undefined,
        jwt_validation_pubkeys: ['-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----'],
      }),
      'auth.jwt.jwt_validation_pubkeys.0: is a private key',
    ],
    [
      'an unknown default role',
      jwtMount({ default_role: 'nope' }),
      'auth.jwt.default_role: names no role of this mount',
    ],
    [
      'a role without a bound constraint',
      jwtMount({}, { ci: { user_claim: 'sub' } }),
      'auth.jwt.roles.ci: must have at least one bound constraint when creating/updating a role',
    ],
    [
      'a role without a user claim',
      jwtMount({}, { ci: { bound_subject: 'x' } }),
      'auth.jwt.roles.ci.user_claim: is required',
    ],
    [
      'a mapping onto role',
      jwtMount({}, { ci: role({ claim_mappings: { team: 'role' } }) }),
      'auth.jwt.roles.ci.claim_mappings.team: metadata key "role" is reserved and may not be a mapping destination',
    ],
    [
      'two claims onto one key',
      jwtMount({}, { ci: role({ claim_mappings: { a: 'x', b: 'x' } }) }),
      'auth.jwt.roles.ci.claim_mappings: multiple keys are mapped to metadata key "x"',
    ],
    [
      'a glob that is not a string',
      jwtMount({}, { ci: role({ bound_claims_type: 'glob', bound_claims: { n: 1 } }) }),
      'auth.jwt.roles.ci.bound_claims.n: claim is not a string',
    ],
    [
      'a bad JSON pointer',
      jwtMount({}, { ci: role({ bound_claims: { '/a~2': 'x' } }) }),
      'auth.jwt.roles.ci.bound_claims: "/a~2" is not a JSON pointer',
    ],
    [
      'a mapping onto __proto__',
      jwtMount({}, { ci: role({ claim_mappings: { team: '__proto__' } }) }),
      'auth.jwt.roles.ci.claim_mappings.team: metadata key "__proto__" is reserved',
    ],
    [
      'an RSA key under 2048 bits',
      jwtMount({ oidc_discovery_url: undefined, jwt_validation_pubkeys: [SMALL_RSA_PEM] }),
      'auth.jwt.jwt_validation_pubkeys.0: is an RSA key of 1024 bits: at least 2048 are required',
    ],
    [
      'an EC key on a curve no ES* algorithm uses',
      jwtMount({ oidc_discovery_url: undefined, jwt_validation_pubkeys: [K256_PEM] }),
      'auth.jwt.jwt_validation_pubkeys.0: is an EC key on secp256k1: expected P-256, P-384 or P-521',
    ],
    [
      'an Ed448 key (EdDSA is Ed25519 only, as go-jose has it for Vault)',
      jwtMount({ oidc_discovery_url: undefined, jwt_validation_pubkeys: [ED448_PEM] }),
      'auth.jwt.jwt_validation_pubkeys.0: is a key of type ed448: expected an RSA, EC or Ed25519 public key',
    ],
    [
      'EdDSA on a kubernetes mount (allowed_algorithms is the nine of RS*, ES*, PS*)',
      mountDoc({ allowed_algorithms: ['EdDSA'] }),
      'auth.jwt.allowed_algorithms.0: expected one of RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512 (never none or HS*)',
    ],
    [
      'an algorithm no JWS verifier should accept',
      jwtMount({ jwt_supported_algs: ['HS256'] }),
      'auth.jwt.jwt_supported_algs.0: expected one of RS256, RS384, RS512, ES256, ES384, ES512, PS256, PS384, PS512, EdDSA (never none or HS*)',
    ],
    ['an oidc role', jwtMount({}, { ci: role({ role_type: 'oidc' }) }), 'auth.jwt.roles.ci.role_type'],
    [
      'a leeway past 300 s',
      jwtMount({}, { ci: role({ clock_skew_leeway: '10m' }) }),
      'auth.jwt.roles.ci.clock_skew_leeway: must be 300s at most',
    ],
    [
      'a kubernetes setting',
      jwtMount({ kubernetes_host: 'https://x' }),
      'auth.jwt.kubernetes_host: unknown field',
    ],
    [
      'a type that names no mount',
      jwtMount({ type: 'ldap' }),
      'auth.jwt.type: expected "kubernetes" or "jwt"',
    ],
  ])('refuses %s', (_what, mount, message) => {
    expect(messages(mount).some((m) => m.startsWith(message))).toBe(true);
  });

  it('reports a mistake in a kubernetes mount field by field, as before jwt mounts existed', () => {
    const problems = problemsOf({
      auth: {
        kubernetes: {
          type: 'kubernetes',
          verification: 'tokenreview',
          kubernetes_host: 'https://h',
          roles: { r: { audience: 'vault' } },
        },
      },
    });
    expect(problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      'auth.kubernetes.roles.r.bound_service_account_names: is required',
    ]);
  });
});

describe('claims named as Object properties', () => {
  it('keeps a bound claim or mapping named __proto__ as a claim, never as a prototype', () => {
    const yaml = [
      'auth:',
      '  jwt:',
      '    type: jwt',
      '    jwks_url: https://issuer.example/keys',
      '    roles:',
      '      ci:',
      '        user_claim: sub',
      '        bound_claims: {__proto__: x}',
      '        claim_mappings: {__proto__: proto}',
    ].join('\n');
    const r = (parseDoc(yaml).mounts.get('jwt') as JwtMountConfig).roles.get('ci');
    expect(Object.hasOwn(r?.boundClaims ?? {}, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(r?.boundClaims)).toBe(Object.prototype);
    expect(Object.entries(r?.claimMappings ?? {})).toEqual([['__proto__', 'proto']]);
  });
});
