import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountAccessor } from '../src/auth/index.js';
import { createFakeClock } from '../src/lib/clock.js';
import { readEntries, recordSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, callWith, startHarness, withPayload, type Harness } from './helpers/harness.js';
import { json, startKeyServer, type KeyServer } from './helpers/key-server.js';

/*
 * Vault's JWT auth method (`type: jwt` mounts) end to end through the HTTP API: tokens of an
 * issuer that is not a cluster (its discovery document and JWKS on a key server, or its PEM key
 * given in the config), and the cluster's own service-account tokens matched with bound claims.
 */

const NOW_MS = Date.UTC(2026, 11, 1, 12, 0, 0);
const clock = createFakeClock(NOW_MS);
const nowS = () => Math.floor(clock.nowMs() / 1000);

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const otherEd = generateKeyPairSync('ed25519');
let issuer: KeyServer;

/** A token of the test issuer: `claims` over a valid default (iss, sub, aud, iat, exp). */
const sign = async (
  claims: Record<string, unknown> = {},
  key: KeyObject = rsa.privateKey,
  kid = 'k1',
  alg = 'RS256',
) => {
  const jwt = await new SignJWT({
    iss: issuer.base,
    sub: 'ci-runner-7',
    aud: 'authgate',
    iat: nowS(),
    exp: nowS() + 600,
    repository: 'acme/web',
    ref: 'refs/heads/main',
    groups: ['dev', 'ops'],
    run: 42,
    ...claims,
  })
    .setProtectedHeader({ alg, kid })
    .sign(key);
  recordSecrets(jwt);
  return jwt;
};

const ROLES = {
  ci: {
    role_type: 'jwt',
    bound_audiences: ['authgate'],
    user_claim: 'sub',
    bound_claims: { repository: 'acme/*', ref: ['refs/heads/main', 'refs/heads/release'] },
    bound_claims_type: 'glob',
    claim_mappings: { repository: 'repo', run: 'run_id' },
    token_policies: ['ci'],
    token_ttl: '10m',
  },
  exact: {
    bound_audiences: ['authgate'],
    user_claim: 'sub',
    bound_subject: 'ci-runner-7',
    bound_claims: { groups: 'ops', run: 42 },
  },
  open: { user_claim: 'sub', bound_subject: 'ci-runner-7' },
  byrun: { user_claim: 'run', bound_audiences: ['authgate'] },
};

let h: Harness;
beforeAll(async () => {
  issuer = await startKeyServer();
  const jwk = { ...(await exportJWK(rsa.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  const edJwk = { ...(await exportJWK(ed.publicKey)), kid: 'e1', alg: 'EdDSA', use: 'sig' };
  // An OKP key that signs nothing (X25519 is key agreement): skipped, the set still loads.
  const xJwk = { ...generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' }), kid: 'x1' };
  issuer.handler = (req, res, base) => {
    if (req.url === '/.well-known/openid-configuration')
      return json({ issuer: base, jwks_uri: `${base}/keys` })(req, res, base);
    if (req.url === '/keys') return json({ keys: [jwk, edJwk, xJwk] })(req, res, base);
    res.writeHead(404).end();
  };
  h = await startHarness({
    clock,
    moreMounts: (cluster) => ({
      jwt: { type: 'jwt', oidc_discovery_url: issuer.base, bound_issuer: issuer.base, roles: ROLES },
      'jwt-rs256': {
        type: 'jwt',
        oidc_discovery_url: issuer.base,
        jwt_supported_algs: ['RS256'],
        roles: ROLES,
      },
      'jwt-pem': {
        type: 'jwt',
        jwt_validation_pubkeys: [
          rsa.publicKey.export({ type: 'spki', format: 'pem' }),
          ed.publicKey.export({ type: 'spki', format: 'pem' }),
        ],
        default_role: 'exact',
        roles: ROLES,
      },
      // The cluster's service-account tokens, through Vault's JWT method as its docs set it up.
      'jwt-k8s': {
        type: 'jwt',
        jwks_url: `${cluster.url}/openid/v1/jwks`,
        bound_issuer: cluster.issuer,
        roles: {
          apps: {
            bound_audiences: ['vault'],
            user_claim: '/kubernetes.io/serviceaccount/name',
            user_claim_json_pointer: true,
            bound_claims: { '/kubernetes.io/namespace': ['test', 'staging'] },
            claim_mappings: {
              '/kubernetes.io/namespace': 'service_account_namespace',
              '/kubernetes.io/serviceaccount/name': 'service_account_name',
            },
            token_policies: ['apps'],
          },
        },
      },
    }),
    config: {
      policies: {
        apps: {
          path: {
            'secret/data/{{identity.namespace}}/*': { capabilities: ['read'] },
            // The long form names the mount by the accessor `sys/auth` lists for it (auth_jwt_…).
            [`secret/data/long/{{identity.entity.aliases.${mountAccessor('jwt', 'jwt-k8s')}.metadata.service_account_namespace}}/*`]:
              { capabilities: ['read'] },
          },
        },
      },
    },
  });
});
afterAll(async () => {
  await h?.close();
  await issuer?.close();
});

const call = (method: 'GET' | 'POST', url: string, token: string, body?: string) =>
  callWith(h, method, url, token, body);

type Auth = {
  client_token: string;
  policies: string[];
  metadata: Record<string, string>;
  lease_duration: number;
};
const authOf = (r: { json: Record<string, unknown> }) => r.json['auth'] as Auth;

describe('a jwt mount with OIDC discovery', () => {
  it("logs in with Vault's answer: the user claim names the token, claim mappings fill its metadata", async () => {
    const r = await h.login('jwt', { role: 'ci', jwt: await sign() });
    expect(r.status).toBe(200);
    expect(r.json['mount_type']).toBe('jwt');
    const auth = authOf(r);
    expect(auth.policies).toEqual(['ci', 'default']);
    expect(auth.metadata).toEqual({ role: 'ci', repo: 'acme/web', run_id: '42' });
    expect(auth.lease_duration).toBe(600);
    const self = await call('GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect((self.json?.['data'] as Record<string, unknown>)['display_name']).toBe('jwt-ci-runner-7');
  });

  it('matches a list claim on any element, and compares numbers as numbers', async () => {
    expect((await h.login('jwt', { role: 'exact', jwt: await sign() })).status).toBe(200);
    const r = await h.login('jwt', { role: 'exact', jwt: await sign({ run: '42' }) });
    expect(r).toEqual({
      status: 400,
      json: {
        errors: ['error validating claims: claim "run" does not match any associated bound claim values'],
      },
    });
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'another audience',
      { aud: 'other' },
      'error validating token: invalid audience (aud) claim: audience claim does not match any expected audience',
    ],
    ['another issuer', { iss: 'https://evil.example' }, 'error validating token: invalid issuer (iss) claim'],
    [
      'an expired token',
      { exp: nowS() - 61, iat: nowS() - 700 },
      'error validating token: invalid expiration time (exp) claim: token is expired',
    ],
    [
      'a token not yet valid',
      { nbf: nowS() + 61 },
      'error validating token: invalid not before (nbf) claim: token not yet valid',
    ],
    [
      'no time claims',
      { exp: undefined, iat: undefined },
      'error validating token: no issued at (iat), not before (nbf), or expiration time (exp) claims in token',
    ],
    [
      'a repository outside the glob',
      { repository: 'evil/web' },
      'error validating claims: claim "repository" does not match any associated bound claim values',
    ],
    ['a missing bound claim', { ref: undefined }, 'error validating claims: claim "ref" is missing'],
    [
      'a subject that is not a string',
      { sub: 7 },
      'error validating token: malformed claims: "sub" is not a string',
    ],
    [
      'an issuer that is not a string',
      { iss: 7 },
      'error validating token: malformed claims: "iss" is not a string',
    ],
    [
      'an audience list holding a number',
      { aud: ['authgate', 5] },
      'error validating token: malformed claims: "aud" is not a string or a list of strings',
    ],
    ['no user claim', { sub: undefined }, 'claim "sub" not found in token'],
    [
      'a mapped claim that is not a scalar',
      { repository: undefined, run: { a: 1 } },
      "error converting claim 'run' to string",
    ],
  ])("refuses %s with Vault's 400", async (_what, claims, message) => {
    const r = await h.login('jwt', { role: 'ci', jwt: await sign(claims) });
    expect(r).toEqual({ status: 400, json: { errors: [message] } });
  });

  it('refuses a user claim that is not a string', async () => {
    expect(await h.login('jwt', { role: 'byrun', jwt: await sign() })).toEqual({
      status: 400,
      json: { errors: ['claim "run" could not be converted to string'] },
    });
  });

  it('refuses a token for an audience when the role binds none', async () => {
    const r = await h.login('jwt', { role: 'open', jwt: await sign() });
    expect(r).toEqual({
      status: 400,
      json: { errors: ['audience claim found in JWT but no audiences bound to the role'] },
    });
    expect((await h.login('jwt', { role: 'open', jwt: await sign({ aud: undefined }) })).status).toBe(200);
  });

  it('refuses a forged signature, another key, and alg none, before reading any claim', async () => {
    const good = await sign();
    const tampered = withPayload(good, (p) => {
      p['sub'] = 'admin';
    });
    for (const jwt of [tampered, await sign({}, other.privateKey)]) {
      expect(await h.login('jwt', { role: 'ci', jwt })).toEqual({
        status: 400,
        json: {
          errors: [
            'error validating token: error verifying token signature: failed to verify id token signature',
          ],
        },
      });
    }
    // A forged token that also fails a claim is refused for its signature: no claim is read first.
    const forgedAndExpired = withPayload(good, (p) => {
      p['exp'] = nowS() - 3600;
    });
    expect((await h.login('jwt', { role: 'ci', jwt: forgedAndExpired })).json.errors).toEqual([
      'error validating token: error verifying token signature: failed to verify id token signature',
    ]);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${good.split('.')[1]}.`;
    const r = await h.login('jwt', { role: 'ci', jwt: `${none}x` });
    expect(r.status).toBe(400);
    expect(r.json.errors?.[0]).toMatch(/^error validating token: invalid algorithm \(alg\) header parameter/);
    expect((await h.login('jwt', { role: 'ci', jwt: 'not.a.jwt' })).status).toBe(400);
  });

  it("answers Vault's messages for a missing role, an unknown role and a missing token", async () => {
    const jwt = await sign();
    expect(await h.login('jwt', { jwt })).toEqual({ status: 400, json: { errors: ['missing role'] } });
    expect(await h.login('jwt', { role: 'nope', jwt })).toEqual({
      status: 400,
      json: { errors: ['role "nope" could not be found'] },
    });
    expect(await h.login('jwt', { role: 'ci' })).toEqual({
      status: 400,
      json: { errors: ['missing token'] },
    });
    // An empty or null role is no role: the mount's default role, where it has one.
    for (const role of ['', null]) {
      const r = await h.login('jwt-pem', { role, jwt });
      expect(r.status).toBe(200);
      expect(authOf(r).metadata).toEqual({ role: 'exact' });
    }
  });

  it('audits a refusal as denied, with its reason, and never the token', async () => {
    const jwt = await sign({ aud: 'other' });
    await h.login('jwt', { role: 'ci', jwt });
    const entries = readEntries(h.auditFile!);
    const refused = entries
      .filter((e) => e.type === 'response' && e.request?.path === 'auth/jwt/login')
      .at(-1);
    expect(refused?.authgate).toMatchObject({ outcome: 'denied', reason: 'audience_mismatch', status: 400 });
    expect(JSON.stringify(entries)).not.toContain(jwt);
  });

  it('reads its role and config in the shapes of Vault’s JWT plugin', async () => {
    const role = await call('GET', '/v1/auth/jwt/role/ci', ADMIN_TOKEN);
    expect(role.status).toBe(200);
    expect(role.json?.['data']).toMatchObject({
      role_type: 'jwt',
      bound_audiences: ['authgate'],
      user_claim: 'sub',
      bound_claims_type: 'glob',
      bound_claims: { repository: ['acme/*'], ref: ['refs/heads/main', 'refs/heads/release'] },
      claim_mappings: { repository: 'repo', run: 'run_id' },
      token_policies: ['ci'],
      token_ttl: 600,
      // As Vault echoes them: 0 for a leeway left out (the default applies).
      clock_skew_leeway: 0,
      expiration_leeway: 0,
      not_before_leeway: 0,
    });
    const config = await call('GET', '/v1/auth/jwt/config', ADMIN_TOKEN);
    expect(config.json?.['data']).toMatchObject({
      oidc_discovery_url: issuer.base,
      bound_issuer: issuer.base,
      jwks_url: '',
      jwt_validation_pubkeys: [],
    });
    const list = await call('GET', '/v1/sys/auth', ADMIN_TOKEN);
    expect((list.json?.['data'] as Record<string, { type: string }>)['jwt/']?.type).toBe('jwt');
  });
});

describe('a jwt mount with PEM keys', () => {
  it('verifies with the given key whatever the kid, and uses the default role', async () => {
    const r = await h.login('jwt-pem', { jwt: await sign({}, rsa.privateKey, 'some-other-kid') });
    expect(r.status).toBe(200);
    expect(authOf(r).metadata).toEqual({ role: 'exact' });
  });

  it("refuses another key's token in Vault's words", async () => {
    const r = await h.login('jwt-pem', { jwt: await sign({}, other.privateKey) });
    expect(r).toEqual({
      status: 400,
      json: {
        errors: [
          'error validating token: error verifying token signature: no known key successfully validated the token signature',
        ],
      },
    });
  });
});

describe('EdDSA (Ed25519) tokens, which Vault’s JWT method accepts unless jwt_supported_algs leaves them out', () => {
  const SIGNATURE_FAILED =
    'error validating token: error verifying token signature: failed to verify id token signature';

  it('log in when the key set publishes the Ed25519 key', async () => {
    const r = await h.login('jwt', { role: 'ci', jwt: await sign({}, ed.privateKey, 'e1', 'EdDSA') });
    expect(r.status).toBe(200);
    expect(authOf(r).metadata).toEqual({ role: 'ci', repo: 'acme/web', run_id: '42' });
  });

  it('are refused signed by another Ed25519 key, or naming a key of another family', async () => {
    for (const jwt of [
      await sign({}, otherEd.privateKey, 'e1', 'EdDSA'),
      // The RSA key's kid with alg EdDSA, and the Ed25519 key's kid with alg RS256: no key fits.
      await sign({}, ed.privateKey, 'k1', 'EdDSA'),
      await sign({}, rsa.privateKey, 'e1'),
      // The X25519 member was skipped: its kid names no key.
      await sign({}, ed.privateKey, 'x1', 'EdDSA'),
    ]) {
      expect(await h.login('jwt', { role: 'ci', jwt })).toEqual({
        status: 400,
        json: { errors: [SIGNATURE_FAILED] },
      });
    }
  });

  it('are refused by a mount whose jwt_supported_algs leaves EdDSA out, which its config read echoes', async () => {
    const r = await h.login('jwt-rs256', { role: 'ci', jwt: await sign({}, ed.privateKey, 'e1', 'EdDSA') });
    expect(r.status).toBe(400);
    expect(r.json.errors?.[0]).toMatch(/^error validating token: invalid algorithm \(alg\) header parameter/);
    expect((await h.login('jwt-rs256', { role: 'ci', jwt: await sign() })).status).toBe(200);
    const read = async (mount: string) =>
      (
        (await call('GET', `/v1/auth/${mount}/config`, ADMIN_TOKEN)).json?.['data'] as Record<string, unknown>
      )['jwt_supported_algs'];
    // As Vault's config read: the list as set, empty when left to the default (all ten).
    expect(await read('jwt-rs256')).toEqual(['RS256']);
    expect(await read('jwt')).toEqual([]);
  });

  it('log in with a PEM Ed25519 key, whatever their kid', async () => {
    const r = await h.login('jwt-pem', { jwt: await sign({}, ed.privateKey, 'any', 'EdDSA') });
    expect(r.status).toBe(200);
    expect(authOf(r).metadata).toEqual({ role: 'exact' });
    expect(
      (await h.login('jwt-pem', { jwt: await sign({}, otherEd.privateKey, 'any', 'EdDSA') })).json,
    ).toEqual({
      errors: [
        'error validating token: error verifying token signature: no known key successfully validated the token signature',
      ],
    });
  });
});

describe('a jwt mount for the cluster’s service-account tokens', () => {
  it('binds the namespace by JSON pointer, and its mapped metadata drives templated policies', async () => {
    const r = await h.login('jwt-k8s', { role: 'apps', jwt: await h.podToken() });
    expect(r.status).toBe(200);
    const auth = authOf(r);
    expect(auth.metadata).toEqual({
      role: 'apps',
      service_account_namespace: 'test',
      service_account_name: 'nginx',
    });
    const path = '/v1/secret/data/test/app';
    const write = await call('POST', path, ADMIN_TOKEN, JSON.stringify({ data: { k: 'v' } }));
    expect(write.status).toBe(200);
    expect((await call('GET', path, auth.client_token)).status).toBe(200);
    expect((await call('GET', '/v1/secret/data/other/app', auth.client_token)).status).toBe(403);
  });

  it('is named by its own accessor, as sys/auth lists it, in policy templates and the audit', async () => {
    const mounts = (await call('GET', '/v1/sys/auth', ADMIN_TOKEN)).json?.['data'] as Record<
      string,
      { type: string; accessor: string }
    >;
    expect(mounts['jwt-k8s/']).toMatchObject({ type: 'jwt', accessor: mountAccessor('jwt', 'jwt-k8s') });
    const auth = authOf(await h.login('jwt-k8s', { role: 'apps', jwt: await h.podToken() }));
    const path = '/v1/secret/data/long/test/app';
    expect((await call('POST', path, ADMIN_TOKEN, JSON.stringify({ data: { k: 'v' } }))).status).toBe(200);
    expect((await call('GET', path, auth.client_token)).status).toBe(200);
    expect((await call('GET', '/v1/secret/data/long/other/app', auth.client_token)).status).toBe(403);
    const login = readEntries(h.auditFile!)
      .filter((e) => e.type === 'response' && e.request?.path === 'auth/jwt-k8s/login')
      .at(-1);
    expect(login?.request).toMatchObject({
      mount_type: 'jwt',
      mount_accessor: mounts['jwt-k8s/']?.accessor,
      mount_point: 'auth/jwt-k8s/',
    });
  });

  it('refuses a namespace the bound claims do not list', async () => {
    h.cluster.createServiceAccount('prod', 'nginx');
    const r = await h.login('jwt-k8s', {
      role: 'apps',
      jwt: await h.podToken({ namespace: 'prod', pod: null as unknown as string }),
    });
    expect(r).toEqual({
      status: 400,
      json: {
        errors: [
          'error validating claims: claim "/kubernetes.io/namespace" does not match any associated bound claim values',
        ],
      },
    });
  });

  it('lists its tokens under the service account, so revoke-identity reaches them', async () => {
    const r = await h.login('jwt-k8s', { role: 'apps', jwt: await h.podToken() });
    const token = authOf(r).client_token;
    const revoke = await call(
      'POST',
      '/v1/auth/token/revoke-identity',
      ADMIN_TOKEN,
      JSON.stringify({ namespace: 'test', service_account: 'nginx' }),
    );
    expect(revoke.status).toBe(200);
    expect((await call('GET', '/v1/auth/token/lookup-self', token)).status).toBe(403);
  });
});
