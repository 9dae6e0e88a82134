import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { expectGoSecret, goRequest, RFC3339, type GoAnswer } from './helpers/go-api.js';
import { NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/*
 * What Vault Agent and Vault Proxy (auto-auth, method "kubernetes"), the Vault Secrets Operator
 * and External Secrets Operator send to log in and keep their token alive, replayed request by
 * request over a real connection, and the fields of the answers they read. Sources:
 * - hashicorp/vault command/agentproxyshared/auth/{auth.go,kubernetes/kubernetes.go}: PUT
 *   auth/<mount>/login {"role","jwt"}; with a preloaded token, GET lookup-self and
 *   `Data["ttl"].(json.Number)`, `Data["id"].(string)`, `Data["renewable"].(bool)`, type
 *   assertions that panic on any other JSON type; then the LifetimeWatcher.
 * - hashicorp/vault api/lifetime_watcher.go, api/auth_token.go: PUT auth/token/renew-self
 *   {"increment": 0} (the agent sets no increment), reading `auth.lease_duration` and
 *   `auth.renewable`; a renewal without `auth` is an error.
 * - hashicorp/vault-secrets-operator internal/vault/client.go: login, then at once
 *   `Logical().Write("/auth/token/renew-self", nil)` (a body of `null`), `TokenTTL()`, `RevokeSelf`.
 * - external-secrets pkg/provider/vault/auth.go: `checkToken` reads lookup-self `data.type`;
 *   `revokeTokenIfValid` does lookup-self then revoke-self.
 */

const clock = createFakeClock(Date.UTC(2026, 6, 1, 12, 0, 0, 250));
let h: Harness;
let port: number;

beforeAll(async () => {
  h = await startHarness({
    clock,
    roles: {
      nginx: NGINX_ROLE,
      periodic: { ...NGINX_ROLE, token_period: '30m', token_ttl: undefined, token_max_ttl: undefined },
      capped: { ...NGINX_ROLE, token_explicit_max_ttl: '2h' },
    },
  });
  port = Number(new URL(await h.server.app.listen({ host: '127.0.0.1', port: 0 })).port);
});
afterAll(async () => {
  await h?.close();
});

/** Moves time on, with a fresh reviewer token as the kubelet would have written by then. */
const advanceMinutes = async (minutes: number) => {
  clock.advanceMs(minutes * 60_000);
  await h.rotateReviewer();
};

const AGENT = 'Vault Agent/1.18.3 (+https://www.vaultproject.io/; go1.22.7)';

/** Agent's auto-auth login: `Logical().WriteWithContext(ctx, "<mount>/login", data)`. */
const agentLogin = async (role = 'nginx', mount = 'kubernetes', headers: Record<string, string> = {}) => {
  const jwt = await h.podToken();
  const res = await goRequest(port, 'PUT', `/v1/auth/${mount}/login`, {
    userAgent: AGENT,
    body: { jwt, role },
    headers,
  });
  return res;
};

const authOf = (res: GoAnswer) =>
  res.json?.['auth'] as {
    client_token: string;
    accessor: string;
    lease_duration: number;
    renewable: boolean;
    metadata: Record<string, string>;
  };

describe('Vault Agent auto-auth with the kubernetes method', () => {
  it.each(['kubernetes', 'jwks'])(
    'logs in through %s with a PUT, no Content-Type, and decodes the answer as api.Secret',
    async (mount) => {
      const res = await agentLogin('nginx', mount);
      expect(res.status).toBe(200);
      expectGoSecret(res.json);
      const auth = authOf(res);
      // What the auth handler checks before it hands the token to its sinks.
      expect(auth.client_token).toMatch(/^ags\./);
      expect(auth.lease_duration).toBe(3600);
      expect(auth.renewable).toBe(true);
      // A login answers no MFA requirement: the api's Login would start an MFA flow otherwise.
      expect(res.json?.['auth']).toMatchObject({ mfa_requirement: null });
      expect(res.json).toMatchObject({ wrap_info: null, lease_duration: 0, renewable: false });
    },
  );

  it('keeps the token alive as the LifetimeWatcher does: renew-self with increment 0 renews by the TTL', async () => {
    const login = authOf(await agentLogin());
    await advanceMinutes(40);
    const renewal = await goRequest(port, 'PUT', '/v1/auth/token/renew-self', {
      userAgent: AGENT,
      token: login.client_token,
      body: { increment: 0 },
    });
    expect(renewal.status).toBe(200);
    expectGoSecret(renewal.json);
    // The watcher needs `auth` back (nil is ErrLifetimeWatcherNoSecretData) and reads these two.
    const auth = authOf(renewal);
    expect(auth).toMatchObject({ client_token: login.client_token, lease_duration: 3600, renewable: true });
    const lookup = await goRequest(port, 'GET', '/v1/auth/token/lookup-self', { token: login.client_token });
    expect(lookup.json?.['data']).toMatchObject({ ttl: 3600 });
  });

  it('renews a periodic token by its period whatever the increment', async () => {
    const login = authOf(await agentLogin('periodic'));
    expect(login.lease_duration).toBe(1800);
    await advanceMinutes(20);
    const renewal = await goRequest(port, 'PUT', '/v1/auth/token/renew-self', {
      token: login.client_token,
      body: { increment: 0 },
    });
    expect(renewal.status).toBe(200);
    expect(authOf(renewal)).toMatchObject({ lease_duration: 1800, renewable: true });
  });

  it('stops extending at the explicit max TTL: the lease shrinks, so the watcher falls into its grace and logs in again', async () => {
    const login = authOf(await agentLogin('capped'));
    const renew = () =>
      goRequest(port, 'PUT', '/v1/auth/token/renew-self', {
        token: login.client_token,
        body: { increment: 0 },
      });
    await advanceMinutes(50);
    expect(authOf(await renew()).lease_duration).toBe(3600);
    await advanceMinutes(50);
    const renewal = await renew();
    expect(renewal.status).toBe(200);
    expectGoSecret(renewal.json);
    expect(authOf(renewal)).toMatchObject({ lease_duration: 20 * 60, renewable: true });
  });

  it('answers a preloaded token’s lookup-self with the types the auth handler asserts (it panics on others)', async () => {
    const login = authOf(await agentLogin());
    const res = await goRequest(port, 'GET', '/v1/auth/token/lookup-self', {
      userAgent: AGENT,
      token: login.client_token,
    });
    expect(res.status).toBe(200);
    expectGoSecret(res.json);
    const data = res.json?.['data'] as Record<string, unknown>;
    expect(data['id']).toBe(login.client_token);
    expect(Number.isSafeInteger(data['ttl'])).toBe(true);
    expect(data['renewable']).toBe(true);
    // The token_file method asserts `Data["type"].(string)`; ESO's checkToken reads it too.
    expect(data['type']).toBe('service');
    expect(data['creation_ttl']).toBe(3600);
    expect(data['explicit_max_ttl']).toBe(0);
    expect(data).not.toHaveProperty('period');
    expect(data['expire_time']).toMatch(RFC3339);
    expect(data['issue_time']).toMatch(RFC3339);
    expect(Date.parse(String(data['expire_time'])) - Date.parse(String(data['issue_time']))).toBe(3600_000);
    expect(Number.isSafeInteger(data['creation_time'])).toBe(true);
  });

  it('names the period of a periodic token in lookup-self', async () => {
    const login = authOf(await agentLogin('periodic'));
    const res = await goRequest(port, 'GET', '/v1/auth/token/lookup-self', { token: login.client_token });
    expect(res.json?.['data']).toMatchObject({ period: 1800, ttl: 1800, renewable: true });
  });

  it.each([
    [
      'an empty X-Vault-Namespace (the client drops it, but other clients send it)',
      { 'X-Vault-Namespace': '' },
    ],
    ['a non-empty X-Vault-Namespace, which Vault CE ignores', { 'X-Vault-Namespace': 'team-a/' }],
    [
      'the read-your-writes headers',
      { 'X-Vault-Index': 'djE6YWJjOjE6MDo=', 'X-Vault-Inconsistent': 'forward-active-node' },
    ],
    ['X-Vault-Forward', { 'X-Vault-Forward': 'active-node' }],
    ['X-Vault-Policy-Override: true (Sentinel is Enterprise only)', { 'X-Vault-Policy-Override': 'true' }],
  ])('logs in with %s', async (_what, headers) => {
    const res = await agentLogin('nginx', 'kubernetes', headers);
    expect(res.status).toBe(200);
    expect(authOf(res).client_token).toMatch(/^ags\./);
  });
});

describe('Vault Secrets Operator', () => {
  it('renews right after login with Write("/auth/token/renew-self", nil): a body of null', async () => {
    const login = authOf(await agentLogin());
    const renewal = await goRequest(port, 'PUT', '/v1/auth/token/renew-self', {
      token: login.client_token,
      body: null,
    });
    expect(renewal.status).toBe(200);
    expectGoSecret(renewal.json);
    expect(authOf(renewal)).toMatchObject({
      client_token: login.client_token,
      renewable: true,
      lease_duration: 3600,
    });
  });

  it('reads a login written with nil data (a body of null) as one without fields, as Vault does', async () => {
    const res = await goRequest(port, 'PUT', '/v1/auth/kubernetes/login', { body: null });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ errors: ['missing role'] });
  });

  it('revokes its token on close with RevokeSelf: a PUT without a body', async () => {
    const login = authOf(await agentLogin());
    const res = await goRequest(port, 'PUT', '/v1/auth/token/revoke-self', { token: login.client_token });
    expect(res.status).toBe(204);
    const after = await goRequest(port, 'GET', '/v1/auth/token/lookup-self', { token: login.client_token });
    expect(after.status).toBe(403);
    expect(after.json).toEqual({ errors: [INVALID_TOKEN_MESSAGE] });
  });
});

describe('External Secrets Operator', () => {
  it('validates its store with lookup-self and revokes through lookup-self then revoke-self', async () => {
    const login = authOf(await agentLogin());
    const lookup = await goRequest(port, 'GET', '/v1/auth/token/lookup-self', { token: login.client_token });
    expect(lookup.status).toBe(200);
    expect((lookup.json?.['data'] as Record<string, unknown>)['type']).toBe('service');
    const revoke = await goRequest(port, 'PUT', '/v1/auth/token/revoke-self', { token: login.client_token });
    expect(revoke.status).toBe(204);
  });
});
