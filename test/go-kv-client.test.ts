import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { recordSecrets } from './helpers/audit.js';
import { expectGoSecret, goRequest, RFC3339, type GoAnswer } from './helpers/go-api.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';

/*
 * The KV v2 requests of the Go client's helper (hashicorp/vault api/kv_v2.go, `client.KVv2(mount)`)
 * and of consul-template, which renders Vault Agent's templates (dependency/vault_common.go
 * `isKVv2`, dependency/vault_read.go), replayed over a real connection with the fields they
 * decode:
 * - the preflight `GET sys/internal/ui/mounts/<path>`: `data.options.version` must be the string
 *   "2" and `data.type` "kv" for a KV v2 read; `data.path` (ending in `/`) is the mount;
 * - writes carry `{"data", "options": {"cas"}}`; their answer's `data` is the version metadata
 *   (mapstructure into `KVVersionMetadata`: `version` int, `created_time` RFC 3339,
 *   `deletion_time` "" or RFC 3339, `destroyed` bool) plus `custom_metadata`;
 * - `DeleteVersions` sends the versions as strings;
 * - a read that finds nothing is a 404 whose body parses to no secret (`{"errors":[]}`), while a
 *   deleted version is a 404 carrying `data: null` and its metadata, which `Get` returns and
 *   consul-template's `deletedKVv2` recognises by a non-empty `deletion_time`;
 * - `GetMetadata` decodes `versions` (string keys), `current_version`, `oldest_version`,
 *   `max_versions`, `cas_required`, `delete_version_after` (a duration string) and the times.
 */

const clock = createFakeClock(Date.UTC(2026, 6, 1, 12, 0, 0, 500));
let h: Harness;
let port: number;
let token: string;

beforeAll(async () => {
  h = await startHarness({
    clock,
    roles: {
      app: { ...NGINX_ROLE, token_policies: ['app'] },
      bare: { ...NGINX_ROLE, token_policies: [], token_no_default_policy: true },
    },
    config: {
      secrets: { kv: { secret: {} } },
      policies: {
        app: {
          path: {
            'secret/data/app/*': { capabilities: ['create', 'read', 'update', 'patch', 'delete'] },
            'secret/metadata/app/*': { capabilities: ['read', 'list', 'delete'] },
            'secret/delete/app/*': { capabilities: ['update'] },
            'identity/oidc/token/app': { capabilities: ['read'] },
            'secret/data/eso/*': { capabilities: ['create', 'read', 'update', 'delete'] },
            'secret/metadata/eso/*': { capabilities: ['create', 'read', 'update', 'delete'] },
          },
        },
      },
    },
  });
  port = Number(new URL(await h.server.app.listen({ host: '127.0.0.1', port: 0 })).port);
  const login = await goRequest(port, 'PUT', '/v1/auth/kubernetes/login', {
    body: { jwt: await h.podToken(), role: 'app' },
  });
  expect(login.status).toBe(200);
  token = (login.json?.['auth'] as { client_token: string }).client_token;
});
afterAll(async () => {
  await h?.close();
});

const value = (label: string) => {
  const v = `gokv-${label}-${Math.random().toString(36).slice(2)}`;
  recordSecrets(v);
  return v;
};
const dataOf = (res: GoAnswer) => res.json?.['data'] as Record<string, unknown>;

/** `extractVersionMetadata`: what mapstructure needs to fill `KVVersionMetadata`. */
const expectVersionMetadata = (m: Record<string, unknown>, version: number) => {
  expect(m['version']).toBe(version);
  expect(m['created_time']).toMatch(RFC3339);
  expect(m['deletion_time'] === '' || RFC3339.test(String(m['deletion_time']))).toBe(true);
  expect(typeof m['destroyed']).toBe('boolean');
  // `extractCustomMetadata` fails without the key; its value is a map of strings or null.
  expect(m).toHaveProperty('custom_metadata');
};

describe('the preflight of the KV helpers (vault kv, consul-template)', () => {
  it.each(['secret/app/config', 'secret/data/app/config', 'secret/'])(
    'names the KV v2 mount serving %s',
    async (path) => {
      const res = await goRequest(port, 'GET', `/v1/sys/internal/ui/mounts/${path}`, { token });
      expect(res.status).toBe(200);
      expectGoSecret(res.json);
      expect(dataOf(res)).toMatchObject({ options: { version: '2' }, path: 'secret/', type: 'kv' });
    },
  );
});

describe('the preflight of a consul-template read outside KV (Vault Agent templates)', () => {
  // consul-template asks sys/internal/ui/mounts/<path> before every `secret` it renders; Vault
  // answers the mount that serves the path (any mount, not only KV) to a token with a grant
  // under it, and consul-template reads the path as it is since `options` names no version.
  it('names the identity mount to a token that may sign there: options null, so not KV v2', async () => {
    const res = await goRequest(port, 'GET', '/v1/sys/internal/ui/mounts/identity/oidc/token/app', { token });
    expect(res.status).toBe(200);
    expectGoSecret(res.json);
    expect(dataOf(res)).toMatchObject({ path: 'identity/', type: 'identity', options: null });
  });

  it('names no mount to a token without a grant under it, as Vault (403)', async () => {
    const other = await goRequest(port, 'PUT', '/v1/auth/kubernetes/login', {
      body: { jwt: await h.podToken(), role: 'bare' },
    });
    const bare = (other.json?.['auth'] as { client_token: string }).client_token;
    const res = await goRequest(port, 'GET', '/v1/sys/internal/ui/mounts/identity/oidc/token/app', {
      token: bare,
    });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({
      errors: [
        'preflight capability check returned 403, please ensure client\'s policies grant access to path "identity/oidc/token/app/"',
      ],
    });
  });
});

describe('api.KVv2 against authgate', () => {
  const url = '/v1/secret/data/app/config';

  it('puts with cas 0, then refuses a stale cas, then puts with the current version', async () => {
    const first = await goRequest(port, 'PUT', url, {
      token,
      body: { data: { password: value('v1') }, options: { cas: 0 } },
    });
    expect(first.status).toBe(200);
    expectGoSecret(first.json);
    expectVersionMetadata(dataOf(first), 1);
    expect(dataOf(first)['deletion_time']).toBe('');

    const stale = await goRequest(port, 'PUT', url, {
      token,
      body: { data: { password: value('stale') }, options: { cas: 0 } },
    });
    expect(stale.status).toBe(400);
    expect(stale.json).toEqual({ errors: ['check-and-set parameter did not match the current version'] });

    const second = await goRequest(port, 'PUT', url, {
      token,
      body: { data: { password: value('v2') }, options: { cas: 1 } },
    });
    expect(second.status).toBe(200);
    expectVersionMetadata(dataOf(second), 2);
  });

  it('gets the latest version and a given one, data beside the version metadata', async () => {
    const latest = await goRequest(port, 'GET', url, { token });
    expect(latest.status).toBe(200);
    expectGoSecret(latest.json);
    expect(Object.keys(dataOf(latest)['data'] as object)).toEqual(['password']);
    expectVersionMetadata(dataOf(latest)['metadata'] as Record<string, unknown>, 2);

    const v1 = await goRequest(port, 'GET', `${url}?version=1`, { token });
    expect(v1.status).toBe(200);
    expectVersionMetadata(dataOf(v1)['metadata'] as Record<string, unknown>, 1);
  });

  it('patches with a JSON merge patch (Content-Type application/merge-patch+json)', async () => {
    const res = await goRequest(port, 'PATCH', url, {
      token,
      body: { data: { user: value('user') } },
      headers: { 'Content-Type': 'application/merge-patch+json' },
    });
    expect(res.status).toBe(200);
    expectVersionMetadata(dataOf(res), 3);
    const read = await goRequest(port, 'GET', url, { token });
    expect(Object.keys(dataOf(read)['data'] as object).sort()).toEqual(['password', 'user']);
  });

  it('reads the metadata with the types GetMetadata decodes', async () => {
    const res = await goRequest(port, 'GET', '/v1/secret/metadata/app/config', { token });
    expect(res.status).toBe(200);
    expectGoSecret(res.json);
    const md = dataOf(res);
    // oldest_version stays 0 until max_versions trims a version, as in Vault.
    expect(md).toMatchObject({ current_version: 3, oldest_version: 0, max_versions: 0, cas_required: false });
    // StringToTimeDurationHookFunc: a duration string, not a number.
    expect(md['delete_version_after']).toBe('0s');
    expect(md['created_time']).toMatch(RFC3339);
    expect(md['updated_time']).toMatch(RFC3339);
    expect(md).toHaveProperty('custom_metadata');
    const versions = md['versions'] as Record<string, Record<string, unknown>>;
    expect(Object.keys(versions).sort()).toEqual(['1', '2', '3']);
    for (const v of Object.values(versions)) {
      expect(v['created_time']).toMatch(RFC3339);
      expect(v['deletion_time']).toBe('');
      expect(v['destroyed']).toBe(false);
    }
  });

  it('deletes versions named as strings, as DeleteVersions sends them', async () => {
    const res = await goRequest(port, 'PUT', '/v1/secret/delete/app/config', {
      token,
      body: { versions: ['1'] },
    });
    expect(res.status).toBe(204);
    const v1 = await goRequest(port, 'GET', `${url}?version=1`, { token });
    expect(v1.status).toBe(404);
    expectGoSecret(v1.json);
    // A deleted version: 404, yet with data and metadata, which GetVersion returns (Data nil).
    expect(dataOf(v1)['data']).toBeNull();
    const meta = dataOf(v1)['metadata'] as Record<string, unknown>;
    expectVersionMetadata(meta, 1);
    expect(meta['deletion_time']).toMatch(RFC3339);
  });

  it('answers a soft-deleted latest version as Vault: 404 with data null and its deletion_time', async () => {
    expect((await goRequest(port, 'DELETE', url, { token })).status).toBe(204);
    const res = await goRequest(port, 'GET', url, { token });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ lease_id: '', renewable: false, lease_duration: 0, wrap_info: null });
    expect(dataOf(res)['data']).toBeNull();
    // consul-template's deletedKVv2: a non-empty deletion_time means "no secret exists".
    expect((dataOf(res)['metadata'] as Record<string, unknown>)['deletion_time']).toMatch(RFC3339);
  });

  it.each([
    '/v1/secret/data/app/missing',
    '/v1/secret/metadata/app/missing',
    '/v1/secret/data/app/config?version=9',
  ])(
    'answers %s, which does not exist, with 404 {"errors":[]}: no secret, no error, for the client',
    async (path) => {
      const res = await goRequest(port, 'GET', path, { token });
      expect(res.status).toBe(404);
      expect(res.json).toEqual({ errors: [] });
    },
  );

  it('lists as Logical().List does (GET ?list=true): keys, or a 404 {"errors":[]} read as nothing', async () => {
    const res = await goRequest(port, 'GET', '/v1/secret/metadata/app/?list=true', { token });
    expect(res.status).toBe(200);
    expectGoSecret(res.json);
    expect(dataOf(res)['keys']).toEqual(['config']);
    const empty = await goRequest(port, 'GET', '/v1/secret/metadata/app/none/?list=true', { token });
    expect(empty).toMatchObject({ status: 404, json: { errors: [] } });
  });

  it('answers a write with nil data (a body of null) as one without data', async () => {
    const res = await goRequest(port, 'PUT', '/v1/secret/data/app/empty', { token: ADMIN_TOKEN, body: null });
    expect(res.status).toBe(400);
    expect(res.json).toEqual({ errors: ['no data provided'] });
  });
});

describe('External Secrets Operator’s PushSecret and its deletion (KV v2 store)', () => {
  // pkg/provider/vault/client_push.go: read the secret (404 is "not there yet"), label the
  // metadata `managed-by: external-secrets` before the first version exists, write the data; on
  // the next push, read the label back from `custom_metadata` (a map of strings, asserted so).
  const data = '/v1/secret/data/eso/db';
  const meta = '/v1/secret/metadata/eso/db';
  const label = { custom_metadata: { 'managed-by': 'external-secrets' } };

  it('pushes a new secret, pushes it again as its manager, then deletes data and metadata', async () => {
    expect(await goRequest(port, 'GET', data, { token })).toMatchObject({
      status: 404,
      json: { errors: [] },
    });
    expect((await goRequest(port, 'PUT', meta, { token, body: label })).status).toBe(204);
    // Labelled, but no version yet: still "no secret" to the client.
    expect(await goRequest(port, 'GET', data, { token })).toMatchObject({
      status: 404,
      json: { errors: [] },
    });
    const first = await goRequest(port, 'PUT', data, { token, body: { data: { password: value('push1') } } });
    expect(first.status).toBe(200);
    expectVersionMetadata(dataOf(first), 1);

    expect((await goRequest(port, 'GET', data, { token })).status).toBe(200);
    const md = await goRequest(port, 'GET', meta, { token });
    expect(dataOf(md)['custom_metadata']).toEqual({ 'managed-by': 'external-secrets' });
    expect((await goRequest(port, 'PUT', meta, { token, body: label })).status).toBe(204);
    const second = await goRequest(port, 'PUT', data, {
      token,
      body: { data: { password: value('push2') } },
    });
    expectVersionMetadata(dataOf(second), 2);
    expect((dataOf(second)['custom_metadata'] as Record<string, string>)['managed-by']).toBe(
      'external-secrets',
    );

    expect((await goRequest(port, 'DELETE', data, { token })).status).toBe(204);
    expect((await goRequest(port, 'DELETE', meta, { token })).status).toBe(204);
    expect(await goRequest(port, 'GET', meta, { token })).toMatchObject({
      status: 404,
      json: { errors: [] },
    });
  });
});
