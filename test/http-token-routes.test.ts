import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { createMemoryStore } from '../src/store/index.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

const clock = createFakeClock(Date.UTC(2026, 6, 1));
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ clock });
});
afterAll(async () => {
  await h?.close();
});

const loginToken = async () => {
  const res = await h.login('jwks', { role: 'nginx', jwt: await h.podToken() });
  expect(res.status).toBe(200);
  return res.json['auth'] as { client_token: string; accessor: string };
};

const call = async (
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  token: string | undefined,
  payload?: string,
) => {
  const res = await h.server.app.inject({
    method,
    url,
    headers: {
      ...(token === undefined ? {} : { 'x-vault-token': token }),
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(payload === undefined ? {} : { payload }),
  });
  return {
    status: res.statusCode,
    json: res.body === '' ? undefined : (res.json() as Record<string, unknown>),
  };
};

const HUGE_INCREMENTS = [
  '{"increment":"99999999999999999999"}',
  '{"increment":1e300}',
  '{"increment":"9999999999999h"}',
  '{"increment":99999999999999999999}',
];

describe('renew-self', () => {
  it.each(HUGE_INCREMENTS)('refuses %s without a token with 403, before reading it', async (payload) => {
    expect(await call('POST', '/v1/auth/token/renew-self', undefined, payload)).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });

  it.each(['{"increment":-1}', '{"increment":true}', '{"increment":1.5}'])(
    'refuses %s without a token with 403, not 400',
    async (payload) => {
      expect((await call('POST', '/v1/auth/token/renew-self', undefined, payload)).status).toBe(403);
    },
  );

  it.each(HUGE_INCREMENTS)('answers %s with an unknown token with 403, never 500', async (payload) => {
    // As Vault: the token is checked before the request's fields.
    const unknown = 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    expect(await call('POST', '/v1/auth/token/renew-self', unknown, payload)).toEqual({
      status: 403,
      json: { errors: [INVALID_TOKEN_MESSAGE] },
    });
  });

  // Vault's framework converts the field with parseutil.ParseDurationSecond (Go's strconv.ParseInt,
  // then time.ParseDuration; numbers as their JSON text) and refuses it with Go's reason.
  it.each([
    [
      '{"increment":"99999999999999999999"}',
      '99999999999999999999',
      'time: invalid duration "99999999999999999999"',
    ],
    ['{"increment":1e300}', '1e300', 'time: unknown unit "e" in duration "1e300"'],
    ['{"increment":"9999999999999h"}', '9999999999999h', 'time: invalid duration "9999999999999h"'],
    [
      '{"increment":99999999999999999999}',
      '99999999999999999999',
      'time: invalid duration "99999999999999999999"',
    ],
    ['{"increment":-1}', '-1', "cannot provide negative value '-1'"],
    ['{"increment":1.5}', '1.5', 'time: missing unit in duration "1.5"'],
    ['{"increment":1.0}', '1.0', 'time: missing unit in duration "1.0"'],
    ['{"increment":true}', 'true', 'could not parse duration from input'],
    ['{"increment":{"h":1}}', 'map[h:1]', 'could not parse duration from input'],
    ['{"increment":["1h"]}', '[1h]', 'could not parse duration from input'],
    ['{"increment":"soon"}', 'soon', 'time: invalid duration "soon"'],
    ['{"increment":"-1h"}', '-1h', "cannot provide negative value '-3600'"],
    // Vault takes days only alone (`"2d"`): parseutil reads "1d12h" with Go's time.ParseDuration.
    ['{"increment":"1d12h"}', '1d12h', 'time: unknown unit "d" in duration "1d12h"'],
    ['{"increment":"1.5d"}', '1.5d', 'strconv.ParseInt: parsing "1.5": invalid syntax'],
    ['{"increment":"1h "}', '1h ', 'time: unknown unit "h " in duration "1h "'],
    // A unit named like a property every JavaScript object has is still an unknown unit.
    [
      '{"increment":"1constructor"}',
      '1constructor',
      'time: unknown unit "constructor" in duration "1constructor"',
    ],
    ['{"increment":"5\u00e9"}', '5\u00e9', 'time: unknown unit "\\xc3\\xa9" in duration "5\\xc3\\xa9"'],
    // A token sent in the wrong field is not quoted back (the audit log keeps the message).
    [`{"increment":"ags.${'Tk9'.repeat(14)}x"}`, '***', 'time: invalid duration "***"'],
    // Nor one inside a list or a map, as a value or as a key.
    [`{"increment":["ags.${'Tk9'.repeat(14)}x"]}`, '[***]', 'could not parse duration from input'],
    [`{"increment":{"agadmin.${'Tk9'.repeat(14)}":1}}`, 'map[***:1]', 'could not parse duration from input'],
  ])('answers %s with Vault’s 400', async (payload, shown, reason) => {
    const auth = await loginToken();
    expect(await call('POST', '/v1/auth/token/renew-self', auth.client_token, payload)).toEqual({
      status: 400,
      json: {
        errors: [`Field validation failed: error converting input ${shown} for field "increment": ${reason}`],
      },
    });
  });

  it.each(['"', ''])(
    'answers a megabyte of digits (quoted: %j) with Vault’s 400, quoting 200 of them back',
    async (quote) => {
      const auth = await loginToken();
      const payload = `{"increment":${quote}${'9'.repeat(1_000_000)}${quote}}`;
      const nines = `${'9'.repeat(200)}…`;
      expect(await call('POST', '/v1/auth/token/renew-self', auth.client_token, payload)).toEqual({
        status: 400,
        json: {
          errors: [
            `Field validation failed: error converting input ${nines} for field "increment": time: invalid duration "${nines}"`,
          ],
        },
      });
    },
  );

  it.each([
    ['{"increment":"+60"}', 60],
    ['{"increment":"2d"}', 86400 * 2],
    ['{"increment":"-0"}', 0],
    ['{"increment":"-999ms"}', 0],
    ['{"increment":"1.5h"}', 5400],
    ['{"increment":".5m"}', 30],
    // Go's ParseInt reads any number of leading zeros.
    [`{"increment":"${'0'.repeat(100_000)}60"}`, 60],
  ])('takes %.40s as that many seconds, as Vault does', async (payload, seconds) => {
    const renew = async (body: string) => {
      const auth = await loginToken();
      const res = await call('POST', '/v1/auth/token/renew-self', auth.client_token, body);
      expect(res.status).toBe(200);
      return {
        lease: (res.json?.['auth'] as { lease_duration: number }).lease_duration,
        warnings: res.json?.['warnings'],
      };
    };
    expect(await renew(payload)).toEqual(await renew(`{"increment":${seconds}}`));
  });

  it('caps the largest valid increment at the max TTL', async () => {
    const auth = await loginToken();
    const res = await call(
      'POST',
      '/v1/auth/token/renew-self',
      auth.client_token,
      JSON.stringify({ increment: Number.MAX_SAFE_INTEGER }),
    );
    expect(res.status).toBe(200);
    expect((res.json?.['auth'] as { lease_duration: number }).lease_duration).toBe(86400);
  });

  it('refuses a body that is not JSON without a token with 403', async () => {
    expect((await call('POST', '/v1/auth/token/renew-self', undefined, 'increment=1h')).status).toBe(403);
  });
});

describe('operator endpoints check the admin token before the body', () => {
  const ROUTES = [
    '/v1/auth/token/lookup-accessor',
    '/v1/auth/token/revoke-accessor',
    '/v1/auth/token/revoke-identity',
  ];
  const BAD_BODIES = ['{"accessor":5}', '[1,2]', '"x"', '{"accessor":'];

  it.each(ROUTES.flatMap((url) => BAD_BODIES.map((body) => [url, body])))(
    'refuses an anonymous %s with %s with 403',
    async (url, body) => {
      expect(await call('POST', url, undefined, body)).toEqual({
        status: 403,
        json: { errors: ['permission denied'] },
      });
    },
  );

  it.each(ROUTES)('refuses a workload token on %s with 403 whatever the body', async (url) => {
    const auth = await loginToken();
    expect((await call('POST', url, auth.client_token, '{"accessor":5}')).status).toBe(403);
  });

  it.each(ROUTES)('answers the admin a bad body on %s with 400', async (url) => {
    expect((await call('POST', url, ADMIN_TOKEN, '[1,2]')).status).toBe(400);
  });
});

describe('revoke-accessor', () => {
  it('answers 204 after a revocation', async () => {
    const auth = await loginToken();
    const res = await call(
      'POST',
      '/v1/auth/token/revoke-accessor',
      ADMIN_TOKEN,
      JSON.stringify({ accessor: auth.accessor }),
    );
    expect(res).toEqual({ status: 204, json: undefined });
  });

  it('answers an unknown accessor with 200 and Vault’s warning', async () => {
    const res = await call(
      'POST',
      '/v1/auth/token/revoke-accessor',
      ADMIN_TOKEN,
      JSON.stringify({ accessor: 'no-such-accessor' }),
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      warnings: ['No token found with this accessor'],
      data: null,
      auth: null,
      mount_type: 'token',
    });
  });
});

describe('lookup-self', () => {
  it('answers GET for a token with the default policy', async () => {
    const auth = await loginToken();
    const res = await call('GET', '/v1/auth/token/lookup-self', auth.client_token);
    expect(res.status).toBe(200);
    expect((res.json?.['data'] as { accessor: string }).accessor).toBe(auth.accessor);
  });

  it.each(['POST', 'PUT'] as const)(
    'treats %s as an update, which the default policy does not grant (as Vault)',
    async (method) => {
      const auth = await loginToken();
      expect((await call(method, '/v1/auth/token/lookup-self', auth.client_token, '{}')).status).toBe(403);
    },
  );

  it.each(['GET', 'POST', 'PUT'] as const)(
    'answers the admin token (%s) as Vault answers a root token',
    async (method) => {
      const res = await call(
        method,
        '/v1/auth/token/lookup-self',
        ADMIN_TOKEN,
        method === 'GET' ? undefined : '{}',
      );
      expect(res.status).toBe(200);
      expect(res.json?.['data']).toMatchObject({
        policies: ['root'],
        display_name: 'root',
        ttl: 0,
        expire_time: null,
      });
    },
  );

  it('refuses POST without a token with 403', async () => {
    expect((await call('POST', '/v1/auth/token/lookup-self', undefined, '{}')).status).toBe(403);
  });

  it('is not listed: a list is 405 to whoever may list there (Vault: read and update only)', async () => {
    const res = await call('GET', '/v1/auth/token/lookup-self?list=true', ADMIN_TOKEN);
    expect(res.status).toBe(405);
    expect(JSON.stringify(res.json)).not.toContain('root');
    // Without the list capability the ACL refuses it first, as Vault's CheckToken does.
    const auth = await loginToken();
    expect((await call('GET', '/v1/auth/token/lookup-self?list=true', auth.client_token)).status).toBe(403);
  });
});

describe('revoke-identity on the memory store', () => {
  it('drops the pod’s cached TokenReview, so its next login after the pod is deleted is refused', async () => {
    const { uid } = h.cluster.createPod({ namespace: 'test', name: 'revoked', serviceAccount: 'nginx' });
    const jwt = await h.podToken({ pod: 'revoked' });
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    const reviews = h.cluster.stats().tokenReviews;
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    expect(h.cluster.stats().tokenReviews).toBe(reviews);

    h.cluster.deletePod('test', 'revoked');
    const res = await call(
      'POST',
      '/v1/auth/token/revoke-identity',
      ADMIN_TOKEN,
      JSON.stringify({ pod_uid: uid }),
    );
    expect(res).toEqual({
      status: 200,
      json: expect.objectContaining({ data: { revoked_tokens: 2, invalidated_reviews: 1 } }),
    });
    expect(await h.login('kubernetes', { role: 'nginx', jwt })).toMatchObject({
      status: 403,
      json: { errors: ['permission denied'] },
    });
    expect(h.cluster.stats().tokenReviews).toBe(reviews + 1);
  });

  it('drops a service account’s verified JWKS results, so its next login proves the signature again', async () => {
    const jwt = await h.podToken();
    expect((await h.login('jwks', { role: 'nginx', jwt })).status).toBe(200);
    const jwks = h.server.verifiers.get('jwks')!;
    const before = jwks.stats();
    const res = await call(
      'POST',
      '/v1/auth/token/revoke-identity',
      ADMIN_TOKEN,
      JSON.stringify({ namespace: 'test', service_account: 'nginx' }),
    );
    expect(res.status).toBe(200);
    expect(
      (res.json?.['data'] as { invalidated_reviews: number }).invalidated_reviews,
    ).toBeGreaterThanOrEqual(1);
    expect((await h.login('jwks', { role: 'nginx', jwt })).status).toBe(200);
    expect(jwks.stats().cacheMisses).toBe(before.cacheMisses + 1);
  });
});

describe('a POST without a body', () => {
  it('is read as no fields, as Vault reads it: renew-self renews, a login misses its role', async () => {
    const auth = await loginToken();
    const renewed = await call('POST', '/v1/auth/token/renew-self', auth.client_token);
    expect(renewed.status).toBe(200);
    expect(renewed.json?.['auth']).toMatchObject({ accessor: auth.accessor });
    expect(await call('POST', '/v1/auth/jwks/login', undefined)).toEqual({
      status: 400,
      json: { errors: ['missing role'] },
    });
    expect(await call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN)).toMatchObject({ status: 400 });
  });
});

describe('a field sent as JSON null', () => {
  // Vault's FieldData reads a null field as absent: `increment: null` is no increment (hvac
  // 0.11.2's renew_token() and renew_self_token() send it), `accessor: null` a missing accessor.
  it('renews with increment null as with no increment', async () => {
    const auth = await loginToken();
    const res = await call('POST', '/v1/auth/token/renew-self', auth.client_token, '{"increment":null}');
    expect(res.status).toBe(200);
    expect((res.json?.['auth'] as { lease_duration: number }).lease_duration).toBe(3600);
  });

  it.each(['/v1/auth/token/lookup-accessor', '/v1/auth/token/revoke-accessor'])(
    'answers accessor null on %s with missing accessor',
    async (url) => {
      expect(await call('POST', url, ADMIN_TOKEN, '{"accessor":null}')).toEqual({
        status: 400,
        json: { errors: ['missing accessor'] },
      });
    },
  );
});

describe('renew-self past the max TTL', () => {
  it('answers the capped lease with Vault’s warning', async () => {
    const auth = await loginToken();
    const res = await call('POST', '/v1/auth/token/renew-self', auth.client_token, '{"increment":"48h"}');
    expect(res.status).toBe(200);
    expect((res.json?.['auth'] as { lease_duration: number }).lease_duration).toBe(86_400);
    expect(res.json?.['warnings']).toEqual([
      'TTL of "48h" exceeded the effective max_ttl of "24h"; TTL value is capped accordingly',
    ]);
  });
});

describe('renew-self after the mount’s TTLs changed', () => {
  it('caps the lease at the mount’s max_lease_ttl as configured now, as Vault’s RenewToken', async () => {
    // Two gateways over one store and server key: the first as configured at login, the second
    // as restarted with a lower max_lease_ttl.
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const serverKey = Buffer.alloc(32, 9);
    const roles = { nginx: { ...NGINX_ROLE, token_max_ttl: 0 } };
    const before = await startHarness({ clock, store, serverKey, roles, audit: null });
    const after = await startHarness({
      clock,
      store,
      serverKey,
      roles,
      audit: null,
      mount: { default_lease_ttl: '1h', max_lease_ttl: '2h' },
    });
    try {
      const res = await before.login('jwks', { role: 'nginx', jwt: await before.podToken() });
      const token = (res.json['auth'] as { client_token: string }).client_token;
      clock.advanceSeconds(600);
      const renewed = await after.server.app.inject({
        method: 'POST',
        url: '/v1/auth/token/renew-self',
        headers: { 'x-vault-token': token },
        payload: { increment: '24h' },
      });
      expect(renewed.statusCode).toBe(200);
      expect(renewed.json().auth.lease_duration).toBe(7200 - 600);
    } finally {
      await before.close();
      await after.close();
    }
  });
});

describe('bound CIDRs as Vault shows them', () => {
  it('names a one-address block by its address, in lookup-self and in the role, as go-sockaddr prints it', async () => {
    const cidrs = ['127.0.0.1/32', '10.0.0.0/8', '::1/128', 'fd00::/8', '192.168.0.7'];
    const bound = await startHarness({
      clock,
      audit: null,
      roles: { nginx: { ...NGINX_ROLE, token_bound_cidrs: cidrs } },
    });
    try {
      const res = await bound.login('jwks', { role: 'nginx', jwt: await bound.podToken() });
      expect(res.status).toBe(200);
      const token = (res.json['auth'] as { client_token: string }).client_token;
      const shown = ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', '192.168.0.7'];
      const self = await bound.server.app.inject({
        url: '/v1/auth/token/lookup-self',
        headers: { 'x-vault-token': token },
      });
      expect(self.json().data.bound_cidrs).toEqual(shown);
      const role = await bound.server.app.inject({
        url: '/v1/auth/jwks/role/nginx',
        headers: { 'x-vault-token': ADMIN_TOKEN },
      });
      expect(role.json().data.token_bound_cidrs).toEqual(shown);
    } finally {
      await bound.close();
    }
  });
});
