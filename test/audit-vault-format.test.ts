import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../src/audit/index.js';
import { createFakeClock } from '../src/lib/clock.js';
import { readEntries, recordSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';

/**
 * The entries of the requests a Vault audit pipeline sees most, field by field against what
 * Vault's audit/entry_formatter.go writes: its omitempty on every field of `auth`, `request` and
 * `response`, its RFC3339Nano `time`, the token check's `auth` and `error`, and the HMACs that
 * `sys/audit-hash` reproduces.
 */
const ISSUED_AT = Date.UTC(2026, 6, 1, 12, 0, 0, 500);
const clock = createFakeClock(ISSUED_AT);
const admin = { 'x-vault-token': ADMIN_TOKEN };
/** Vault's `permission denied` as its handleRequest returns it, wrapped by go-multierror. */
const MULTI_DENIED = '1 error occurred:\n\t* permission denied\n\n';
let h: Harness;
let token: string;

beforeAll(async () => {
  h = await startHarness({
    clock,
    roles: {
      app: { ...NGINX_ROLE, token_policies: ['app'] },
      split: { ...NGINX_ROLE, token_policies: ['creator', 'updater'] },
    },
    config: {
      secrets: { kv: { secret: {} } },
      policies: {
        app: { path: { 'secret/data/app/*': { capabilities: ['create', 'read', 'update'] } } },
        // One policy may create a secret there, another may change it: a write's granting policy
        // depends on whether its target exists (Vault's ExistenceCheck).
        creator: { path: { 'secret/data/split/*': { capabilities: ['create'] } } },
        updater: { path: { 'secret/data/split/*': { capabilities: ['update'] } } },
      },
    },
  });
  token = await loginAs('app');
});
afterAll(async () => {
  await h?.close();
});

const inject = (method: string, url: string, headers: Record<string, string> = {}, payload?: object) =>
  h.server.app.inject({
    method: method as 'GET',
    url,
    headers,
    ...(payload === undefined ? {} : { payload }),
  });
/** The accessor `sys/auth` lists for the auth mount at `path`. */
const authAccessor = async (path: string): Promise<string | undefined> =>
  ((await inject('GET', '/v1/sys/auth', admin)).json() as Record<string, { accessor: string }>)[`${path}/`]
    ?.accessor;

const loginAs = async (role: string): Promise<string> => {
  const login = await h.login('kubernetes', { role, jwt: await h.podToken() });
  return (login.json['auth'] as { client_token: string }).client_token;
};

/** Vault's `policy_results` of a request these policies allowed (its PolicyInfo, root namespace). */
const grantedBy = (...names: string[]) => ({
  allowed: true,
  granting_policies: names.map((name) => ({ name, namespace_id: 'root', type: 'acl' })),
});

/** The two entries one request writes. */
const audited = async (run: () => Promise<unknown>): Promise<[AuditEntry, AuditEntry]> => {
  const before = readEntries(h.auditFile as string).length;
  await run();
  const entries = readEntries(h.auditFile as string).slice(before);
  expect(entries.map((e) => e.type)).toEqual(['request', 'response']);
  return entries as [AuditEntry, AuditEntry];
};

const auditHash = async (input: string): Promise<string> =>
  ((await inject('POST', '/v1/sys/audit-hash/test', admin, { input })).json() as { hash: string }).hash;

describe("Vault's audit entry format", () => {
  it("writes `time` as Go's RFC3339Nano: no trailing zeros, no fraction on a whole second", async () => {
    const [request] = await audited(() =>
      inject('GET', '/v1/auth/token/lookup-self', { 'x-vault-token': token }),
    );
    expect(request.time).toBe('2026-07-01T12:00:00.5Z');
    clock.advanceMs(500);
    try {
      const [, response] = await audited(() =>
        inject('GET', '/v1/auth/token/lookup-self', { 'x-vault-token': token }),
      );
      expect(response.time).toBe('2026-07-01T12:00:01Z');
    } finally {
      clock.setMs(ISSUED_AT);
    }
  });

  it("names a login's mount by its accessor, and leaves out what Vault's omitempty does", async () => {
    const accessor = await authAccessor('kubernetes');
    expect(accessor).toMatch(/^auth_kubernetes_/);
    const [request, response] = await audited(async () => {
      const res = await h.login('kubernetes', { role: 'app', jwt: await h.podToken() });
      expect(res.status).toBe(200);
    });
    expect(request.auth).toEqual({ token_type: 'default' });
    expect(request.request['mount_accessor']).toBe(accessor);
    expect(response.response?.['mount_accessor']).toBe(accessor);
    // num_uses 0 is left out (omitempty), and the top-level auth never has it (Vault's has not).
    expect(response.auth).not.toHaveProperty('num_uses');
    expect(response.response?.['auth']).not.toHaveProperty('num_uses');
    expect(response.auth).toMatchObject({
      token_ttl: 3600,
      token_type: 'service',
      policies: ['app', 'default'],
    });
  });

  it('names the token store by the accessor sys/auth lists for token/', async () => {
    const accessor = await authAccessor('token');
    expect(accessor).toMatch(/^auth_token_/);
    const [request, response] = await audited(() =>
      inject('GET', '/v1/auth/token/lookup-self', { 'x-vault-token': token }),
    );
    for (const e of [request.request, response.request, response.response])
      expect(e).toMatchObject({ mount_type: 'token', mount_accessor: accessor });
  });

  it.each([
    ['a KV mount', 'GET', '/v1/secret/data/app/db', 'secret/', 'kv'],
    ['sys/', 'POST', '/v1/sys/capabilities-self', 'sys/', 'system'],
    ['identity/', 'GET', '/v1/identity/oidc/token/nope', 'identity/', 'identity'],
  ])(
    'names %s by the accessor sys/mounts lists for it, as Vault names every mount',
    async (_w, method, url, mount, type) => {
      const mounts = (await inject('GET', '/v1/sys/mounts', admin)).json() as Record<
        string,
        { accessor: string }
      >;
      const accessor = mounts[mount]?.accessor;
      expect(accessor).toMatch(new RegExp(`^${type}_`));
      const [request, response] = await audited(() =>
        inject(method, url, { 'x-vault-token': token }, method === 'POST' ? { paths: ['x'] } : undefined),
      );
      for (const e of [request.request, response.request, response.response])
        expect(e).toMatchObject({ mount_point: mount, mount_type: type, mount_accessor: accessor });
    },
  );

  it.each([
    ['a role that does not exist', { role: 'nope' }, 'invalid role name "nope"'],
    ['no jwt', { role: 'app', jwt: undefined }, 'missing jwt'],
  ])(
    'writes a login refused for %s with the error the client got, in the response entry only',
    async (_w, body, message) => {
      const [request, response] = await audited(async () => {
        const jwt = await h.podToken();
        const res = await h.login('kubernetes', { jwt, ...body });
        expect(res.json).toEqual({ errors: [message] });
      });
      expect(request).not.toHaveProperty('error');
      expect(request.auth).toEqual({ token_type: 'default' });
      expect(response.error).toBe(message);
      expect(response.auth).toEqual({ token_type: 'default' });
    },
  );

  it("names the caller's token in `auth` as Vault's CheckToken: its TTL, issue time and policy check", async () => {
    const [request, response] = await audited(() =>
      inject('POST', '/v1/auth/token/renew-self', { 'x-vault-token': token }, {}),
    );
    for (const e of [request, response]) {
      expect(e.auth).toMatchObject({
        client_token: await auditHash(token),
        display_name: 'kubernetes-test-nginx',
        policy_results: { allowed: true },
        token_issue_time: '2026-07-01T12:00:00Z',
        token_ttl: 3600,
        token_type: 'service',
      });
    }
    // An empty body is no `data` (Go's omitempty on an empty map).
    expect(request.request).not.toHaveProperty('data');
  });

  it("writes a request its policies refuse with the caller, `allowed: false` and Vault's multierror", async () => {
    const [request, response] = await audited(() =>
      inject('GET', '/v1/secret/data/other', { 'x-vault-token': token }),
    );
    for (const e of [request, response]) {
      expect(e.error).toBe(MULTI_DENIED);
      expect(e.auth).toMatchObject({
        client_token: await auditHash(token),
        display_name: 'kubernetes-test-nginx',
      });
      expect(e.auth?.['policy_results']).toEqual({ allowed: false });
    }
    expect(response.response).toEqual({
      data: { error: await auditHash(MULTI_DENIED) },
      mount_accessor: expect.stringMatching(/^kv_/),
      mount_class: 'secret',
      mount_point: 'secret/',
      mount_type: 'kv',
    });
    expect(response.authgate).toMatchObject({ outcome: 'denied', reason: 'acl_denied', status: 403 });
  });

  it.each([
    ['no token', {}],
    ['a token that is not live', { 'x-vault-token': 'hvs.not-a-live-token' }],
  ])(
    'writes a request with %s as Vault: the default auth, and permission denied in both entries',
    async (_w, headers) => {
      const [request, response] = await audited(() => inject('GET', '/v1/secret/data/app/db', headers));
      expect(request.auth).toEqual({ token_type: 'default' });
      expect(response.auth).toEqual({ token_type: 'default' });
      expect(request.error).toBe('permission denied');
      expect(response.error).toBe(MULTI_DENIED);
      expect(response.response?.['data']).toEqual({ error: await auditHash('permission denied') });
      expect(request.request).not.toHaveProperty('client_token_accessor');
    },
  );

  it('leaves the mount fields of a path under no mount out, as empty strings are in Vault', async () => {
    const [request, response] = await audited(() => inject('GET', '/v1/nope/x', admin));
    expect(Object.keys(request.request)).toEqual([
      'client_token',
      'id',
      'namespace',
      'operation',
      'path',
      'remote_address',
    ]);
    expect(response.response).toEqual({});
  });

  it("writes a KV write and read in Vault's request order, every value the HMAC sys/audit-hash gives", async () => {
    recordSecrets('kv-format-password');
    const [write] = await audited(() =>
      inject(
        'POST',
        '/v1/secret/data/app/db',
        { 'x-vault-token': token },
        { data: { password: 'kv-format-password' } },
      ),
    );
    expect(write.request['data']).toEqual({ data: { password: await auditHash('kv-format-password') } });
    expect(Object.keys(write.request)).toEqual([
      'client_token',
      'client_token_accessor',
      'data',
      'id',
      'mount_accessor',
      'mount_class',
      'mount_point',
      'mount_type',
      'namespace',
      'operation',
      'path',
      'remote_address',
    ]);
    const [, read] = await audited(() => inject('GET', '/v1/secret/data/app/db', { 'x-vault-token': token }));
    const data = read.response?.['data'] as {
      data: Record<string, unknown>;
      metadata: Record<string, unknown>;
    };
    expect(data.data).toEqual({ password: await auditHash('kv-format-password') });
    expect(data.metadata['version']).toBe(1);
  });

  describe('policy_results', () => {
    it.each([
      ['a KV read', 'GET', '/v1/secret/data/app/db', ['app']],
      ['a token lookup-self, by the default policy', 'GET', '/v1/auth/token/lookup-self', ['default']],
    ])('names the policies that granted %s, in both entries', async (_w, method, url, names) => {
      const entries = await audited(() => inject(method, url, { 'x-vault-token': token }));
      for (const e of entries) expect(e.auth?.['policy_results']).toEqual(grantedBy(...names));
    });

    it("names Vault's root policy for the admin token", async () => {
      const entries = await audited(() => inject('GET', '/v1/secret/data/app/db', admin));
      for (const e of entries) expect(e.auth?.['policy_results']).toEqual(grantedBy('root'));
    });

    it('names the policy that may create a secret for its first write, the one that may update it after', async () => {
      const split = await loginAs('split');
      recordSecrets(split);
      const write = () =>
        audited(() => inject('POST', '/v1/secret/data/split/db', { 'x-vault-token': split }, { data: {} }));
      const created = await write();
      const updated = await write();
      expect(created[1].authgate).toMatchObject({ outcome: 'ok' });
      expect(updated[1].authgate).toMatchObject({ outcome: 'ok' });
      for (const e of created) expect(e.auth?.['policy_results']).toEqual(grantedBy('creator'));
      for (const e of updated) expect(e.auth?.['policy_results']).toEqual(grantedBy('updater'));
    });
  });
});
