import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { createLogger } from '../src/telemetry/index.js';
import { recordSecrets } from './helpers/audit.js';
import { NGINX_ROLE, segment, startHarness, withPayload, type Harness } from './helpers/harness.js';

const roles = {
  nginx: NGINX_ROLE,
  cidr: { ...NGINX_ROLE, token_bound_cidrs: ['10.0.0.0/8'] },
};

const loginFrom = async (h: Harness, remoteAddress: string, headers: Record<string, string> = {}) => {
  const res = await h.server.app.inject({
    method: 'POST',
    url: '/v1/auth/kubernetes/login',
    payload: JSON.stringify({ role: 'cidr', jwt: await h.podToken() }),
    remoteAddress,
    headers,
  });
  return res.statusCode;
};

describe('bound CIDRs at login', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ roles });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lets in a client inside the bound CIDRs', async () => {
    expect(await loginFrom(h, '10.1.2.3')).toBe(200);
  });

  it('refuses a client outside them', async () => {
    expect(await loginFrom(h, '192.168.1.1')).toBe(403);
  });

  it('ignores X-Forwarded-For when no proxy is trusted', async () => {
    expect(await loginFrom(h, '192.168.1.1', { 'x-forwarded-for': '10.1.2.3' })).toBe(403);
  });

  it('refuses an iat in the future on its face, with Vault’s message', async () => {
    const jwt = withPayload(await h.podToken(), (p) => {
      p['iat'] = Number(p['iat']) + 600;
    });
    expect(await h.login('kubernetes', { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['invalid issued at (iat) claim: token issued in the future'] },
    });
  });
});

describe('bound CIDRs behind a trusted proxy', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ roles, listener: { trusted_proxies: ['127.0.0.0/8'] } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('takes the client address from X-Forwarded-For set by the trusted proxy', async () => {
    expect(await loginFrom(h, '127.0.0.1', { 'x-forwarded-for': '10.1.2.3' })).toBe(200);
    expect(await loginFrom(h, '127.0.0.1', { 'x-forwarded-for': '192.168.1.1' })).toBe(403);
  });

  it('does not believe X-Forwarded-For from a client that is not the proxy', async () => {
    expect(await loginFrom(h, '192.168.7.7', { 'x-forwarded-for': '10.1.2.3' })).toBe(403);
  });
});

describe('bound CIDRs at login from a client that is already gone', () => {
  let h: Harness;
  const lines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const local = { ...NGINX_ROLE, token_bound_cidrs: ['127.0.0.0/8'] };
    h = await startHarness({ roles: { local }, log: createLogger('warn', stream) });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('refuses a login whose peer address is unknown by the time it is checked, never a 500', async () => {
    // A client that resets its connection as soon as its login is sent: by the time the
    // handler checks the role's CIDRs, Node no longer knows the peer's address.
    const port = Number(new URL(await h.server.app.listen({ host: '127.0.0.1', port: 0 })).port);
    const body = JSON.stringify({ role: 'local', jwt: await h.podToken() });
    const head = `POST /v1/auth/kubernetes/login HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`;
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(port, '127.0.0.1', () =>
          socket.write(head + body, () => {
            socket.resetAndDestroy();
            resolve();
          }),
        );
        socket.on('error', () => resolve());
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(lines.filter((l) => l['event'] === 'request.bug')).toEqual([]);
    // The race was run: some of those logins were checked without an address, and refused.
    expect(lines.some((l) => l['event'] === 'login.denied' && l['reason'] === 'cidr_not_allowed')).toBe(true);
  });
});

describe('a mount nested under another path', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ roles, mountPaths: { tokenreview: 'k8s/prod', jwks: 'k8s/jwks' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each(['k8s/prod', 'k8s/jwks'])(
    'names the token after the mount with its slashes as dashes, as Vault (%s)',
    async (mount) => {
      const res = await h.login(mount, { role: 'nginx', jwt: await h.podToken() });
      expect(res.status).toBe(200);
      const token = (res.json['auth'] as { client_token: string }).client_token;
      const lookup = await h.server.app.inject({
        method: 'GET',
        url: '/v1/auth/token/lookup-self',
        headers: { 'x-vault-token': token },
      });
      expect(lookup.json().data).toMatchObject({
        display_name: `${mount.replace('/', '-')}-test-nginx`,
        path: `auth/${mount}/login`,
      });
    },
  );
});

describe.each(['kubernetes', 'jwks'])('the expiry leeway through the %s mount', (mount) => {
  const clock = createFakeClock(Date.UTC(2026, 6, 1, 8, 0, 0, 250));
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ clock, roles });
  });
  afterAll(async () => {
    await h?.close();
  });

  const expMs = (jwt: string) =>
    Number(JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString())['exp']) * 1000;

  it('accepts a token at exactly exp + 60 s', async () => {
    const jwt = await h.podToken({ expirationSeconds: 600 });
    clock.setMs(expMs(jwt) + 60_000);
    expect((await h.login(mount, { role: 'nginx', jwt })).status).toBe(200);
  });

  // go-jose, which both Vault (hashicorp/cap jwt.go: `now.Add(-leeway).After(exp)`) and the API
  // server use, compares the instant, not whole seconds: a token is expired 1 ms past the leeway.
  it('refuses it, with Vault’s message, a fraction of a second later', async () => {
    const jwt = await h.podToken({ expirationSeconds: 600 });
    clock.setMs(expMs(jwt) + 60_500);
    expect(await h.login(mount, { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['invalid expiration time (exp) claim: token is expired'] },
    });
  });
});

describe('what a jwks mount cannot see, and a tokenreview mount does', () => {
  let h: Harness;
  beforeAll(async () => {
    // cooldown 0: a token naming a kid the jwks mount does not hold makes it fetch the set at once.
    h = await startHarness({ roles, jwks: { cooldown: '0s' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('a node-bound token whose Node was deleted', async () => {
    h.cluster.createServiceAccount('test', 'nginx');
    h.cluster.createNode('worker-gone');
    const { token: jwt } = await h.cluster.mintToken({
      namespace: 'test',
      serviceAccount: 'nginx',
      audiences: ['vault'],
      node: 'worker-gone',
    });
    recordSecrets(jwt);
    h.cluster.deleteNode('worker-gone');
    expect(await h.login('kubernetes', { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
    expect((await h.login('jwks', { role: 'nginx', jwt })).status).toBe(200);
  });

  it('a key removed from the issuer’s set, until the jwks mount fetches the set again', async () => {
    const { kid } = await h.cluster.rotateKey('ES256');
    // Three tokens of that key: a verified token is cached by the mount, so each step uses a new one.
    const [first, second, third] = [await h.podToken(), await h.podToken(), await h.podToken()];
    expect((await h.login('jwks', { role: 'nginx', jwt: first })).status).toBe(200);
    h.cluster.removeKey(kid);
    expect(await h.login('kubernetes', { role: 'nginx', jwt: second })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
    expect((await h.login('jwks', { role: 'nginx', jwt: second })).status).toBe(200);
    // A token naming a kid the mount does not hold makes it fetch the set: the key is gone.
    const [, payload, signature] = (await h.podToken()).split('.');
    const unknownKid = `${segment({ alg: 'ES256', kid: 'not-a-key' })}.${payload}.${signature}`;
    expect((await h.login('jwks', { role: 'nginx', jwt: unknownKid })).status).toBe(403);
    expect(await h.login('jwks', { role: 'nginx', jwt: third })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });

  it('a token verified before its key was removed, once the jwks mount holds the set without it', async () => {
    const { kid } = await h.cluster.rotateKey('ES256');
    const jwt = await h.podToken();
    expect((await h.login('jwks', { role: 'nginx', jwt })).status).toBe(200);
    h.cluster.removeKey(kid);
    // The same token again is served from the mount's cache of verified tokens until then.
    expect((await h.login('jwks', { role: 'nginx', jwt })).status).toBe(200);
    const [, payload, signature] = jwt.split('.');
    const unknownKid = `${segment({ alg: 'ES256', kid: 'not-a-key' })}.${payload}.${signature}`;
    expect((await h.login('jwks', { role: 'nginx', jwt: unknownKid })).status).toBe(403);
    expect(await h.login('jwks', { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });
});

describe.each(['kubernetes', 'jwks'])('a jwt with white space in it, through the %s mount', (mount) => {
  // Vault's plugin reads the token with go-jose's ParseSigned, which strips every white-space
  // character first (go-jose encoding.go stripWhitespace), and the API server's TokenReview
  // accepts it too: a token file read with its trailing newline logs in.
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const login = async (jwt: string) => h.login(mount, { role: 'nginx', jwt });

  it.each([
    ['a trailing newline', (t: string) => `${t}\n`],
    ['spaces and a CRLF around it', (t: string) => `  ${t}\r\n`],
    ['a line break inside it', (t: string) => `${t.slice(0, 40)}\n${t.slice(40)}`],
    ['a no-break space and a NEL (Go’s unicode.IsSpace)', (t: string) => `\u00a0${t}\u0085`],
  ])('logs in with %s, as Vault', async (_what, spaced) => {
    const res = await login(spaced(await h.podToken()));
    expect(res.status).toBe(200);
  });

  it('counts the token with and without the white space as one (one cache entry, one TokenReview)', async () => {
    const token = await h.podToken();
    const before = h.cluster.stats().tokenReviews;
    expect((await login(token)).status).toBe(200);
    expect((await login(`${token}\n`)).status).toBe(200);
    expect(h.cluster.stats().tokenReviews - before).toBe(mount === 'kubernetes' ? 1 : 0);
  });

  it('still refuses a zero-width space (not white space to Go) and a jwt of white space only', async () => {
    const token = await h.podToken();
    expect((await login(`${token}\u200b`)).status).toBe(403);
    const blank = await login(' \n');
    expect(blank.status).toBeGreaterThanOrEqual(400);
    expect(blank.status).toBeLessThan(500);
  });
});
