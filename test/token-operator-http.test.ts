import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/*
 * Vault's token endpoints that name another token than the caller's: auth/token/lookup, renew,
 * revoke (by token, in the body) and renew-accessor. Ordinary ACL-checked paths: the admin token
 * passes, a policy granting `update` on them passes, the default policy does not.
 */

const clock = createFakeClock(Date.UTC(2026, 6, 1));
let h: Harness;

const OPS_PATHS = ['lookup', 'renew', 'revoke', 'renew-accessor'].map((p) => `auth/token/${p}`);

beforeAll(async () => {
  h = await startHarness({
    clock,
    roles: {
      nginx: NGINX_ROLE,
      // An operator's workload: its policy grants `update` on the four paths.
      ops: { ...NGINX_ROLE, token_policies: ['token-ops'] },
      // The same, with two uses: each request it makes spends one.
      'ops-twice': { ...NGINX_ROLE, token_policies: ['token-ops'], token_num_uses: 2 },
      twice: { ...NGINX_ROLE, token_num_uses: 2 },
      cidr: { ...NGINX_ROLE, token_bound_cidrs: ['127.0.0.0/8'] },
      // `update` and `sudo` on auth/token/revoke-orphan, as Vault's handler asks.
      'orphan-ops': { ...NGINX_ROLE, token_policies: ['orphan-ops'] },
    },
    config: {
      policies: {
        'token-ops': {
          path: {
            ...Object.fromEntries(OPS_PATHS.map((p) => [p, { capabilities: ['update'] }])),
            'auth/token/revoke-orphan': { capabilities: ['update'] },
          },
        },
        'orphan-ops': { path: { 'auth/token/revoke-orphan': { capabilities: ['update', 'sudo'] } } },
      },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

type Auth = { client_token: string; accessor: string; lease_duration: number };

const loginAs = async (role = 'nginx'): Promise<Auth> => {
  const res = await h.login('jwks', { role, jwt: await h.podToken() });
  expect(res.status).toBe(200);
  return res.json['auth'] as Auth;
};

const call = async (
  method: 'GET' | 'POST' | 'PUT',
  path: string,
  token: string | undefined,
  payload?: string | object,
  remoteAddress?: string,
) => {
  const res = await h.server.app.inject({
    method,
    url: `/v1/auth/token/${path}`,
    headers: {
      ...(token === undefined ? {} : { 'x-vault-token': token }),
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(payload === undefined
      ? {}
      : { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }),
    ...(remoteAddress === undefined ? {} : { remoteAddress }),
  });
  return {
    status: res.statusCode,
    json: res.body === '' ? undefined : (res.json() as Record<string, unknown>),
  };
};

const DENIED = { status: 403, json: { errors: ['permission denied'] } };
const INVALID = { status: 403, json: { errors: [INVALID_TOKEN_MESSAGE] } };
const bad = (message: string) => ({ status: 400, json: { errors: [message] } });
/** Vault's framework refusing an `increment` it cannot convert, with Go's reason. */
const badIncrement = (shown: string, reason: string) =>
  `Field validation failed: error converting input ${shown} for field "increment": ${reason}`;
const UNKNOWN = 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';

/** The uses a token has left, read by accessor (which spends none). */
const usesLeft = async (accessor: string): Promise<unknown> =>
  ((await call('POST', 'lookup-accessor', ADMIN_TOKEN, { accessor })).json?.['data'] as { num_uses: number })
    .num_uses;

describe('the ACL on the four paths', () => {
  const BODIES: Record<string, (t: Auth) => object> = {
    lookup: (t) => ({ token: t.client_token }),
    renew: (t) => ({ token: t.client_token }),
    revoke: (t) => ({ token: t.client_token }),
    'renew-accessor': (t) => ({ accessor: t.accessor }),
  };

  it.each(Object.keys(BODIES))(
    'refuses %s to the default policy, and the target stays as it was',
    async (path) => {
      const [caller, target] = [await loginAs(), await loginAs()];
      clock.advanceSeconds(60);
      expect(await call('POST', path, caller.client_token, BODIES[path]!(target))).toEqual(DENIED);
      // Not revoked, not renewed (its TTL still counts down from its login).
      const self = await call('GET', 'lookup-self', target.client_token);
      expect((self.json?.['data'] as { ttl: number }).ttl).toBe(3540);
    },
  );

  it.each(Object.keys(BODIES))(
    'refuses %s without a token, or with an unknown one, before reading the body',
    async (path) => {
      for (const [token, refusal] of [
        [undefined, DENIED],
        [UNKNOWN, INVALID],
      ] as const) {
        expect(await call('POST', path, token, '{"token":5,"accessor":[1]}')).toEqual(refusal);
      }
    },
  );

  it.each(Object.keys(BODIES))('serves %s to a workload whose policy grants update on it', async (path) => {
    const [caller, target] = [await loginAs('ops'), await loginAs()];
    expect((await call('PUT', path, caller.client_token, BODIES[path]!(target))).status).toBeLessThan(300);
  });

  it.each(Object.keys(BODIES))('serves %s to the admin token', async (path) => {
    const target = await loginAs();
    expect((await call('POST', path, ADMIN_TOKEN, BODIES[path]!(target))).status).toBeLessThan(300);
  });

  it('spends a use of the caller, never of the token it names', async () => {
    const [caller, target] = [await loginAs('ops-twice'), await loginAs('twice')];
    expect((await call('POST', 'lookup', caller.client_token, { token: target.client_token })).status).toBe(
      200,
    );
    expect(await usesLeft(caller.accessor)).toBe(1);
    expect((await call('POST', 'renew', caller.client_token, { token: target.client_token })).status).toBe(
      200,
    );
    // The caller's last use: served, then the caller is gone; the target has both of its uses.
    expect((await call('GET', 'lookup-self', caller.client_token)).status).toBe(403);
    expect(await usesLeft(target.accessor)).toBe(2);
  });

  it('answers GET on lookup with 405 (no token in a query string), to a caller that may ask', async () => {
    expect(await call('GET', 'lookup', ADMIN_TOKEN)).toEqual({
      status: 405,
      json: { errors: ['unsupported operation'] },
    });
    expect(await call('GET', `lookup?token=${UNKNOWN}`, (await loginAs()).client_token)).toEqual(DENIED);
  });
});

describe('POST /v1/auth/token/lookup', () => {
  it('answers what lookup-self answers the token itself', async () => {
    const target = await loginAs();
    const named = await call('POST', 'lookup', ADMIN_TOKEN, { token: target.client_token });
    expect(named.status).toBe(200);
    expect(named.json).toMatchObject({ mount_type: 'token', auth: null, renewable: false });
    const self = await call('GET', 'lookup-self', target.client_token);
    expect(named.json?.['data']).toEqual(self.json?.['data']);
    expect(named.json?.['data']).toMatchObject({
      id: target.client_token,
      accessor: target.accessor,
      display_name: 'jwks-test-nginx',
      policies: ['default', 'nginx'],
      ttl: 3600,
    });
  });

  it('looks up a CIDR-bound token from an address its CIDRs exclude: the request is not the token’s', async () => {
    const target = await loginAs('cidr');
    const res = await call('POST', 'lookup', ADMIN_TOKEN, { token: target.client_token }, '192.168.1.1');
    expect(res.status).toBe(200);
    expect(res.json?.['data']).toMatchObject({ bound_cidrs: ['127.0.0.0/8'] });
  });

  it.each([
    ['absent', {}],
    ['null', { token: null }],
    ['empty', { token: '' }],
  ])('looks up the caller’s own token when the token is %s, as Vault', async (_what, body) => {
    const caller = await loginAs('ops');
    const own = await call('POST', 'lookup', caller.client_token, body);
    expect(own.status).toBe(200);
    expect(own.json?.['data']).toMatchObject({ id: caller.client_token, policies: ['default', 'token-ops'] });
    const root = await call('POST', 'lookup', ADMIN_TOKEN, body);
    expect(root.json?.['data']).toMatchObject({ policies: ['root'], display_name: 'root', ttl: 0 });
  });

  it('answers the uses the caller has left after this request when it names itself', async () => {
    const caller = await loginAs('ops-twice');
    const first = await call('POST', 'lookup', caller.client_token, { token: caller.client_token });
    expect((first.json?.['data'] as { num_uses: number }).num_uses).toBe(1);
    const last = await call('POST', 'lookup', caller.client_token, { token: caller.client_token });
    expect((last.json?.['data'] as { num_uses: number }).num_uses).toBe(-1);
  });

  it('answers the admin token, named, as lookup-self answers it', async () => {
    const res = await call('POST', 'lookup', (await loginAs('ops')).client_token, { token: ADMIN_TOKEN });
    expect(res.json?.['data']).toMatchObject({ policies: ['root'], id: ADMIN_TOKEN });
  });

  it.each([
    ['an unknown token', UNKNOWN],
    ['garbage', 'not-a-token'],
  ])("refuses %s with Vault's 403 bad token", async (_what, token) => {
    expect(await call('POST', 'lookup', ADMIN_TOKEN, { token })).toEqual({
      status: 403,
      json: { errors: ['bad token'] },
    });
  });

  it('refuses a revoked or expired token with bad token', async () => {
    const [revoked, expired] = [await loginAs(), await loginAs()];
    await call('POST', 'revoke-self', revoked.client_token);
    clock.advanceSeconds(3601);
    for (const t of [revoked, expired]) {
      expect((await call('POST', 'lookup', ADMIN_TOKEN, { token: t.client_token })).json).toEqual({
        errors: ['bad token'],
      });
    }
  });

  it('refuses a token that is not a string with 400', async () => {
    expect((await call('POST', 'lookup', ADMIN_TOKEN, { token: 5 })).status).toBe(400);
  });
});

describe('POST /v1/auth/token/renew', () => {
  it('renews the named token by the increment and answers its auth, the token included, as Vault', async () => {
    const target = await loginAs();
    clock.advanceSeconds(600);
    const res = await call('POST', 'renew', ADMIN_TOKEN, { token: target.client_token, increment: '2h' });
    expect(res.status).toBe(200);
    expect(res.json?.['auth']).toMatchObject({
      client_token: target.client_token,
      accessor: target.accessor,
      lease_duration: 7200,
      policies: ['default', 'nginx'],
      renewable: true,
    });
    const self = await call('GET', 'lookup-self', target.client_token);
    expect((self.json?.['data'] as { ttl: number }).ttl).toBe(7200);
  });

  it.each([
    ['absent', {}],
    ['null', { increment: null }],
    ['0', { increment: 0 }],
  ])('renews by the role TTL when the increment is %s', async (_what, increment) => {
    const target = await loginAs();
    clock.advanceSeconds(600);
    const res = await call('PUT', 'renew', ADMIN_TOKEN, { token: target.client_token, ...increment });
    expect((res.json?.['auth'] as { lease_duration: number }).lease_duration).toBe(3600);
  });

  it('caps the increment at the max TTL, with Vault’s warning', async () => {
    const target = await loginAs();
    const res = await call('POST', 'renew', ADMIN_TOKEN, { token: target.client_token, increment: '48h' });
    expect((res.json?.['auth'] as { lease_duration: number }).lease_duration).toBe(86_400);
    expect(res.json?.['warnings']).toEqual([
      'TTL of "48h" exceeded the effective max_ttl of "24h"; TTL value is capped accordingly',
    ]);
  });

  it('renews a CIDR-bound token from an address its CIDRs exclude', async () => {
    const target = await loginAs('cidr');
    const res = await call('POST', 'renew', ADMIN_TOKEN, { token: target.client_token }, '192.168.1.1');
    expect(res.status).toBe(200);
  });

  it.each([
    ['"soon"', 'soon', 'time: invalid duration "soon"'],
    ['-1', '-1', "cannot provide negative value '-1'"],
    ['1.5', '1.5', 'time: missing unit in duration "1.5"'],
    ['true', 'true', 'could not parse duration from input'],
    ['"-1h"', '-1h', "cannot provide negative value '-3600'"],
  ])('refuses increment %s with Vault’s 400', async (inc, shown, reason) => {
    const target = await loginAs();
    expect(
      await call('POST', 'renew', ADMIN_TOKEN, `{"token":"${target.client_token}","increment":${inc}}`),
    ).toEqual(bad(badIncrement(shown, reason)));
  });

  it('reads the increment before the token, as Vault’s framework reads fields before its handler', async () => {
    expect(await call('POST', 'renew', ADMIN_TOKEN, { increment: 'soon' })).toEqual(
      bad(badIncrement('soon', 'time: invalid duration "soon"')),
    );
  });

  it.each([
    ['absent', {}],
    ['null', { token: null }],
    ['empty', { token: '' }],
  ])("refuses a token %s with Vault's missing token ID", async (_what, body) => {
    expect(await call('POST', 'renew', ADMIN_TOKEN, body)).toEqual(bad('missing token ID'));
    expect(await call('POST', 'renew', ADMIN_TOKEN)).toEqual(bad('missing token ID'));
  });

  it("refuses a token that is not live with Vault's token not found", async () => {
    const revoked = await loginAs();
    await call('POST', 'revoke-self', revoked.client_token);
    for (const token of [UNKNOWN, 'garbage', revoked.client_token]) {
      expect(await call('POST', 'renew', ADMIN_TOKEN, { token })).toEqual(bad('token not found'));
    }
  });

  it('refuses to renew the admin token, which is not a token of the store', async () => {
    expect(await call('POST', 'renew', ADMIN_TOKEN, { token: ADMIN_TOKEN })).toEqual(
      bad('the admin token is not a token of the token store'),
    );
  });
});

describe('POST /v1/auth/token/renew-accessor', () => {
  it('renews the token behind the accessor and leaves the token out of the answer, as Vault', async () => {
    const target = await loginAs();
    clock.advanceSeconds(600);
    const res = await call('POST', 'renew-accessor', ADMIN_TOKEN, {
      accessor: target.accessor,
      increment: 5400,
    });
    expect(res.status).toBe(200);
    expect(res.json?.['auth']).toMatchObject({
      client_token: '',
      accessor: target.accessor,
      lease_duration: 5400,
    });
    expect(JSON.stringify(res.json)).not.toContain(target.client_token);
    const self = await call('GET', 'lookup-self', target.client_token);
    expect((self.json?.['data'] as { ttl: number }).ttl).toBe(5400);
  });

  it("refuses what names no live token with Vault's messages", async () => {
    const revoked = await loginAs();
    await call('POST', 'revoke-self', revoked.client_token);
    expect(await call('POST', 'renew-accessor', ADMIN_TOKEN, {})).toEqual(bad('missing accessor'));
    expect(await call('POST', 'renew-accessor', ADMIN_TOKEN, { accessor: null })).toEqual(
      bad('missing accessor'),
    );
    for (const accessor of ['no-such-accessor', revoked.accessor]) {
      expect(await call('POST', 'renew-accessor', ADMIN_TOKEN, { accessor })).toEqual(
        bad('invalid accessor'),
      );
    }
  });

  it('refuses a bad increment with Vault’s 400', async () => {
    const target = await loginAs();
    expect(
      await call('POST', 'renew-accessor', ADMIN_TOKEN, { accessor: target.accessor, increment: 'x' }),
    ).toEqual(bad(badIncrement('x', 'time: invalid duration "x"')));
  });
});

describe('POST /v1/auth/token/revoke', () => {
  it('revokes the named token: 204, then the token is refused', async () => {
    const target = await loginAs();
    expect(await call('POST', 'revoke', ADMIN_TOKEN, { token: target.client_token })).toEqual({
      status: 204,
      json: undefined,
    });
    expect(await call('GET', 'lookup-self', target.client_token)).toEqual(INVALID);
    expect(await call('POST', 'lookup-accessor', ADMIN_TOKEN, { accessor: target.accessor })).toEqual(
      bad('invalid accessor'),
    );
  });

  it('answers 204 for a token it does not know, as Vault', async () => {
    for (const token of [UNKNOWN, 'garbage']) {
      expect((await call('PUT', 'revoke', ADMIN_TOKEN, { token })).status).toBe(204);
    }
  });

  it('revokes the caller’s own token when named, as revoke-self', async () => {
    const caller = await loginAs('ops');
    expect((await call('POST', 'revoke', caller.client_token, { token: caller.client_token })).status).toBe(
      204,
    );
    expect(await call('GET', 'lookup-self', caller.client_token)).toEqual(INVALID);
  });

  it("refuses a token absent, null or empty with Vault's missing token ID", async () => {
    for (const body of [{}, { token: null }, { token: '' }]) {
      expect(await call('POST', 'revoke', ADMIN_TOKEN, body)).toEqual(bad('missing token ID'));
    }
  });

  it('refuses to revoke the admin token rather than answer 204 and leave it working', async () => {
    const caller = await loginAs('ops');
    expect(await call('POST', 'revoke', caller.client_token, { token: ADMIN_TOKEN })).toEqual(
      bad('the admin token is not a token of the token store'),
    );
    expect((await call('GET', 'lookup-self', ADMIN_TOKEN)).status).toBe(200);
  });
});

describe('POST /v1/auth/token/revoke-orphan (vault token revoke -mode=orphan)', () => {
  const ORPHAN_DENIED = bad('root or sudo privileges required to revoke and orphan');

  it('revokes the named token for the admin token, or a policy granting update and sudo there', async () => {
    for (const caller of [ADMIN_TOKEN, (await loginAs('orphan-ops')).client_token]) {
      const target = await loginAs();
      expect(await call('POST', 'revoke-orphan', caller, { token: target.client_token })).toEqual({
        status: 204,
        json: undefined,
      });
      expect(await call('GET', 'lookup-self', target.client_token)).toEqual(INVALID);
    }
  });

  it('refuses a caller granted update without sudo with Vault’s 400, and the token stays', async () => {
    const [caller, target] = [await loginAs('ops'), await loginAs()];
    expect(await call('PUT', 'revoke-orphan', caller.client_token, { token: target.client_token })).toEqual(
      ORPHAN_DENIED,
    );
    expect((await call('GET', 'lookup-self', target.client_token)).status).toBe(200);
    // The default policy grants nothing there: the ACL refuses it.
    const target2 = await loginAs();
    expect(
      await call('POST', 'revoke-orphan', (await loginAs()).client_token, { token: target2.client_token }),
    ).toEqual(DENIED);
  });

  it("reads the token before the caller's sudo, as Vault's handler", async () => {
    const caller = await loginAs('ops');
    for (const body of [{}, { token: null }, { token: '' }]) {
      expect(await call('POST', 'revoke-orphan', caller.client_token, body)).toEqual(bad('missing token ID'));
    }
  });

  it("refuses a token that is not live with Vault's token to revoke not found", async () => {
    const revoked = await loginAs();
    expect((await call('POST', 'revoke', ADMIN_TOKEN, { token: revoked.client_token })).status).toBe(204);
    for (const token of [UNKNOWN, 'garbage', revoked.client_token]) {
      expect(await call('POST', 'revoke-orphan', ADMIN_TOKEN, { token })).toEqual(
        bad('token to revoke not found'),
      );
    }
  });

  it('refuses to revoke the admin token', async () => {
    expect(await call('POST', 'revoke-orphan', ADMIN_TOKEN, { token: ADMIN_TOKEN })).toEqual(
      bad('the admin token is not a token of the token store'),
    );
    expect((await call('GET', 'lookup-self', ADMIN_TOKEN)).status).toBe(200);
  });
});
