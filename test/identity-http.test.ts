import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock, type FakeClock } from '../src/lib/clock.js';
import type { MemoryStore } from '../src/store/index.js';
import { recordAuthSecrets, recordSecrets } from './helpers/audit.js';
import { rawGetStatus } from './helpers/raw-http.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { freePort } from './helpers/redis-server.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/**
 * Identity tokens (Vault's `identity/oidc`) end to end: a workload logs in through an auth mount
 * of the composed server, asks for a token over the HTTP API, and a downstream service verifies it
 * with jose against the keys authgate publishes — in process through `inject`, and over real HTTP
 * by following the discovery document.
 */

// The real Vault client, unchanged: what services use to ask Vault for identity tokens.
const require = createRequire(import.meta.url);
const nodeVault = require('node-vault') as (opts: {
  endpoint: string;
  apiVersion?: string;
  token?: string;
}) => {
  kubernetesLogin(args: { role: string; jwt: string; mount_point?: string }): Promise<{ auth: unknown }>;
  read(path: string): Promise<{ data: TokenData }>;
  write(path: string, data: Record<string, unknown>): Promise<{ data: TokenData } | undefined>;
};

const HOUR = 3600;
const START_MS = Date.UTC(2026, 6, 1);

/** Login roles (all bound to the harness's pod test/nginx), each with the policies it gets. */
const LOGIN_ROLES = {
  nginx: { ...NGINX_ROLE, token_policies: ['sign-web'] },
  edge: { ...NGINX_ROLE, token_policies: ['sign-web', 'sign-edge'] },
  reader: { ...NGINX_ROLE, token_policies: ['read-secrets'] },
  updater: { ...NGINX_ROLE, token_policies: ['update-web'] },
  anyrole: { ...NGINX_ROLE, token_policies: ['sign-any'] },
  denied: { ...NGINX_ROLE, token_policies: ['sign-any', 'deny-web'] },
  rotator: { ...NGINX_ROLE, token_policies: ['rotate-default'] },
  slash: { ...NGINX_ROLE, token_policies: ['read-web-slash'] },
};

const POLICIES = {
  'sign-web': { path: { 'identity/oidc/token/web': { capabilities: ['read'] } } },
  'sign-edge': { path: { 'identity/oidc/token/edge': { capabilities: ['read'] } } },
  'read-secrets': { path: { 'secret/data/*': { capabilities: ['read'] } } },
  // Every capability but `read`: the token endpoint needs `read` whatever the method (as Vault).
  'update-web': {
    path: { 'identity/oidc/token/web': { capabilities: ['create', 'update', 'list', 'delete', 'patch'] } },
  },
  'sign-any': { path: { 'identity/oidc/token/*': { capabilities: ['read'] } } },
  'deny-web': { path: { 'identity/oidc/token/web': { capabilities: ['deny'] } } },
  'rotate-default': { path: { 'identity/oidc/key/default/rotate': { capabilities: ['update'] } } },
  // The path a list of role `web` is authorised on, not the role's own.
  'read-web-slash': { path: { 'identity/oidc/token/web/': { capabilities: ['read', 'list'] } } },
};

/**
 * `default` (ES256) signs role `web`; `edge` (EdDSA) signs role `edge`; `unused` signs nothing and
 * is never published. The shortest window (edge's 10 min) sets the JWKS's max-age.
 */
const identityConfig = (issuer: string) => ({
  issuer,
  keys: {
    default: { algorithm: 'ES256', rotation_period: '1h', verification_ttl: '2h' },
    edge: { algorithm: 'EdDSA', rotation_period: '10m', verification_ttl: '20m' },
    unused: { algorithm: 'ES384' },
  },
  roles: {
    web: { audience: 'web-service', ttl: '30m' },
    edge: { key: 'edge', audience: 'edge-gateway', ttl: '5m' },
  },
});
const WEB_TTL_SECONDS = 30 * 60;
const EDGE_TTL_SECONDS = 5 * 60;
const DEFAULT_VERIFICATION_TTL_SECONDS = 2 * HOUR;

const start = (
  clock: FakeClock,
  issuer = 'http://127.0.0.1:8200',
  identity: Record<string, unknown> = identityConfig(issuer),
) =>
  startHarness({
    clock,
    roles: LOGIN_ROLES,
    config: { identity, policies: POLICIES },
  });

type Reply = {
  status: number;
  headers: Record<string, unknown>;
  json: Record<string, unknown> | undefined;
};

const call = async (
  h: Harness,
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  token?: string,
): Promise<Reply> => {
  const res = await h.server.app.inject({
    method,
    url,
    headers: token === undefined ? {} : { 'x-vault-token': token },
  });
  return {
    status: res.statusCode,
    headers: res.headers,
    json: res.body === '' ? undefined : (res.json() as Record<string, unknown>),
  };
};

/**
 * Logs the pod in and returns its client token. `mount` `jwks` verifies the pod token offline, so
 * tests that move the clock by hours need not renew the reviewer token of `kubernetes`.
 */
const workload = async (
  h: Harness,
  role: keyof typeof LOGIN_ROLES = 'nginx',
  mount: 'kubernetes' | 'jwks' = 'kubernetes',
  jwt?: string,
): Promise<string> => {
  const res = await h.login(mount, { role, jwt: jwt ?? (await h.podToken()) });
  expect(res.status).toBe(200);
  return (res.json['auth'] as { client_token: string }).client_token;
};

type TokenData = { client_id: string; token: string; ttl: number };

/** `GET identity/oidc/token/<role>`, expecting a token (recorded for the audit scan). */
const identityToken = async (
  h: Harness,
  clientToken: string,
  role = 'web',
): Promise<{ reply: Reply; data: TokenData }> => {
  const reply = await call(h, 'GET', `/v1/identity/oidc/token/${role}`, clientToken);
  expect(reply.status).toBe(200);
  const data = reply.json?.['data'] as TokenData;
  recordSecrets(data.token);
  return { reply, data };
};

const publishedKeys = async (h: Harness): Promise<JSONWebKeySet> => {
  const res = await call(h, 'GET', '/v1/identity/oidc/.well-known/keys');
  expect(res.status).toBe(200);
  return res.json as unknown as JSONWebKeySet;
};
const publishedKids = async (h: Harness): Promise<string[]> =>
  (await publishedKeys(h)).keys.map((k) => k.kid ?? '');

const kidOf = (jwt: string): string => decodeProtectedHeader(jwt).kid ?? '';

/** Verifies as a downstream service would, at the fake clock's time, against `keys`. */
const verify = (
  jwt: string,
  keys: JWTVerifyGetKey,
  o: { issuer: string; audience: string; clock: FakeClock },
) =>
  jwtVerify(jwt, keys, {
    issuer: `${o.issuer}/v1/identity/oidc`,
    audience: o.audience,
    currentDate: new Date(o.clock.nowMs()),
  });

/** What a JWT verification settles to: 'valid' or jose's error code. */
const outcome = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'valid',
    (err: unknown) => (err instanceof joseErrors.JOSEError ? err.code : String(err)),
  );

/**
 * A GET with a raw request target, as a client that does not normalise URLs sends it (fetch and
 * inject both drop a `#fragment`). Resolves the status line's code.
 */
describe('a workload asks for an identity token through the API', () => {
  const clock = createFakeClock(START_MS);
  // The issuer must be known before the server is composed (it is in the config and in every
  // token), so a free port is chosen first and the server listens on it below; the port is
  // released in between, which another process could in principle take.
  let issuer: string;
  let h: Harness;
  beforeAll(async () => {
    issuer = `http://127.0.0.1:${await freePort()}`;
    h = await start(clock, issuer);
    await h.server.app.listen({ host: '127.0.0.1', port: Number(new URL(issuer).port) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("answers GET with Vault's envelope and a token that verifies against the published JWKS, its claims exactly the pod's identity", async () => {
    const podJwt = await h.podToken();
    const clientToken = await workload(h, 'nginx', 'kubernetes', podJwt);
    const { reply, data } = await identityToken(h, clientToken, 'web');

    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json).toStrictEqual({
      request_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: { client_id: 'web-service', token: expect.any(String), ttl: WEB_TTL_SECONDS },
      wrap_info: null,
      warnings: null,
      auth: null,
      mount_type: 'identity',
    });

    const jwks = await publishedKeys(h);
    const { payload, protectedHeader } = await verify(data.token, createLocalJWKSet(jwks), {
      issuer,
      audience: 'web-service',
      clock,
    });
    expect(protectedHeader).toStrictEqual({ alg: 'ES256', kid: expect.any(String), typ: 'JWT' });
    // The kid is the RFC 7638 thumbprint of the published key that verifies it.
    const jwk = jwks.keys.find((k) => k.kid === protectedHeader.kid);
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(await calculateJwkThumbprint(jwk ?? {})).toBe(protectedHeader.kid);

    // The expected identity comes from the cluster, not from authgate: the service account's
    // uid from the API, the pod's from the projected token the pod logged in with.
    const saUid = h.cluster.createServiceAccount('test', 'nginx').uid;
    const pod = (decodeJwt(podJwt)['kubernetes.io'] as { pod: { name: string; uid: string } }).pod;
    const iat = Math.floor(clock.nowMs() / 1000);
    expect(payload).toStrictEqual({
      iss: `${issuer}/v1/identity/oidc`,
      sub: 'system:serviceaccount:test:nginx',
      aud: 'web-service',
      iat,
      exp: iat + WEB_TTL_SECONDS,
      'kubernetes.io': {
        namespace: 'test',
        serviceaccount: { name: 'nginx', uid: saUid },
        pod: { name: 'nginx', uid: pod.uid },
      },
    });
    expect(pod.name).toBe('nginx');
  });

  it('names the same identity after a login through the jwks mount', async () => {
    const { data } = await identityToken(h, await workload(h, 'nginx', 'jwks'));
    const { payload } = await verify(data.token, createLocalJWKSet(await publishedKeys(h)), {
      issuer,
      audience: 'web-service',
      clock,
    });
    expect(payload.sub).toBe('system:serviceaccount:test:nginx');
    expect(payload['kubernetes.io']).toMatchObject({
      namespace: 'test',
      serviceaccount: { name: 'nginx', uid: h.cluster.createServiceAccount('test', 'nginx').uid },
      pod: { name: 'nginx' },
    });
  });

  it('leaves the pod out of the claims of a workload whose login token was bound to no pod', async () => {
    const { token: unbound } = await h.cluster.mintToken({
      namespace: 'test',
      serviceAccount: 'nginx',
      audiences: ['vault'],
      expirationSeconds: 7200,
    });
    recordSecrets(unbound);
    const { data } = await identityToken(h, await workload(h, 'nginx', 'kubernetes', unbound));
    const { payload } = await verify(data.token, createLocalJWKSet(await publishedKeys(h)), {
      issuer,
      audience: 'web-service',
      clock,
    });
    expect(payload['kubernetes.io']).toStrictEqual({
      namespace: 'test',
      serviceaccount: { name: 'nginx', uid: h.cluster.createServiceAccount('test', 'nginx').uid },
    });
  });

  it("signs each role with its own key's algorithm, audience and TTL", async () => {
    const clientToken = await workload(h, 'edge');
    const { data } = await identityToken(h, clientToken, 'edge');
    expect(data).toMatchObject({ client_id: 'edge-gateway', ttl: EDGE_TTL_SECONDS });
    const { payload, protectedHeader } = await verify(data.token, createLocalJWKSet(await publishedKeys(h)), {
      issuer,
      audience: 'edge-gateway',
      clock,
    });
    expect(protectedHeader.alg).toBe('EdDSA');
    expect(payload.aud).toBe('edge-gateway');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(EDGE_TTL_SECONDS);
    const jwk = (await publishedKeys(h)).keys.find((k) => k.kid === protectedHeader.kid);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    // A service that expects the web audience refuses it.
    expect(
      await outcome(
        verify(data.token, createLocalJWKSet(await publishedKeys(h)), {
          issuer,
          audience: 'web-service',
          clock,
        }),
      ),
    ).toBe('ERR_JWT_CLAIM_VALIDATION_FAILED');
  });

  it("verifies over real HTTP: discovery's jwks_uri through createRemoteJWKSet, across an operator's rotation", async () => {
    const discovery = (await (
      await fetch(`${issuer}/v1/identity/oidc/.well-known/openid-configuration`)
    ).json()) as { issuer: string; jwks_uri: string };
    expect(discovery.issuer).toBe(`${issuer}/v1/identity/oidc`);
    const remote = createRemoteJWKSet(new URL(discovery.jwks_uri), { timeoutDuration: 2000 });

    const clientToken = await workload(h);
    const before = (await identityToken(h, clientToken)).data.token;
    const { payload } = await jwtVerify(before, remote, {
      issuer: discovery.issuer,
      audience: 'web-service',
      currentDate: new Date(clock.nowMs()),
    });
    expect(payload.sub).toBe('system:serviceaccount:test:nginx');
    const fetched = (remote.jwks()?.keys ?? []).map((k) => k.kid);

    expect((await call(h, 'POST', '/v1/identity/oidc/key/default/rotate', ADMIN_TOKEN)).status).toBe(204);
    const after = (await identityToken(h, clientToken)).data.token;
    expect(kidOf(after)).not.toBe(kidOf(before));
    // The new signing key was published a rotation ahead: the set fetched before the rotation
    // already holds it, so the verifier needs no refetch.
    expect(fetched).toContain(kidOf(after));
    await expect(
      jwtVerify(after, createLocalJWKSet({ keys: remote.jwks()?.keys ?? [] }), {
        issuer: discovery.issuer,
        audience: 'web-service',
        currentDate: new Date(clock.nowMs()),
      }),
    ).resolves.toBeDefined();
    // And after a refetch the old token still verifies: its key is retired, not withdrawn.
    await remote.reload();
    for (const jwt of [before, after]) {
      expect(
        await outcome(
          jwtVerify(jwt, remote, {
            issuer: discovery.issuer,
            audience: 'web-service',
            currentDate: new Date(clock.nowMs()),
          }),
        ),
      ).toBe('valid');
    }
  });
  it('serves the real node-vault client: a read of identity/oidc/token/<role>, never a write', async () => {
    const vault = nodeVault({ endpoint: issuer, apiVersion: 'v1' });
    const login = await vault.kubernetesLogin({
      role: 'nginx',
      jwt: await h.podToken(),
      mount_point: 'kubernetes',
    });
    recordAuthSecrets(login);
    const keys = createLocalJWKSet(await publishedKeys(h));
    const { data } = await vault.read('identity/oidc/token/web');
    recordSecrets(data?.token);
    expect(data).toMatchObject({ client_id: 'web-service', ttl: WEB_TTL_SECONDS });
    const { payload } = await verify(data?.token ?? '', keys, { issuer, audience: 'web-service', clock });
    expect(payload.sub).toBe('system:serviceaccount:test:nginx');
    // node-vault's write is a PUT: an update, which Vault's path does not have and the role's
    // policy (read) does not grant.
    await expect(vault.write('identity/oidc/token/web', {})).rejects.toMatchObject({
      response: { statusCode: 403 },
    });
    await expect(vault.read('identity/oidc/token/edge')).rejects.toMatchObject({
      response: { statusCode: 403 },
    });
  });

  // The router ends the path at a raw `#` (which inject and fetch drop): the ACL must check the
  // same path, or `…/web#x` would pass a deny on `…/web` under a broader grant.
  it('refuses a denied role whatever the request target appends to it', async () => {
    const clientToken = await workload(h, 'denied');
    const port = Number(new URL(issuer).port);
    expect(await rawGetStatus(port, '/v1/identity/oidc/token/web', clientToken)).toBe(403);
    expect(await rawGetStatus(port, '/v1/identity/oidc/token/edge', clientToken)).toBe(200);
    for (const target of ['/v1/identity/oidc/token/web#x', '/v1/identity/oidc/token/web#/../edge']) {
      expect(await rawGetStatus(port, target, clientToken)).toBe(403);
    }
  });
});

describe('the ACL on identity/oidc/token/<role>', () => {
  const clock = createFakeClock(START_MS);
  let h: Harness;
  beforeAll(async () => {
    h = await start(clock);
  });
  afterAll(async () => {
    await h?.close();
  });

  const DENIED = { errors: ['permission denied'] };
  const INVALID = { errors: [INVALID_TOKEN_MESSAGE] };
  const NO_ENTITY = { errors: ["no entity associated with the request's token"] };
  const NO_ROLE = (name: string) => ({ errors: [`role "${name}" not found`] });
  const UNSUPPORTED = { errors: ['unsupported operation'] };

  // caller: a login role (its policies), the admin token, or none; then the answer expected.
  it.each([
    ['a token with read on the role', 'nginx', 'GET', 'web', 200, undefined],
    // Vault's path has a read operation only: a POST or PUT is an update.
    ['a token with read on the role (POST)', 'nginx', 'POST', 'web', 403, DENIED],
    ['a token with read on role/*', 'anyrole', 'GET', 'edge', 200, undefined],
    ['a token with read on another role', 'nginx', 'GET', 'edge', 403, DENIED],
    ['a token with no identity policy', 'reader', 'GET', 'web', 403, DENIED],
    ['a token with every capability but read (POST)', 'updater', 'POST', 'web', 405, UNSUPPORTED],
    ['a token with every capability but read (PUT)', 'updater', 'PUT', 'web', 405, UNSUPPORTED],
    ['a token with every capability but read (GET)', 'updater', 'GET', 'web', 403, DENIED],
    ['a token whose policies read role/* but deny the role', 'denied', 'GET', 'web', 403, DENIED],
    ['a token with read on an unknown role', 'anyrole', 'GET', 'nope', 400, NO_ROLE('nope')],
    // Never a token for a list: a list needs `list` (403, as Vault), and with it the route refuses.
    ['a list by a token with read on the role', 'nginx', 'GET', 'web?list=true', 403, DENIED],
    ['a token with read and list on role/ only', 'slash', 'GET', 'web', 403, DENIED],
    ['a list by a token with read and list on role/', 'slash', 'GET', 'web?list=true', 405, UNSUPPORTED],
    ['a request without a token', 'none', 'GET', 'web', 403, DENIED],
    ['a token authgate never issued', 'bogus', 'GET', 'web', 403, INVALID],
    ['the admin token, which has no entity', 'admin', 'GET', 'web', 400, NO_ENTITY],
    ['the admin token, for an unknown role', 'admin', 'GET', 'nope', 400, NO_ROLE('nope')],
    ['the admin token, with a POST', 'admin', 'POST', 'web', 405, UNSUPPORTED],
  ] as const)('answers %s', async (_what, caller, method, role, status, body) => {
    const token =
      caller === 'admin'
        ? ADMIN_TOKEN
        : caller === 'none'
          ? undefined
          : caller === 'bogus'
            ? 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
            : await workload(h, caller);
    const res = await call(h, method, `/v1/identity/oidc/token/${role}`, token);
    expect(res.status).toBe(status);
    if (body === undefined) {
      recordSecrets((res.json?.['data'] as TokenData).token);
      expect(res.json?.['data']).toMatchObject({ token: expect.any(String) });
    } else {
      expect(res.json).toStrictEqual(body);
    }
  });

  it('refuses a token once it is revoked', async () => {
    const clientToken = await workload(h);
    await identityToken(h, clientToken);
    expect((await call(h, 'POST', '/v1/auth/token/revoke-self', clientToken)).status).toBe(204);
    expect(await call(h, 'GET', '/v1/identity/oidc/token/web', clientToken)).toMatchObject({
      status: 403,
      json: INVALID,
    });
  });

  it.each([
    ['the admin token', 'admin', 204],
    ['a token with update on the key', 'rotator', 204],
    ['a token that may sign but not rotate', 'nginx', 403],
    ['a request without a token', 'none', 403],
  ] as const)('lets %s rotate a key: %i', async (_what, caller, status) => {
    const token =
      caller === 'admin' ? ADMIN_TOKEN : caller === 'none' ? undefined : await workload(h, caller);
    const res = await call(h, 'POST', '/v1/identity/oidc/key/default/rotate', token);
    expect(res.status).toBe(status);
    if (status === 403) expect(res.json).toStrictEqual(DENIED);
  });

  it("answers the rotation of an unknown key with Vault's 400", async () => {
    expect(await call(h, 'POST', '/v1/identity/oidc/key/nope/rotate', ADMIN_TOKEN)).toMatchObject({
      status: 400,
      json: { errors: ['no named key found at "nope"'] },
    });
  });

  it('quotes an unknown key or role name of 10 000 characters cut short, as a login its role', async () => {
    // Path names that long reach their routes; the answer, and through it every audit entry,
    // must not carry them whole.
    const name = 'n'.repeat(10_000);
    const cut = `${'n'.repeat(128)}…(10000 chars)`;
    expect(await call(h, 'POST', `/v1/identity/oidc/key/${name}/rotate`, ADMIN_TOKEN)).toMatchObject({
      status: 400,
      json: { errors: [`no named key found at "${cut}"`] },
    });
    expect(await call(h, 'GET', `/v1/identity/oidc/token/${name}`, ADMIN_TOKEN)).toMatchObject({
      status: 400,
      json: { errors: [`role "${cut}" not found`] },
    });
  });
});

describe('the .well-known documents', () => {
  const clock = createFakeClock(START_MS);
  const issuer = 'https://authgate.example.test:8200';
  let h: Harness;
  beforeAll(async () => {
    h = await start(clock, issuer);
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ['no token', undefined],
    ['a token authgate never issued', 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
  ])('serves discovery with %s, cacheable for an hour', async (_what, token) => {
    const res = await call(h, 'GET', '/v1/identity/oidc/.well-known/openid-configuration', token);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=3600');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    // Raw, not in Vault's envelope: OIDC clients read it as is.
    expect(res.json).toStrictEqual({
      issuer: `${issuer}/v1/identity/oidc`,
      jwks_uri: `${issuer}/v1/identity/oidc/.well-known/keys`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    });
  });

  it.each([
    ['no token', undefined],
    ['a token authgate never issued', 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
  ])(
    'serves the keys with %s: public members only, of the keys roles use, cacheable for the shortest window',
    async (_what, token) => {
      const res = await call(h, 'GET', '/v1/identity/oidc/.well-known/keys', token);
      expect(res.status).toBe(200);
      // edge rotates every 10 minutes: a verifier caching longer could miss its next key.
      expect(res.headers['cache-control']).toBe('public, max-age=600');
      const { keys } = res.json as unknown as JSONWebKeySet;
      // Current and next of `default` and of `edge`; `unused` is never published.
      expect(keys).toHaveLength(4);
      expect(keys.map((k) => k.alg).sort()).toStrictEqual(['ES256', 'ES256', 'EdDSA', 'EdDSA']);
      for (const k of keys) {
        const members =
          k.kty === 'EC'
            ? ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']
            : ['alg', 'crv', 'kid', 'kty', 'use', 'x'];
        expect(Object.keys(k).sort()).toStrictEqual(members);
        expect(k.use).toBe('sig');
      }
      expect(new Set(keys.map((k) => k.kid)).size).toBe(4);
    },
  );

  it('serves both documents with a trailing slash too, as Vault (`/?$`)', async () => {
    for (const doc of ['openid-configuration', 'keys']) {
      const url = `/v1/identity/oidc/.well-known/${doc}`;
      const [bare, slashed] = [await call(h, 'GET', url), await call(h, 'GET', `${url}/`)];
      expect(slashed.status).toBe(200);
      expect(slashed.json).toStrictEqual(bare.json);
    }
  });

  // Vault's path has no operation for a HEAD: the path exists (not 404), and no token is signed
  // only to be dropped.
  it.each([
    ['the admin token', ADMIN_TOKEN, 405],
    ['no token', undefined, 403],
  ])('answers a HEAD on the token route with %s: %i', async (_what, token, status) => {
    const res = await h.server.app.inject({
      method: 'HEAD',
      url: '/v1/identity/oidc/token/web',
      headers: token === undefined ? {} : { 'x-vault-token': token },
    });
    expect(res.statusCode).toBe(status);
  });
});

describe('the .well-known keys while no role signs', () => {
  // Vault sets Cache-Control on its keys only when there are keys. An empty set kept by a cache
  // for up to an hour would refuse the first tokens of a role added meanwhile (and a restart).
  it('serves an empty key set that no cache may keep', async () => {
    const h = await start(createFakeClock(START_MS), undefined, { roles: {} });
    try {
      const res = await call(h, 'GET', '/v1/identity/oidc/.well-known/keys');
      expect([res.status, res.json]).toStrictEqual([200, { keys: [] }]);
      expect(res.headers['cache-control']).toBe('no-store');
      // Discovery depends on the config alone: still cacheable.
      const discovery = await call(h, 'GET', '/v1/identity/oidc/.well-known/openid-configuration');
      expect(discovery.headers['cache-control']).toBe('public, max-age=3600');
    } finally {
      await h.close();
    }
  });
});

/** Vault's signing algorithms (`supportedAlgs`), in Vault's order, with the JWK each publishes. */
const VAULT_ALGORITHMS = [
  ['RS256', { kty: 'RSA' }],
  ['RS384', { kty: 'RSA' }],
  ['RS512', { kty: 'RSA' }],
  ['ES256', { kty: 'EC', crv: 'P-256' }],
  ['ES384', { kty: 'EC', crv: 'P-384' }],
  ['ES512', { kty: 'EC', crv: 'P-521' }],
  ['EdDSA', { kty: 'OKP', crv: 'Ed25519' }],
] as const;

describe("every algorithm Vault's keys sign with", () => {
  const clock = createFakeClock(START_MS);
  const issuer = 'https://authgate.example.test';
  let h: Harness;
  beforeAll(async () => {
    const name = (alg: string) => alg.toLowerCase();
    h = await start(clock, issuer, {
      issuer,
      keys: Object.fromEntries(VAULT_ALGORITHMS.map(([alg]) => [name(alg), { algorithm: alg }])),
      roles: Object.fromEntries(
        VAULT_ALGORITHMS.map(([alg]) => [
          name(alg),
          { key: name(alg), audience: `aud-${name(alg)}`, ttl: '5m' },
        ]),
      ),
    } as unknown as ReturnType<typeof identityConfig>);
  });
  afterAll(async () => {
    await h?.close();
  });

  it("lists Vault's algorithms in discovery, exactly", async () => {
    const res = await call(h, 'GET', '/v1/identity/oidc/.well-known/openid-configuration');
    expect(res.json?.['id_token_signing_alg_values_supported']).toStrictEqual(
      VAULT_ALGORITHMS.map(([alg]) => alg),
    );
  });

  it.each(VAULT_ALGORITHMS)(
    'signs with %s a token jose verifies against the published keys, with the issuer of discovery and the client_id as audience',
    async (alg, jwkShape) => {
      const role = alg.toLowerCase();
      const { data } = await identityToken(h, await workload(h, 'anyrole'), role);
      expect(data).toMatchObject({ client_id: `aud-${role}`, ttl: 300 });
      const discovery = (await call(h, 'GET', '/v1/identity/oidc/.well-known/openid-configuration')).json as {
        issuer: string;
      };
      const jwks = await publishedKeys(h);
      const { payload, protectedHeader } = await jwtVerify(data.token, createLocalJWKSet(jwks), {
        issuer: discovery.issuer,
        audience: data.client_id,
        algorithms: [alg],
        currentDate: new Date(clock.nowMs()),
      });
      expect(protectedHeader).toStrictEqual({ alg, kid: expect.any(String), typ: 'JWT' });
      expect(payload).toMatchObject({ iss: `${issuer}/v1/identity/oidc`, aud: `aud-${role}` });
      const jwk = jwks.keys.find((k) => k.kid === protectedHeader.kid);
      expect(jwk).toMatchObject({ ...jwkShape, alg, use: 'sig' });
      expect(await calculateJwkThumbprint(jwk ?? {})).toBe(protectedHeader.kid);
    },
  );
});

describe('key rotation as verifiers see it', () => {
  let clock: FakeClock;
  let h: Harness;
  const issuer = 'http://127.0.0.1:8200';
  afterEach(async () => {
    await h?.close();
  });
  const begin = async () => {
    clock = createFakeClock(START_MS);
    h = await start(clock, issuer);
  };
  const verifyNow = async (jwt: string) =>
    outcome(
      verify(jwt, createLocalJWKSet(await publishedKeys(h)), { issuer, audience: 'web-service', clock }),
    );
  // Clock moves of hours: log in through `jwks` (no reviewer token to renew), a fresh login each time.
  const sign = async () => (await identityToken(h, await workload(h, 'nginx', 'jwks'))).data.token;

  it("keeps an operator-rotated key's old tokens valid until they expire, then jose refuses them", async () => {
    await begin();
    const old = await sign();
    const oldKid = kidOf(old);
    const waiting = (await publishedKids(h)).filter((k) => k !== oldKid);

    clock.advanceSeconds(60);
    expect((await call(h, 'POST', '/v1/identity/oidc/key/default/rotate', ADMIN_TOKEN)).status).toBe(204);
    const fresh = await sign();
    expect(kidOf(fresh)).not.toBe(oldKid);
    expect(waiting).toContain(kidOf(fresh));
    expect(await publishedKids(h)).toContain(oldKid);
    expect(await verifyNow(old)).toBe('valid');
    expect(await verifyNow(fresh)).toBe('valid');

    // One second before its exp the old token still verifies against the keys published then.
    clock.setMs(START_MS + (WEB_TTL_SECONDS - 1) * 1000);
    expect(await verifyNow(old)).toBe('valid');
    clock.setMs(START_MS + WEB_TTL_SECONDS * 1000);
    expect(await publishedKids(h)).toContain(oldKid);
    expect(await verifyNow(old)).toBe('ERR_JWT_EXPIRED');
    expect(await verifyNow(fresh)).toBe('valid');
  });

  it('rotates on schedule once rotation_period has passed: new kid, old tokens valid until exp', async () => {
    await begin();
    const first = await sign();
    const firstKid = kidOf(first);
    clock.advanceSeconds(HOUR - 60);
    const late = await sign();
    expect(kidOf(late)).toBe(firstKid);

    clock.advanceSeconds(60);
    const rotated = await sign();
    expect(kidOf(rotated)).not.toBe(firstKid);
    // `late` was signed 1 min before the rotation and lives 29 more: still verifiable.
    expect(await verifyNow(late)).toBe('valid');
    expect(await verifyNow(first)).toBe('ERR_JWT_EXPIRED');
    clock.advanceSeconds(WEB_TTL_SECONDS - 60 - 1);
    expect(await verifyNow(late)).toBe('valid');
    clock.advanceSeconds(1);
    expect(await verifyNow(late)).toBe('ERR_JWT_EXPIRED');
    expect(await verifyNow(rotated)).toBe('valid');
  });

  it('withdraws a retired key from the JWKS when its verification window ends', async () => {
    await begin();
    const oldKid = kidOf(await sign());
    expect((await call(h, 'POST', '/v1/identity/oidc/key/default/rotate', ADMIN_TOKEN)).status).toBe(204);
    const retiredAtMs = clock.nowMs();

    clock.setMs(retiredAtMs + DEFAULT_VERIFICATION_TTL_SECONDS * 1000 - 1000);
    expect(await publishedKids(h)).toContain(oldKid);
    clock.setMs(retiredAtMs + DEFAULT_VERIFICATION_TTL_SECONDS * 1000);
    const kids = await publishedKids(h);
    expect(kids).not.toContain(oldKid);
    // Still a full set: current and next of both rings, plus whatever retired keys are in their window.
    expect(kids.length).toBeGreaterThanOrEqual(4);
    expect(await verifyNow(await sign())).toBe('valid');
  });

  const rotate = (body?: Record<string, unknown> | string, url = '/v1/identity/oidc/key/default/rotate') =>
    h.server.app.inject({
      method: 'POST',
      url,
      headers: { 'x-vault-token': ADMIN_TOKEN },
      ...(body === undefined ? {} : { payload: body }),
    });

  it('rotates through the path with a trailing slash too, as Vault (`rotate/?$`)', async () => {
    await begin();
    const before = kidOf(await sign());
    expect((await rotate(undefined, '/v1/identity/oidc/key/default/rotate/')).statusCode).toBe(204);
    expect(kidOf(await sign())).not.toBe(before);
  });

  it("keeps the retired key for the rotation's own verification_ttl, as Vault's override", async () => {
    await begin();
    const oldKid = kidOf(await sign());
    expect((await rotate({ verification_ttl: '45m' })).statusCode).toBe(204);
    const retiredAtMs = clock.nowMs();
    clock.setMs(retiredAtMs + 45 * 60 * 1000 - 1000);
    expect(await publishedKids(h)).toContain(oldKid);
    // The key's own verification_ttl (2h) no longer holds it.
    clock.setMs(retiredAtMs + 45 * 60 * 1000);
    expect(await publishedKids(h)).not.toContain(oldKid);
  });

  it('never withdraws a retired key before the tokens it signed expire, whatever verification_ttl a rotation names', async () => {
    await begin();
    const old = await sign();
    expect((await rotate({ verification_ttl: 0 })).statusCode).toBe(204);
    const retiredAtMs = clock.nowMs();
    // The longest role TTL of the key (30 min) plus the 65 s margin.
    clock.setMs(retiredAtMs + (WEB_TTL_SECONDS + 64) * 1000);
    expect(await publishedKids(h)).toContain(kidOf(old));
    clock.setMs(retiredAtMs + (WEB_TTL_SECONDS + 65) * 1000);
    expect(await publishedKids(h)).not.toContain(kidOf(old));
  });

  it.each([
    [
      { verification_ttl: 'abc' },
      'Field validation failed: error converting input abc for field "verification_ttl": time: invalid duration "abc"',
    ],
    [
      { verification_ttl: -5 },
      `Field validation failed: error converting input -5 for field "verification_ttl": cannot provide negative value '-5'`,
    ],
    // Vault decodes a body into a map: a list or a string is no body it can read.
    ['[1,2]', 'error parsing JSON'],
    ['"2h"', 'error parsing JSON'],
  ])("refuses a rotate body of %j with Vault's 400, rotating nothing", async (body, message) => {
    await begin();
    const before = kidOf(await sign());
    const res = await rotate(body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toStrictEqual({ errors: [message] });
    expect(kidOf(await sign())).toBe(before);
  });

  it("refuses a client token once its TTL has passed: Vault's 403", async () => {
    await begin();
    const clientToken = await workload(h, 'nginx', 'jwks');
    await identityToken(h, clientToken);
    clock.advanceSeconds(HOUR - 1);
    await identityToken(h, clientToken);
    clock.advanceSeconds(1);
    expect(await call(h, 'GET', '/v1/identity/oidc/token/web', clientToken)).toMatchObject({
      status: 403,
      json: { errors: [INVALID_TOKEN_MESSAGE] },
    });
  });
});

/**
 * Where a stored value shows a private JWK: in clear (a `"d"` member) or inside any base64 or
 * base64url string it holds (a JWK or PEM encoded rather than sealed). Empty when none.
 */
const privateKeyTraces = (value: string): string[] => {
  const traces: string[] = [];
  if (/"d"\s*:/.test(value)) traces.push('clear "d" member');
  if (value.includes('PRIVATE KEY')) traces.push('clear PEM');
  for (const s of value.match(/[A-Za-z0-9+/_=-]{40,}/g) ?? []) {
    for (const encoding of ['base64', 'base64url'] as const) {
      if (/"d"\s*:|"kty"|PRIVATE KEY/.test(Buffer.from(s, encoding).toString('latin1')))
        traces.push(`${encoding} ${s.slice(0, 12)}…`);
    }
  }
  return traces;
};

describe('the store at rest', () => {
  it('would notice a private key stored in clear or merely encoded', async () => {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = JSON.stringify(await exportJWK(privateKey));
    expect(privateKeyTraces(JSON.stringify({ key: JSON.parse(jwk) as unknown }))).not.toStrictEqual([]);
    expect(
      privateKeyTraces(JSON.stringify({ key: Buffer.from(jwk).toString('base64url') })),
    ).not.toStrictEqual([]);
  });

  it('holds no private key in plaintext: the signing keys are sealed, retired ones dropped', async () => {
    const clock = createFakeClock(START_MS);
    const h = await start(clock);
    try {
      const clientToken = await workload(h, 'edge');
      await identityToken(h, clientToken, 'web');
      await identityToken(h, clientToken, 'edge');
      expect((await call(h, 'POST', '/v1/identity/oidc/key/default/rotate', ADMIN_TOKEN)).status).toBe(204);
      await identityToken(h, clientToken, 'web');

      const entries = (h.server.store as MemoryStore).entries();
      expect(entries.length).toBeGreaterThan(2);
      for (const [key, value] of entries)
        expect({ key, traces: privateKeyTraces(value) }).toStrictEqual({ key, traces: [] });

      const rings = entries.filter(([k]) => k.includes('oidc:key:'));
      expect(rings.map(([k]) => k).sort()).toStrictEqual(['ag:oidc:key:default', 'ag:oidc:key:edge']);
      const published = (await publishedKeys(h)).keys.map((k) => k.kid);
      // Each ring is sealed whole (AES-256-GCM): no kid, key or JWK member readable in the store.
      expect(published.length).toBeGreaterThan(0);
      for (const [, value] of rings) {
        expect(value).toMatch(/^v2\.[\w-]+\.[\w-]+\.[\w-]+$/);
        for (const kid of published) expect(value).not.toContain(kid);
      }
    } finally {
      await h.close();
    }
  });
});
