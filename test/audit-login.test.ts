import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../src/audit/index.js';
import { createFakeClock } from '../src/lib/clock.js';
import { NGINX_LOGIN, readEntries } from './helpers/audit.js';
import { ADMIN_TOKEN, startHarness, withPayload, type Harness } from './helpers/harness.js';

const clock = createFakeClock(Date.UTC(2026, 5, 1, 12, 0, 0));
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ clock, jwks: { cooldown: '0s' } });
  h.cluster.createPod({ namespace: 'test', name: 'api', serviceAccount: 'api' });
  h.cluster.createPod({ namespace: 'other', name: 'nginx', serviceAccount: 'nginx' });
});
afterAll(async () => {
  await h?.close();
});

/** The audit entries one login writes, and the client's answer. */
const audited = async (mount: string, body: Record<string, unknown>) => {
  const before = readEntries(h.auditFile as string).length;
  const res = await h.login(mount, body);
  const entries = readEntries(h.auditFile as string).slice(before);
  return { res, entries };
};

/** What `POST /v1/sys/audit-hash/test` answers for `input`. */
const auditHash = async (input: string): Promise<string> => {
  const res = await h.server.app.inject({
    method: 'POST',
    url: '/v1/sys/audit-hash/test',
    headers: { 'x-vault-token': ADMIN_TOKEN },
    payload: { input },
  });
  expect(res.statusCode).toBe(200);
  return (res.json() as { data: { hash: string } }).data.hash;
};

/** Exactly one request entry then one response entry, paired by the request id. */
const pair = (entries: AuditEntry[]): { request: AuditEntry; response: AuditEntry } => {
  expect(entries.map((e) => e.type)).toEqual(['request', 'response']);
  const [request, response] = entries as [AuditEntry, AuditEntry];
  expect(response.request['id']).toBe(request.request['id']);
  expect(request.request['path']).toBe(response.request['path']);
  expect(Object.keys(request)).toEqual(['time', 'auth', 'request', 'type']);
  expect(Object.keys(response).filter((k) => k !== 'error')).toEqual([
    'time',
    'auth',
    'request',
    'response',
    'type',
    'authgate',
  ]);
  return { request, response };
};

type Case = {
  what: string;
  mount: string;
  body: () => Promise<Record<string, unknown>>;
  status: number;
  message: string;
  authgate: Record<string, unknown>;
};

const token = (o: Parameters<Harness['podToken']>[0] = {}) => h.podToken(o);

const REFUSALS: Case[] = [
  {
    what: 'a role that does not exist',
    mount: 'kubernetes',
    body: async () => ({ role: 'nope', jwt: await token() }),
    status: 400,
    message: 'invalid role name "nope"',
    authgate: {
      outcome: 'denied',
      reason: 'role_not_found',
      status: 400,
      login: {
        mount: 'kubernetes',
        namespace: 'test',
        service_account: 'nginx',
        pod: 'nginx',
        verified: false,
      },
    },
  },
  {
    what: 'a service account the role does not bind',
    mount: 'kubernetes',
    body: async () => ({ role: 'nginx', jwt: await token({ serviceAccount: 'api', pod: 'api' }) }),
    status: 403,
    message: 'service account name not authorized',
    authgate: {
      outcome: 'denied',
      reason: 'service_account_not_bound',
      detail: 'sa=api',
      status: 403,
      login: {
        mount: 'kubernetes',
        role: 'nginx',
        namespace: 'test',
        service_account: 'api',
        pod: 'api',
        verified: false,
      },
    },
  },
  {
    what: 'a namespace the role does not bind',
    mount: 'kubernetes',
    body: async () => ({ role: 'nginx', jwt: await token({ namespace: 'other' }) }),
    status: 403,
    message: 'namespace not authorized',
    authgate: {
      outcome: 'denied',
      reason: 'namespace_not_bound',
      detail: 'namespace=other',
      status: 403,
      login: {
        mount: 'kubernetes',
        role: 'nginx',
        namespace: 'other',
        service_account: 'nginx',
        verified: false,
      },
    },
  },
  {
    what: 'a token minted for another audience',
    mount: 'kubernetes',
    body: async () => ({ role: 'nginx', jwt: await token({ audiences: ['payments'] }) }),
    status: 403,
    message: 'invalid audience (aud) claim: audience claim does not match any expected audience',
    authgate: { outcome: 'denied', reason: 'audience_mismatch', status: 403 },
  },
  {
    what: 'an expired token',
    mount: 'kubernetes',
    body: async () => {
      const jwt = await token({ expirationSeconds: 600 });
      clock.advanceSeconds(600 + 61);
      return { role: 'nginx', jwt };
    },
    status: 403,
    message: 'invalid expiration time (exp) claim: token is expired',
    authgate: { outcome: 'denied', reason: 'expired', status: 403 },
  },
  {
    what: 'a token whose signature does not verify',
    mount: 'jwks',
    body: async () => ({
      role: 'nginx',
      jwt: withPayload(await token(), (p) => {
        p['exp'] = Number(p['exp']) + 60;
      }),
    }),
    status: 403,
    message: 'permission denied',
    authgate: { outcome: 'denied', reason: 'jwks_bad_signature', status: 403 },
  },
  {
    what: 'a token whose pod was deleted (TokenReview)',
    mount: 'kubernetes',
    body: async () => {
      h.cluster.createPod({ namespace: 'test', name: 'doomed', serviceAccount: 'nginx' });
      const jwt = await token({ pod: 'doomed' });
      h.cluster.deletePod('test', 'doomed');
      clock.advanceSeconds(61); // past the API server's deletion grace
      return { role: 'nginx', jwt };
    },
    status: 403,
    message: 'permission denied',
    authgate: {
      outcome: 'denied',
      reason: 'tokenreview_pod_not_found',
      status: 403,
      login: {
        mount: 'kubernetes',
        role: 'nginx',
        namespace: 'test',
        service_account: 'nginx',
        pod: 'doomed',
      },
    },
  },
  {
    what: 'a request without a jwt',
    mount: 'kubernetes',
    body: async () => ({ role: 'nginx' }),
    status: 400,
    message: 'missing jwt',
    authgate: {
      outcome: 'error',
      reason: 'missing_jwt',
      status: 400,
      login: { mount: 'kubernetes', role: 'nginx', verified: false },
    },
  },
];

describe('a token a client put in the URL path', () => {
  it.each([
    (t: string) => `/v1/cubbyhole/${t}`,
    (t: string) => `/v1/auth/token/lookup-self/${t}`,
    (t: string) => `/v1/secret/data/${t}/x`,
    // Percent-encoded, whole or in part: the audit reads the decoded path, and so does the 404.
    (t: string) =>
      `/v1/cubbyhole/%${t.charCodeAt(0).toString(16)}${t.slice(1, 20)}%${t.charCodeAt(20).toString(16)}${t.slice(21)}`,
  ])("is written HMAC'd in the path and in the error that quotes it (%#)", async (url) => {
    const login = await h.login('jwks', { role: 'nginx', jwt: await h.podToken() });
    const token = (login.json['auth'] as { client_token: string }).client_token;
    const jwt = await h.podToken();
    for (const secret of [token, jwt]) {
      const before = readEntries(h.auditFile as string).length;
      const res = await h.server.app.inject({ url: url(secret), headers: { 'x-vault-token': ADMIN_TOKEN } });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      const entries = readEntries(h.auditFile as string).slice(before);
      expect(entries.length).toBe(2);
      const text = JSON.stringify(entries);
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.slice(21));
      expect(text).toContain(await auditHash(secret));
    }
  });
});

describe('a client token glued after a word character in the path', () => {
  it("is known by its exact shape, and HMAC'd", async () => {
    const login = await h.login('jwks', { role: 'nginx', jwt: await h.podToken() });
    const token = (login.json['auth'] as { client_token: string }).client_token;
    const before = readEntries(h.auditFile as string).length;
    await h.server.app.inject({ url: `/v1/nosuch/x${token}`, headers: { 'x-vault-token': ADMIN_TOKEN } });
    // Or followed by more token characters.
    await h.server.app.inject({ url: `/v1/nosuch/${token}-old`, headers: { 'x-vault-token': ADMIN_TOKEN } });
    const text = JSON.stringify(readEntries(h.auditFile as string).slice(before));
    expect(text).not.toContain(token.slice(4));
    expect(text).toContain(await auditHash(token));
    expect(text).toContain(await auditHash(`${token}-old`));
  });
});

describe('a path with a word that only looks like the start of a token', () => {
  it('is written as it is', async () => {
    const before = readEntries(h.auditFile as string).length;
    const url = '/v1/secret/data/flags.production_settings_for_everyone/eyJust-a-name';
    await h.server.app.inject({ url, headers: { 'x-vault-token': ADMIN_TOKEN } });
    const entries = readEntries(h.auditFile as string).slice(before);
    expect(entries.map((e) => e.request['path'])).toEqual([url.slice(4), url.slice(4)]);
  });
});

describe('the audit of a login', () => {
  it('writes a successful login as one request and one response entry, secrets hashed', async () => {
    const jwt = await token();
    const { res, entries } = await audited('kubernetes', { role: 'nginx', jwt });
    expect(res.status).toBe(200);
    const { request, response } = pair(entries);
    const auth = res.json['auth'] as { client_token: string; accessor: string };

    expect(request.auth).toEqual({ token_type: 'default' });
    expect(request.request).toMatchObject({
      path: 'auth/kubernetes/login',
      operation: 'update',
      mount_point: 'auth/kubernetes/',
      mount_type: 'kubernetes',
      mount_class: 'auth',
      remote_address: '127.0.0.1',
      data: { role: await auditHash('nginx'), jwt: await auditHash(jwt) },
    });
    expect(request.request['id']).toBe(res.json['request_id']);
    expect(response.auth).toMatchObject({
      client_token: await auditHash(auth.client_token),
      accessor: await auditHash(auth.accessor),
      display_name: 'kubernetes-test-nginx',
      policies: ['default', 'nginx'],
      token_ttl: 3600,
      token_type: 'service',
      metadata: {
        role: 'nginx',
        service_account_name: 'nginx',
        service_account_namespace: 'test',
        pod_name: 'nginx',
      },
    });
    expect(response.authgate).toEqual({ outcome: 'ok', reason: 'ok', status: 200, login: NGINX_LOGIN });
    expect(response.error).toBeUndefined();
    const raw = JSON.stringify(entries);
    for (const secret of [jwt, auth.client_token, auth.accessor]) expect(raw).not.toContain(secret);
  });

  it.each(REFUSALS)(
    'records $what with its precise reason while the client sees the generic message',
    async (c) => {
      const body = await c.body();
      const { res, entries } = await audited(c.mount, body);
      expect(res).toEqual({ status: c.status, json: { errors: [c.message] } });
      const { request, response } = pair(entries);
      expect(response.error).toBe(c.message);
      expect(response.authgate).toMatchObject(c.authgate);
      expect(response.auth).toEqual({ token_type: 'default' });
      expect(request.request['path']).toBe(`auth/${c.mount}/login`);
      if (typeof body['jwt'] === 'string') {
        expect(request.request['data']).toEqual({
          role: await auditHash(String(body['role'])),
          jwt: await auditHash(body['jwt']),
        });
        expect(JSON.stringify(entries)).not.toContain(body['jwt']);
      }
    },
  );

  it('names the TokenReview refusal in the detail, never in the answer', async () => {
    h.cluster.createPod({ namespace: 'test', name: 'gone', serviceAccount: 'nginx' });
    const jwt = await token({ pod: 'gone' });
    h.cluster.deletePod('test', 'gone');
    clock.advanceSeconds(61);
    const { res, entries } = await audited('kubernetes', { role: 'nginx', jwt });
    expect(res.json).toEqual({ errors: ['permission denied'] });
    expect(String(pair(entries).response.authgate?.detail)).toMatch(/^lookup failed: /);
  });

  it('records a body that is not JSON, and one refused by the schema, as errors of the login', async () => {
    for (const [body, reason] of [
      ['{"role":', 'invalid_json'],
      [JSON.stringify({ role: 5, jwt: 'x.y.z' }), 'bad_request'],
    ] as const) {
      const { res, entries } = await audited('kubernetes', body as unknown as Record<string, unknown>);
      expect(res.status).toBe(400);
      const { response } = pair(entries);
      expect(response.authgate).toEqual({
        outcome: 'error',
        reason,
        status: 400,
        login: { mount: 'kubernetes', verified: false },
      });
    }
  });

  it('audits a body nested deeper than it walks, instead of failing the request', async () => {
    // Deeper than the walk (32 levels), within what a body may nest (10 000, as Go decodes).
    const deep = `${'{"a":'.repeat(9_000)}1${'}'.repeat(9_000)}`;
    const { res, entries } = await audited('kubernetes', `{"role":"nginx","x":${deep}}` as never);
    expect(res).toEqual({ status: 400, json: { errors: ['missing jwt'] } });
    expect(pair(entries).response.authgate).toMatchObject({ outcome: 'error', reason: 'missing_jwt' });
  });

  it('HMACs a body of a hundred thousand strings as one value, not each (no token needed to send it)', async () => {
    const wide = JSON.stringify({ role: 'nginx', x: Array.from({ length: 100_000 }, () => '') });
    const { res, entries } = await audited('kubernetes', wide as never);
    expect(res).toEqual({ status: 400, json: { errors: ['missing jwt'] } });
    // One HMAC of the list's JSON: one at a time, 1 MiB of them cost seconds and megabytes a request.
    const data = pair(entries).request.request.data as Record<string, unknown>;
    expect(data['x']).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(data['role']).toMatch(/^hmac-sha256:/);
  });

  it.each([
    [
      'ten keys of 90 000 characters',
      Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`${i}${'k'.repeat(90_000)}`, 1])),
    ],
    ['60 000 one-string lists', Array.from({ length: 60_000 }, () => ['a'])],
  ])('writes a bounded entry for a body of %s, not one as large as the body', async (_, x) => {
    const body = JSON.stringify({ role: 'nginx', x });
    expect(body.length).toBeGreaterThan(300_000);
    const { res, entries } = await audited('kubernetes', body as never);
    expect(res).toEqual({ status: 400, json: { errors: ['missing jwt'] } });
    const { request, response } = pair(entries);
    // Two entries: each within a few times the walk's budget, far below the body.
    for (const entry of [request, response]) expect(JSON.stringify(entry).length).toBeLessThan(3 * 65_536);
  });
});
