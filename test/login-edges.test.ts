import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { NGINX_ROLE, startHarness, withPayload, type Harness } from './helpers/harness.js';

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
