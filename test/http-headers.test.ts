import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import { rawRequest } from './helpers/raw-http.js';

// The headers every answer carries, as Vault sends them: answers hold tokens and secrets, and
// Vault's clients read the content type exactly.

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ config: { secrets: { kv: { secret: {} } } } });
});
afterAll(async () => {
  await h?.close();
});

/** The app on a real port (for requests inject cannot make), listened on once for the file. */
let listening: Promise<number> | undefined;
const listenPort = (): Promise<number> =>
  (listening ??= h.server.app
    .listen({ host: '127.0.0.1', port: 0 })
    .then((address) => Number(new URL(address).port)));

const inject = (
  method: 'GET' | 'POST',
  url: string,
  headers: Record<string, string> = {},
  payload?: unknown,
) =>
  h.server.app.inject({
    method,
    url,
    headers: { ...headers, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });

describe('every answer', () => {
  it.each([
    [
      'a login',
      async () => inject('POST', '/v1/auth/jwks/login', {}, { role: 'nginx', jwt: await h.podToken() }),
      200,
    ],
    [
      'a refused login',
      async () => inject('POST', '/v1/auth/jwks/login', {}, { role: 'nginx', jwt: 'a.b.c' }),
      403,
    ],
    [
      'a missing route',
      async () => inject('GET', '/v1/no/such/route', { 'x-vault-token': ADMIN_TOKEN }),
      404,
    ],
    ['a missing route without a token', async () => inject('GET', '/v1/no/such/route'), 403],
    // Answered by Fastify outside every route, where no hook runs.
    ['a malformed URL', async () => inject('GET', '/v1/secret/data/a%zz'), 400],
    ['a bad body', async () => inject('POST', '/v1/auth/jwks/login', {}, [1]), 400],
    [
      'a secret read',
      async () => {
        await inject('POST', '/v1/secret/data/app', { 'x-vault-token': ADMIN_TOKEN }, { data: { k: 'v' } });
        return inject('GET', '/v1/secret/data/app', { 'x-vault-token': ADMIN_TOKEN });
      },
      200,
    ],
  ] as const)(
    '%s says Cache-Control: no-store and Content-Type: application/json exactly',
    async (_n, send, status) => {
      const res = await send();
      expect(res.statusCode).toBe(status);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.headers['content-type']).toBe('application/json');
    },
  );
});

describe('response wrapping', () => {
  it('is refused with 400, never answered in clear', async () => {
    await inject(
      'POST',
      '/v1/secret/data/wrapped',
      { 'x-vault-token': ADMIN_TOKEN },
      { data: { k: 'clear-value' } },
    );
    const res = await inject('GET', '/v1/secret/data/wrapped', {
      'x-vault-token': ADMIN_TOKEN,
      'x-vault-wrap-ttl': '60s',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ errors: ['response wrapping is not supported by authgate'] });
    expect(res.body).not.toContain('clear-value');
  });

  it('refuses a wrapped login (Vault Agent’s auto_auth wrap_ttl) without issuing a token', async () => {
    const before = h.cluster.stats().tokenReviews;
    const res = await inject(
      'POST',
      '/v1/auth/kubernetes/login',
      { 'x-vault-wrap-ttl': '5m' },
      { role: 'nginx', jwt: await h.podToken() },
    );
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ errors: ['response wrapping is not supported by authgate'] });
    expect(h.cluster.stats().tokenReviews).toBe(before);
  });

  it.each(['', '0', '0s', '0h'])(
    'answers in clear with a TTL of %j, which asks for no wrapping, as Vault',
    async (ttl) => {
      const res = await inject('GET', '/v1/secret/data/wrapped', {
        'x-vault-token': ADMIN_TOKEN,
        'x-vault-wrap-ttl': ttl,
      });
      expect(res.statusCode).toBe(200);
    },
  );

  it('reads the first of repeated headers, as Go’s Header.Get', async () => {
    const send = async (values: string[]) =>
      rawRequest(
        await listenPort(),
        [
          'GET /v1/secret/data/wrapped HTTP/1.1',
          'Host: localhost',
          `X-Vault-Token: ${ADMIN_TOKEN}`,
          ...values.map((v) => `X-Vault-Wrap-TTL: ${v}`),
          'Connection: close',
          '',
          '',
        ].join('\r\n'),
      );
    expect((await send(['0', '5m'])).status).toBe(200);
    expect((await send(['5m', '0'])).status).toBe(400);
  });

  it.each([
    ['-5m', 'requested wrap ttl cannot be negative'],
    ['soon', 'time: invalid duration "soon"'],
  ])('refuses a TTL of %j with Vault’s 400', async (ttl, message) => {
    const res = await inject('GET', '/v1/auth/token/lookup-self', {
      'x-vault-token': ADMIN_TOKEN,
      'x-vault-wrap-ttl': ttl,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ errors: [message] });
  });

  // Vault serves these outside its logical handler, which alone reads X-Vault-Wrap-TTL: a client
  // with VAULT_WRAP_TTL set (the Go client then sends it on every request) still reads them.
  it.each([
    '/v1/sys/health',
    '/v1/sys/health?standbyok=true',
    '/v1/sys/seal-status',
    '/v1/sys/leader',
    '/v1/sys/init',
    '/v1/sys/health/ready',
    '/v1/sys/health/live',
  ])('ignores it on %s, which answers no secret, as Vault', async (url) => {
    const res = await inject('GET', url, { 'x-vault-wrap-ttl': '5m' });
    expect(res.statusCode).toBe(200);
  });
});

describe('help', () => {
  it('is refused, and the write or delete that asked for it is not performed', async () => {
    const admin = { 'x-vault-token': ADMIN_TOKEN };
    await inject('POST', '/v1/secret/data/helped', admin, { data: { k: 'v1' } });
    for (const [method, url, body] of [
      ['POST', '/v1/secret/data/helped?help=1', { data: { k: 'v2' } }],
      ['DELETE', '/v1/secret/metadata/helped?help=1', undefined],
      ['POST', '/v1/auth/token/revoke-self?x=1&help=true', {}],
      ['GET', '/v1/sys/health?help=1', undefined],
      // Go decodes the parameter's name: an encoded `help` asks for help too.
      ['DELETE', '/v1/secret/metadata/helped?h%65lp=1', undefined],
    ] as const) {
      const res = await h.server.app.inject({
        method,
        url,
        headers: { ...admin, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      expect(res.statusCode, url).toBe(400);
      expect(res.json()).toEqual({ errors: ['help is not supported by authgate'] });
    }
    const read = await inject('GET', '/v1/secret/data/helped', admin);
    expect(read.json().data).toMatchObject({ data: { k: 'v1' }, metadata: { version: 1 } });
    // An empty help parameter asks for nothing, as in Vault.
    expect((await inject('GET', '/v1/secret/data/helped?help=', admin)).statusCode).toBe(200);
  });
});

describe('the list flag', () => {
  it.each([
    '/v1/sys/policy?list=garbage',
    '/v1/sys/policies/acl?list=maybe',
    '/v1/auth/kubernetes/role?list=2',
  ])('is refused with Vault’s bare 400 on %s when it is no boolean, whoever asks', async (url) => {
    const asAdmin: Record<string, string> = { 'x-vault-token': ADMIN_TOKEN };
    for (const headers of [asAdmin, {}]) {
      const res = await inject('GET', url, headers);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({ errors: [] });
    }
  });

  it('lists with a Go boolean and reads with an empty one', async () => {
    const admin = { 'x-vault-token': ADMIN_TOKEN };
    expect((await inject('GET', '/v1/sys/policies/acl?list=T', admin)).statusCode).toBe(200);
    expect((await inject('GET', '/v1/sys/policy?list=', admin)).statusCode).toBe(200);
  });
});

describe('path parameters', () => {
  it.each([
    [10_000, 'as long as a request line can carry, not only up to 4096 characters'],
    [150, 'longer than 100 characters (the router’s default bound)'],
  ])('matches a name of %i characters: %s', async (length) => {
    const res = await inject(
      'POST',
      `/v1/sys/audit-hash/${'d'.repeat(length)}`,
      { 'x-vault-token': ADMIN_TOKEN },
      { input: 'x' },
    );
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toBe(`unknown audit device "${'d'.repeat(128)}…(${length} chars)"`);
  });
});

// Sentinel (which the header asks to override) is Vault Enterprise's; Vault CE still parses the
// header as a Go bool in its logical handler and refuses one that is not.
describe('X-Vault-Policy-Override', () => {
  it.each(['true', 'false', '1', 'T', ''])('is harmless as %j', async (value) => {
    const res = await inject('GET', '/v1/auth/token/lookup-self', {
      'x-vault-token': ADMIN_TOKEN,
      'x-vault-policy-override': value,
    });
    expect(res.statusCode).not.toBe(400);
  });

  it.each(['yes', 'bogus', 'on'])(
    'is a 400 as %j, which is no Go bool, without echoing it',
    async (value) => {
      const res = await inject('GET', '/v1/secret/data/x', {
        'x-vault-token': ADMIN_TOKEN,
        'x-vault-policy-override': value,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toEqual({
        errors: ['failed to parse X-Vault-Policy-Override header: not a boolean'],
      });
    },
  );

  it('is ignored on the status endpoints, as Vault', async () => {
    const res = await inject('GET', '/v1/sys/health', { 'x-vault-policy-override': 'bogus' });
    expect(res.statusCode).toBe(200);
  });
});

// Vault CE ignores the namespace (every request is in the root namespace) but, as Enterprise,
// sets the request's X-Vault-Namespace on its answer (http/handler.go wrapGenericHandler), which
// the Go client quotes in its errors.
describe('X-Vault-Namespace', () => {
  it('is served in the root namespace and set on the answer, success or error', async () => {
    const ok = await inject('GET', '/v1/auth/token/lookup-self', {
      'x-vault-token': ADMIN_TOKEN,
      'x-vault-namespace': 'team-a/',
    });
    expect([ok.statusCode, ok.headers['x-vault-namespace']]).toEqual([200, 'team-a/']);
    const denied = await inject('GET', '/v1/secret/data/x', { 'x-vault-namespace': 'team-a' });
    expect([denied.statusCode, denied.headers['x-vault-namespace']]).toEqual([403, 'team-a']);
  });

  it('is not set on an answer to a request without it', async () => {
    const res = await inject('GET', '/v1/sys/health');
    expect(res.headers['x-vault-namespace']).toBeUndefined();
  });
});

/*
 * The Expect header, sent byte for byte. Go's server (Vault's) continues a `100-continue`,
 * ignores an empty Expect, and refuses any other expectation with 417 before Vault reads the
 * request; Node would answer that 417 itself, bare (no body, no type), unless the app does.
 */
describe('Expect', () => {
  const post = async (expectation: string, body = '{"data":{"k":"v"}}') => {
    return rawRequest(
      await listenPort(),
      `POST /v1/secret/data/expect HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Vault-Token: ${ADMIN_TOKEN}\r\n` +
        `Expect: ${expectation}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      { timeoutMs: 10_000 },
    );
  };

  it.each([
    ['foo', 'foo'],
    ['another status', '200-ok'],
    ['a long value', 'x'.repeat(500)],
  ])('other than 100-continue (%s) is refused 417 in Vault’s shape, unquoted', async (_name, expectation) => {
    const res = await post(expectation);
    expect(res.status).toBe(417);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['connection']).toBe('close');
    expect(Number(res.headers['content-length'])).toBe(Buffer.byteLength(res.body));
    expect(JSON.parse(res.body)).toEqual({
      errors: ['expectation failed: only "100-continue" is supported'],
    });
    expect(res.body).not.toContain(expectation);
  });

  it('that is empty is ignored, as Go ignores it', async () => {
    const res = await post('');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ data: { version: 1 } });
  });

  it('of 100-continue is continued and served', async () => {
    const res = await post('100-continue');
    expect(res.status).toBe(200);
    expect(res.head).toMatch(/^HTTP\/1\.1 200/);
  });
});
