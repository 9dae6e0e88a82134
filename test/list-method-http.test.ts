import type { AddressInfo } from 'node:net';
import vault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEntries, recordAuthSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { rawExchange } from './helpers/raw-http.js';

/*
 * Vault's `LIST` method through a real listening server. Node's parser refuses the method; the
 * 'clientError' handler serves it as `GET ?list=true` (src/http/client-errors.ts), so these
 * tests must use real sockets: `inject` never meets the parser.
 */

const POLICIES = {
  lister: {
    path: {
      'secret/metadata/open/*': { capabilities: ['list'] },
      'secret/metadata/closed/*': { capabilities: ['read'] },
    },
  },
};
const ROLES = {
  lister: { ...NGINX_ROLE, token_policies: ['lister'] },
  // Bound to a loopback address of their own, so that only the real peer address matches.
  here: { ...NGINX_ROLE, token_policies: ['lister'], token_bound_cidrs: ['127.0.0.5/32'] },
  there: { ...NGINX_ROLE, token_policies: ['lister'], token_bound_cidrs: ['127.0.0.1/32'] },
};

let h: Harness;
let port: number;
beforeAll(async () => {
  h = await startHarness({ roles: ROLES, config: { policies: POLICIES } });
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.server.app.server.address() as AddressInfo).port;
  const admin = vault({ endpoint: `http://127.0.0.1:${port}`, token: ADMIN_TOKEN });
  for (const path of ['open/a', 'open/b/c', 'closed/x', 'nv/one'])
    await admin.write(`secret/data/${path}`, { data: { v: 'value' } });
});
afterAll(async () => {
  await h?.close();
});

const list = (target: string, headers: string[] = [], extra = '') =>
  `LIST ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((x) => `${x}\r\n`).join('')}\r\n${extra}`;
const get = (target: string, headers: string[] = []) =>
  `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers.map((x) => `${x}\r\n`).join('')}\r\n`;
const withoutId = (body: string) => ({ ...(JSON.parse(body) as object), request_id: 'x' });
const loginAs = async (role: string, remoteAddress = '127.0.0.1') => {
  const res = await h.server.app.inject({
    method: 'POST',
    url: '/v1/auth/kubernetes/login',
    payload: { role, jwt: await h.podToken() },
    remoteAddress,
  });
  const json = res.json<{ auth: { client_token: string } }>();
  recordAuthSecrets(json);
  expect(res.statusCode).toBe(200);
  return json.auth.client_token;
};
const VAULT_400 = { 'content-type': 'application/json', 'cache-control': 'no-store', connection: 'close' };

describe('LIST on a raw socket', () => {
  it('answers as GET ?list=true does, then closes the connection', async () => {
    const listed = await rawExchange(port, [
      list('/v1/secret/metadata/open', [`X-Vault-Token: ${ADMIN_TOKEN}`]),
    ]);
    const got = await rawExchange(port, [
      get('/v1/secret/metadata/open?list=true', [`X-Vault-Token: ${ADMIN_TOKEN}`]),
    ]);
    expect(listed.status).toBe(200);
    expect(listed.headers).toMatchObject({
      connection: 'close',
      'content-type': 'application/json',
      'cache-control': 'no-store',
    });
    expect(Number(listed.headers['content-length'])).toBe(Buffer.byteLength(listed.body));
    expect(withoutId(listed.body)).toEqual(withoutId(got.body));
    expect(JSON.parse(listed.body)).toMatchObject({ data: { keys: ['a', 'b/'] } });
  });

  it('lists whatever list flag the query carries, and an empty folder is 404 errors []', async () => {
    const token = `X-Vault-Token: ${ADMIN_TOKEN}`;
    const flagged = await rawExchange(port, [list('/v1/secret/metadata/open/?list=false&li%73t=0', [token])]);
    expect(JSON.parse(flagged.body)).toMatchObject({ data: { keys: ['a', 'b/'] } });
    const empty = await rawExchange(port, [list('/v1/secret/metadata/none/', [token])]);
    expect(empty).toMatchObject({ status: 404, body: '{"errors":[]}' });
  });

  it('reads a head that arrives in pieces', async () => {
    const whole = list('/v1/secret/metadata/open', [`X-Vault-Token: ${ADMIN_TOKEN}`]);
    const answer = await rawExchange(port, [whole.slice(0, 30), whole.slice(30)]);
    expect(answer.status).toBe(200);
  });

  it('answers a GET pipelined before the LIST first, in order', async () => {
    const token = `X-Vault-Token: ${ADMIN_TOKEN}`;
    const first = `GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const socketAnswer = await rawExchange(port, [first + list('/v1/secret/metadata/open', [token])]);
    // The first answer is the health check's; the LIST answer follows it on the same connection.
    expect(socketAnswer.status).toBe(200);
    expect(socketAnswer.body).toContain('"initialized":true');
    expect(socketAnswer.body).toContain('"keys":["a","b/"]');
  });

  it('refuses a LIST without a token: 403 in Vault shape', async () => {
    const answer = await rawExchange(port, [list('/v1/secret/metadata/open')]);
    expect(answer).toMatchObject({ status: 403, body: '{"errors":["permission denied"]}' });
    expect(answer.headers['connection']).toBe('close');
  });

  it('lists where the ACL grants list, and refuses where it grants only read', async () => {
    const token = `X-Vault-Token: ${await loginAs('lister')}`;
    expect((await rawExchange(port, [list('/v1/secret/metadata/open/', [token])])).status).toBe(200);
    const denied = await rawExchange(port, [list('/v1/secret/metadata/closed/', [token])]);
    expect(denied).toMatchObject({ status: 403, body: '{"errors":["permission denied"]}' });
  });

  it('checks bound CIDRs against the real peer address, and audits it', async () => {
    const here = `X-Vault-Token: ${await loginAs('here', '127.0.0.5')}`;
    const there = `X-Vault-Token: ${await loginAs('there')}`;
    const from5 = { localAddress: '127.0.0.5' };
    expect((await rawExchange(port, [list('/v1/secret/metadata/open/', [here])], from5)).status).toBe(200);
    expect((await rawExchange(port, [list('/v1/secret/metadata/open/', [there])], from5)).status).toBe(403);
    expect((await rawExchange(port, [list('/v1/secret/metadata/open/', [there])])).status).toBe(200);
    const audited = readEntries(h.auditFile ?? '').filter(
      (e) => e.type === 'request' && e.request?.remote_address === '127.0.0.5',
    );
    expect(audited.map((e) => [e.request?.operation, e.request?.path])).toContainEqual([
      'list',
      'secret/metadata/open/',
    ]);
  });

  it('refuses a LIST with a body: 400 in Vault shape', async () => {
    const token = `X-Vault-Token: ${ADMIN_TOKEN}`;
    const answer = await rawExchange(port, [
      list('/v1/secret/metadata/open', [token, 'Content-Length: 2'], '{}'),
    ]);
    expect(answer).toMatchObject({ status: 400, headers: VAULT_400 });
    expect(JSON.parse(answer.body)).toEqual({ errors: ['a LIST request must not have a body'] });
    const chunked = await rawExchange(port, [list('/v1/x', ['Transfer-Encoding: chunked'], '0\r\n\r\n')]);
    expect(chunked.status).toBe(400);
  });

  it('refuses a head that ends before it is complete: 400 in Vault shape', async () => {
    const answer = await rawExchange(port, [`LIST /v1/secret/metadata/open HTTP/1.1\r\nHost: x\r\n`], {
      halfClose: true,
    });
    expect(answer).toMatchObject({ status: 400, body: '{"errors":["incomplete HTTP request"]}' });
  });

  it('refuses a target that URL parsing would move elsewhere: dot segments, # and \\', async () => {
    // inject reads its URL with the WHATWG parser, which resolves `..` (also %2e%2e), turns `\`
    // into `/` and cuts at `#`: the LIST would reach another path than its target names.
    const token = `X-Vault-Token: ${ADMIN_TOKEN}`;
    for (const target of [
      '/v1/secret/metadata/../../sys/policies/acl',
      '/v1/secret/metadata/%2e%2e/%2E%2E/sys/policies/acl',
      '/v1/secret/metadata/./open',
      '/v1/secret/metadata/open#x',
      '/v1/secret\\metadata/open',
    ]) {
      const answer = await rawExchange(port, [list(target, [token])]);
      expect(answer).toMatchObject({ status: 400, headers: VAULT_400 });
      expect(JSON.parse(answer.body)).toEqual({ errors: ['invalid request path'] });
    }
  });

  it('refuses a malformed LIST head without quoting it', async () => {
    const token = `X-Vault-Token: ${ADMIN_TOKEN}`;
    for (const bad of [
      `LIST http://x/v1/secret/metadata HTTP/1.1\r\nHost: x\r\n${token}\r\n\r\n`,
      `LIST /v1/secret/metadata HTTP/1.1\r\nHost: x\r\n ${token}\r\n\r\n`,
      `LIST /v1/secret/metadata HTTP/1.1\r\n${token}\r\n\r\n`,
    ]) {
      const answer = await rawExchange(port, [bad]);
      expect(answer).toMatchObject({ status: 400, headers: VAULT_400 });
      expect(answer.body).not.toContain(ADMIN_TOKEN);
    }
  });
});

describe('node-vault with its LIST method', () => {
  it('lists, and the next call on the same client works', async () => {
    const client = vault({ endpoint: `http://127.0.0.1:${port}`, token: ADMIN_TOKEN });
    // A read first, so that the LIST goes out on a kept-alive connection.
    expect((await client.read('secret/data/open/a')).data.data).toEqual({ v: 'value' });
    expect((await client.list('secret/metadata/open')).data).toEqual({ keys: ['a', 'b/'] });
    expect((await client.read('secret/data/open/a')).data.data).toEqual({ v: 'value' });
    expect((await client.list('secret/metadata/nv')).data).toEqual({ keys: ['one'] });
    expect((await client.list('sys/policies/acl')).data.keys).toContain('lister');
  });
});

describe('other requests Node cannot parse', () => {
  it('answers a malformed request line 400 in Vault shape, and keeps serving', async () => {
    for (const bad of [
      'BLAH\r\n\r\n',
      'GET /v1/sys/health HTTP/9.9\r\n\r\n',
      `GET / HTTP/1.1\r\nX-Vault-Token: ${ADMIN_TOKEN}\r\nBad Header\r\n\r\n`,
    ]) {
      const answer = await rawExchange(port, [bad]);
      expect(answer).toMatchObject({ status: 400, headers: VAULT_400 });
      expect(JSON.parse(answer.body)).toEqual({ errors: ['malformed HTTP request'] });
    }
    expect((await rawExchange(port, [get('/v1/sys/health')])).status).toBe(200);
  });

  it('answers a well-formed request with a method Node does not know with Vault’s bare 405', async () => {
    // Go's server hands any token method to Vault, which answers 405; Node's parser refused it
    // and the answer was 400 malformed.
    for (const method of ['FOO', 'get', 'M-SEARCH2', 'LISTX']) {
      const answer = await rawExchange(port, [
        `${method} /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
      ]);
      expect(answer, method).toMatchObject({ status: 405, headers: VAULT_400 });
      expect(JSON.parse(answer.body)).toEqual({ errors: [] });
    }
    // Pipelined after a request read whole: that one's answer first, then the 405.
    const first = `GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const both = await rawExchange(port, [`${first}FOO /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`]);
    expect(both.status).toBe(200);
    expect(both.body).toContain('HTTP/1.1 405');
    expect(both.body).toContain('{"errors":[]}');
    // Not a request line: still 400.
    for (const bad of ['FOO\r\n\r\n', 'FOO /v1/sys/health\r\n\r\n', 'F(O /v1/sys/health HTTP/1.1\r\n\r\n']) {
      expect((await rawExchange(port, [bad])).status, bad).toBe(400);
    }
  });

  it('answers a request whose body breaks off 400 at once and closes, never waiting for its answer', async () => {
    // The answer in flight is that request's own, which never comes: waiting for it held the
    // connection open forever, past request_timeout (the timeout's error was dropped too).
    const started = Date.now();
    const answer = await rawExchange(port, [
      'POST /v1/auth/kubernetes/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"ro\r\n',
      'ZZZ\r\n',
    ]);
    expect(answer).toMatchObject({ status: 400, headers: VAULT_400 });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers an HTTP/1.1 request without Host 400 in Vault shape, as a LIST without it', async () => {
    // Node's own check answered it with a bare 400 and no body.
    const answer = await rawExchange(port, ['GET /v1/sys/health HTTP/1.1\r\nConnection: close\r\n\r\n']);
    expect(answer).toMatchObject({ status: 400, headers: VAULT_400 });
    expect(JSON.parse(answer.body)).toEqual({ errors: ['missing Host header'] });
    const listed = await rawExchange(port, ['LIST /v1/secret/metadata/open HTTP/1.1\r\n\r\n']);
    expect(JSON.parse(listed.body)).toEqual({ errors: ['missing Host header'] });
    // HTTP/1.0 has no Host requirement.
    expect((await rawExchange(port, ['GET /v1/sys/health HTTP/1.0\r\n\r\n'])).status).toBe(200);
  });

  it('closes the connection after answering a request without Host, as Go does and the README says', async () => {
    // A client that asked to keep the connection alive still gets `Connection: close` and the
    // end of the connection: a peer that sends no Host is not one to read more requests from.
    const answer = await rawExchange(port, ['GET /v1/sys/health HTTP/1.1\r\n\r\n'], { timeoutMs: 3000 });
    expect(answer).toMatchObject({ status: 400, headers: VAULT_400 });
    expect(JSON.parse(answer.body)).toEqual({ errors: ['missing Host header'] });
  });

  it('answers a request with two Host headers 400 in Vault shape and closes, as Go’s server (RFC 9112 §3.2)', async () => {
    for (const version of ['1.1', '1.0']) {
      const answer = await rawExchange(
        port,
        [`GET /v1/sys/health HTTP/${version}\r\nHost: 127.0.0.1\r\nHost: elsewhere.test\r\n\r\n`],
        { timeoutMs: 3000 },
      );
      expect(answer).toMatchObject({ status: 400, headers: VAULT_400 });
      expect(JSON.parse(answer.body)).toEqual({ errors: ['too many Host headers'] });
    }
    const listed = await rawExchange(port, [
      list('/v1/secret/metadata/open', [`X-Vault-Token: ${ADMIN_TOKEN}`, 'Host: elsewhere.test']),
    ]);
    expect([listed.status, JSON.parse(listed.body)]).toEqual([400, { errors: ['too many Host headers'] }]);
  });

  it('answers a Host that no host or port could be 400 in Vault shape and closes, as Go’s server', async () => {
    const answer = await rawExchange(port, ['GET /v1/sys/health HTTP/1.1\r\nHost: a b\r\n\r\n'], {
      timeoutMs: 3000,
    });
    expect(answer).toMatchObject({ status: 400, headers: VAULT_400 });
    expect(JSON.parse(answer.body)).toEqual({ errors: ['malformed Host header'] });
    const listed = await rawExchange(port, [
      `LIST /v1/secret/metadata/open HTTP/1.1\r\nHost: x/y\r\nX-Vault-Token: ${ADMIN_TOKEN}\r\n\r\n`,
    ]);
    expect([listed.status, JSON.parse(listed.body)]).toEqual([400, { errors: ['malformed Host header'] }]);
    // A port and an IPv6 literal are hosts.
    const v6 = await rawExchange(port, [
      'GET /v1/sys/health HTTP/1.1\r\nHost: [::1]:8200\r\nConnection: close\r\n\r\n',
    ]);
    expect(v6.status).toBe(200);
  });

  it('answers a transfer coding other than chunked alone 501 in Vault shape and closes, as Go’s server', async () => {
    // Node reads `gzip, chunked` as chunked and hands on the bytes still compressed; Go's server
    // (so Vault) takes `chunked` only, and answers any other coding 501 (RFC 9112 §6.1), as it
    // does two Transfer-Encoding headers.
    const body = `{"role":"nope","jwt":"x"}`;
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const post = (encoding: string) =>
      `POST /v1/auth/kubernetes/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Transfer-Encoding: ${encoding}\r\n\r\n${chunked}`;
    for (const encoding of ['gzip, chunked', 'deflate,chunked', 'gzip\r\nTransfer-Encoding: chunked']) {
      const answer = await rawExchange(port, [post(encoding)], { timeoutMs: 3000 });
      expect(answer).toMatchObject({ status: 501, headers: VAULT_400 });
      expect(JSON.parse(answer.body)).toEqual({ errors: ['unsupported transfer encoding'] });
    }
    // `chunked` alone, in any case, is read as before.
    for (const encoding of ['chunked', 'Chunked']) {
      const answer = await rawExchange(port, [
        post(encoding).replace('Host: 127.0.0.1', 'Host: 127.0.0.1\r\nConnection: close'),
      ]);
      // The body was read: the login names a role that is not there.
      expect([answer.status, JSON.parse(answer.body)]).toEqual([
        400,
        { errors: ['invalid role name "nope"'] },
      ]);
    }
  });

  it('answers CONNECT with Vault’s bare 405 and closes, never dropping it unanswered', async () => {
    // Node hands CONNECT to the server's 'connect' event, not to the app; unheard, it closed the
    // connection without a word.
    for (const target of ['/v1/sys/health', '127.0.0.1:443']) {
      const answer = await rawExchange(port, [`CONNECT ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`]);
      expect(answer).toMatchObject({ status: 405, headers: VAULT_400 });
      expect(JSON.parse(answer.body)).toEqual({ errors: [] });
    }
    expect((await rawExchange(port, [get('/v1/sys/health')])).status).toBe(200);
  });

  it('answers a request read whole before a malformed one first, then 400', async () => {
    // The malformed one's error replaced the answer still owed to the request before it.
    const first = `GET /v1/sys/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const answer = await rawExchange(port, [`${first}BLAH\r\n\r\n`]);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain('"initialized":true');
    expect(answer.body).toContain('{"errors":["malformed HTTP request"]}');
  });

  it('answers headers over the limit 431 in Vault shape', async () => {
    const answer = await rawExchange(port, [get('/v1/sys/health', [`X-Big: ${'a'.repeat(20_000)}`])]);
    expect(answer).toMatchObject({ status: 431, headers: VAULT_400 });
    expect(JSON.parse(answer.body)).toEqual({ errors: ['request header fields too large'] });
    const big = await rawExchange(port, [list('/v1/x', [`X-Big: ${'a'.repeat(20_000)}`])]);
    expect(big.status).toBe(431);
  });
});
