import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditFile } from './helpers/audit.js';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';

/*
 * `vault audit list` (GET /v1/sys/audit): the devices of authgate.yaml, in the shape of Vault's
 * audit table; enabling or disabling a device (`vault audit enable|disable`) is refused with where
 * the devices live, as for auth mounts.
 */

const admin = { 'x-vault-token': ADMIN_TOKEN };
let h: Harness;
const file = auditFile('devices');

beforeAll(async () => {
  h = await startHarness({
    audit: {
      file: { type: 'file', path: file, prefix: 'AUDIT ' },
      stream: { type: 'redis', max_len: 5000, hmac_accessor: false },
    },
  });
});
afterAll(async () => {
  await h?.close();
});

const call = (method: string, url: string, headers: Record<string, string> = admin) =>
  h.server.app.inject({ method: method as 'GET', url, headers });

describe('GET /v1/sys/audit', () => {
  it("lists the configured devices as Vault's audit table, in data and at the top level", async () => {
    const res = await call('GET', '/v1/sys/audit');
    expect(res.statusCode).toBe(200);
    const expected = {
      'file/': {
        path: 'file/',
        type: 'file',
        description: '',
        options: { file_path: file, hmac_accessor: 'true', prefix: 'AUDIT ' },
        local: false,
      },
      'stream/': {
        path: 'stream/',
        type: 'redis',
        description: '',
        options: { hmac_accessor: 'false', max_len: '5000' },
        local: false,
      },
    };
    const body = res.json<Record<string, unknown>>();
    expect(body['data']).toEqual(expected);
    expect(body['file/']).toEqual(expected['file/']);
    expect(body['stream/']).toEqual(expected['stream/']);
  });

  it('is for operators: sudo, as in Vault (no token, or a workload token, is refused)', async () => {
    expect((await call('GET', '/v1/sys/audit', {})).statusCode).toBe(403);
    const login = await h.login('jwks', { role: 'nginx', jwt: await h.podToken() });
    expect(login.status).toBe(200);
    const token = (login.json['auth'] as { client_token: string }).client_token;
    const res = await call('GET', '/v1/sys/audit', { 'x-vault-token': token });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ errors: ['permission denied'] });
  });
});

// A list is checked for `list` (and `sudo`) on the path with `/` added, never `read`: it must not
// be served as the read. Vault has no pattern for `audit/` (404 unsupported path); the login
// query is authgate's own, with no list operation (405).
describe('a list of the audit endpoints', () => {
  it.each([
    ['/v1/sys/audit?list=true', 404, 'unsupported path'],
    ['/v1/sys/audit/logins?list=true', 405, 'unsupported operation'],
  ])('%s is %i, never the table or the logins', async (url, status, message) => {
    const res = await call('GET', url);
    expect([res.statusCode, res.json()]).toEqual([status, { errors: [message] }]);
  });
});

describe('enabling or disabling an audit device', () => {
  it.each([
    ['PUT', '/v1/sys/audit/another'],
    ['POST', '/v1/sys/audit/another'],
    ['DELETE', '/v1/sys/audit/file'],
  ])('%s %s is refused with where the devices live', async (method, url) => {
    const res = await call(method, url);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      errors: ['audit devices are read from authgate.yaml (audit): change it there and restart authgate'],
    });
  });

  it('reading one device is an unsupported operation, as in Vault (the path only enables and disables)', async () => {
    const res = await call('GET', '/v1/sys/audit/file');
    expect(res.statusCode).toBe(405);
  });

  it('still serves sys/audit/logins', async () => {
    expect((await call('GET', '/v1/sys/audit/logins?device=stream')).statusCode).toBe(200);
  });
});
