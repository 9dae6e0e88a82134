import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { recordSecrets } from './helpers/audit.js';
import {
  ADMIN_TOKEN,
  NGINX_ROLE,
  segment,
  startHarness,
  withPayload,
  type Harness,
} from './helpers/harness.js';

/**
 * `identity/oidc/introspect` end to end: a workload signs an identity token through the API, and
 * a service holding a client token asks authgate whether it checks out, as Vault answers it (raw
 * `{"active":true}` or `{"active":false,"error":…}`, always 200).
 */

const require = createRequire(import.meta.url);
const nodeVault = require('node-vault') as (opts: { endpoint: string; token?: string }) => {
  write(path: string, data: Record<string, unknown>): Promise<unknown>;
};

const START_MS = Date.UTC(2026, 6, 1);
const WEB_TTL_SECONDS = 30 * 60;
const ISSUER = 'http://127.0.0.1:8200';

const POLICIES = {
  'sign-web': { path: { 'identity/oidc/token/*': { capabilities: ['read'] } } },
  introspect: { path: { 'identity/oidc/introspect': { capabilities: ['update'] } } },
};

const start = () =>
  startHarness({
    clock,
    roles: {
      // Signs role `web` (nginx's policy) and introspects (checker's).
      nginx: { ...NGINX_ROLE, token_policies: ['sign-web'] },
      checker: { ...NGINX_ROLE, token_policies: ['introspect'] },
    },
    config: {
      policies: POLICIES,
      identity: {
        issuer: ISSUER,
        keys: { default: { algorithm: 'ES256' }, edge: { algorithm: 'EdDSA' } },
        roles: {
          web: { audience: 'web-service', ttl: '30m' },
          // Same key as `web`, another audience: its client id finds web's key.
          mail: { audience: 'mail-service', ttl: '30m' },
          edge: { key: 'edge', audience: 'edge-gateway', ttl: '5m' },
        },
      },
    },
  });

const clock = createFakeClock(START_MS);
let h: Harness;
let checker: string;

const clientToken = async (role: 'nginx' | 'checker'): Promise<string> => {
  const res = await h.login('jwks', { role, jwt: await h.podToken() });
  expect(res.status).toBe(200);
  return (res.json['auth'] as { client_token: string }).client_token;
};

const sign = async (role = 'web'): Promise<string> => {
  const res = await h.server.app.inject({
    url: `/v1/identity/oidc/token/${role}`,
    headers: { 'x-vault-token': await clientToken('nginx') },
  });
  expect(res.statusCode).toBe(200);
  const token = res.json<{ data: { token: string } }>().data.token;
  recordSecrets(token);
  return token;
};

const introspect = async (body: unknown, token = checker, method: 'POST' | 'PUT' = 'POST') => {
  const res = await h.server.app.inject({
    method,
    url: '/v1/identity/oidc/introspect',
    headers: { 'x-vault-token': token, 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.statusCode, headers: res.headers, json: res.json<Record<string, unknown>>() };
};

beforeAll(async () => {
  h = await start();
  checker = await clientToken('checker');
});
afterAll(async () => {
  await h?.close();
});

describe('POST identity/oidc/introspect', () => {
  it('answers a token it signed with Vault\'s raw {"active":true}, with or without its client id', async () => {
    const token = await sign();
    const res = await introspect({ token });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.json).toStrictEqual({ active: true });
    expect((await introspect({ token, client_id: 'web-service' }, checker, 'PUT')).json).toStrictEqual({
      active: true,
    });
    // The operator's admin token may ask too.
    expect((await introspect({ token }, ADMIN_TOKEN)).json).toStrictEqual({ active: true });
    // A role on another key (EdDSA) is found as well.
    expect((await introspect({ token: await sign('edge'), client_id: 'edge-gateway' })).json).toStrictEqual({
      active: true,
    });
  });

  it('checks the audience against a client id whose key signed the token', async () => {
    const token = await sign();
    expect((await introspect({ token, client_id: 'mail-service' })).json).toStrictEqual({
      active: false,
      error: 'error validating claims: go-jose/go-jose/jwt: validation failed, invalid audience claim (aud)',
    });
    // Another key's client id: none of its keys verifies the signature.
    expect((await introspect({ token, client_id: 'edge-gateway' })).json).toStrictEqual({
      active: false,
      error: 'unable to validate the token signature',
    });
    expect((await introspect({ token, client_id: 'nobody' })).json).toStrictEqual({
      active: false,
      error: 'invalid client-id',
    });
  });

  it('refuses what it did not sign: a changed payload, a pod token of the cluster, alg none', async () => {
    const token = await sign();
    const unsigned = 'unable to validate the token signature';
    const tampered = withPayload(token, (p) => {
      p['sub'] = 'system:serviceaccount:kube-system:admin';
    });
    expect((await introspect({ token: tampered })).json).toStrictEqual({ active: false, error: unsigned });
    const podJwt = await h.podToken();
    recordSecrets(podJwt);
    expect((await introspect({ token: podJwt })).json).toStrictEqual({ active: false, error: unsigned });
    const [, payload] = token.split('.');
    const none = `${segment({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    expect((await introspect({ token: none })).json).toStrictEqual({ active: false, error: unsigned });
  });

  it("answers a token that does not parse with go-jose's reason, and no token as Vault does", async () => {
    const threeParts = 'error parsing token: go-jose/go-jose: compact JWS format must have three parts';
    expect((await introspect({ token: 'not-a-jwt' })).json).toStrictEqual({
      active: false,
      error: threeParts,
    });
    expect((await introspect({})).json).toStrictEqual({ active: false, error: threeParts });
    expect((await introspect('')).json).toStrictEqual({ active: false, error: threeParts });
    expect((await introspect({ token: 'e*J.e30.AA' })).json).toStrictEqual({
      active: false,
      error: 'error parsing token: illegal base64 data at input byte 1',
    });
  });

  it('keeps a retired key’s tokens active through a rotation, and drops them the moment a minute after exp has passed', async () => {
    const token = await sign();
    const rotated = await h.server.app.inject({
      method: 'POST',
      url: '/v1/identity/oidc/key/default/rotate',
      headers: { 'x-vault-token': ADMIN_TOKEN },
    });
    expect(rotated.statusCode).toBe(204);
    expect((await introspect({ token })).json).toStrictEqual({ active: true });

    // go-jose's minute of leeway: active until exp + 60 s.
    clock.advanceSeconds(WEB_TTL_SECONDS + 60);
    const fresh = await clientToken('checker');
    expect((await introspect({ token }, fresh)).json).toStrictEqual({ active: true });
    // Go compares times to the nanosecond: a millisecond past that is expired.
    clock.advanceMs(1);
    expect((await introspect({ token }, fresh)).json).toStrictEqual({
      active: false,
      error: 'error validating claims: go-jose/go-jose/jwt: validation failed, token is expired (exp)',
    });
  });

  it('answers the real node-vault client', async () => {
    await h.server.app.listen({ host: '127.0.0.1', port: 0 });
    const address = h.server.app.server.address() as { port: number };
    const vault = nodeVault({
      endpoint: `http://127.0.0.1:${address.port}`,
      token: await clientToken('checker'),
    });
    const token = await sign();
    expect(await vault.write('identity/oidc/introspect', { token, client_id: 'web-service' })).toStrictEqual({
      active: true,
    });
  });
});

describe('what introspection refuses', () => {
  it('needs update on the path: 403 without it, and without a token', async () => {
    const token = await sign();
    const res = await introspect({ token }, await clientToken('nginx'));
    expect(res.status).toBe(403);
    expect(res.json).toStrictEqual({ errors: ['permission denied'] });
    const anonymous = await h.server.app.inject({
      method: 'POST',
      url: '/v1/identity/oidc/introspect',
      payload: { token },
    });
    expect(anonymous.statusCode).toBe(403);
  });

  it("answers fields and bodies Vault's framework cannot read with its 400s", async () => {
    const list = await introspect({ token: ['a'] });
    expect(list.status).toBe(400);
    expect(list.json).toStrictEqual({
      errors: [
        expect.stringMatching(/^Field validation failed: error converting input .* for field "token": /),
      ],
    });
    // A token in the wrong shape is not quoted back (the audit log keeps the message).
    const jwt = await sign();
    expect((await introspect({ token: { a: jwt } })).json).toStrictEqual({
      errors: [
        `Field validation failed: error converting input map[a:***] for field "token": '' expected type 'string', got unconvertible type 'map[string]interface {}', value: 'map[a:***]'`,
      ],
    });
    const body = await introspect('[1]');
    expect(body.status).toBe(400);
    expect(body.json).toStrictEqual({ errors: ['error parsing JSON'] });
    // A number is its text, as Vault's weak decoding reads a string field.
    expect((await introspect({ token: 12 })).json).toStrictEqual({
      active: false,
      error: 'error parsing token: go-jose/go-jose: compact JWS format must have three parts',
    });
  });

  it('is no GET', async () => {
    const res = await h.server.app.inject({
      method: 'GET',
      url: '/v1/identity/oidc/introspect',
      headers: { 'x-vault-token': ADMIN_TOKEN },
    });
    expect(res.statusCode).toBe(405);
  });
});
