import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import { rawRequest } from './helpers/raw-http.js';

/*
 * A path with `//`, `.` or `..` segments, as Vault answers it: its HTTP server routes `/v1/`
 * through Go's ServeMux (vault/http/handler.go), which redirects such a path to the clean one
 * (net/http cleanPath, 301) before Vault's handler runs: no token checked, nothing audited.
 */

let h: Harness;
let port: number;

beforeAll(async () => {
  h = await startHarness();
  port = Number(new URL(await h.server.app.listen({ host: '127.0.0.1', port: 0 })).port);
});
afterAll(async () => {
  await h?.close();
});

const inject = (method: 'GET' | 'POST' | 'HEAD', url: string, token?: string) =>
  h.server.app.inject({
    method,
    url,
    headers: token === undefined ? {} : { 'x-vault-token': token },
  });

const raw = (method: string, target: string, token = ADMIN_TOKEN) =>
  rawRequest(
    port,
    `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${token}\r\nConnection: close\r\n\r\n`,
    { timeoutMs: 10_000 },
  );

const loginToken = async (): Promise<string> => {
  const res = await h.login('jwks', { role: 'nginx', jwt: await h.podToken() });
  expect(res.status).toBe(200);
  return (res.json['auth'] as { client_token: string }).client_token;
};

describe('a path with repeated slashes', () => {
  it('is redirected to the clean path with 301, the query kept, as Go’s ServeMux answers a GET', async () => {
    const res = await inject('GET', '/v1/auth//token/lookup-self?x=1', ADMIN_TOKEN);
    expect(res.statusCode).toBe(301);
    expect(res.headers['location']).toBe('/v1/auth/token/lookup-self?x=1');
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toBe('<a href="/v1/auth/token/lookup-self?x=1">Moved Permanently</a>.\n\n');
  });

  it('is redirected before any token check, with a token or none', async () => {
    expect((await inject('GET', '/v1/secret//data/x')).statusCode).toBe(301);
    const token = await loginToken();
    for (const url of ['/v1//auth/token/lookup-self', '/v1/auth/token//lookup-self']) {
      const res = await inject('POST', url, token);
      expect([res.statusCode, res.headers['location']], url).toEqual([301, '/v1/auth/token/lookup-self']);
      // A redirected POST has no body and no type, as http.Redirect writes it.
      expect([res.body, res.headers['content-type']], url).toEqual(['', undefined]);
    }
    const followed = await inject('GET', '/v1/auth/token/lookup-self', token);
    expect(followed.statusCode).toBe(200);
  });

  it('is not audited, as Vault’s mux answers it before its router', async () => {
    const file = h.auditFile;
    if (file === undefined) throw new Error('no audit file');
    const marker = `redirect-${Date.now()}`;
    expect((await inject('GET', `/v1/secret//data/${marker}`, ADMIN_TOKEN)).statusCode).toBe(301);
    expect(readFileSync(file, 'utf8')).not.toContain(marker);
  });

  it('that cleans to a token in the URL is answered 404 without quoting it, never redirected', async () => {
    const token = await loginToken();
    for (const url of [
      `/v1/auth//token/lookup/${token}`,
      `/v1/auth/token/lookup//${token}`,
      `/v1/auth/token/./revoke/${token}`,
    ]) {
      const res = await inject('GET', url, ADMIN_TOKEN);
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['location'], url).toBeUndefined();
      expect(res.body, url).not.toContain(token);
      expect(res.json(), url).toEqual({
        errors: ['unsupported path: send the token in the request body ("token"), not in the URL'],
      });
    }
    expect(readFileSync(h.auditFile ?? '', 'utf8')).not.toContain(token);
  });
});

describe('a path with . or .. segments, sent byte for byte', () => {
  it.each([
    ['/v1/auth/token/./lookup-self', '/v1/auth/token/lookup-self'],
    ['/v1/x/../sys/health', '/v1/sys/health'],
    ['/v1/secret/data/a/..', '/v1/secret/data'],
    ['/v1/secret/metadata/./', '/v1/secret/metadata/'],
  ])('%s is redirected to %s', async (target, location) => {
    const res = await raw('GET', target);
    expect([res.status, res.headers['location']]).toEqual([301, location]);
  });

  it('answers a HEAD with the type and no body', async () => {
    const res = await raw('HEAD', '/v1//sys/health');
    expect([res.status, res.headers['location'], res.headers['content-type'], res.body]).toEqual([
      301,
      '/v1/sys/health',
      'text/html; charset=utf-8',
      '',
    ]);
  });

  it('leaves a clean path alone, and an encoded .. (which Go does not clean) refused as before', async () => {
    expect((await raw('GET', '/v1/auth/token/lookup-self')).status).toBe(200);
    expect((await raw('GET', '/v1/auth/token/lookup-self/')).status).toBe(404);
    const encoded = await raw('GET', '/v1/secret/data/a/%2e%2e/b');
    expect([encoded.status, encoded.headers['location']]).toEqual([400, undefined]);
  });
});

describe('the Location of a redirect', () => {
  /** Where a client that follows the redirect goes: browsers and fetch read `\` as `/`. */
  const followed = (location: string | undefined) => new URL(location ?? '', 'http://authgate.test/v1/x');

  it.each([
    ['/v1/../\\evil.test', '/%5Cevil.test'],
    ['/v1/.././\\\\evil.test/', '/%5C%5Cevil.test/'],
    ['/v1//\\evil.test?a=1', '/v1/%5Cevil.test?a=1'],
    ['/v1/../%5Cevil.test', '/%5Cevil.test'],
    ['/v1/..//evil.test', '/evil.test'],
  ])(
    'stays on this server for %s, a backslash escaped as Go’s URL.String escapes it',
    async (target, location) => {
      const res = await raw('GET', target);
      expect([res.status, res.headers['location']]).toEqual([301, location]);
      expect(followed(res.headers['location']).host).toBe('authgate.test');
      expect(res.body).not.toContain('\\');
    },
  );
});
