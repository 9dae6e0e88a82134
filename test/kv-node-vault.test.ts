import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import vault from 'node-vault';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAuthSecrets, recordSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';
import { UUID, version } from './helpers/kv-suite.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/*
 * KV v2 through the real `node-vault` client, unchanged, against authgate listening on a real
 * port: what works against Vault must work here. `list()` sends Vault's `LIST` method, which the
 * server's 'clientError' handler serves (src/http/client-errors.ts). Last, node-vault's commands
 * for a token other than the client's own (tokenLookup, tokenRenew, tokenRevoke).
 */

const POLICIES = {
  'ns-kv': {
    path: {
      'secret/data/{{identity.namespace}}/*': {
        capabilities: ['create', 'read', 'update', 'patch', 'delete'],
      },
      'secret/metadata/{{identity.namespace}}/*': { capabilities: ['list', 'read'] },
      'secret/destroy/{{identity.namespace}}/*': { capabilities: ['update'] },
    },
  },
};
const ROLES = {
  workloads: {
    ...NGINX_ROLE,
    bound_service_account_names: ['app'],
    bound_service_account_namespaces: ['team-a', 'team-b'],
    token_policies: ['ns-kv'],
  },
};

let h: Harness;
let endpoint: string;
beforeAll(async () => {
  h = await startHarness({ roles: ROLES, config: { policies: POLICIES } });
  for (const namespace of ['team-a', 'team-b'])
    h.cluster.createPod({ namespace, name: 'app', serviceAccount: 'app' });
  await h.server.app.listen({ host: '127.0.0.1', port: 0 });
  endpoint = `http://127.0.0.1:${(h.server.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await h?.close();
});

const client = (token?: string) => vault({ endpoint, ...(token ? { token } : {}) });

/** A distinctive secret value, recorded for the suite-wide audit scan. */
const secret = (label: string): string => {
  const value = `kvsecret-nv-${label}-${randomBytes(8).toString('hex')}`;
  recordSecrets(value);
  return value;
};

/** A workload client, logged in with node-vault's own `kubernetesLogin`. */
const workload = async (namespace: string) => {
  const c = client();
  const jwt = await h.podToken({ namespace, serviceAccount: 'app', pod: 'app' });
  // node-vault 0.12 renders the default mount as `auth//login` unless mount_point is given.
  const login = (await c.kubernetesLogin({ role: 'workloads', jwt, mount_point: 'kubernetes' })) as {
    auth: { client_token: string; policies: string[] };
  };
  recordAuthSecrets(login);
  expect(c.token).toBe(login.auth.client_token);
  expect(login.auth.policies).toEqual(['default', 'ns-kv']);
  return c;
};

/** What node-vault rejects with for an HTTP error: Vault's first message, the status and the body. */
const apiError = (statusCode: number, message: string, body?: unknown) =>
  expect.objectContaining({
    message,
    response: { statusCode, body: body ?? expect.objectContaining({ errors: [message] }) },
  });
const DENIED = apiError(403, 'permission denied');
const INVALID = apiError(403, INVALID_TOKEN_MESSAGE);

describe('node-vault with the admin token', () => {
  it('writes, reads every version, patches, lists, deletes, undeletes and destroys', async () => {
    const admin = client(ADMIN_TOKEN);
    const [v1, v2, extra] = [secret('v1'), secret('v2'), secret('extra')];
    expect(await admin.write('secret/data/nv/app', { data: { password: v1 }, options: { cas: 0 } })).toEqual({
      request_id: expect.stringMatching(UUID),
      lease_id: '',
      renewable: false,
      lease_duration: 0,
      data: version(1),
      wrap_info: null,
      warnings: null,
      auth: null,
      mount_type: 'kv',
    });
    expect(
      (await admin.write('secret/data/nv/app', { data: { password: v2 }, options: { cas: 1 } })).data,
    ).toEqual(version(2));
    await expect(
      admin.write('secret/data/nv/app', { data: { password: 'stale' }, options: { cas: 1 } }),
    ).rejects.toEqual(apiError(400, 'check-and-set parameter did not match the current version'));
    expect((await admin.read('secret/data/nv/app')).data).toEqual({
      data: { password: v2 },
      metadata: version(2),
    });
    expect((await admin.read('secret/data/nv/app?version=1')).data).toEqual({
      data: { password: v1 },
      metadata: version(1),
    });
    // node-vault's `update` is a JSON merge patch.
    expect((await admin.update('secret/data/nv/app', { data: { extra } })).data).toEqual(version(3));
    expect((await admin.read('secret/data/nv/app')).data.data).toEqual({ password: v2, extra });
    await admin.write('secret/data/nv/other', { data: { a: secret('other') } });
    expect((await admin.list('secret/metadata/nv')).data).toEqual({ keys: ['app', 'other'] });
    expect((await admin.list('secret/metadata/')).data.keys).toContain('nv/');
    expect((await admin.read('secret/metadata/nv/app')).data).toMatchObject({
      current_version: 3,
      oldest_version: 0,
      versions: { '1': { destroyed: false }, '2': { destroyed: false }, '3': { destroyed: false } },
    });

    await admin.delete('secret/data/nv/app');
    const deleted = admin.read('secret/data/nv/app');
    await expect(deleted).rejects.toMatchObject({
      message: 'Status 404',
      response: {
        statusCode: 404,
        body: { data: { data: null, metadata: { version: 3, destroyed: false } } },
      },
    });
    await admin.write('secret/undelete/nv/app', { versions: [3] });
    expect((await admin.read('secret/data/nv/app')).data.data).toEqual({ password: v2, extra });
    await admin.write('secret/delete/nv/app', { versions: [2] });
    await expect(admin.read('secret/data/nv/app?version=2')).rejects.toMatchObject({
      response: { statusCode: 404 },
    });
    // node-vault's own command for `destroy/`.
    await admin.destroySecretVersions({ path: 'nv/app', versions: [1] });
    await expect(admin.read('secret/data/nv/app?version=1')).rejects.toMatchObject({
      response: { statusCode: 404, body: { data: { metadata: { version: 1, destroyed: true } } } },
    });

    await admin.write('secret/metadata/nv/app', { max_versions: 4, custom_metadata: { owner: 'nv' } });
    expect((await admin.read('secret/data/nv/app')).data.metadata.custom_metadata).toEqual({ owner: 'nv' });
    await admin.delete('secret/metadata/nv/app');
    await expect(admin.read('secret/metadata/nv/app')).rejects.toEqual(
      apiError(404, 'Status 404', { errors: [] }),
    );
    expect((await admin.list('secret/metadata/nv')).data).toEqual({ keys: ['other'] });
  });

  it('reads and writes the mount’s config', async () => {
    const admin = client(ADMIN_TOKEN);
    await admin.write('secret/config', { max_versions: 0, cas_required: false, delete_version_after: '0s' });
    expect((await admin.read('secret/config')).data).toEqual({
      cas_required: false,
      delete_version_after: '0s',
      max_versions: 0,
    });
  });
});

describe('node-vault with workload tokens from kubernetesLogin', () => {
  let a: ReturnType<typeof client>;
  let b: ReturnType<typeof client>;
  const values = { a: '', b: '' };
  beforeAll(async () => {
    [a, b] = [await workload('team-a'), await workload('team-b')];
    values.a = secret('team-a');
    values.b = secret('team-b');
    await a.write('secret/data/team-a/db', { data: { password: values.a } });
    await b.write('secret/data/team-b/db', { data: { password: values.b } });
  });

  it('lets each workload write, read, patch, list and destroy its own namespace’s secrets', async () => {
    expect((await a.read('secret/data/team-a/db')).data.data).toEqual({ password: values.a });
    expect((await a.update('secret/data/team-a/db', { data: { rotated: true } })).data.version).toBe(2);
    expect((await a.list('secret/metadata/team-a')).data.keys).toEqual(['db']);
    expect((await a.read('secret/metadata/team-a/db')).data.current_version).toBe(2);
    await a.destroySecretVersions({ path: 'team-a/db', versions: [1] });
    expect((await a.read('secret/data/team-a/db')).data.data).toEqual({ password: values.a, rotated: true });
    await expect(a.read('secret/data/team-a/db?version=1')).rejects.toMatchObject({
      response: { statusCode: 404 },
    });
  });

  it('refuses each workload the other namespace’s secrets, and what its policy does not grant', async () => {
    await expect(a.read('secret/data/team-b/db')).rejects.toEqual(DENIED);
    await expect(b.read('secret/data/team-a/db')).rejects.toEqual(DENIED);
    await expect(a.list('secret/metadata/team-b')).rejects.toEqual(DENIED);
    await expect(a.write('secret/data/team-b/db', { data: { password: 'mine now' } })).rejects.toEqual(
      DENIED,
    );
    await expect(a.delete('secret/data/team-b/db')).rejects.toEqual(DENIED);
    await expect(a.list('secret/metadata/')).rejects.toEqual(DENIED);
    await expect(a.write('secret/config', { cas_required: true })).rejects.toEqual(DENIED);
    await expect(a.delete('secret/metadata/team-a/db')).rejects.toEqual(DENIED);
    expect((await b.read('secret/data/team-b/db')).data.data).toEqual({ password: values.b });
  });

  it('refuses a client with no token, or a token that is not one, with 403', async () => {
    await expect(client().read('secret/data/team-a/db')).rejects.toEqual(DENIED);
    await expect(
      client('ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').read('secret/data/team-a/db'),
    ).rejects.toEqual(INVALID);
    await expect(client('nope').list('secret/metadata/team-a')).rejects.toEqual(INVALID);
  });

  it.each([
    '/v1/secret/data/team-a/../team-b/db',
    '/v1/secret/data/team-a/%2e%2e/team-b/db',
    '/v1/secret/data/team-a/%2E%2E%2Fteam-b%2Fdb',
    '/v1/secret/data/team-a/./../../data/team-b/db',
  ])('never serves team-b’s secret to team-a over raw HTTP at %s, dots and all', async (path) => {
    // The path as is: `new URL` (fetch, axios, a URL string here) would resolve the dots first.
    const { port } = h.server.app.server.address() as AddressInfo;
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const options = { host: '127.0.0.1', port, path, headers: { 'x-vault-token': a.token } };
      const req = request(options, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    // A path not clean as sent is redirected to the clean one (as Vault's mux does), which the
    // ACL refuses: `/v1/secret/data/team-b/db` is checked in the test above.
    expect([301, 400, 403, 404]).toContain(res.status);
    expect(res.body).not.toContain(values.b);
  });
});

describe('node-vault token commands that name another token', () => {
  it('looks up, renews and revokes a workload token with the admin token', async () => {
    const target = await workload('team-a');
    const admin = client(ADMIN_TOKEN);
    const looked = (await admin.tokenLookup({ token: target.token })) as { data: Record<string, unknown> };
    expect(looked.data).toMatchObject({
      id: target.token,
      display_name: 'kubernetes-team-a-app',
      policies: ['default', 'ns-kv'],
      path: 'auth/kubernetes/login',
    });
    // node-vault's tokenRenew is a `tokenSource` command: like against Vault, whose answer
    // carries the renewed token back, the client then uses that token as its own.
    const renewer = client(ADMIN_TOKEN);
    const renewed = (await renewer.tokenRenew({ token: target.token, increment: '2h' })) as {
      auth: { client_token: string; lease_duration: number };
    };
    expect(renewed.auth).toMatchObject({ client_token: target.token, lease_duration: 7200 });
    expect(renewer.token).toBe(target.token);
    expect(await admin.tokenRevoke({ token: target.token })).toBe('');
    await expect(target.read('secret/data/team-a/db')).rejects.toEqual(INVALID);
    await expect(admin.tokenLookup({ token: target.token })).rejects.toEqual(apiError(403, 'bad token'));
    await expect(admin.tokenRenew({ token: target.token })).rejects.toEqual(apiError(400, 'token not found'));
  });

  it('revokes with tokenRevokeOrphan, which Vault’s revoke-orphan serves with sudo', async () => {
    const target = await workload('team-a');
    const admin = client(ADMIN_TOKEN);
    expect(await admin.tokenRevokeOrphan({ token: target.token })).toBe('');
    await expect(target.read('secret/data/team-a/db')).rejects.toEqual(INVALID);
    await expect(admin.tokenRevokeOrphan({ token: target.token })).rejects.toEqual(
      apiError(400, 'token to revoke not found'),
    );
    const other = await workload('team-b');
    await expect(other.tokenRevokeOrphan({ token: other.token })).rejects.toEqual(DENIED);
  });

  it('refuses them to a workload whose policy does not grant them', async () => {
    const [a, b] = [await workload('team-a'), await workload('team-b')];
    await expect(a.tokenLookup({ token: b.token })).rejects.toEqual(DENIED);
    await expect(a.tokenRenew({ token: b.token })).rejects.toEqual(DENIED);
    await expect(a.tokenRevoke({ token: b.token })).rejects.toEqual(DENIED);
    expect((await b.tokenLookupSelf()).data.id).toBe(b.token);
  });
});
