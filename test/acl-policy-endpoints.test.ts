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
      },
    },
    roles: {
      app: {
        bound_service_account_names: ['app'],
        bound_service_account_namespaces: ['team-a'],
        audience: 'vault',
        token_policies: ['team', 'reader'],
      },
    },
  });
  h.cluster.createPod({ namespace: 'team-a', name: 'app-0', serviceAccount: 'app' });
  const jwt = await h.podToken({ namespace: 'team-a', serviceAccount: 'app', pod: 'app-0' });
  const res = await h.login('kubernetes', { role: 'app', jwt });
  expect(res.status).toBe(200);
  token = (res.json['auth'] as { client_token: string }).client_token;
});
afterAll(async () => {
  await h?.close();
});

const get = (url: string, as = ADMIN_TOKEN) =>
  h.server.app.inject({ method: 'GET', url, headers: { 'x-vault-token': as } });

describe('listing policies', () => {
  // Vault appends `root` after the stored names: `vault policy list` on a new server shows
  // `default` and `root`.
  const NAMES = ['default', 'reader', 'team', 'root'];

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
    for (const name of ['TEAM', '%20Team%20', 'team%09']) {
      const res = await get(`/v1/sys/policies/acl/${name}`);
      expect([name, res.statusCode, res.json().data?.name]).toEqual([name, 200, 'team']);
    }
    expect((await get('/v1/sys/policies/acl/%20')).statusCode).toBe(404);
  });
});
