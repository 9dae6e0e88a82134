import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness } from './helpers/harness.js';
import {
  bad,
  data,
  denied,
  invalid,
  suiteStores,
  tokenCalls,
  type StoreKind,
} from './helpers/token-stores.js';

/*
 * A client token's life end to end through the HTTP API, on the memory store and on a real
 * redis-server, against Vault's answers (vault/request_handling.go, vault/token_store.go):
 * dead everywhere at its expire_time, gone after revocation, its uses counted by every request
 * made with it (and no more than its uses succeed however many race), bound to its CIDRs on
 * every use (behind a trusted proxy too), and never brought back by a renewal that races its
 * revocation.
 */

const dir = mkdtempSync(join(tmpdir(), 'authgate-token-life-'));
const keyFile = join(dir, 'kv.key');
writeFileSync(keyFile, randomBytes(32).toString('base64'));
const storeOf = suiteStores();
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const roles = {
  short: { ...NGINX_ROLE, token_ttl: 60, token_policies: ['app'] },
  uses: { ...NGINX_ROLE, token_ttl: 600, token_num_uses: 3, token_policies: ['app'] },
  cidr: { ...NGINX_ROLE, token_bound_cidrs: ['10.0.0.0/8'], token_num_uses: 2, token_policies: ['app'] },
  batch: { ...NGINX_ROLE, token_ttl: 60, token_type: 'batch', token_policies: ['app'] },
};
const config = {
  secrets: { encryption_key_file: keyFile },
  identity: {
    issuer: 'https://authgate.example.test',
    keys: { default: { rotation_period: '1h', verification_ttl: '2h' } },
    roles: { web: { audience: 'web-service', ttl: '30m' } },
  },
  policies: {
    app: {
      path: {
        'secret/data/app': { capabilities: ['read'] },
        'identity/oidc/token/web': { capabilities: ['read'] },
      },
    },
  },
};

const serve = async (kind: StoreKind, options: { trustedProxy?: boolean } = {}) => {
  const clock = createFakeClock(Date.UTC(2026, 8, 1, 12, 0, 0, 250));
  const h = await startHarness({
    clock,
    roles,
    config,
    store: await storeOf(kind, clock),
    ...(options.trustedProxy ? { listener: { trusted_proxies: ['127.0.0.0/8'] } } : {}),
  });
  return { h, clock, ...tokenCalls(h) };
};

describe.each<StoreKind>(['memory', 'redis'])('a client token on the %s store', (kind) => {
  let s: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    s = await serve(kind);
  });
  afterAll(async () => {
    await s?.h.close();
  });

  it('is refused everywhere from the instant of its expire_time, as Vault refuses it', async () => {
    const auth = await s.login('short');
    const t = auth.client_token;
    const looked = data(await s.call('GET', '/v1/auth/token/lookup-self', t));
    const expireMs = Date.parse(String(looked['expire_time']));
    expect(expireMs).toBe(s.clock.nowMs() + 60_000);

    s.clock.setMs(expireMs - 1);
    expect((await s.call('GET', '/v1/secret/data/app', t)).status).toBe(404);
    expect((await s.call('GET', '/v1/identity/oidc/token/web', t)).status).toBe(200);
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', t))['ttl']).toBe(0);

    s.clock.setMs(expireMs);
    expect(await s.call('GET', '/v1/auth/token/lookup-self', t)).toEqual(invalid);
    expect(await s.call('POST', '/v1/auth/token/renew-self', t, { increment: '1h' })).toEqual(invalid);
    expect(await s.call('GET', '/v1/secret/data/app', t)).toEqual(invalid);
    expect(await s.call('GET', '/v1/identity/oidc/token/web', t)).toEqual(invalid);
    expect(await s.call('POST', '/v1/auth/token/revoke-self', t)).toEqual(invalid);
    // The operator's forms: Vault's handleLookup, handleRenew and lookup-accessor messages.
    expect(await s.call('POST', '/v1/auth/token/lookup', ADMIN_TOKEN, { token: t })).toEqual({
      status: 403,
      json: { errors: ['bad token'] },
    });
    expect(await s.call('POST', '/v1/auth/token/renew', ADMIN_TOKEN, { token: t })).toEqual(
      bad('token not found'),
    );
    expect(
      await s.call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, { accessor: auth.accessor }),
    ).toEqual(bad('invalid accessor'));
    // Still dead a while later: nothing brought it back.
    s.clock.advanceMs(5_000);
    expect(await s.call('GET', '/v1/auth/token/lookup-self', t)).toEqual(invalid);
  });

  it('is gone after revoke-self, and its accessor names no token', async () => {
    const auth = await s.login('short');
    const t = auth.client_token;
    expect((await s.call('POST', '/v1/auth/token/revoke-self', t)).status).toBe(204);
    expect(await s.call('GET', '/v1/auth/token/lookup-self', t)).toEqual(invalid);
    expect(await s.call('POST', '/v1/auth/token/renew', ADMIN_TOKEN, { token: t })).toEqual(
      bad('token not found'),
    );
    expect(
      await s.call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, { accessor: auth.accessor }),
    ).toEqual(bad('invalid accessor'));
    // Vault's handleUpdateRevokeAccessor: an accessor that names nothing is a warning, not an error.
    const revoked = await s.call('POST', '/v1/auth/token/revoke-accessor', ADMIN_TOKEN, {
      accessor: auth.accessor,
    });
    expect(revoked.status).toBe(200);
    expect(revoked.json?.['warnings']).toEqual(['No token found with this accessor']);
    expect(revoked.json?.['data']).toBeNull();
  });

  it('spends a use on every request made with it, lookup-self and refusals included', async () => {
    const auth = await s.login('uses');
    const t = auth.client_token;
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', t))['num_uses']).toBe(2);
    expect(await s.call('GET', '/v1/secret/data/elsewhere', t)).toEqual(denied);
    const looked = await s.call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, {
      accessor: auth.accessor,
    });
    expect(data(looked)['num_uses']).toBe(1);
    // The last use is served, then the token is revoked (Vault's tokenRevocationPending: -1).
    expect(data(await s.call('GET', '/v1/auth/token/lookup-self', t))['num_uses']).toBe(-1);
    expect(await s.call('GET', '/v1/auth/token/lookup-self', t)).toEqual(invalid);
  });

  it('lets no more requests through than it has uses, however many race for them', async () => {
    for (let round = 0; round < 5; round++) {
      const auth = await s.login('uses');
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          i % 2 === 0
            ? s.call('GET', '/v1/auth/token/lookup-self', auth.client_token)
            : s.call('GET', '/v1/secret/data/app', auth.client_token),
        ),
      );
      expect(results.filter((r) => r.status !== 403)).toHaveLength(3);
      expect(results.filter((r) => r.status === 403)).toEqual(Array.from({ length: 9 }, () => invalid));
      expect(
        await s.call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, { accessor: auth.accessor }),
      ).toEqual(bad('invalid accessor'));
    }
  });

  it('as a batch token, is served with nothing stored, dies at its expiry, and a revocation of its pod reaches it', async () => {
    const auth = await s.login('batch');
    const t = auth.client_token;
    expect(t).toMatch(/^agb\./);
    expect((await s.call('GET', '/v1/secret/data/app', t)).status).toBe(404);
    expect((await s.call('GET', '/v1/identity/oidc/token/web', t)).status).toBe(200);
    const looked = data(await s.call('GET', '/v1/auth/token/lookup-self', t));
    expect(looked['type']).toBe('batch');
    s.clock.advanceMs(60_000);
    expect(await s.call('GET', '/v1/auth/token/lookup-self', t)).toEqual(invalid);
    expect(await s.call('GET', '/v1/secret/data/app', t)).toEqual(invalid);

    const live = (await s.login('batch')).client_token;
    const podUid = String((looked['meta'] as Record<string, unknown>)['pod_uid']);
    s.clock.advanceMs(1);
    const revoked = await s.call('POST', '/v1/auth/token/revoke-identity', ADMIN_TOKEN, { pod_uid: podUid });
    expect(revoked.status).toBe(200);
    expect(await s.call('GET', '/v1/auth/token/lookup-self', live)).toEqual(invalid);
    expect(await s.call('GET', '/v1/identity/oidc/token/web', live)).toEqual(invalid);
  });

  it('is never brought back by a renewal that races its revocation', async () => {
    for (let round = 0; round < 10; round++) {
      const auth = await s.login('short');
      const t = auth.client_token;
      const renew =
        round % 2 === 0
          ? s.call('POST', '/v1/auth/token/renew-self', t, { increment: '30m' })
          : s.call('POST', '/v1/auth/token/renew', ADMIN_TOKEN, { token: t });
      const revoke =
        round % 3 === 0
          ? s.call('POST', '/v1/auth/token/revoke-self', t)
          : s.call('POST', '/v1/auth/token/revoke-accessor', ADMIN_TOKEN, { accessor: auth.accessor });
      const [renewed, revoked] = await Promise.all([renew, revoke]);
      expect([200, 400, 403]).toContain(renewed.status);
      expect([200, 204, 403]).toContain(revoked.status);
      expect(await s.call('GET', '/v1/auth/token/lookup-self', t)).toEqual(invalid);
      expect(
        await s.call('POST', '/v1/auth/token/lookup-accessor', ADMIN_TOKEN, { accessor: auth.accessor }),
      ).toEqual(bad('invalid accessor'));
    }
  });
});

describe.each<StoreKind>(['memory', 'redis'])('bound CIDRs on every use, %s store', (kind) => {
  let s: Awaited<ReturnType<typeof serve>>;
  beforeAll(async () => {
    s = await serve(kind, { trustedProxy: true });
  });
  afterAll(async () => {
    await s?.h.close();
  });

  it('refuses a token used from outside its token_bound_cidrs, and spends no use on it', async () => {
    const auth = await s.login('cidr');
    const t = auth.client_token;
    const outside = { ip: '192.168.1.1' };
    expect(await s.call('GET', '/v1/secret/data/app', t, undefined, outside)).toEqual(denied);
    expect(await s.call('GET', '/v1/identity/oidc/token/web', t, undefined, outside)).toEqual(denied);
    expect(await s.call('GET', '/v1/auth/token/lookup-self', t, undefined, outside)).toEqual(denied);
    expect(await s.call('POST', '/v1/auth/token/renew-self', t, {}, outside)).toEqual(denied);
    // Through the trusted proxy, the client is the address it forwards: outside, then inside.
    const proxied = (forwardedFor: string) => ({ ip: '127.0.0.1', forwardedFor });
    expect(await s.call('GET', '/v1/secret/data/app', t, undefined, proxied('192.168.1.1'))).toEqual(denied);
    // A forwarded address from a client that is not the proxy is not believed.
    const spoofed = { ip: '192.168.7.7', forwardedFor: '10.1.2.3' };
    expect(await s.call('GET', '/v1/secret/data/app', t, undefined, spoofed)).toEqual(denied);
    // None of the refusals spent a use: both are left.
    expect((await s.call('GET', '/v1/secret/data/app', t, undefined, proxied('10.9.9.9'))).status).toBe(404);
    const last = await s.call('GET', '/v1/auth/token/lookup-self', t, undefined, { ip: '10.1.2.3' });
    expect(data(last)['num_uses']).toBe(-1);
    expect(data(last)['bound_cidrs']).toEqual(['10.0.0.0/8']);
  });
});
