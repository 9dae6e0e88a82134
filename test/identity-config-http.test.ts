import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';

/**
 * The read side of the identity engine's configuration through the HTTP API, as Vault's
 * `identity/oidc/role/<name>`, `identity/oidc/key/<name>`, their lists and `identity/oidc/config`
 * answer it (`vault read identity/oidc/role/web` tells an operator the `client_id` to give the
 * downstream service). authgate's roles and keys come from authgate.yaml: writes are a 400 that
 * says where. Every path is ACL-guarded, as in Vault.
 */

const POLICIES = {
  'read-web-role': { path: { 'identity/oidc/role/web': { capabilities: ['read'] } } },
  'sign-web': { path: { 'identity/oidc/token/*': { capabilities: ['read'] } } },
  'write-oidc': { path: { 'identity/oidc/*': { capabilities: ['create', 'update', 'delete'] } } },
};
const LOGIN_ROLES = {
  reader: { ...NGINX_ROLE, token_policies: ['read-web-role'] },
  signer: { ...NGINX_ROLE, token_policies: ['sign-web'] },
  writer: { ...NGINX_ROLE, token_policies: ['write-oidc'] },
};
const IDENTITY = {
  issuer: 'https://authgate.example.com',
  keys: { edge: { algorithm: 'EdDSA', rotation_period: '10m', verification_ttl: '20m' } },
  roles: {
    web: { audience: 'web-service', ttl: '30m' },
    edge: { key: 'edge', audience: 'edge-gateway', ttl: '5m' },
  },
};

describe("the identity engine's configuration through the API", () => {
  let h: Harness;
  const tokens: Record<string, string> = {};
  beforeAll(async () => {
    h = await startHarness({ roles: LOGIN_ROLES, config: { identity: IDENTITY, policies: POLICIES } });
    for (const role of Object.keys(LOGIN_ROLES)) {
      const res = await h.login('kubernetes', { role, jwt: await h.podToken() });
      tokens[role] = (res.json['auth'] as { client_token: string }).client_token;
    }
  });
  afterAll(async () => {
    await h?.close();
  });

  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, token?: string) => {
    const res = await h.server.app.inject({
      method,
      url,
      headers: {
        ...(token === undefined ? {} : { 'x-vault-token': token }),
        ...(method === 'POST' || method === 'PUT' ? { 'content-type': 'application/json' } : {}),
      },
      ...(method === 'POST' || method === 'PUT' ? { payload: '{"ttl":"1h"}' } : {}),
    });
    return {
      status: res.statusCode,
      json: res.body === '' ? undefined : res.json<Record<string, unknown>>(),
    };
  };

  it("reads a role in Vault's shape: its audience is the client_id", async () => {
    const res = await call('GET', '/v1/identity/oidc/role/web', ADMIN_TOKEN);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      data: { client_id: 'web-service', key: 'default', template: '', ttl: 1800 },
      mount_type: 'identity',
    });
    const edge = await call('GET', '/v1/identity/oidc/role/edge', ADMIN_TOKEN);
    expect(edge.json?.['data']).toStrictEqual({
      client_id: 'edge-gateway',
      key: 'edge',
      template: '',
      ttl: 300,
    });
  });

  it("reads a key in Vault's shape, the default key too", async () => {
    const edge = await call('GET', '/v1/identity/oidc/key/edge', ADMIN_TOKEN);
    expect(edge.status).toBe(200);
    expect(edge.json).toMatchObject({
      data: { algorithm: 'EdDSA', rotation_period: 600, verification_ttl: 1200, allowed_client_ids: ['*'] },
      mount_type: 'identity',
    });
    const def = await call('GET', '/v1/identity/oidc/key/default', ADMIN_TOKEN);
    expect(def.json?.['data']).toStrictEqual({
      algorithm: 'ES256',
      rotation_period: 86_400,
      verification_ttl: 86_400,
      allowed_client_ids: ['*'],
    });
  });

  it('reads the issuer as configured', async () => {
    const res = await call('GET', '/v1/identity/oidc/config', ADMIN_TOKEN);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      data: { issuer: 'https://authgate.example.com' },
      mount_type: 'identity',
    });
    expect((await call('GET', '/v1/identity/oidc/config/', ADMIN_TOKEN)).status).toBe(200);
  });

  it('lists roles and keys (LIST or GET ?list=true, with or without the trailing slash)', async () => {
    for (const url of ['/v1/identity/oidc/role?list=true', '/v1/identity/oidc/role/?list=true']) {
      const res = await call('GET', url, ADMIN_TOKEN);
      expect(res.status).toBe(200);
      expect(res.json?.['data']).toStrictEqual({ keys: ['edge', 'web'] });
    }
    const keys = await call('GET', '/v1/identity/oidc/key?list=true', ADMIN_TOKEN);
    expect(keys.json?.['data']).toStrictEqual({ keys: ['default', 'edge'] });
    const slash = await call('GET', '/v1/identity/oidc/key/?list=true', ADMIN_TOKEN);
    expect(slash.json?.['data']).toStrictEqual({ keys: ['default', 'edge'] });
  });

  it("answers an unknown role or key with Vault's bare 404, and a plain read of a list path with 405", async () => {
    for (const url of ['/v1/identity/oidc/role/nope', '/v1/identity/oidc/key/nope']) {
      const res = await call('GET', url, ADMIN_TOKEN);
      expect([res.status, res.json]).toStrictEqual([404, { errors: [] }]);
    }
    for (const url of ['/v1/identity/oidc/role', '/v1/identity/oidc/key/']) {
      const res = await call('GET', url, ADMIN_TOKEN);
      expect([res.status, res.json]).toStrictEqual([405, { errors: ['unsupported operation'] }]);
    }
    // A list of `role/<name>/` matches no pattern of Vault's backend.
    const res = await call('GET', '/v1/identity/oidc/role/web?list=true', ADMIN_TOKEN);
    expect([res.status, res.json]).toStrictEqual([404, { errors: ['unsupported path'] }]);
  });

  it('refuses every write with a 400 that names the key of authgate.yaml to change', async () => {
    const cases = [
      [
        'POST',
        '/v1/identity/oidc/role/web',
        'the identity token roles are read from authgate.yaml (identity.roles)',
      ],
      [
        'PUT',
        '/v1/identity/oidc/role/new',
        'the identity token roles are read from authgate.yaml (identity.roles)',
      ],
      [
        'DELETE',
        '/v1/identity/oidc/role/web',
        'the identity token roles are read from authgate.yaml (identity.roles)',
      ],
      [
        'POST',
        '/v1/identity/oidc/key/edge',
        'the identity token keys are read from authgate.yaml (identity.keys)',
      ],
      [
        'DELETE',
        '/v1/identity/oidc/key/default',
        'the identity token keys are read from authgate.yaml (identity.keys)',
      ],
      [
        'POST',
        '/v1/identity/oidc/config',
        'the identity token issuer is read from authgate.yaml (identity.issuer)',
      ],
    ] as const;
    for (const [method, url, message] of cases) {
      const res = await call(method, url, ADMIN_TOKEN);
      expect([method, url, res.status, res.json]).toStrictEqual([
        method,
        url,
        400,
        { errors: [`${message}: change it there and restart authgate`] },
      ]);
    }
    // Nothing changed.
    expect((await call('GET', '/v1/identity/oidc/role/web', ADMIN_TOKEN)).json?.['data']).toMatchObject({
      ttl: 1800,
    });
  });

  it('checks the ACL first: 403 without a token or a grant, the answer with one', async () => {
    const denied = { errors: ['permission denied'] };
    const cases: [string, 'GET' | 'POST' | 'DELETE', string, string | undefined, number][] = [
      ['no token', 'GET', '/v1/identity/oidc/role/web', undefined, 403],
      ['no token, a list', 'GET', '/v1/identity/oidc/key?list=true', undefined, 403],
      ['no token, the config', 'GET', '/v1/identity/oidc/config', undefined, 403],
      ['read on the role', 'GET', '/v1/identity/oidc/role/web', tokens['reader'], 200],
      ['read on another role', 'GET', '/v1/identity/oidc/role/edge', tokens['reader'], 403],
      ['read on the role, a key', 'GET', '/v1/identity/oidc/key/default', tokens['reader'], 403],
      ['read on identity tokens only', 'GET', '/v1/identity/oidc/role/web', tokens['signer'], 403],
      [
        'read on identity tokens only, a list',
        'GET',
        '/v1/identity/oidc/role?list=true',
        tokens['signer'],
        403,
      ],
      ['no update there', 'POST', '/v1/identity/oidc/role/web', tokens['reader'], 403],
      ['update there', 'POST', '/v1/identity/oidc/role/web', tokens['writer'], 400],
      ['delete there', 'DELETE', '/v1/identity/oidc/key/edge', tokens['writer'], 400],
    ];
    for (const [what, method, url, token, status] of cases) {
      const res = await call(method, url, token);
      expect([what, res.status]).toStrictEqual([what, status]);
      if (status === 403) expect(res.json).toStrictEqual(denied);
    }
  });

  it("answers a token request that names no role with Vault's 404, never a signature", async () => {
    const res = await call('GET', '/v1/identity/oidc/token/', tokens['signer']);
    expect([res.status, res.json]).toStrictEqual([404, { errors: ['unsupported path'] }]);
    const admin = await call('GET', '/v1/identity/oidc/token/?list=true', ADMIN_TOKEN);
    expect([admin.status, admin.json]).toStrictEqual([404, { errors: ['unsupported path'] }]);
  });
});
