import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEntries } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';

/*
 * The read side of what authgate.yaml configures, through the HTTP API as the vault CLI, hvac
 * and Terraform ask it: `auth/<mount>/role[/<name>]`, `auth/<mount>/config`, `sys/mounts`,
 * `sys/mounts/<path>[/tune]`. ACL-guarded as Vault's paths (the default policy grants none),
 * audited, never answering a secret, and writes refused with where the change belongs.
 */

const SERVER_KEY = randomBytes(32);
const WEB_ROLE = {
  bound_service_account_names: ['web-*'],
  bound_service_account_namespaces: ['shop'],
  audience: 'vault',
  token_policies: ['web'],
  token_ttl: '15m',
  token_max_ttl: '2h',
  token_period: '30m',
  token_num_uses: 5,
  token_bound_cidrs: ['10.0.0.0/8'],
  token_type: 'service',
};

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    serverKey: SERVER_KEY,
    config: {
      secrets: { kv: { secret: {}, 'team/kv': { max_versions: 3 } } },
      policies: {
        debugger: {
          path: {
            'auth/kubernetes/role': { capabilities: ['list'] },
            'auth/kubernetes/role/*': { capabilities: ['read'] },
            'auth/kubernetes/config': { capabilities: ['read'] },
            'sys/mounts': { capabilities: ['read'] },
            'sys/mounts/*': { capabilities: ['read'] },
          },
        },
        writer: {
          path: {
            'auth/kubernetes/role/*': { capabilities: ['create', 'update', 'delete'] },
            'auth/kubernetes/config': { capabilities: ['update'] },
            'sys/mounts/*': { capabilities: ['create', 'update', 'delete'] },
            'sys/auth/*': { capabilities: ['create', 'update', 'delete'] },
          },
        },
        'auth-reader': { path: { 'sys/auth/*': { capabilities: ['read'] } } },
        'auth-operator': { path: { 'sys/auth/*': { capabilities: ['read', 'sudo'] } } },
      },
    },
    roles: {
      nginx: NGINX_ROLE,
      Web: WEB_ROLE,
      debugger: { ...NGINX_ROLE, token_policies: ['debugger'] },
      writer: { ...NGINX_ROLE, token_policies: ['writer'] },
      'auth-reader': { ...NGINX_ROLE, token_policies: ['auth-reader'] },
      'auth-operator': { ...NGINX_ROLE, token_policies: ['auth-operator'] },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
const call = async (method: Method, url: string, token: string | undefined, body?: unknown) => {
  const res = await h.server.app.inject({
    method,
    url,
    headers: {
      ...(token === undefined ? {} : { 'x-vault-token': token }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, body: res.body, json: () => res.json() };
};
const get = (url: string, token: string | undefined = ADMIN_TOKEN) => call('GET', url, token);

const loginAs = async (role: string): Promise<string> => {
  const res = await h.login('kubernetes', { role, jwt: await h.podToken() });
  expect(res.status).toBe(200);
  return (res.json['auth'] as { client_token: string }).client_token;
};

/** Every secret the composed server holds: none may appear in any answer. */
const secrets = () => [
  readFileSync(join(h.dir, 'reviewer-token'), 'utf8'),
  ADMIN_TOKEN,
  SERVER_KEY.toString('hex'),
  SERVER_KEY.toString('base64'),
  SERVER_KEY.toString('base64url'),
];

describe('GET auth/<mount>/role/<name> (vault read auth/kubernetes/role/web)', () => {
  it("answers the role with Vault's fields, types and defaults", async () => {
    const res = await get('/v1/auth/kubernetes/role/web');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      mount_type: 'kubernetes',
      lease_id: '',
      renewable: false,
      auth: null,
    });
    expect(res.json()['data']).toEqual({
      bound_service_account_names: ['web-*'],
      bound_service_account_namespaces: ['shop'],
      bound_service_account_namespace_selector: '',
      audience: 'vault',
      alias_name_source: 'serviceaccount_uid',
      token_bound_cidrs: ['10.0.0.0/8'],
      token_explicit_max_ttl: 0,
      token_max_ttl: 7200,
      token_no_default_policy: false,
      token_num_uses: 5,
      token_period: 1800,
      token_policies: ['web'],
      token_ttl: 900,
      token_type: 'service',
    });
  });

  it('reads role names case-insensitively, as Vault stores them lowercased', async () => {
    const res = await get('/v1/auth/kubernetes/role/WEB');
    expect(res.status).toBe(200);
    expect(res.json()['data']['token_ttl']).toBe(900);
  });

  it('answers a role the mount does not have with 404 and no message', async () => {
    const res = await get('/v1/auth/kubernetes/role/missing');
    expect([res.status, res.json()]).toEqual([404, { errors: [] }]);
  });

  it('answers a mount that is not configured as a path no handler serves', async () => {
    const res = await get('/v1/auth/no-such-mount/role/web');
    expect([res.status, res.json()]).toEqual([
      404,
      { errors: ['no handler for route "auth/no-such-mount/role/web". route entry not found.'] },
    ]);
  });

  it('answers the jwks mount’s own roles too', async () => {
    const res = await get('/v1/auth/jwks/role/nginx');
    expect(res.status).toBe(200);
    expect(res.json()['data']).toMatchObject({
      token_policies: ['nginx'],
      token_ttl: 3600,
      token_max_ttl: 86400,
    });
  });
});

describe('LIST auth/<mount>/role (vault list auth/kubernetes/role)', () => {
  it('lists the role names, sorted and lowercased, as LIST and as GET ?list=true', async () => {
    const keys = ['auth-operator', 'auth-reader', 'debugger', 'nginx', 'web', 'writer'];
    for (const url of ['/v1/auth/kubernetes/role?list=true', '/v1/auth/kubernetes/role/?list=true']) {
      const res = await get(url);
      expect(res.status).toBe(200);
      expect(res.json()['data']).toEqual({ keys });
    }
  });

  it('answers a plain read of the list path with 405, as Vault’s `role/?` lists only', async () => {
    const res = await get('/v1/auth/kubernetes/role');
    expect([res.status, res.json()]).toEqual([405, { errors: ['unsupported operation'] }]);
  });

  it('answers a list of one role’s path as a path the plugin has not', async () => {
    const res = await get('/v1/auth/kubernetes/role/web?list=true');
    expect([res.status, res.json()]).toEqual([404, { errors: ['unsupported path'] }]);
  });
});

describe('GET auth/<mount>/config (vault read auth/kubernetes/config)', () => {
  it('answers Vault’s keys, the reviewer token only as set, and authgate’s settings under `authgate`', async () => {
    const res = await get('/v1/auth/kubernetes/config');
    expect(res.status).toBe(200);
    expect(res.json()['data']).toEqual({
      kubernetes_host: h.cluster.url.replace(/\/+$/, ''),
      kubernetes_ca_cert: '',
      pem_keys: [],
      issuer: h.cluster.issuer,
      disable_iss_validation: false,
      disable_local_ca_jwt: true,
      token_reviewer_jwt_set: true,
      use_annotations_as_alias_metadata: false,
      // authgate's own settings: every field is in src/auth/mount-read.test.ts.
      authgate: expect.objectContaining({
        verification: 'tokenreview',
        issuers: [h.cluster.issuer],
      }) as unknown,
    });
    const jwks = await get('/v1/auth/jwks/config');
    expect(jwks.json()['data']).toMatchObject({
      token_reviewer_jwt_set: false,
      authgate: {
        verification: 'jwks',
        jwks: { source: 'oidc-discovery', url: h.cluster.url },
        tokenreview: null,
      },
    });
  });

  it('answers no secret: not the reviewer token, the server key, nor the admin token', async () => {
    for (const url of ['/v1/auth/kubernetes/config', '/v1/auth/jwks/config', '/v1/sys/mounts']) {
      const res = await get(url);
      expect(res.status).toBe(200);
      for (const secret of secrets()) expect(res.body).not.toContain(secret.trim());
      expect(res.body).not.toContain('reviewer-token');
    }
  });

  it('answers a list of the config path with 405', async () => {
    expect((await get('/v1/auth/kubernetes/config?list=true')).status).toBe(405);
  });
});

describe('the ACL on the read paths', () => {
  const reads = [
    '/v1/auth/kubernetes/role/web',
    '/v1/auth/kubernetes/role?list=true',
    '/v1/auth/kubernetes/config',
    '/v1/sys/mounts',
    '/v1/sys/mounts/secret',
    '/v1/sys/mounts/secret/tune',
  ];

  it.each(reads)('refuses %s without a token, and to a token with only the default policy', async (url) => {
    expect(await call('GET', url, undefined).then((r) => [r.status, r.json()])).toEqual([
      403,
      { errors: ['permission denied'] },
    ]);
    const token = await loginAs('nginx');
    expect((await get(url, token)).status).toBe(403);
  });

  it.each(reads)('answers %s to a token whose policy grants read (or list) there', async (url) => {
    const token = await loginAs('debugger');
    expect((await get(url, token)).status).toBe(200);
  });

  it('does not extend a grant on one mount to another', async () => {
    const token = await loginAs('debugger');
    expect((await get('/v1/auth/jwks/role/nginx', token)).status).toBe(403);
    expect((await get('/v1/auth/jwks/config', token)).status).toBe(403);
  });

  it('checks the ACL before answering that a role is missing', async () => {
    const token = await loginAs('nginx');
    expect((await get('/v1/auth/kubernetes/role/missing', token)).status).toBe(403);
  });
});

describe('writes: roles, config and mounts come from authgate.yaml', () => {
  it.each([
    [
      'POST',
      '/v1/auth/kubernetes/role/web',
      /^the roles of auth\/kubernetes\/ are read from authgate\.yaml \(auth\.kubernetes\.roles\)/,
    ],
    ['PUT', '/v1/auth/kubernetes/role/new', /^the roles of auth\/kubernetes\/ are read from authgate\.yaml/],
    [
      'DELETE',
      '/v1/auth/kubernetes/role/web',
      /^the roles of auth\/kubernetes\/ are read from authgate\.yaml/,
    ],
    [
      'POST',
      '/v1/auth/kubernetes/config',
      /^the configuration of auth\/kubernetes\/ is read from authgate\.yaml \(auth\.kubernetes\)/,
    ],
    ['POST', '/v1/sys/mounts/other', /^secrets engines are read from authgate\.yaml \(secrets\.kv\)/],
    ['DELETE', '/v1/sys/mounts/secret', /^secrets engines are read from authgate\.yaml/],
    ['POST', '/v1/sys/mounts/secret/tune', /^secrets engines are read from authgate\.yaml/],
    // vault auth enable, vault auth disable, vault auth tune.
    ['POST', '/v1/sys/auth/other', /^auth methods are read from authgate\.yaml \(auth\)/],
    ['PUT', '/v1/sys/auth/team/k8s', /^auth methods are read from authgate\.yaml \(auth\)/],
    ['DELETE', '/v1/sys/auth/kubernetes', /^auth methods are read from authgate\.yaml \(auth\)/],
    ['POST', '/v1/sys/auth/kubernetes/tune', /^auth methods are read from authgate\.yaml \(auth\)/],
  ] as const)('refuses %s %s with 400 saying where the change belongs', async (method, url, message) => {
    const body = method === 'DELETE' ? undefined : { bound_service_account_names: ['x'], type: 'kv' };
    const res = await call(method, url, ADMIN_TOKEN, body);
    expect(res.status).toBe(400);
    expect(res.json()['errors'][0]).toMatch(message);
    // Nothing changed.
    expect((await get('/v1/auth/kubernetes/role/new')).status).toBe(404);
    expect((await get('/v1/auth/kubernetes/role/web')).status).toBe(200);
  });

  it('checks the ACL first: a token without a write grant is refused with 403', async () => {
    const token = await loginAs('debugger');
    expect((await call('POST', '/v1/auth/kubernetes/role/web', token, {})).status).toBe(403);
    expect((await call('POST', '/v1/auth/kubernetes/config', token, {})).status).toBe(403);
    expect((await call('POST', '/v1/sys/mounts/other', token, {})).status).toBe(403);
    expect((await call('POST', '/v1/sys/auth/other', token, {})).status).toBe(403);
    const writer = await loginAs('writer');
    // Vault's sys/auth/* is root-protected: update without sudo is not enough.
    expect((await call('POST', '/v1/sys/auth/other', writer, {})).status).toBe(403);
    expect((await call('POST', '/v1/auth/kubernetes/role/web', writer, {})).status).toBe(400);
    expect((await call('DELETE', '/v1/sys/mounts/secret', writer)).status).toBe(400);
  });

  it.each([
    ['PATCH', '/v1/auth/kubernetes/role/web'],
    ['DELETE', '/v1/auth/kubernetes/config'],
    ['PATCH', '/v1/auth/kubernetes/config'],
    ['POST', '/v1/auth/kubernetes/role'],
    ['PATCH', '/v1/sys/mounts/secret'],
    ['POST', '/v1/sys/mounts'],
    // Paths served by a wildcard route: their other methods too.
    ['PATCH', '/v1/sys/auth/kubernetes'],
    ['PATCH', '/v1/sys/audit/file'],
    ['DELETE', '/v1/sys/internal/ui/mounts/secret'],
    ['GET', '/v1/sys/leases/revoke/abc'],
    ['DELETE', '/v1/sys/leases/renew/abc'],
  ] as const)('answers %s %s, which Vault’s path has not, with 405', async (method, url) => {
    const body = method === 'DELETE' || method === 'GET' ? undefined : {};
    const res = await call(method, url, ADMIN_TOKEN, body);
    expect([res.status, res.json()]).toEqual([405, { errors: ['unsupported operation'] }]);
  });

  it('checks the token before it says a wildcard path lacks a method, as Vault', async () => {
    for (const url of ['/v1/sys/auth/kubernetes', '/v1/sys/audit/file']) {
      expect((await call('PATCH', url, undefined, {})).status).toBe(403);
    }
  });
});

describe('GET sys/mounts (vault secrets list)', () => {
  it('lists the mounts authgate serves in Vault’s shape, under data and at the top level', async () => {
    const res = await get('/v1/sys/mounts');
    expect(res.status).toBe(200);
    const json = res.json();
    expect(json['mount_type']).toBe('system');
    expect(Object.keys(json['data'])).toEqual(['identity/', 'secret/', 'sys/', 'team/kv/']);
    const entry = (type: string, description: string, options: unknown) => ({
      accessor: expect.stringMatching(/^[a-z]+_[0-9a-f]{8}$/) as unknown,
      config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
      description,
      external_entropy_access: false,
      local: false,
      options,
      plugin_version: '',
      running_plugin_version: '',
      running_sha256: '',
      seal_wrap: false,
      type,
      uuid: expect.stringMatching(
        /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
      ) as unknown,
    });
    expect(json['data']).toEqual({
      'identity/': entry('identity', 'identity store', null),
      'secret/': entry('kv', 'key/value secret storage', { version: '2' }),
      'sys/': entry('system', 'system endpoints used for control, policy and debugging', null),
      'team/kv/': entry('kv', 'key/value secret storage', { version: '2' }),
    });
    for (const [path, info] of Object.entries(json['data'])) expect(json[path]).toEqual(info);
    // No cubbyhole: authgate does not serve one.
    expect(json['data']).not.toHaveProperty('cubbyhole/');
  });

  it('names each KV mount with the accessor and UUID that sys/internal/ui/mounts gives it', async () => {
    const table = (await get('/v1/sys/mounts')).json()['data'];
    const ui = (await get('/v1/sys/internal/ui/mounts/team/kv')).json()['data'];
    expect([ui.accessor, ui.uuid]).toEqual([table['team/kv/'].accessor, table['team/kv/'].uuid]);
  });

  it('lists each mount’s TTLs as 0 (none set), which sys/internal/ui/mounts shows as the system’s 768h', async () => {
    const table = (await get('/v1/sys/mounts')).json()['data'];
    for (const path of ['secret/', 'team/kv/', 'identity/', 'sys/']) {
      expect(table[path].config, path).toMatchObject({ default_lease_ttl: 0, max_lease_ttl: 0 });
      const ui = (await get(`/v1/sys/internal/ui/mounts/${path}`)).json()['data'];
      expect(ui.config, path).toEqual({
        ...table[path].config,
        default_lease_ttl: 2_764_800,
        max_lease_ttl: 2_764_800,
      });
    }
  });

  it('refuses a list of it with 405', async () => {
    expect((await get('/v1/sys/mounts?list=true')).status).toBe(405);
  });
});

describe('GET sys/mounts/<path>', () => {
  it('answers the mount serving the path, as Vault’s longest match', async () => {
    const table = (await get('/v1/sys/mounts')).json()['data'];
    for (const [url, mount] of [
      ['/v1/sys/mounts/secret', 'secret/'],
      ['/v1/sys/mounts/secret/', 'secret/'],
      ['/v1/sys/mounts/secret/data/app/db', 'secret/'],
      ['/v1/sys/mounts/team/kv', 'team/kv/'],
      ['/v1/sys/mounts/identity', 'identity/'],
      ['/v1/sys/mounts/sys', 'sys/'],
    ] as const) {
      const res = await get(url);
      expect(res.status).toBe(200);
      // At the top level too, as Vault's HTTP layer injects sys/mounts/ answers.
      expect(res.json()).toMatchObject({ ...table[mount], data: table[mount], mount_type: 'system' });
    }
  });

  it.each([
    ['/v1/sys/mounts/cubbyhole', 'cubbyhole/'],
    ['/v1/sys/mounts/team', 'team/'],
    ['/v1/sys/mounts/auth/kubernetes', 'auth/kubernetes/'],
  ])('answers %s, which no secrets engine serves, with Vault’s 400', async (url, path) => {
    const res = await get(url);
    expect([res.status, res.json()]).toEqual([400, { errors: [`No secret engine mount at ${path}`] }]);
  });

  it('answers a tune read with the system default TTLs filled in, under data and at the top level', async () => {
    const res = await get('/v1/sys/mounts/team/kv/tune');
    expect(res.status).toBe(200);
    const data = {
      description: 'key/value secret storage',
      default_lease_ttl: 2764800,
      max_lease_ttl: 2764800,
      force_no_cache: false,
      options: { version: '2' },
    };
    expect(res.json()).toMatchObject({ ...data, data, mount_type: 'system' });
    const identity = (await get('/v1/sys/mounts/identity/tune')).json();
    expect(identity['data']).not.toHaveProperty('options');
    const missing = await get('/v1/sys/mounts/nowhere/tune');
    expect([missing.status, missing.json()]).toEqual([
      400,
      { errors: ['cannot fetch sysview for path "nowhere/"'] },
    ]);
  });
});

describe('GET sys/auth/<path> and sys/auth/<path>/tune (vault read sys/auth/kubernetes)', () => {
  it('answers the mount as sys/auth lists it', async () => {
    const listed = (await get('/v1/sys/auth')).json()['data']['kubernetes/'] as object;
    for (const url of ['/v1/sys/auth/kubernetes', '/v1/sys/auth/kubernetes/']) {
      const res = await get(url);
      expect(res.status, url).toBe(200);
      expect(res.json()).toMatchObject({ ...listed, data: listed, mount_type: 'system' });
    }
  });

  it("answers the tune read with the mount's TTLs and token type, at the top level too", async () => {
    const res = await get('/v1/sys/auth/kubernetes/tune');
    expect(res.status).toBe(200);
    const data = {
      description: expect.any(String) as unknown,
      default_lease_ttl: 2_764_800,
      max_lease_ttl: 2_764_800,
      force_no_cache: false,
      token_type: 'default-service',
    };
    expect(res.json()).toMatchObject({ data, ...data });
  });

  it("answers a path with no mount with Vault's 400", async () => {
    expect((await get('/v1/sys/auth/nope')).json()).toEqual({ errors: ['No auth engine at nope/'] });
    expect((await get('/v1/sys/auth/nope')).status).toBe(400);
    const tune = await get('/v1/sys/auth/nope/tune');
    expect([tune.status, tune.json()]).toEqual([
      400,
      { errors: ['cannot fetch sysview for path "auth/nope/"'] },
    ]);
  });

  it('lists the token store, auth/token/, as Vault always mounts it', async () => {
    const listed = (await get('/v1/sys/auth')).json();
    const token = {
      type: 'token',
      description: 'token based credentials',
      accessor: expect.stringMatching(/^auth_token_[0-9a-f]{8}$/) as unknown,
      local: false,
      seal_wrap: false,
      external_entropy_access: false,
      options: null,
      config: expect.objectContaining({ token_type: 'default-service', force_no_cache: false }) as unknown,
    };
    expect(listed['data']['token/']).toMatchObject(token);
    expect(listed['token/']).toEqual(listed['data']['token/']);
    // Every auth mount's config names its token type, as Vault's mountInfo for the auth table.
    expect(listed['data']['kubernetes/']['config']).toMatchObject({ token_type: 'default-service' });
    const one = await get('/v1/sys/auth/token');
    expect([one.status, one.json()['data']]).toEqual([200, listed['data']['token/']]);
    const tune = (await get('/v1/sys/auth/token/tune')).json();
    expect(tune['data']).toEqual({
      description: 'token based credentials',
      default_lease_ttl: 2_764_800,
      max_lease_ttl: 2_764_800,
      force_no_cache: false,
      token_type: 'default-service',
    });
    const ui = await get('/v1/sys/internal/ui/mounts/auth/token/lookup-self');
    expect(ui.status).toBe(200);
    expect(ui.json()['data']).toMatchObject({ type: 'token', path: 'token/', accessor: token.accessor });
  });

  it('lists an untuned mount’s TTLs as 0, as Vault’s mount table keeps them; tune and the UI read fill in 768h', async () => {
    const untuned = { default_lease_ttl: 0, max_lease_ttl: 0 };
    const listed = (await get('/v1/sys/auth')).json()['data'];
    for (const path of ['token/', 'kubernetes/']) {
      expect(listed[path]['config'], path).toMatchObject(untuned);
      expect((await get(`/v1/sys/auth/${path}`)).json()['data']['config'], path).toMatchObject(untuned);
      const effective = { default_lease_ttl: 2_764_800, max_lease_ttl: 2_764_800 };
      expect((await get(`/v1/sys/auth/${path}tune`)).json()['data'], path).toMatchObject(effective);
      const ui = (await get(`/v1/sys/internal/ui/mounts/auth/${path}`)).json()['data'];
      expect(ui['config'], path).toMatchObject(effective);
    }
  });

  it('lists each auth mount with the keys of Vault’s mountInfo, as sys/mounts lists a secrets mount', async () => {
    const auth = (await get('/v1/sys/auth')).json()['data'];
    const secrets = (await get('/v1/sys/mounts')).json()['data'];
    const keys = Object.keys(secrets['secret/']).sort();
    const uuids = new Set<string>();
    for (const path of ['token/', 'kubernetes/', 'jwks/']) {
      expect(Object.keys(auth[path]).sort(), path).toEqual(keys);
      expect(auth[path], path).toMatchObject({
        plugin_version: '',
        running_plugin_version: '',
        running_sha256: '',
      });
      expect(auth[path].uuid, path).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      uuids.add(auth[path].uuid);
      // The same mount, the same UUID, wherever it is read.
      const ui = (await get(`/v1/sys/internal/ui/mounts/auth/${path}`)).json()['data'];
      expect([ui.uuid, ui.accessor], path).toEqual([auth[path].uuid, auth[path].accessor]);
    }
    expect(uuids.size).toBe(3);
  });

  it('shows the TTLs authgate.yaml sets on a mount everywhere, as Vault shows a tuned one', async () => {
    const tuned = await startHarness({ mount: { default_lease_ttl: '1h', max_lease_ttl: '2h' } });
    try {
      const read = async (url: string) =>
        (await tuned.server.app.inject({ url, headers: { 'x-vault-token': ADMIN_TOKEN } })).json();
      const ttls = { default_lease_ttl: 3600, max_lease_ttl: 7200 };
      expect((await read('/v1/sys/auth')).data['kubernetes/'].config).toMatchObject(ttls);
      expect((await read('/v1/sys/auth/kubernetes')).data.config).toMatchObject(ttls);
      expect((await read('/v1/sys/auth/kubernetes/tune')).data).toMatchObject(ttls);
      expect((await read('/v1/sys/internal/ui/mounts/auth/kubernetes')).data.config).toMatchObject(ttls);
    } finally {
      await tuned.close();
    }
  });

  it('needs sudo, as Vault’s root path auth/*: read alone is refused', async () => {
    expect((await get('/v1/sys/auth/kubernetes', await loginAs('auth-reader'))).status).toBe(403);
    const operator = await loginAs('auth-operator');
    expect((await get('/v1/sys/auth/kubernetes', operator)).status).toBe(200);
    expect((await get('/v1/sys/auth/kubernetes/tune', operator)).status).toBe(200);
    expect((await get('/v1/sys/auth/kubernetes', await loginAs('nginx'))).status).toBe(403);
  });
});

describe('audit', () => {
  it('audits each read with the mount it belongs to, the answer’s strings hashed', async () => {
    const file = h.auditFile;
    if (file === undefined) throw new Error('no audit file');
    await get('/v1/auth/kubernetes/role/web');
    await get('/v1/auth/kubernetes/config');
    await get('/v1/sys/mounts/secret');
    const entries = readEntries(file);
    const responseOf = (path: string) =>
      entries.filter((e) => e.type === 'response' && e.request['path'] === path).at(-1);
    const dataOf = (path: string) => responseOf(path)?.response?.['data'] as Record<string, unknown>;
    expect(responseOf('auth/kubernetes/role/web')?.request).toMatchObject({
      operation: 'read',
      mount_point: 'auth/kubernetes/',
      mount_type: 'kubernetes',
      mount_class: 'auth',
    });
    expect(dataOf('auth/kubernetes/role/web')).toMatchObject({
      token_ttl: 900,
      audience: expect.stringMatching(/^hmac-sha256:/) as unknown,
    });
    expect(dataOf('auth/kubernetes/config')).toMatchObject({
      kubernetes_host: expect.stringMatching(/^hmac-sha256:/) as unknown,
      token_reviewer_jwt_set: true,
    });
    expect(responseOf('sys/mounts/secret')?.request).toMatchObject({
      mount_point: 'sys/',
      mount_type: 'system',
    });
  });
});
