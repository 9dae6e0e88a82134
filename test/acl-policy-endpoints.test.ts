import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';

/*
 * Vault's policy endpoints and capability questions, field by field against Vault's
 * vault/logical_system.go (handlePoliciesList, handlePoliciesRead, handleCapabilities),
 * vault/policy_store.go (GetPolicy: names trimmed and lowercased, `root` special-cased) and
 * vault/capabilities.go.
 */

let h: Harness;
let token: string;
let listerToken: string;

beforeAll(async () => {
  h = await startHarness({
    config: {
      policies: {
        team: {
          path: {
            'secret/data/team-a/*': { capabilities: ['read'] },
            'secret/data/team-a/admin': { capabilities: ['deny'] },
          },
        },
        reader: { path: { 'sys/policies/acl': { capabilities: ['read'] } } },
        // List only, everywhere under sys/: no read of any policy's rules nor of the auth table.
        lister: { path: { 'sys/*': { capabilities: ['list'] } } },
      },
    },
    roles: {
      app: {
        bound_service_account_names: ['app'],
        bound_service_account_namespaces: ['team-a'],
        audience: 'vault',
        token_policies: ['team', 'reader'],
      },
      lister: {
        bound_service_account_names: ['app'],
        bound_service_account_namespaces: ['team-a'],
        audience: 'vault',
        token_policies: ['lister'],
      },
    },
  });
  h.cluster.createPod({ namespace: 'team-a', name: 'app-0', serviceAccount: 'app' });
  const jwt = await h.podToken({ namespace: 'team-a', serviceAccount: 'app', pod: 'app-0' });
  const res = await h.login('kubernetes', { role: 'app', jwt });
  expect(res.status).toBe(200);
  token = (res.json['auth'] as { client_token: string }).client_token;
  const listed = await h.login('kubernetes', { role: 'lister', jwt });
  expect(listed.status).toBe(200);
  listerToken = (listed.json['auth'] as { client_token: string }).client_token;
});
afterAll(async () => {
  await h?.close();
});

const get = (url: string, as = ADMIN_TOKEN) =>
  h.server.app.inject({ method: 'GET', url, headers: { 'x-vault-token': as } });

const post = (url: string, body: unknown, as = ADMIN_TOKEN) =>
  h.server.app.inject({
    method: 'POST',
    url,
    headers: { 'x-vault-token': as, 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });

describe('listing policies', () => {
  // Vault appends `root` after the stored names: `vault policy list` on a new server shows
  // `default` and `root`.
  const NAMES = ['default', 'lister', 'reader', 'team', 'root'];

  it('lists root after the loaded policies, with or without the trailing slash', async () => {
    for (const url of ['/v1/sys/policies/acl?list=true', '/v1/sys/policies/acl/?list=true']) {
      const res = await get(url);
      expect([url, res.statusCode, res.json().data]).toEqual([url, 200, { keys: NAMES }]);
    }
    for (const url of ['/v1/sys/policy', '/v1/sys/policy/', '/v1/sys/policy?list=true']) {
      const res = await get(url);
      expect([url, res.statusCode, res.json().data]).toEqual([url, 200, { keys: NAMES, policies: NAMES }]);
    }
  });

  it('answers a read of sys/policies/acl, which Vault serves only as a list, with 405', async () => {
    const res = await get('/v1/sys/policies/acl', token);
    expect([res.statusCode, res.json()]).toEqual([405, { errors: ['unsupported operation'] }]);
  });
});

describe('reading a policy', () => {
  it('reads root as Vault does: its name and an empty policy', async () => {
    const acl = await get('/v1/sys/policies/acl/root');
    expect([acl.statusCode, acl.json().data]).toEqual([200, { name: 'root', policy: '' }]);
    const legacy = await get('/v1/sys/policy/root');
    expect([legacy.statusCode, legacy.json().data]).toEqual([200, { name: 'root', rules: '' }]);
  });

  it('finds a policy by its name trimmed and in any case, as Vault normalizes it', async () => {
    for (const name of ['TEAM', '%20Team%20']) {
      const res = await get(`/v1/sys/policies/acl/${name}`);
      expect([name, res.statusCode, res.json().data?.name]).toEqual([name, 200, 'team']);
    }
    expect((await get('/v1/sys/policies/acl/%20')).statusCode).toBe(404);
    // A tab never reaches the policy store: Vault refuses a path that is not printable first.
    expect((await get('/v1/sys/policies/acl/team%09')).statusCode).toBe(400);
  });
});

describe('sys/capabilities-self paths, as Vault reads its comma-string-slice field', () => {
  const ask = (body: unknown) => post('/v1/sys/capabilities-self', body, token);

  it('splits a string of paths at commas, each trimmed', async () => {
    const res = await ask({ paths: 'secret/data/team-a/db, secret/data/team-a/admin' });
    expect(res.statusCode).toBe(200);
    const expected = { 'secret/data/team-a/db': ['read'], 'secret/data/team-a/admin': ['deny'] };
    expect(res.json().data).toEqual(expected);
    // Two paths: no `capabilities` key, as in Vault.
    expect((await ask({ path: 'secret/data/team-a/db,secret/data/team-a/admin' })).json().data).toEqual(
      expected,
    );
  });

  it('reads the older path field when paths is empty, and a number as its text', async () => {
    const single = await ask({ paths: [], path: ['secret/data/team-a/db'] });
    expect(single.json().data).toEqual({ 'secret/data/team-a/db': ['read'], capabilities: ['read'] });
    const numeric = await ask({ paths: [42] });
    expect([numeric.statusCode, numeric.json().data]).toEqual([
      200,
      { '42': ['deny'], capabilities: ['deny'] },
    ]);
  });

  it("refuses with Vault's messages: no paths, an empty path, a value that is no list of strings", async () => {
    const refusal = async (body: unknown) => {
      const res = await ask(body);
      return [res.statusCode, res.json().errors];
    };
    for (const body of [{}, { paths: [] }, { paths: '' }, { paths: null, path: '' }]) {
      expect(await refusal(body)).toEqual([400, ['paths must be supplied']]);
    }
    for (const body of [{ paths: [''] }, { paths: ' ' }, { paths: 'secret/data/team-a/db,,x' }]) {
      expect(await refusal(body)).toEqual([400, ['missing path']]);
    }
    const [status, errors] = await refusal({ paths: [{ a: 1 }] });
    expect(status).toBe(400);
    expect((errors as string[])[0]).toMatch(
      /^Field validation failed: error converting input .* for field "paths": /,
    );
  });

  it('checks the paths before the token it names, as Vault (sys/capabilities)', async () => {
    const res = await post('/v1/sys/capabilities', { token: 'ags.nope', paths: [] });
    expect([res.statusCode, res.json().errors]).toEqual([400, ['paths must be supplied']]);
  });
});

// A list (`GET ?list=true`, or LIST) is checked against the path with `/` appended and needs
// `list` there; it must never be served as the read of the path, which needs `read`. Vault's
// patterns for one policy (`policy/(?P<name>.+)`, `policies/acl/(?P<name>.+)`) have no list
// operation (405), and none of its patterns matches `auth/` (404 unsupported path).
describe('a list of a path that has none', () => {
  it.each([
    ['/v1/sys/policy/team?list=true', 405, 'unsupported operation'],
    ['/v1/sys/policies/acl/team?list=true', 405, 'unsupported operation'],
    ['/v1/sys/auth?list=true', 404, 'unsupported path'],
  ])(
    '%s is %i, never the read, for a token that may list there and for the admin',
    async (url, status, message) => {
      for (const as of [listerToken, ADMIN_TOKEN]) {
        const res = await get(url, as);
        expect([res.statusCode, res.json()]).toEqual([status, { errors: [message] }]);
      }
      // The token may list there, but not read.
      expect((await get(url.replace('?list=true', ''), listerToken)).statusCode).toBe(403);
    },
  );
});
