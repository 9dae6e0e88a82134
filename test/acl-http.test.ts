import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountAccessor } from '../src/auth/index.js';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import { rawGetStatus } from './helpers/raw-http.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/*
 * The ACL through the HTTP API: one templated policy serves every namespace, `deny` and
 * precedence, the default policy, use-limited tokens, the read-only policy endpoints and reload.
 */

const ACCESSOR = mountAccessor('kubernetes', 'kubernetes');
const policyDir = mkdtempSync(join(tmpdir(), 'authgate-policies-'));
writeFileSync(
  join(policyDir, 'own-namespace.hcl'),
  `# Each workload reads its own namespace's secrets, and lists them.
path "secret/data/{{identity.namespace}}/*" {
  capabilities = ["read"]
}
path "secret/metadata/{{identity.namespace}}/*" {
  capabilities = ["list"]
}
`,
);

const ROLE = {
  bound_service_account_names: ['app'],
  bound_service_account_namespaces: ['team-a', 'team-b'],
  audience: 'vault',
}; // policies per role below

/** authgate's operator endpoints: Vault's root-protected paths, `sudo` and the operation's capability. */
const OPERATOR_PATHS = [
  'sys/policies/reload',
  'sys/audit-hash/test',
  'sys/audit/logins',
  'auth/token/revoke-identity',
];

let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    config: {
      policy_dir: policyDir,
      policies: {
        'no-admin-secrets': {
          path: {
            'secret/data/team-a/*': { capabilities: ['read'] },
            'secret/data/team-a/admin': { capabilities: ['deny'] },
          },
        },
        operator: {
          path: {
            'sys/policies/reload': { capabilities: ['update', 'sudo'] },
            'auth/token/revoke-identity': { capabilities: ['update'] },
          },
        },
        // What an operator endpoint needs, one half at a time: sudo without the operation's
        // capability, and the capabilities without sudo.
        'sudo-only': { path: Object.fromEntries(OPERATOR_PATHS.map((p) => [p, { capabilities: ['sudo'] }])) },
        'no-sudo': {
          path: Object.fromEntries(
            OPERATOR_PATHS.map((p) => [p, { capabilities: ['read', 'update', 'list'] }]),
          ),
        },
        'dev-only': { path: { 'secret/data/+/dev/*': { capabilities: ['read'] } } },
        'by-accessor': {
          path: {
            [`secret/data/sa/{{identity.entity.aliases.${ACCESSOR}.metadata.service_account_name}}`]: {
              capabilities: ['read'],
            },
          },
        },
      },
    },
    roles: {
      apps: { ...ROLE, token_policies: ['own-namespace', 'by-accessor'] },
      guarded: { ...ROLE, token_policies: ['no-admin-secrets'] },
      limited: { ...ROLE, token_policies: ['own-namespace'], token_num_uses: 2 },
      bare: { ...ROLE, token_policies: ['own-namespace'], token_no_default_policy: true },
      nokv: { ...ROLE, token_policies: ['default'] },
      devonly: { ...ROLE, token_policies: ['dev-only'] },
      operator: { ...ROLE, token_policies: ['operator'] },
      'sudo-only': { ...ROLE, token_policies: ['sudo-only'] },
      'no-sudo': { ...ROLE, token_policies: ['no-sudo'] },
    },
  });
  for (const ns of ['team-a', 'team-b'])
    h.cluster.createPod({ namespace: ns, name: 'app-0', serviceAccount: 'app' });
  for (const path of ['team-a/db', 'team-b/db', 'team-a/admin', 'sa/app', 'sa/other']) {
    expect((await write(path, { value: `secret of ${path}` })).statusCode).toBe(200);
  }
});
afterAll(async () => {
  await h?.close();
  rmSync(policyDir, { recursive: true, force: true });
});

const write = (path: string, data: Record<string, unknown>, token = ADMIN_TOKEN) =>
  h.server.app.inject({
    method: 'POST',
    url: `/v1/secret/data/${path}`,
    headers: { 'x-vault-token': token, 'content-type': 'application/json' },
    payload: JSON.stringify({ data }),
  });

const get = (url: string, token: string | undefined) =>
  h.server.app.inject({ method: 'GET', url, headers: token === undefined ? {} : { 'x-vault-token': token } });

const loginAs = async (role: string, namespace: string): Promise<string> => {
  const jwt = await h.podToken({ namespace, serviceAccount: 'app', pod: 'app-0' });
  const res = await h.login('kubernetes', { role, jwt });
  expect(res.status).toBe(200);
  return (res.json['auth'] as { client_token: string }).client_token;
};

describe('one templated policy for every namespace', () => {
  it.each([
    ['team-a', 'team-b'],
    ['team-b', 'team-a'],
  ])('lets a workload of %s read its own secret and refuses it those of %s', async (own, other) => {
    const token = await loginAs('apps', own);
    const mine = await get(`/v1/secret/data/${own}/db`, token);
    expect(mine.statusCode).toBe(200);
    expect(mine.json().data.data).toEqual({ value: `secret of ${own}/db` });
    const theirs = await get(`/v1/secret/data/${other}/db`, token);
    expect(theirs.statusCode).toBe(403);
    expect(theirs.json()).toEqual({ errors: ['permission denied'] });
  });

  it('lists its own namespace only (list arrives as GET ?list=true)', async () => {
    const token = await loginAs('apps', 'team-a');
    const mine = await get('/v1/secret/metadata/team-a/?list=true', token);
    expect(mine.statusCode).toBe(200);
    expect(mine.json().data.keys).toEqual(['admin', 'db']);
    expect((await get('/v1/secret/metadata/team-b/?list=true', token)).statusCode).toBe(403);
    // `list` is not `read`.
    expect((await get('/v1/secret/metadata/team-a/db', token)).statusCode).toBe(403);
  });

  it('resolves the long form, keyed by the mount accessor that sys/auth publishes', async () => {
    const auth = await get('/v1/sys/auth', ADMIN_TOKEN);
    expect(auth.json().data['kubernetes/']).toMatchObject({ type: 'kubernetes', accessor: ACCESSOR });
    // A sys/ answer names the system backend as its mount, as Vault's.
    expect(auth.json().mount_type).toBe('system');
    expect((await get('/v1/sys/policies/acl/default', ADMIN_TOKEN)).json().mount_type).toBe('system');
    const token = await loginAs('apps', 'team-b');
    expect((await get('/v1/secret/data/sa/app', token)).statusCode).toBe(200);
    expect((await get('/v1/secret/data/sa/other', token)).statusCode).toBe(403);
  });

  it('never lets a workload write where its policy only reads', async () => {
    const token = await loginAs('apps', 'team-a');
    expect((await write('team-a/db', { value: 'overwritten' }, token)).statusCode).toBe(403);
    expect((await get('/v1/secret/data/team-a/db', ADMIN_TOKEN)).json().data.data).toEqual({
      value: 'secret of team-a/db',
    });
  });
});

let port: number | undefined;
/** The app listening on a free loopback port (once), for requests sent byte for byte. */
const listeningPort = async (): Promise<number> =>
  (port ??= Number(new URL(await h.server.app.listen({ host: '127.0.0.1', port: 0 })).port));

describe('paths', () => {
  it('refuses a path with a .. segment, sent raw, before any glob sees it', async () => {
    const token = await loginAs('apps', 'team-a');
    const port = await listeningPort();
    expect(await rawGetStatus(port, '/v1/secret/data/team-a/db', token)).toBe(200);
    // A `..` as sent is redirected to the clean path, as Vault's mux does, where the ACL judges it.
    expect(await rawGetStatus(port, '/v1/secret/data/team-a/../team-b/db', token)).toBe(301);
    expect(await rawGetStatus(port, '/v1/secret/data/team-b/db', token)).toBe(403);
    // One that only decoding reveals is refused.
    for (const target of ['/v1/secret/data/team-a/..%2Fteam-b/db']) {
      expect(await rawGetStatus(port, target, token)).toBe(400);
      expect(await rawGetStatus(port, target, ADMIN_TOKEN)).toBe(400);
    }
  });

  it('refuses an absolute-form request target, which the router would serve under a path the ACL never saw', async () => {
    const token = await loginAs('guarded', 'team-b');
    const port = await listeningPort();
    expect(await rawGetStatus(port, '/v1/secret/data/team-a/admin', token)).toBe(403);
    for (const target of ['http://x/v1/secret/data/team-a/admin', 'https://x/v1/secret/data/team-a/db']) {
      expect(await rawGetStatus(port, target, token)).toBe(400);
      expect(await rawGetStatus(port, target, ADMIN_TOKEN)).toBe(400);
    }
  });
});

describe('sys/internal/ui/mounts (what the vault CLI asks first)', () => {
  const uiMounts = (token: string | undefined) => get('/v1/sys/internal/ui/mounts/secret/team-a/db', token);

  it('names the KV mount to the admin token and to a token with a grant under it', async () => {
    // devonly: only `secret/data/+/dev/*`, a + rule that reaches below the mount (Vault's bareMount).
    for (const token of [ADMIN_TOKEN, await loginAs('apps', 'team-b'), await loginAs('devonly', 'team-a')]) {
      const res = await uiMounts(token);
      expect(res.statusCode).toBe(200);
      expect(res.json().data).toMatchObject({ type: 'kv', path: 'secret/', options: { version: '2' } });
    }
  });

  it.each([
    ['no token', async () => undefined],
    ['an unknown token', async () => 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a token whose policies grant nothing under the mount', () => loginAs('nokv', 'team-a')],
  ])('refuses %s with Vault’s preflight 403', async (_, tokenOf) => {
    const res = await uiMounts(await tokenOf());
    expect(res.statusCode).toBe(403);
    expect(res.json().errors[0]).toMatch(/^preflight capability check returned 403/);
  });
});

describe('sys/internal/ui/mounts under auth/ (the auth mounts, as Vault names them)', () => {
  it('names the auth mount serving a path, to a caller with a grant under auth/<mount>/', async () => {
    for (const path of [
      'auth/kubernetes',
      'auth/kubernetes/',
      'auth/kubernetes/role/apps',
      'auth/kubernetes/login',
    ]) {
      const res = await get(`/v1/sys/internal/ui/mounts/${path}`, ADMIN_TOKEN);
      expect(res.statusCode, path).toBe(200);
      expect(res.json().data).toEqual({
        accessor: ACCESSOR,
        description: '',
        type: 'kubernetes',
        local: false,
        seal_wrap: false,
        external_entropy_access: false,
        options: null,
        config: {
          default_lease_ttl: expect.any(Number),
          max_lease_ttl: expect.any(Number),
          force_no_cache: false,
          token_type: 'default-service',
        },
        plugin_version: '',
        running_plugin_version: '',
        running_sha256: '',
        uuid: expect.any(String),
        path: 'kubernetes/',
      });
    }
  });

  it.each([
    [
      'a mount that does not exist, to the admin token',
      'auth/nope/login',
      () => Promise.resolve(ADMIN_TOKEN),
    ],
    [
      'a workload whose policies grant nothing under auth/kubernetes/',
      'auth/kubernetes/login',
      () => loginAs('apps', 'team-a'),
    ],
  ])("refuses %s with Vault's preflight 403", async (_what, path, tokenOf) => {
    const res = await get(`/v1/sys/internal/ui/mounts/${path}`, await tokenOf());
    expect(res.statusCode).toBe(403);
    expect(res.json().errors).toEqual([
      `preflight capability check returned 403, please ensure client's policies grant access to path "${path}/"`,
    ]);
  });
});

describe('deny and precedence', () => {
  it('refuses the denied path and allows its siblings', async () => {
    const token = await loginAs('guarded', 'team-b');
    expect((await get('/v1/secret/data/team-a/db', token)).statusCode).toBe(200);
    expect((await get('/v1/secret/data/team-a/admin', token)).statusCode).toBe(403);
  });
});

describe('tokens', () => {
  it.each([
    // As Vault: no token is `permission denied`; a token that is not live says so too.
    ['no token', undefined, 'permission denied'],
    ['an unknown token', 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', INVALID_TOKEN_MESSAGE],
    ['a malformed token', 'not a token at all', INVALID_TOKEN_MESSAGE],
  ])('refuses %s with 403 before any engine runs', async (_, token, message) => {
    const res = await get('/v1/secret/data/team-a/db', token);
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ errors: [message] });
  });

  it('lets the default policy look up, renew and revoke the token itself', async () => {
    const token = await loginAs('apps', 'team-a');
    const headers = { 'x-vault-token': token, 'content-type': 'application/json' };
    expect((await get('/v1/auth/token/lookup-self', token)).statusCode).toBe(200);
    expect(
      (
        await h.server.app.inject({
          method: 'POST',
          url: '/v1/auth/token/renew-self',
          headers,
          payload: '{}',
        })
      ).statusCode,
    ).toBe(200);
    expect(
      (await h.server.app.inject({ method: 'POST', url: '/v1/auth/token/revoke-self', headers })).statusCode,
    ).toBe(204);
    expect((await get('/v1/auth/token/lookup-self', token)).statusCode).toBe(403);
  });

  it('refuses lookup-self to a token issued without the default policy', async () => {
    const token = await loginAs('bare', 'team-a');
    expect((await get('/v1/auth/token/lookup-self', token)).statusCode).toBe(403);
    expect((await get('/v1/secret/data/team-a/db', token)).statusCode).toBe(200);
  });

  it('refuses a renewal that takes the last use with Vault’s 400 token not found, and revokes', async () => {
    const token = await loginAs('limited', 'team-a');
    expect((await get('/v1/auth/token/lookup-self', token)).statusCode).toBe(200);
    const renewed = await h.server.app.inject({
      method: 'POST',
      url: '/v1/auth/token/renew-self',
      headers: { 'x-vault-token': token },
    });
    expect([renewed.statusCode, renewed.json()]).toEqual([400, { errors: ['token not found'] }]);
    expect((await get('/v1/auth/token/lookup-self', token)).statusCode).toBe(403);
  });

  it('spends a use of a use-limited token on a refused request, as Vault does', async () => {
    const token = await loginAs('limited', 'team-a');
    expect((await get('/v1/secret/data/team-b/db', token)).statusCode).toBe(403);
    expect((await get('/v1/secret/data/team-a/db', token)).statusCode).toBe(200);
    // Two uses: both spent, one of them on the refusal.
    expect((await get('/v1/secret/data/team-a/db', token)).statusCode).toBe(403);
  });
});

describe('the policy endpoints', () => {
  it('list and read policies for a caller with the right, in Vault shapes', async () => {
    const list = await get('/v1/sys/policies/acl?list=true', ADMIN_TOKEN);
    expect(list.json().data.keys).toEqual([
      'by-accessor',
      'default',
      'dev-only',
      'no-admin-secrets',
      'no-sudo',
      'operator',
      'own-namespace',
      'sudo-only',
      // Vault lists its reserved root policy after the stored ones.
      'root',
    ]);
    const read = await get('/v1/sys/policies/acl/own-namespace', ADMIN_TOKEN);
    expect(read.json().data).toEqual({
      name: 'own-namespace',
      policy: expect.stringContaining('path "secret/data/{{identity.namespace}}/*"') as unknown,
    });
    const legacy = await get('/v1/sys/policy', ADMIN_TOKEN);
    expect(legacy.json()).toMatchObject({
      policies: list.json().data.keys,
      data: { keys: list.json().data.keys },
    });
    expect((await get('/v1/sys/policies/acl/missing', ADMIN_TOKEN)).statusCode).toBe(404);
  });

  it('refuses them to a workload whose policies do not grant them', async () => {
    const token = await loginAs('apps', 'team-a');
    expect((await get('/v1/sys/policies/acl?list=true', token)).statusCode).toBe(403);
    expect((await get('/v1/sys/auth', token)).statusCode).toBe(403);
  });

  it('refuses writes: policies live in the config', async () => {
    const res = await h.server.app.inject({
      method: 'PUT',
      url: '/v1/sys/policies/acl/x',
      headers: { 'x-vault-token': ADMIN_TOKEN, 'content-type': 'application/json' },
      payload: JSON.stringify({ policy: 'path "*" { capabilities = ["sudo"] }' }),
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toMatch(/^policies are read from authgate\.yaml and policy_dir/);
  });
});

describe('sys/capabilities-self (vault token capabilities)', () => {
  const capabilities = (token: string, body: unknown) =>
    h.server.app.inject({
      method: 'POST',
      url: '/v1/sys/capabilities-self',
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });

  it('answers what the token may do on each path, deny where nothing, as Vault', async () => {
    const token = await loginAs('apps', 'team-a');
    const res = await capabilities(token, { paths: ['secret/data/team-a/db', 'secret/data/team-b/db'] });
    expect(res.statusCode).toBe(200);
    const expected = { 'secret/data/team-a/db': ['read'], 'secret/data/team-b/db': ['deny'] };
    expect(res.json()).toMatchObject({ ...expected, data: expected });
    // One path (the older `path` field too): also under `capabilities`.
    const single = await capabilities(token, { path: 'secret/metadata/team-a/' });
    expect(single.json()).toMatchObject({ capabilities: ['list'], data: { capabilities: ['list'] } });
  });

  it('answers a path named __proto__ like any other', async () => {
    const token = await loginAs('apps', 'team-a');
    const res = await capabilities(token, { paths: ['__proto__', 'secret/data/team-a/db'] });
    expect(res.statusCode).toBe(200);
    const data = res.json().data as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual(['__proto__', 'secret/data/team-a/db']);
    expect(Object.getOwnPropertyDescriptor(data, '__proto__')?.value).toEqual(['deny']);
  });

  it('answers root for the admin token, 403 to a token without the default policy, and 400 without paths', async () => {
    expect((await capabilities(ADMIN_TOKEN, { paths: ['anything'] })).json()).toMatchObject({
      capabilities: ['root'],
    });
    expect((await capabilities(await loginAs('bare', 'team-a'), { paths: ['x'] })).statusCode).toBe(403);
    const token = await loginAs('apps', 'team-a');
    for (const body of [{}, { paths: [] }, { paths: [{}] }, { paths: [''] }]) {
      expect((await capabilities(token, body)).statusCode).toBe(400);
    }
  });
});

describe('sys/capabilities and sys/capabilities-accessor (vault token capabilities <token> <path>)', () => {
  const ask = (url: string, token: string, body: unknown) =>
    h.server.app.inject({
      method: 'POST',
      url,
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      payload: JSON.stringify(body),
    });
  const accessorOf = async (token: string) =>
    (await get('/v1/auth/token/lookup-self', token)).json().data.accessor as string;
  const PATHS = ['secret/data/team-a/db', 'secret/data/team-b/db'];
  const EXPECTED = { 'secret/data/team-a/db': ['read'], 'secret/data/team-b/db': ['deny'] };

  it("answers what another token may do, by the token or by its accessor, as capabilities-self answers that token's own", async () => {
    const token = await loginAs('apps', 'team-a');
    const own = (await ask('/v1/sys/capabilities-self', token, { paths: PATHS })).json();
    expect(own).toMatchObject({ ...EXPECTED, data: EXPECTED });
    const byToken = await ask('/v1/sys/capabilities', ADMIN_TOKEN, { token, paths: PATHS });
    expect(byToken.statusCode).toBe(200);
    expect(byToken.json()).toMatchObject({ ...EXPECTED, data: EXPECTED });
    const byAccessor = await ask('/v1/sys/capabilities-accessor', ADMIN_TOKEN, {
      accessor: await accessorOf(token),
      path: 'secret/data/team-a/db',
    });
    expect(byAccessor.json()).toMatchObject({ capabilities: ['read'], data: { capabilities: ['read'] } });
    expect(
      (await ask('/v1/sys/capabilities', ADMIN_TOKEN, { token: ADMIN_TOKEN, paths: ['x'] })).json(),
    ).toMatchObject({
      capabilities: ['root'],
    });
  });

  it("refuses Vault's way: a token that is not live, an accessor of none, a missing field; and a workload asking about another token", async () => {
    const token = await loginAs('apps', 'team-a');
    const refusal = async (url: string, body: unknown) => {
      const res = await ask(url, ADMIN_TOKEN, body);
      return { status: res.statusCode, errors: res.json().errors as string[] };
    };
    expect(await refusal('/v1/sys/capabilities', { token: 'ags.nope', paths: ['x'] })).toEqual({
      status: 400,
      errors: ['invalid token'],
    });
    expect(await refusal('/v1/sys/capabilities', { paths: ['x'] })).toEqual({
      status: 400,
      errors: ['no token found'],
    });
    expect(await refusal('/v1/sys/capabilities-accessor', { accessor: 'nope', paths: ['x'] })).toEqual({
      status: 400,
      errors: ['invalid accessor'],
    });
    expect(await refusal('/v1/sys/capabilities-accessor', { paths: ['x'] })).toEqual({
      status: 400,
      errors: ['missing accessor'],
    });
    // The default policy grants capabilities-self only.
    const other = await loginAs('apps', 'team-b');
    expect((await ask('/v1/sys/capabilities', token, { token: other, paths: ['x'] })).statusCode).toBe(403);
    expect(
      (await ask('/v1/sys/capabilities-accessor', token, { accessor: await accessorOf(other), paths: ['x'] }))
        .statusCode,
    ).toBe(403);
    // A revoked token is no longer live.
    expect((await ask('/v1/auth/token/revoke-self', other, {})).statusCode).toBe(204);
    expect(await refusal('/v1/sys/capabilities', { token: other, paths: ['x'] })).toEqual({
      status: 400,
      errors: ['invalid token'],
    });
  });
});

describe('reloading policies without a restart', () => {
  const reload = () =>
    h.server.app.inject({
      method: 'POST',
      url: '/v1/sys/policies/reload',
      headers: { 'x-vault-token': ADMIN_TOKEN },
    });

  it('applies an edited policy file to tokens already issued, and keeps the old set when the new one is bad', async () => {
    const token = await loginAs('apps', 'team-a');
    expect((await get('/v1/secret/data/team-b/db', token)).statusCode).toBe(403);

    writeFileSync(join(policyDir, 'own-namespace.hcl'), 'path "secret/data/*" { capabilities = ["read"] }\n');
    expect((await reload()).statusCode).toBe(200);
    expect((await get('/v1/secret/data/team-b/db', token)).statusCode).toBe(200);

    writeFileSync(join(policyDir, 'broken.hcl'), 'path "secret/*" { capabilities = ["reed"] }\n');
    const refused = await reload();
    expect(refused.statusCode).toBe(400);
    expect(refused.json().errors[0]).toMatch(/broken\.hcl:1: policy "broken": .*reed/);
    // The running set is unchanged.
    expect((await get('/v1/secret/data/team-b/db', token)).statusCode).toBe(200);

    rmSync(join(policyDir, 'broken.hcl'));
    writeFileSync(
      join(policyDir, 'own-namespace.hcl'),
      'path "secret/data/{{identity.namespace}}/*" { capabilities = ["read"] }\n',
    );
    await h.server.reload(); // what SIGHUP calls
    expect((await get('/v1/secret/data/team-b/db', token)).statusCode).toBe(403);
  });

  it('lets a token whose policy grants sudo on an operator endpoint use it, and no other', async () => {
    const token = await loginAs('operator', 'team-a');
    const post = (url: string) =>
      h.server.app.inject({
        method: 'POST',
        url,
        headers: { 'x-vault-token': token, 'content-type': 'application/json' },
        payload: '{}',
      });
    expect((await post('/v1/sys/policies/reload')).statusCode).toBe(200);
    // update without sudo is not enough for an operator endpoint.
    expect((await post('/v1/auth/token/revoke-identity')).statusCode).toBe(403);
  });

  it.each([
    ['POST', '/v1/sys/policies/reload'],
    ['POST', '/v1/sys/audit-hash/test'],
    ['GET', '/v1/sys/audit/logins'],
    ['POST', '/v1/auth/token/revoke-identity'],
    // A list needs `list` and `sudo` on a root-protected path: never `list` alone.
    ['GET', '/v1/sys/audit/logins?list=true'],
  ])(
    'refuses %s %s to sudo without the operation’s capability, and to the capability without sudo',
    async (method, url) => {
      for (const role of ['sudo-only', 'no-sudo']) {
        const res = await h.server.app.inject({
          method: method as 'GET',
          url,
          headers: { 'x-vault-token': await loginAs(role, 'team-a'), 'content-type': 'application/json' },
          ...(method === 'POST' ? { payload: '{"input":"x"}' } : {}),
        });
        expect(res.statusCode, role).toBe(403);
      }
    },
  );

  it('refuses reload to a token without sudo on it', async () => {
    const token = await loginAs('apps', 'team-a');
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/sys/policies/reload',
      headers: { 'x-vault-token': token },
    });
    expect(res.statusCode).toBe(403);
  });
});
