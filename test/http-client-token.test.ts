import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import { rawRequest } from './helpers/raw-http.js';

/*
 * Which client token a request carries, read as Vault reads it (http/handler.go getTokenFromReq):
 * the first X-Vault-Token (Go's Header.Get), else the first Authorization header that starts with
 * `Bearer ` exactly (case and the one space included), its rest trimmed. Sent byte for byte:
 * repeated headers, tabs and odd bytes never reach the server through fetch or inject.
 */

let h: Harness;
let port: number;
beforeAll(async () => {
  h = await startHarness();
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.server.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await h?.close();
});

/** A read of the caller's own token, or a list of the policies (lookup-self has no list). */
const PATHS = { GET: '/v1/auth/token/lookup-self', LIST: '/v1/sys/policies/acl' };

const ask = async (method: 'GET' | 'LIST', headers: Array<string | Buffer>): Promise<number> => {
  const head = Buffer.concat([
    Buffer.from(`${method} ${PATHS[method]} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`),
    ...headers.map((x) =>
      Buffer.concat([typeof x === 'string' ? Buffer.from(x, 'latin1') : x, Buffer.from('\r\n')]),
    ),
    Buffer.from('\r\n'),
  ]);
  return (await rawRequest(port, head, { timeoutMs: 10_000 })).status;
};

describe('the client token of a request', () => {
  it.each([
    [
      'the first of two X-Vault-Token headers',
      [`X-Vault-Token: ${ADMIN_TOKEN}`, 'X-Vault-Token: other'],
      200,
    ],
    [
      'not the second of two X-Vault-Token headers',
      ['X-Vault-Token: other', `X-Vault-Token: ${ADMIN_TOKEN}`],
      403,
    ],
    [
      'X-Vault-Token before Authorization',
      ['X-Vault-Token: other', `Authorization: Bearer ${ADMIN_TOKEN}`],
      403,
    ],
    [
      'Authorization when X-Vault-Token is empty',
      ['X-Vault-Token:', `Authorization: Bearer ${ADMIN_TOKEN}`],
      200,
    ],
    ['Bearer with more spaces before the token', [`Authorization: Bearer    ${ADMIN_TOKEN}`], 200],
    [
      'the first Bearer one of several Authorization headers',
      ['Authorization: Basic dXNlcjpwYXNz', `Authorization: Bearer ${ADMIN_TOKEN}`],
      200,
    ],
    ['not a later Bearer one', ['Authorization: Bearer other', `Authorization: Bearer ${ADMIN_TOKEN}`], 403],
    ['not `bearer` in lower case', [`Authorization: bearer ${ADMIN_TOKEN}`], 403],
    ['not `BEARER`', [`Authorization: BEARER ${ADMIN_TOKEN}`], 403],
    ['not Bearer and a tab', [`Authorization: Bearer\t${ADMIN_TOKEN}`], 403],
  ])('is %s, as Vault reads it', async (_name, headers, status) => {
    expect(await ask('GET', headers)).toBe(status);
  });

  it('is X-Vault-Token as sent: a no-break space (byte A0) after it is no white space Vault trims', async () => {
    const header = Buffer.concat([Buffer.from(`X-Vault-Token: ${ADMIN_TOKEN}`), Buffer.from([0xa0])]);
    expect(await ask('GET', [header])).toBe(403);
  });

  it.each([
    [
      'the first of two X-Vault-Token headers',
      [`X-Vault-Token: ${ADMIN_TOKEN}`, 'X-Vault-Token: other'],
      200,
    ],
    [
      'the first Bearer one of several Authorization headers',
      ['Authorization: Basic dXNlcjpwYXNz', `Authorization: Bearer ${ADMIN_TOKEN}`],
      200,
    ],
    ['not `bearer` in lower case', [`Authorization: bearer ${ADMIN_TOKEN}`], 403],
  ])('of a LIST is %s too', async (_name, headers, status) => {
    expect(await ask('LIST', headers)).toBe(status);
  });
});
