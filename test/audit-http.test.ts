import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../src/audit/index.js';
import { createKeys, createMemoryStore, createRedisStore, type Store } from '../src/store/index.js';
import { createLogger } from '../src/telemetry/index.js';
import { auditFile, NGINX_LOGIN, readEntries, recordSecrets } from './helpers/audit.js';
import { jsonLogLines } from './helpers/log-lines.js';
import { at, fixtureHash, fixtureJwt, writeFixtureStream } from './helpers/audit-fixture.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { startRedis, type RedisServer } from './helpers/redis-server.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

const admin = { 'x-vault-token': ADMIN_TOKEN };
const quiet = { info: () => undefined, warn: () => undefined };

/** A log sink whose events can be counted. */
const captureLog = () => {
  const { lines, stream } = jsonLogLines();
  return { log: createLogger('info', stream), events: (e: string) => lines.filter((l) => l['event'] === e) };
};

/** A stdout stand-in that keeps lines, fails the entries `fail` picks, or never answers. */
const stdout = (fail: (line: string) => boolean = () => false, hang = false) => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (hang) return;
      const line = chunk.toString();
      if (fail(line)) return done(new Error('ENOSPC: no space left on device'));
      lines.push(line);
      done();
    },
  });
  return { stream, lines };
};

/** The token records in a memory store. */
const tokenRecords = (store: Store) =>
  (store as ReturnType<typeof createMemoryStore>)
    .entries()
    .filter(([k]) => k.startsWith(createKeys().token('')));

const lookupSelf = (h: Harness, token: string) =>
  h.server.app.inject({
    method: 'GET',
    url: '/v1/auth/token/lookup-self',
    headers: { 'x-vault-token': token },
  });

describe('POST /v1/sys/audit-hash/<device>', () => {
  let h: Harness;
  const file = auditFile('hash');
  beforeAll(async () => {
    h = await startHarness({
      audit: { test: { type: 'file', path: file }, other: { type: 'file', path: auditFile('hash-other') } },
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const hash = (device: string, payload: object, headers: Record<string, string> = admin) =>
    h.server.app.inject({ method: 'POST', url: `/v1/sys/audit-hash/${device}`, headers, payload });

  it("answers the HMAC the device wrote for a token, in Vault's envelope, and another device's differs", async () => {
    const login = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
    const token = (login.json['auth'] as { client_token: string }).client_token;
    const res = await hash('test', { input: token });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { hash: string; data: { hash: string } };
    expect(body.hash).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(body.data.hash).toBe(body.hash);
    const issued = readEntries(file).find(
      (e) => e.type === 'response' && e.request['path'] === 'auth/kubernetes/login',
    );
    expect(issued?.auth['client_token']).toBe(body.hash);
    // The hash request is audited too, its input (a token) hashed like any data.
    const own = readEntries(file).filter((e) => e.request['path'] === 'sys/audit-hash/test');
    expect(own.map((e) => e.type)).toEqual(['request', 'response']);
    expect(own[0]?.request['data']).toEqual({ input: body.hash });
    expect((await hash('other', { input: token })).json()).not.toMatchObject({ hash: body.hash });
    // The device as `vault audit list` names it (`test/`): Vault's sanitizePath adds the slash.
    expect((await hash('test/', { input: token })).json()).toMatchObject({ hash: body.hash });
  });

  it.each([
    ['no token', {}, { input: 'x' }, 'test', 403, 'permission denied'],
    [
      'a token that is not the admin token',
      { 'x-vault-token': 'ags.nope' },
      { input: 'x' },
      'test',
      403,
      INVALID_TOKEN_MESSAGE,
    ],
    ['an unknown device', admin, { input: 'x' }, 'nope', 400, 'unknown audit device "nope"'],
    ['no input', admin, {}, 'test', 400, 'the "input" parameter is empty'],
    ['an empty input', admin, { input: '' }, 'test', 400, 'the "input" parameter is empty'],
  ])('refuses %s', async (_what, headers, payload, device, status, message) => {
    const res = await hash(device, payload, headers as Record<string, string>);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ errors: [message] });
  });
});

describe('which requests are audited', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  const newEntries = async (run: () => Promise<unknown>): Promise<AuditEntry[]> => {
    const before = readEntries(h.auditFile as string).length;
    await run();
    return readEntries(h.auditFile as string).slice(before);
  };

  it('never audits health, as Vault', async () => {
    const entries = await newEntries(async () => {
      for (const url of ['/v1/sys/health', '/v1/sys/health/live', '/v1/sys/health/ready'])
        await h.server.app.inject({ method: 'GET', url });
    });
    expect(entries).toEqual([]);
  });

  it('audits token requests with the token, and every string of the answer, hashed', async () => {
    const login = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
    const { client_token: token, accessor } = login.json['auth'] as {
      client_token: string;
      accessor: string;
    };
    const entries = await newEntries(() =>
      h.server.app.inject({
        method: 'GET',
        url: '/v1/auth/token/lookup-self',
        headers: { authorization: `Bearer ${token}` },
      }),
    );
    expect(entries.map((e) => e.type)).toEqual(['request', 'response']);
    const [request, response] = entries as [AuditEntry, AuditEntry];
    expect(request.request).toMatchObject({
      path: 'auth/token/lookup-self',
      operation: 'read',
      mount_type: 'token',
    });
    expect(String(request.request['client_token'])).toMatch(/^hmac-sha256:/);
    // The request entry names the token's owner: accessor HMAC'd, identity in clear.
    expect(request.auth).toMatchObject({
      client_token: request.request['client_token'],
      display_name: 'kubernetes-test-nginx',
      metadata: { service_account_namespace: 'test', service_account_name: 'nginx', role: 'nginx' },
      policies: ['default', 'nginx'],
    });
    expect(String(request.auth['accessor'])).toMatch(/^hmac-sha256:/);
    // Vault's request block names the token's accessor too, HMAC'd as the one in `auth`.
    expect(request.request['client_token_accessor']).toBe(request.auth['accessor']);
    const data = response.response?.['data'] as Record<string, unknown>;
    expect(data['id']).toBe(request.request['client_token']);
    expect(String(data['accessor'])).toMatch(/^hmac-sha256:/);
    expect(response.authgate).toEqual({ outcome: 'ok', reason: 'ok', status: 200 });
    for (const secret of [token, accessor]) expect(JSON.stringify(entries)).not.toContain(secret);
  });

  it("gives a renewal's auth the token's display name, and leaves a list's flag out of its data", async () => {
    const login = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
    const token = (login.json['auth'] as { client_token: string }).client_token;
    const renewal = await newEntries(() =>
      h.server.app.inject({
        method: 'POST',
        url: '/v1/auth/token/renew-self',
        headers: { 'x-vault-token': token },
      }),
    );
    expect(renewal[1]?.response?.['auth']).toMatchObject({ display_name: 'kubernetes-test-nginx' });
    const list = await newEntries(() =>
      h.server.app.inject({
        method: 'GET',
        url: '/v1/secret/metadata/?list=true',
        headers: { 'x-vault-token': token },
      }),
    );
    expect(list[0]?.request).toMatchObject({ operation: 'list', path: 'secret/metadata/' });
    expect(list[0]?.request['data']).toBeUndefined();
  });

  it("audits a KV write and read under the KV mount, the secret HMAC'd (numbers too), and an ACL refusal with its reason", async () => {
    const secret = { password: 'kv-audit-password-1', pin: 90210 };
    recordSecrets(secret.password);
    const entries = await newEntries(async () => {
      await h.server.app.inject({
        method: 'POST',
        url: '/v1/secret/data/audit/db',
        headers: { 'x-vault-token': ADMIN_TOKEN, 'content-type': 'application/json' },
        payload: JSON.stringify({ data: secret }),
      });
      await h.server.app.inject({
        method: 'GET',
        url: '/v1/secret/data/audit/db',
        headers: { 'x-vault-token': ADMIN_TOKEN },
      });
    });
    expect(
      entries.map((e) => [e.type, e.request['operation'], e.request['mount_point'], e.request['mount_type']]),
    ).toEqual([
      ['request', 'update', 'secret/', 'kv'],
      ['response', 'update', 'secret/', 'kv'],
      ['request', 'read', 'secret/', 'kv'],
      ['response', 'read', 'secret/', 'kv'],
    ]);
    const read = (entries[3]?.response?.['data'] as { data: Record<string, unknown> }).data;
    expect(read['password']).toMatch(/^hmac-sha256:/);
    expect(read['pin']).toMatch(/^hmac-sha256:/);
    const text = JSON.stringify(entries);
    expect(text).not.toContain(secret.password);
    expect(text).not.toContain(String(secret.pin));

    const login = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
    const token = (login.json['auth'] as { client_token: string }).client_token;
    const refused = await newEntries(() =>
      h.server.app.inject({
        method: 'GET',
        url: '/v1/secret/data/audit/db',
        headers: { 'x-vault-token': token },
      }),
    );
    expect(refused[1]?.authgate).toEqual({
      outcome: 'denied',
      reason: 'acl_denied',
      detail: 'secret/data/audit/db',
      status: 403,
    });
  });

  it('audits refused and unknown requests with their reason', async () => {
    const denied = await newEntries(() =>
      h.server.app.inject({ method: 'POST', url: '/v1/auth/token/revoke-self' }),
    );
    expect(denied.map((e) => e.type)).toEqual(['request', 'response']);
    expect(denied[1]?.authgate).toEqual({ outcome: 'denied', reason: 'missing_client_token', status: 403 });
    // As Vault's: the token check's error in the request entry, the multierror its
    // handleRequest returns in the response entry.
    expect(denied[0]?.error).toBe('permission denied');
    expect(denied[1]?.error).toBe('1 error occurred:\n\t* permission denied\n\n');
    // A path nothing serves: refused before the router looks, as Vault's token check comes first.
    const unknown = await newEntries(() =>
      h.server.app.inject({ method: 'GET', url: '/v1/no-such-mount/x' }),
    );
    expect(unknown[1]?.authgate).toEqual({ outcome: 'denied', reason: 'missing_client_token', status: 403 });
    const missing = await newEntries(() =>
      h.server.app.inject({
        method: 'GET',
        url: '/v1/no-such-mount/x',
        headers: { 'x-vault-token': ADMIN_TOKEN },
      }),
    );
    expect(missing[1]?.authgate).toEqual({ outcome: 'error', reason: 'not_found', status: 404 });
    // Checked like any path, the admin token is named there as Vault names its root token.
    expect(missing[0]?.auth).toMatchObject({ display_name: 'root', policies: ['root'] });
  });
});

describe('failing closed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-audit-fail-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a login with 503 and issues nothing when no device can write', async () => {
    const capture = captureLog();
    const store = createMemoryStore({ clock: { nowMs: () => Date.now() } });
    // A directory where the file should be: every write fails.
    const h = await startHarness({ audit: { broken: { type: 'file', path: dir } }, store, log: capture.log });
    try {
      const reviews = h.cluster.stats().tokenReviews;
      for (let i = 0; i < 3; i++) {
        const res = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
        expect(res).toEqual({
          status: 503,
          json: { errors: ['audit device unavailable: the request was not served'] },
        });
      }
      // Refused before the login was processed: no TokenReview, no token.
      expect(h.cluster.stats().tokenReviews).toBe(reviews);
      expect(tokenRecords(store)).toEqual([]);
      expect((await lookupSelf(h, 'ags.whatever')).statusCode).toBe(503);
      expect(capture.events('audit.device_failed')).toHaveLength(1);
      expect(capture.events('audit.device_failed')[0]).toMatchObject({ device: 'broken', type: 'file' });
      expect(String(capture.events('audit.device_failed')[0]?.['reason'])).toMatch(/EISDIR/);
      // Every failed entry is counted (the log says it once; the metric counts them all).
      const metrics = await h.server.app.inject({ method: 'GET', url: '/metrics' });
      expect(metrics.body).toMatch(/^authgate_audit_failures_total\{device="broken"\} ([4-9]|\d\d)$/m);
    } finally {
      await h.close();
    }
  });

  it('serves the login when one of two devices fails', async () => {
    const good = auditFile('one-of-two');
    const h = await startHarness({
      audit: { broken: { type: 'file', path: dir }, good: { type: 'file', path: good } },
    });
    try {
      expect((await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() })).status).toBe(200);
      expect(readEntries(good).map((e) => e.type)).toEqual(['request', 'response']);
    } finally {
      await h.close();
    }
  });

  it('answers 503 and revokes the token when the answer of a login cannot be audited', async () => {
    const store = createMemoryStore({ clock: { nowMs: () => Date.now() } });
    const out = stdout((line) => line.includes('"type":"response"'));
    const h = await startHarness({ audit: { out: { type: 'stdout' } }, auditStdout: out.stream, store });
    try {
      const res = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
      expect(res).toEqual({
        status: 503,
        json: { errors: ['audit device unavailable: the request was not served'] },
      });
      expect(out.lines).toHaveLength(1);
      expect(tokenRecords(store)).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('answers 503 to a batch login whose answer cannot be audited, with nothing to revoke and no false alarm', async () => {
    // A batch token is stored nowhere and, never handed out, held by nobody: nothing to undo.
    const store = createMemoryStore({ clock: { nowMs: () => Date.now() } });
    const out = stdout((line) => line.includes('"type":"response"'));
    const capture = captureLog();
    const h = await startHarness({
      audit: { out: { type: 'stdout' } },
      auditStdout: out.stream,
      store,
      log: capture.log,
      roles: { batch: { ...NGINX_ROLE, token_type: 'batch' } },
    });
    try {
      const res = await h.login('kubernetes', { role: 'batch', jwt: await h.podToken() });
      expect(res).toEqual({
        status: 503,
        json: { errors: ['audit device unavailable: the request was not served'] },
      });
      expect(out.lines).toHaveLength(1);
      expect(tokenRecords(store)).toEqual([]);
      expect(capture.events('audit.revoke_failed')).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('answers 503 and revokes the token when the answer of auth/token/create cannot be audited', async () => {
    // The created token is in no answer anyone received, nor in any audit entry: it must not live on.
    const store = createMemoryStore({ clock: { nowMs: () => Date.now() } });
    const out = stdout((line) => line.includes('"type":"response"'));
    const h = await startHarness({ audit: { out: { type: 'stdout' } }, auditStdout: out.stream, store });
    try {
      for (const path of ['create', 'create-orphan']) {
        const res = await h.server.app.inject({
          method: 'POST',
          url: `/v1/auth/token/${path}`,
          headers: admin,
          payload: { policies: ['default'] },
        });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toEqual({ errors: ['audit device unavailable: the request was not served'] });
        expect(tokenRecords(store)).toEqual([]);
      }
    } finally {
      await h.close();
    }
  });

  it("refuses a renewal it cannot audit without revoking the caller's token", async () => {
    // The answer of renew-self carries the caller's own token: issued and audited at its login.
    const store = createMemoryStore({ clock: { nowMs: () => Date.now() } });
    const out = stdout((line) => line.includes('"type":"response"') && line.includes('renew-self'));
    const h = await startHarness({ audit: { out: { type: 'stdout' } }, auditStdout: out.stream, store });
    try {
      const login = await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
      expect(login.status).toBe(200);
      const token = (login.json['auth'] as { client_token: string }).client_token;
      const renew = await h.server.app.inject({
        method: 'POST',
        url: '/v1/auth/token/renew-self',
        headers: { 'x-vault-token': token },
      });
      expect(renew.statusCode).toBe(503);
      // Still stored (the failed stream refuses every later entry, so no request could show it).
      expect(tokenRecords(store)).toHaveLength(1);
    } finally {
      await h.close();
    }
  });

  it('waits a bounded time for a device that does not answer', async () => {
    const slow = stdout(() => false, true);
    const good = auditFile('beside-slow');
    const h = await startHarness({
      audit: { slow: { type: 'stdout', timeout: '1s' }, good: { type: 'file', path: good } },
      auditStdout: slow.stream,
    });
    try {
      const started = Date.now();
      expect((await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() })).status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(readEntries(good)).toHaveLength(2);
    } finally {
      await h.close();
    }
  });
});

describe('GET /v1/sys/audit/logins over a redis device', () => {
  let redis: RedisServer;
  let store: Store;
  let h: Harness;
  const key = createKeys().auditStream('redis');

  beforeAll(async () => {
    redis = await startRedis();
    store = createRedisStore({ url: redis.url }, { log: quiet });
    await new Promise((r) => setTimeout(r, 100));
    h = await startHarness({ store, audit: { redis: { type: 'redis', max_len: 1000 } } });
  });
  afterAll(async () => {
    await h?.close();
    await redis?.stop();
  });

  const logins = async (query: string, headers: Record<string, string> = admin) => {
    const res = await h.server.app.inject({ method: 'GET', url: `/v1/sys/audit/logins?${query}`, headers });
    return {
      status: res.statusCode,
      json: res.json() as {
        data?: { logins: Array<Record<string, unknown>>; count: number };
        errors?: string[];
      },
    };
  };
  const ids = (r: Awaited<ReturnType<typeof logins>>) => r.json.data?.logins.map((l) => l['request_id']);

  it('answers the logins of the known log that match the filters', async () => {
    await writeFixtureStream(store, key);
    expect(ids(await logins(''))).toHaveLength(12);
    expect(ids(await logins('namespace=test'))).toEqual([
      'fixture-1',
      'fixture-2',
      'fixture-4',
      'fixture-5',
      'fixture-9',
      'fixture-10',
      'fixture-12',
    ]);
    expect(ids(await logins('outcome=denied&mount=kubernetes'))).toEqual([
      'fixture-3',
      'fixture-4',
      'fixture-5',
      'fixture-9',
      'fixture-11',
    ]);
    expect(ids(await logins('reason=namespace_not_bound'))).toEqual(['fixture-3', 'fixture-11']);
    expect(ids(await logins('service_account=nginx&outcome=ok'))).toEqual([
      'fixture-1',
      'fixture-2',
      'fixture-10',
    ]);
    expect(ids(await logins(`since=${at(30)}&until=${at(45)}`))).toEqual([
      'fixture-7',
      'fixture-8',
      'fixture-9',
      'fixture-10',
    ]);
    expect(ids(await logins('limit=2'))).toEqual(['fixture-11', 'fixture-12']);
    expect(ids(await logins(`hmac=${encodeURIComponent(fixtureHash(fixtureJwt(5)))}`))).toEqual([
      'fixture-5',
    ]);
    const five = (await logins('reason=tokenreview_pod_not_found')).json.data?.logins[0];
    expect(five).toMatchObject({
      time: at(20),
      mount: 'kubernetes',
      role: 'nginx',
      namespace: 'test',
      service_account: 'nginx',
      pod: 'doomed',
      verified: false,
      remote_address: '10.0.0.5',
      outcome: 'denied',
      status: 403,
    });
  });

  it('shows a live login, with its identity verified', async () => {
    await store.delete(key);
    await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() });
    const res = await logins('since=1m');
    expect(res.json.data?.count).toBe(1);
    expect(res.json.data?.logins[0]).toMatchObject({ ...NGINX_LOGIN, outcome: 'ok' });
  });

  it.each([
    ['no admin token', '', {}, 403, 'permission denied'],
    ['a bad outcome', 'outcome=maybe', admin, 400, 'invalid outcome: expected ok, denied or error'],
    [
      'a bad time',
      'since=last%20week',
      admin,
      400,
      'invalid since: expected an RFC 3339 time or a duration like "1h"',
    ],
    ['a device that is not a redis device', 'device=file', admin, 400, '"file" is not a redis audit device'],
    ['a zero limit', 'limit=0', admin, 400, 'invalid limit: expected 1 to 1000'],
    ['a limit above the most it answers', 'limit=1001', admin, 400, 'invalid limit: expected 1 to 1000'],
  ])('refuses %s', async (_what, query, headers, status, message) => {
    expect(await logins(query, headers as Record<string, string>)).toEqual({
      status,
      json: { errors: [message] },
    });
  });
});
