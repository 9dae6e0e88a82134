import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/index.js';
import { createFakeClock } from '../src/lib/clock.js';
import { createMemoryStore } from '../src/store/index.js';
import { readEntries, recordSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, adminCall, startHarness, type Harness } from './helpers/harness.js';
import { tokenCalls } from './helpers/token-stores.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/*
 * Batch tokens (a role's `token_type: batch`) end to end through the HTTP API: issued by a login
 * with nothing stored, used for lookups and KV reads, refused for renewal and revocation as
 * Vault refuses them, dead at their expiry, and reached by a revocation by identity.
 */

const clock = createFakeClock(Date.UTC(2026, 6, 1));
const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
const serverKey = randomBytes(32);
const POLICIES = {
  'team-read': { path: { 'secret/data/{{identity.namespace}}/*': { capabilities: ['read'] } } },
};
const ROLES = {
  nginx: { ...NGINX_ROLE, token_policies: ['team-read'] },
  batch: { ...NGINX_ROLE, token_policies: ['team-read'], token_type: 'batch', token_ttl: '10m' },
  fenced: { ...NGINX_ROLE, token_type: 'batch', token_bound_cidrs: ['10.0.0.0/8'] },
};
const harnessOptions = {
  clock,
  store,
  serverKey,
  roles: ROLES,
  config: { policies: POLICIES, secrets: { kv: { secret: {} } } },
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness(harnessOptions);
  h.cluster.createPod({ namespace: 'test', name: 'other', serviceAccount: 'nginx' });
  const write = await adminCall(h, 'POST', '/v1/secret/data/test/app', {
    data: { password: 'batch-kv-value' },
  });
  expect(write.status).toBe(200);
});
afterAll(async () => {
  await h?.close();
});

type Auth = { client_token: string; accessor: string } & Record<string, unknown>;
const loginAs = async (role: string, pod = 'nginx'): Promise<Auth> => {
  const res = await h.login('jwks', { role, jwt: await h.podToken({ pod }) });
  expect(res.status).toBe(200);
  return res.json['auth'] as Auth;
};

/** A request made with `token` to the suite's harness (the shared helper of the token suites). */
const call = (method: 'GET' | 'POST', url: string, token: string, body?: unknown) =>
  tokenCalls(h).call(method, url, token, body);
const storedKeys = async () => (await store.scanPrefix('ag:', { limit: 100_000 })).keys;

describe('a login with a batch role', () => {
  it('answers Vault’s auth block of a batch token and stores nothing', async () => {
    const before = (await storedKeys()).filter((k) => !k.startsWith('ag:verified:'));
    const auth = await loginAs('batch');
    expect(auth).toEqual({
      client_token: expect.stringMatching(/^agb\.[A-Za-z0-9_-]+$/),
      accessor: '',
      policies: ['default', 'team-read'],
      token_policies: ['default', 'team-read'],
      metadata: expect.objectContaining({ role: 'batch', service_account_name: 'nginx', pod_name: 'nginx' }),
      lease_duration: 600,
      renewable: false,
      entity_id: expect.any(String),
      token_type: 'batch',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    });
    // Nothing but the verified result of a new pod token: no record, accessor or index entry;
    // the store's birth (keys.storeBorn) once, by the first batch login of the process.
    const after = (await storedKeys()).filter((k) => !k.startsWith('ag:verified:'));
    expect(after.filter((k) => !before.includes(k))).toEqual(['ag:store-born']);
    await loginAs('batch');
    expect((await storedKeys()).filter((k) => !k.startsWith('ag:verified:'))).toEqual(after);
  });

  it('answers lookup-self as Vault does for a batch token', async () => {
    const t0 = clock.nowMs();
    const { client_token: token } = await loginAs('batch');
    clock.advanceSeconds(5);
    const res = await call('GET', '/v1/auth/token/lookup-self', token);
    expect(res.status).toBe(200);
    expect(res.json?.['data']).toEqual({
      accessor: '',
      creation_time: Math.floor(t0 / 1000),
      creation_ttl: 600,
      display_name: 'jwks-test-nginx',
      entity_id: expect.any(String),
      expire_time: new Date(t0 + 600_000).toISOString().replace('.000Z', 'Z'),
      explicit_max_ttl: 0,
      id: token,
      issue_time: new Date(t0).toISOString().replace('.000Z', 'Z'),
      meta: expect.objectContaining({ role: 'batch', service_account_namespace: 'test' }),
      num_uses: 0,
      orphan: true,
      path: 'auth/jwks/login',
      policies: ['default', 'team-read'],
      renewable: false,
      ttl: 595,
      type: 'batch',
    });
  });

  it('reads the KV secrets its policies grant, and only those', async () => {
    const { client_token: token } = await loginAs('batch');
    const read = await call('GET', '/v1/secret/data/test/app', token);
    expect(read.status).toBe(200);
    expect((read.json?.['data'] as { data: unknown }).data).toEqual({ password: 'batch-kv-value' });
    expect(await call('GET', '/v1/secret/data/other/app', token)).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });

  it('is refused once expired, as an unknown token', async () => {
    const { client_token: token } = await loginAs('batch');
    clock.advanceSeconds(599);
    expect((await call('GET', '/v1/auth/token/lookup-self', token)).status).toBe(200);
    clock.advanceSeconds(1);
    expect(await call('GET', '/v1/auth/token/lookup-self', token)).toEqual({
      status: 403,
      json: { errors: [INVALID_TOKEN_MESSAGE] },
    });
  });

  it('refuses a token altered in any character, and one sealed under another server key', async () => {
    const { client_token: token } = await loginAs('batch');
    const body = token.slice('agb.'.length);
    for (const at of [0, 10, Math.floor(body.length / 2), body.length - 1]) {
      const flipped = body[at] === 'A' ? 'B' : 'A';
      const altered = `agb.${body.slice(0, at)}${flipped}${body.slice(at + 1)}`;
      expect((await call('GET', '/v1/auth/token/lookup-self', altered)).status).toBe(403);
    }
    expect((await call('GET', '/v1/auth/token/lookup-self', `agb.${body.slice(0, 40)}`)).status).toBe(403);
    expect((await call('GET', '/v1/auth/token/lookup-self', 'agb.!!')).status).toBe(403);

    const other = await startHarness({ ...harnessOptions, serverKey: randomBytes(32), store: undefined });
    try {
      expect((await tokenCalls(other).call('GET', '/v1/auth/token/lookup-self', token)).status).toBe(403);
    } finally {
      await other.close();
    }
  });

  it('is honoured by another replica that holds the same server key', async () => {
    const { client_token: token } = await loginAs('batch');
    clock.advanceSeconds(1);
    // Over the suite's store, which its close must leave open (a closed memory store is emptied).
    const shared = Object.assign(Object.create(store) as typeof store, { close: async () => undefined });
    const replica = await startHarness({ ...harnessOptions, store: shared });
    try {
      const res = await tokenCalls(replica).call('GET', '/v1/auth/token/lookup-self', token);
      expect(res.status).toBe(200);
      expect((res.json?.['data'] as { type: string }).type).toBe('batch');
    } finally {
      await replica.close();
    }
  });

  it('issued after the store lost its data by a process that had seen it before, is served', async () => {
    const before = await loginAs('batch');
    clock.advanceSeconds(1);
    // What a Redis restarted without persistence has lost of what batch tokens read.
    const lost = (await storedKeys()).filter(
      (k) => k === 'ag:store-born' || k.startsWith('ag:batch-revoked:'),
    );
    expect(lost).toContain('ag:store-born');
    await store.delete(...lost);
    clock.advanceSeconds(5);
    const after = await loginAs('batch');
    clock.advanceSeconds(1);
    expect((await call('GET', '/v1/auth/token/lookup-self', after.client_token)).status).toBe(200);
    expect((await call('GET', '/v1/auth/token/lookup-self', before.client_token)).status).toBe(403);
  });

  it('is refused while the store’s birth is no time at all (damaged), and served once it is deleted', async () => {
    const { client_token: token } = await loginAs('batch');
    await store.set('ag:store-born', 'not a time');
    expect((await call('GET', '/v1/auth/token/lookup-self', token)).status).toBe(403);
    await store.delete('ag:store-born');
    clock.advanceSeconds(5);
    const fresh = await loginAs('batch');
    expect((await call('GET', '/v1/auth/token/lookup-self', fresh.client_token)).status).toBe(200);
  });

  it('is refused, revoked or not, once the store has lost its data (and its revocation marks)', async () => {
    // A Redis restarted without persistence, or a memory store's process restarted: what a
    // revocation by identity wrote for batch tokens is gone with the rest.
    const revoked = await loginAs('batch');
    const live = await loginAs('batch');
    clock.advanceSeconds(1);
    const podUid = (revoked.metadata as { pod_uid: string }).pod_uid;
    expect((await adminCall(h, 'POST', '/v1/auth/token/revoke-identity', { pod_uid: podUid })).status).toBe(
      200,
    );
    expect((await call('GET', '/v1/auth/token/lookup-self', revoked.client_token)).status).toBe(403);
    clock.advanceSeconds(1);
    const emptied = await startHarness({
      ...harnessOptions,
      store: createMemoryStore({ clock, sweepIntervalMs: 0 }),
    });
    try {
      const calls = tokenCalls(emptied);
      for (const token of [revoked.client_token, live.client_token]) {
        expect(await calls.call('GET', '/v1/auth/token/lookup-self', token)).toEqual({
          status: 403,
          json: { errors: [INVALID_TOKEN_MESSAGE] },
        });
      }
      // A batch token issued after is served as ever.
      clock.advanceSeconds(1);
      const res = await emptied.login('jwks', { role: 'batch', jwt: await emptied.podToken() });
      const fresh = (res.json['auth'] as Auth).client_token;
      expect((await calls.call('GET', '/v1/auth/token/lookup-self', fresh)).status).toBe(200);
    } finally {
      await emptied.close();
    }
  });

  it('keeps its bound CIDRs: used from another address it is refused', async () => {
    // Logged in from inside 10.0.0.0/8 (the login checks the role's CIDRs too), used from 127.0.0.1.
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/auth/jwks/login',
      remoteAddress: '10.1.2.3',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ role: 'fenced', jwt: await h.podToken() }),
    });
    expect(res.statusCode).toBe(200);
    const token = (res.json() as { auth: Auth }).auth.client_token;
    recordSecrets(token);
    const inside = await h.server.app.inject({
      method: 'GET',
      url: '/v1/auth/token/lookup-self',
      remoteAddress: '10.9.9.9',
      headers: { 'x-vault-token': token },
    });
    expect(inside.statusCode).toBe(200);
    expect(await call('GET', '/v1/auth/token/lookup-self', token)).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });
});

describe('renewing and revoking a batch token, refused as Vault refuses them', () => {
  const BATCH_RENEW = { status: 400, json: { errors: ['batch tokens cannot be renewed'] } };
  const BATCH_REVOKE = { status: 400, json: { errors: ['batch tokens cannot be revoked'] } };

  it('refuses renew-self and an operator’s renew with 400', async () => {
    const { client_token: token } = await loginAs('batch');
    expect(await call('POST', '/v1/auth/token/renew-self', token, {})).toEqual(BATCH_RENEW);
    expect(await call('POST', '/v1/auth/token/renew', ADMIN_TOKEN, { token })).toEqual(BATCH_RENEW);
  });

  it('refuses revoke-self, revoke and revoke-orphan with 400, and the token still works', async () => {
    const { client_token: token } = await loginAs('batch');
    expect(await call('POST', '/v1/auth/token/revoke-self', token, {})).toEqual(BATCH_REVOKE);
    expect(await call('POST', '/v1/auth/token/revoke', ADMIN_TOKEN, { token })).toEqual(BATCH_REVOKE);
    expect(await call('POST', '/v1/auth/token/revoke-orphan', ADMIN_TOKEN, { token })).toEqual(BATCH_REVOKE);
    expect((await call('GET', '/v1/auth/token/lookup-self', token)).status).toBe(200);
  });

  it('answers an operator’s lookup of a batch token, and 403 bad token once it expired', async () => {
    const { client_token: token } = await loginAs('batch');
    const res = await call('POST', '/v1/auth/token/lookup', ADMIN_TOKEN, { token });
    expect(res.status).toBe(200);
    expect(res.json?.['data']).toEqual(expect.objectContaining({ id: token, type: 'batch', accessor: '' }));
    clock.advanceSeconds(600);
    expect(await call('POST', '/v1/auth/token/lookup', ADMIN_TOKEN, { token })).toEqual({
      status: 403,
      json: { errors: ['bad token'] },
    });
  });
});

describe('revocation by identity reaches batch tokens, which are stored nowhere', () => {
  it.each([
    ['pod', (uid: string) => ({ pod_uid: uid })],
    ['service account', () => ({ namespace: 'test', service_account: 'nginx' })],
    ['role', () => ({ mount: 'jwks', role: 'batch' })],
  ])('refuses the batch tokens issued before a revocation by %s, not those after', async (_, target) => {
    const before = await loginAs('batch');
    const untouched = await loginAs('batch', 'other');
    const podUid = (before.metadata as { pod_uid: string }).pod_uid;
    clock.advanceSeconds(1);
    const revoked = await adminCall(h, 'POST', '/v1/auth/token/revoke-identity', target(podUid));
    expect(revoked.status).toBe(200);
    expect(await call('GET', '/v1/auth/token/lookup-self', before.client_token)).toEqual({
      status: 403,
      json: { errors: [INVALID_TOKEN_MESSAGE] },
    });
    const byPod = target(podUid) as Record<string, unknown>;
    const otherAlive = 'pod_uid' in byPod;
    expect((await call('GET', '/v1/auth/token/lookup-self', untouched.client_token)).status).toBe(
      otherAlive ? 200 : 403,
    );
    clock.advanceSeconds(1);
    const after = await loginAs('batch');
    expect((await call('GET', '/v1/auth/token/lookup-self', after.client_token)).status).toBe(200);
  });
});

describe('audit of a batch login', () => {
  it('records the batch type and no accessor, the token only as its HMAC', async () => {
    const file = h.auditFile as string;
    const seen = readEntries(file).length;
    const { client_token: token } = await loginAs('batch');
    await call('GET', '/v1/auth/token/lookup-self', token);
    const entries = readEntries(file).slice(seen);
    const login = entries.find((e) => e.type === 'response' && e.auth['token_type'] === 'batch');
    expect(login?.auth['client_token']).toMatch(/^hmac-sha256:/);
    expect(login?.auth).not.toHaveProperty('accessor');
    const lookup = entries.find(
      (e) => e.type === 'request' && e.request['path'] === 'auth/token/lookup-self',
    );
    expect(lookup?.auth['token_type']).toBe('batch');
    expect(lookup?.request).not.toHaveProperty('client_token_accessor');
    expect(JSON.stringify(entries)).not.toContain(token.slice(4));
  });
});

describe('a batch role in the config', () => {
  const refusal = (extra: Record<string, unknown>) => {
    try {
      parseConfig(
        JSON.stringify({
          auth: {
            k: {
              type: 'kubernetes',
              verification: 'jwks',
              issuers: ['https://kubernetes.default.svc'],
              jwks: { file: '/dev/null' },
              roles: { r: { ...NGINX_ROLE, token_type: 'batch', ...extra } },
            },
          },
        }),
        { env: {}, baseDir: '/' },
      );
    } catch (err) {
      return (err as Error).message;
    }
    return undefined;
  };

  it('is refused at start with a period or a use limit, as Vault refuses the role', () => {
    expect(refusal({ token_period: '1h' })).toContain(
      "auth.k.roles.r.token_type (line 1): 'token_type' cannot be 'batch' or 'default_batch' when set to generate periodic tokens",
    );
    expect(refusal({ token_num_uses: 3 })).toContain(
      "'token_type' cannot be 'batch' or 'default_batch' when set to generate tokens with limited use count",
    );
    expect(refusal({ token_explicit_max_ttl: '2h', token_bound_cidrs: ['10.0.0.0/8'] })).toBeUndefined();
  });

  it('reads back as configured through the role endpoint', async () => {
    const res = await adminCall(h, 'GET', '/v1/auth/jwks/role/batch');
    expect((res.json as { data: { token_type: string } }).data.token_type).toBe('batch');
  });
});
