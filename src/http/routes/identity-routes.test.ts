import Fastify, { type FastifyInstance } from 'fastify';
import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { fixture, ISSUER, podSubject, verifyAt, type Fixture } from '../../secrets/identity/test-support.js';
import type { TokenRecord } from '../../tokens/index.js';
import { setRequestAuth, type AclRouteConfig } from '../acl-route.js';
import { installErrorHandling, installJsonForAnyContentType } from '../vault-errors.js';
import { registerIdentityRoutes } from './identity-routes.js';

const workload = {
  metadata: {
    role: 'web',
    service_account_namespace: podSubject.namespace,
    service_account_name: podSubject.serviceAccountName,
    service_account_uid: podSubject.serviceAccountUid,
    service_account_secret_name: '',
    pod_name: podSubject.podName,
    pod_uid: podSubject.podUid,
  },
} as unknown as TokenRecord;

let fx: Fixture;
let app: FastifyInstance;
afterEach(async () => {
  await app?.close();
  fx?.closeAll();
});

/**
 * The routes in a minimal app. A stand-in for the lead's ACL hook sets the caller of every route
 * that declares `config.acl` (`x-caller: admin | workload`) and records what each route declared.
 */
const build = async () => {
  fx = fixture();
  const identity = fx.engine();
  app = Fastify();
  installJsonForAnyContentType(app, 1 << 20);
  installErrorHandling(app);
  const acl = new Map<string, AclRouteConfig['acl']>();
  app.addHook('onRoute', (route) => {
    acl.set(route.url, (route.config as AclRouteConfig | undefined)?.acl);
  });
  app.addHook('onRequest', async (request) => {
    if ((request.routeOptions.config as AclRouteConfig | undefined)?.acl === undefined) return;
    const admin = request.headers['x-caller'] === 'admin';
    setRequestAuth(request, { token: 't', admin, record: admin ? undefined : workload });
  });
  registerIdentityRoutes(app, { identity });
  await app.ready();
  return { identity, acl };
};

describe('identity routes', () => {
  it('guards the token and rotate routes with the ACL hook and leaves .well-known public', async () => {
    const { acl } = await build();
    expect(acl.get('/v1/identity/oidc/token/:name')).toStrictEqual({});
    expect(acl.get('/v1/identity/oidc/key/:name/rotate')).toStrictEqual({});
    expect(acl.get('/v1/identity/oidc/.well-known/keys')).toBeUndefined();
    expect(acl.get('/v1/identity/oidc/.well-known/openid-configuration')).toBeUndefined();
  });

  it("answers a workload's GET with a signed token in Vault's envelope", async () => {
    const { identity } = await build();
    const res = await app.inject({ url: '/v1/identity/oidc/token/web', headers: { 'x-caller': 'workload' } });
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      data: { client_id: string; token: string; ttl: number };
      mount_type: string;
    }>();
    expect(body).toMatchObject({ mount_type: 'identity', lease_duration: 0, renewable: false, auth: null });
    expect(Object.keys(body.data).sort()).toStrictEqual(['client_id', 'token', 'ttl']);
    expect(body.data).toMatchObject({ client_id: 'web-service', ttl: 3600 });
    const { payload } = await verifyAt(body.data.token, identity, fx.clock, 'web-service');
    expect(payload.sub).toBe('system:serviceaccount:shop:web');
  });

  it("answers the admin token and an unknown role with Vault's 400 messages", async () => {
    await build();
    const admin = await app.inject({ url: '/v1/identity/oidc/token/web', headers: { 'x-caller': 'admin' } });
    expect(admin.statusCode).toBe(400);
    expect(admin.json()).toStrictEqual({ errors: ["no entity associated with the request's token"] });
    const unknown = await app.inject({
      url: '/v1/identity/oidc/token/nope',
      headers: { 'x-caller': 'workload' },
    });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json()).toStrictEqual({ errors: ['role "nope" not found'] });
  });

  it('serves the discovery document and the keys raw, with Cache-Control', async () => {
    await build();
    const discovery = await app.inject({ url: '/v1/identity/oidc/.well-known/openid-configuration' });
    expect(discovery.statusCode).toBe(200);
    expect(discovery.headers['cache-control']).toBe('public, max-age=3600');
    expect(discovery.headers['content-type']).toMatch(/^application\/json/);
    expect(discovery.json()).toStrictEqual({
      issuer: `${ISSUER}/v1/identity/oidc`,
      jwks_uri: `${ISSUER}/v1/identity/oidc/.well-known/keys`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
    });

    const keys = await app.inject({ url: '/v1/identity/oidc/.well-known/keys' });
    expect(keys.statusCode).toBe(200);
    expect(keys.headers['cache-control']).toBe('public, max-age=3600');
    const { keys: jwks } = keys.json<{ keys: Array<Record<string, string>> }>();
    expect(jwks).toHaveLength(2);
    for (const k of jwks) {
      expect(Object.keys(k).sort()).toStrictEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    }
  });

  it('rotates a key on request: 204, and the next token carries the new kid', async () => {
    await build();
    const token = async () =>
      (await app.inject({ url: '/v1/identity/oidc/token/web', headers: { 'x-caller': 'workload' } })).json<{
        data: { token: string };
      }>().data.token;
    const before = decodeProtectedHeader(await token()).kid;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/identity/oidc/key/default/rotate',
      headers: { 'x-caller': 'admin' },
    });
    expect(res.statusCode).toBe(204);
    expect(decodeProtectedHeader(await token()).kid).not.toBe(before);
    const unknown = await app.inject({
      method: 'POST',
      url: '/v1/identity/oidc/key/nope/rotate',
      headers: { 'x-caller': 'admin' },
    });
    expect(unknown.json()).toStrictEqual({ errors: ['no named key found at "nope"'] });
  });

  it('answers 503 for tokens while the store is down, and still serves the keys it loaded', async () => {
    await build();
    await app.inject({ url: '/v1/identity/oidc/.well-known/keys' });
    fx.switchable.setDown(true);
    fx.clock.advanceMs(5000);
    const res = await app.inject({ url: '/v1/identity/oidc/token/web', headers: { 'x-caller': 'workload' } });
    expect(res.statusCode).toBe(503);
    expect(res.json()).toStrictEqual({ errors: ['identity token keys unavailable'] });
    expect((await app.inject({ url: '/v1/identity/oidc/.well-known/keys' })).statusCode).toBe(200);
  });
});
