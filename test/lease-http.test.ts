import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';

// sys/leases: authgate holds no secret leases, and answers as Vault does for a lease it does not hold.

let h: Harness;
let workload: string;
beforeAll(async () => {
  h = await startHarness();
  const res = await h.login('jwks', { role: 'nginx', jwt: await h.podToken() });
  workload = (res.json['auth'] as { client_token: string }).client_token;
});
afterAll(async () => {
  await h?.close();
});

const put = async (url: string, token: string | undefined, body?: unknown) => {
  const res = await h.server.app.inject({
    method: 'PUT',
    url,
    headers: token === undefined ? {} : { 'x-vault-token': token },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
  return { status: res.statusCode, json: res.body === '' ? undefined : (res.json() as unknown) };
};

describe('sys/leases/renew', () => {
  it('answers a workload token (the default policy grants it) 400 lease not found', async () => {
    expect(
      await put('/v1/sys/leases/renew', workload, { lease_id: 'secret/data/x/abc', increment: 60 }),
    ).toEqual({
      status: 400,
      json: { errors: ['lease not found'] },
    });
    // The lease in the path: the default policy grants sys/leases/renew exactly, as Vault's.
    expect((await put('/v1/sys/leases/renew/secret/data/x/abc', workload)).status).toBe(403);
    expect(await put('/v1/sys/leases/renew/secret/data/x/abc', ADMIN_TOKEN)).toEqual({
      status: 400,
      json: { errors: ['lease not found'] },
    });
  });

  it('asks for a lease id, and refuses a caller without a token', async () => {
    expect(await put('/v1/sys/leases/renew', workload, {})).toEqual({
      status: 400,
      json: { errors: ['lease_id must be specified'] },
    });
    expect((await put('/v1/sys/leases/renew', undefined, { lease_id: 'x' })).status).toBe(403);
  });
});

describe('sys/leases/revoke', () => {
  it('has nothing to revoke: 204 for a caller the ACL allows, 403 for a workload token', async () => {
    expect(await put('/v1/sys/leases/revoke', ADMIN_TOKEN, { lease_id: 'secret/data/x/abc' })).toEqual({
      status: 204,
      json: undefined,
    });
    expect((await put('/v1/sys/leases/revoke', workload, { lease_id: 'secret/data/x/abc' })).status).toBe(
      403,
    );
    expect((await put('/v1/sys/leases/revoke', ADMIN_TOKEN, {})).status).toBe(400);
  });
});

describe("Vault's older paths sys/renew and sys/revoke", () => {
  it('answer as sys/leases/renew and sys/leases/revoke, and the default policy grants sys/renew', async () => {
    expect(await put('/v1/sys/renew', workload, { lease_id: 'secret/data/x/abc' })).toEqual({
      status: 400,
      json: { errors: ['lease not found'] },
    });
    expect(await put('/v1/sys/renew/secret/data/x/abc', ADMIN_TOKEN)).toEqual({
      status: 400,
      json: { errors: ['lease not found'] },
    });
    expect(await put('/v1/sys/revoke/secret/data/x/abc', ADMIN_TOKEN)).toEqual({
      status: 204,
      json: undefined,
    });
    expect((await put('/v1/sys/revoke/secret/data/x/abc', workload)).status).toBe(403);
  });
});
