import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

const clock = createFakeClock(Date.UTC(2026, 6, 1));
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    clock,
    roles: {
      nginx: NGINX_ROLE,
      once: { ...NGINX_ROLE, token_num_uses: 2 },
      periodic: { ...NGINX_ROLE, token_period: '30m', token_ttl: undefined, token_max_ttl: undefined },
      cidr: { ...NGINX_ROLE, token_bound_cidrs: ['127.0.0.0/8'] },
      // May look itself up but not renew itself.
      norenew: {
        ...NGINX_ROLE,
        token_policies: ['lookup-only'],
        token_no_default_policy: true,
        token_num_uses: 2,
      },
    },
    config: {
      policies: { 'lookup-only': { path: { 'auth/token/lookup-self': { capabilities: ['read'] } } } },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const loginToken = async (role = 'nginx') => {
  const res = await h.login('jwks', { role, jwt: await h.podToken() });
  expect(res.status).toBe(200);
  return res.json['auth'] as { client_token: string; accessor: string; lease_duration: number };
};

const call = async (
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  token?: string,
  body?: unknown,
  headers: Record<string, string> = {},
) => {
  const res = await h.server.app.inject({
    method,
    url,
    headers: { ...(token === undefined ? {} : { 'x-vault-token': token }), ...headers },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return {
    status: res.statusCode,
    json: res.body === '' ? undefined : (res.json() as Record<string, unknown>),
  };
};

describe('token endpoints', () => {
  it('looks itself up in the Vault shape', async () => {
    const auth = await loginToken();
    const res = await call('GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect(res.status).toBe(200);
    expect(res.json?.['data']).toMatchObject({
      accessor: auth.accessor,
      id: auth.client_token,
      display_name: 'jwks-test-nginx',
      path: 'auth/jwks/login',
      policies: ['default', 'nginx'],
      meta: { role: 'nginx', service_account_name: 'nginx', service_account_namespace: 'test' },
      num_uses: 0,
      orphan: true,
      renewable: true,
      ttl: 3600,
      creation_ttl: 3600,
      type: 'service',
    });
  });

  it('accepts Authorization: Bearer as well as X-Vault-Token', async () => {
    const auth = await loginToken();
    const res = await call('GET', '/v1/auth/token/lookup-self', undefined, undefined, {
      authorization: `Bearer ${auth.client_token}`,
    });
    expect(res.status).toBe(200);
  });

  it.each([
    ['no token', undefined, 'permission denied'],
    // As Vault: a token that is not live says so, which Vault Agent and Proxy act on.
    ['an unknown token', 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', INVALID_TOKEN_MESSAGE],
    ['garbage', 'x', INVALID_TOKEN_MESSAGE],
  ])('refuses %s with permission denied', async (_what, token, message) => {
    expect(await call('GET', '/v1/auth/token/lookup-self', token)).toEqual({
      status: 403,
      json: { errors: [message] },
    });
  });

  it('renews by the increment, capped at the max TTL', async () => {
    const auth = await loginToken();
    const twoHours = await call('POST', '/v1/auth/token/renew-self', auth.client_token, { increment: '2h' });
    expect(twoHours.status).toBe(200);
    expect((twoHours.json?.['auth'] as { lease_duration: number }).lease_duration).toBe(7200);
    const toMax = await call('POST', '/v1/auth/token/renew-self', auth.client_token, { increment: '48h' });
    expect((toMax.json?.['auth'] as { lease_duration: number }).lease_duration).toBe(86400);
    clock.advanceSeconds(23 * 3600);
    const capped = await call('POST', '/v1/auth/token/renew-self', auth.client_token, { increment: 7200 });
    expect((capped.json?.['auth'] as { lease_duration: number }).lease_duration).toBe(3600);
  });

  it('resets a periodic token to its period on renewal', async () => {
    const auth = await loginToken('periodic');
    expect(auth.lease_duration).toBe(1800);
    clock.advanceSeconds(1000);
    const res = await call('POST', '/v1/auth/token/renew-self', auth.client_token, {});
    expect((res.json?.['auth'] as { lease_duration: number }).lease_duration).toBe(1800);
  });

  it('refuses a bad increment with 400', async () => {
    const auth = await loginToken();
    const res = await call('POST', '/v1/auth/token/renew-self', auth.client_token, { increment: 'soon' });
    expect(res.status).toBe(400);
  });

  it('revokes itself: 204, then the token is refused', async () => {
    const auth = await loginToken();
    expect((await call('POST', '/v1/auth/token/revoke-self', auth.client_token)).status).toBe(204);
    expect((await call('GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(403);
  });

  it('forgets an expired token', async () => {
    const auth = await loginToken();
    clock.advanceSeconds(3601);
    expect((await call('GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(403);
  });

  it('counts uses and revokes the token after the last one', async () => {
    const auth = await loginToken('once');
    const first = await call('GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect(first.status).toBe(200);
    expect((first.json?.['data'] as { num_uses: number }).num_uses).toBe(1);
    expect((await call('GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(200);
    expect((await call('GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(403);
  });

  it('answers renew-self with the num_uses the token was issued with, as Vault', async () => {
    // Vault's renewal answers with the auth of the login's lease, whose num_uses never changes;
    // the uses left are lookup-self's.
    const auth = await loginToken('once');
    const renewed = await call('POST', '/v1/auth/token/renew-self', auth.client_token, {});
    expect(renewed.status).toBe(200);
    expect((renewed.json?.['auth'] as { num_uses: number }).num_uses).toBe(2);
    const looked = await call('GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect((looked.json?.['data'] as { num_uses: number }).num_uses).toBe(-1);
  });

  it('spends a use on a renew-self its policies refuse, as on any refused request', async () => {
    // Vault's handleRequest counts the use before it acts on the ACL's verdict.
    const auth = await loginToken('norenew');
    expect(await call('POST', '/v1/auth/token/renew-self', auth.client_token, {})).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
    const last = await call('GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect(last.status).toBe(200);
    expect((last.json?.['data'] as { num_uses: number }).num_uses).toBe(-1);
    expect((await call('GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(403);
  });

  it('spends a use on a renew-self with a bad increment, as Vault checks fields after the token', async () => {
    const auth = await loginToken('once');
    expect(await call('POST', '/v1/auth/token/renew-self', auth.client_token, { increment: 'soon' })).toEqual(
      {
        status: 400,
        json: {
          errors: [
            'Field validation failed: error converting input soon for field "increment": time: invalid duration "soon"',
          ],
        },
      },
    );
    const last = await call('GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect((last.json?.['data'] as { num_uses: number }).num_uses).toBe(-1);
    expect((await call('GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(403);
  });

  it('binds a token to its CIDRs on every use', async () => {
    const auth = await loginToken('cidr');
    const local = await h.server.app.inject({
      method: 'GET',
      url: '/v1/auth/token/lookup-self',
      headers: { 'x-vault-token': auth.client_token },
      remoteAddress: '127.0.0.5',
    });
    expect(local.statusCode).toBe(200);
    const remote = await h.server.app.inject({
      method: 'GET',
      url: '/v1/auth/token/lookup-self',
      headers: { 'x-vault-token': auth.client_token },
      remoteAddress: '10.1.2.3',
    });
    expect(remote.statusCode).toBe(403);
  });

  it('lets only the admin token look up and revoke by accessor', async () => {
    const auth = await loginToken();
    expect(
      (await call('POST', '/v1/auth/token/lookup-accessor', auth.client_token, { accessor: auth.accessor }))
        .status,
    ).toBe(403);
    const looked = await call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, {
      accessor: auth.accessor,
    });
    expect(looked.status).toBe(200);
    expect(looked.json?.['data']).toMatchObject({
      accessor: auth.accessor,
      id: '',
      display_name: 'jwks-test-nginx',
    });
    expect(
      (await call('POST', '/v1/auth/token/revoke-accessor', ADMIN_TOKEN, { accessor: auth.accessor })).status,
    ).toBe(204);
    expect((await call('GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(403);
    expect(
      (await call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, { accessor: auth.accessor })).status,
    ).toBe(400);
    expect((await call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, {})).status).toBe(400);
  });

  it('never keeps a client token in the store in plaintext', async () => {
    const auth = await loginToken();
    const store = h.server.store as unknown as { entries(): Array<[string, string]> };
    const dump = JSON.stringify(store.entries());
    expect(dump).not.toContain(auth.client_token);
    expect(dump).not.toContain(auth.client_token.slice(4));
  });

  it('checks the token and its policies before it says a method is unsupported, as Vault', async () => {
    const auth = await loginToken();
    // The default policy grants `update` on revoke-self, not `read`: refused before the route is.
    for (const [token, message] of [
      [auth.client_token, 'permission denied'],
      [undefined, 'permission denied'],
      ['ags.not-a-live-token', INVALID_TOKEN_MESSAGE],
    ] as const) {
      const res = await call('GET', '/v1/auth/token/revoke-self', token);
      expect(res.status).toBe(403);
      expect(res.json).toEqual({ errors: [message] });
    }
    // A path without a token check (login, health) says so to anyone.
    expect((await call('GET', '/v1/sys/health/ready')).status).not.toBe(405);
    expect((await call('PUT', '/v1/sys/health/ready')).status).toBe(405);
    expect((await call('GET', '/v1/auth/token/revoke-self', ADMIN_TOKEN)).status).toBe(405);
    // The refused token is still live: the 403 revoked nothing.
    expect((await call('GET', '/v1/auth/token/lookup-self', auth.client_token)).status).toBe(200);
  });

  it.each([
    ['DELETE', '/v1/auth/token/lookup-self'],
    ['GET', '/v1/auth/token/lookup-accessor'],
    ['GET', '/v1/auth/token/revoke-accessor'],
    ['GET', '/v1/sys/capabilities-self'],
    ['POST', '/v1/sys/health'],
    ['PUT', '/v1/sys/health/ready'],
    ['PATCH', '/v1/auth/token/renew-self'],
  ] as const)('answers %s %s, a path that exists, with 405 unsupported operation', async (method, url) => {
    const res = await h.server.app.inject({ method, url, headers: { 'x-vault-token': ADMIN_TOKEN } });
    expect(res.statusCode).toBe(405);
    expect(res.json()).toEqual({ errors: ['unsupported operation'] });
  });
});

describe('health', () => {
  it('answers Vault’s health body with 200 while dependencies are up', async () => {
    const res = await call('GET', '/v1/sys/health');
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ initialized: true, sealed: false, standby: false });
  });

  it('reports not ready, but not sealed, when only the API server is down', async () => {
    await h.cluster.faults.refuseConnections(true);
    try {
      // Past the cached readiness result of the previous test.
      clock.advanceSeconds(3);
      const health = await call('GET', '/v1/sys/health');
      expect(health.status).toBe(200);
      expect(health.json).toMatchObject({ sealed: false });
      const ready = await call('GET', '/v1/sys/health/ready');
      expect(ready.status).toBe(503);
      // Named, but not why: the probe needs no token, and an error's text may carry addresses.
      expect(ready.json?.['failing']).toEqual({ 'auth/kubernetes': 'upstream not ready' });
      expect((await call('GET', '/v1/sys/health/live')).status).toBe(200);
    } finally {
      await h.cluster.faults.refuseConnections(false);
      clock.advanceSeconds(3);
    }
  });
});
