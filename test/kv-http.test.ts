import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { MAX_DATA_DEPTH } from '../src/secrets/index.js';
import type { createMemoryStore } from '../src/store/index.js';
import { readEntries, recordSecrets } from './helpers/audit.js';
import { ADMIN_TOKEN, NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';

/*
 * KV v2 end to end: the app exactly as `authgate server` composes it (ACL hook, policies from the
 * config, tokens from Kubernetes logins, the default audit device), driven through `inject`.
 */

const clock = createFakeClock(Date.UTC(2026, 6, 1));
const CAPS = ['create', 'read', 'update', 'patch', 'delete', 'list'] as const;
type Cap = (typeof CAPS)[number];

const POLICIES = {
  // The headline: one policy gives every namespace its own secrets, and nobody else's.
  'ns-secrets': {
    path: {
      'secret/data/{{identity.namespace}}/*': { capabilities: ['read'] },
      'secret/metadata/{{identity.namespace}}/*': { capabilities: ['list'] },
      'secret/data/{{identity.namespace}}/restricted/*': { capabilities: ['deny'] },
    },
  },
  'create-only': {
    path: {
      'secret/data/cu/*': { capabilities: ['create'] },
      'secret/metadata/cu/*': { capabilities: ['create'] },
    },
  },
  'update-only': {
    path: {
      'secret/data/cu/*': { capabilities: ['update'] },
      'secret/metadata/cu/*': { capabilities: ['update'] },
    },
  },
  // An exact grant next to a denied subtree: a non-list request for `fenced/` is in the subtree.
  fenced: {
    path: {
      'secret/metadata/fenced': { capabilities: ['create', 'update', 'delete', 'list'] },
      'secret/metadata/fenced/*': { capabilities: ['deny'] },
    },
  },
  ...Object.fromEntries(
    CAPS.flatMap((c) => [
      [`only-${c}`, { path: { 'secret/*': { capabilities: [c] } } }],
      [`all-but-${c}`, { path: { 'secret/*': { capabilities: CAPS.filter((x) => x !== c) } } }],
    ]),
  ),
};

const role = (policies: string[], extra: Record<string, unknown> = {}) => ({
  ...NGINX_ROLE,
  token_policies: policies,
  ...extra,
});
const ROLES = {
  workloads: {
    ...role(['ns-secrets']),
    bound_service_account_names: ['app'],
    bound_service_account_namespaces: ['team-a', 'team-b'],
  },
  once: role(['ns-secrets'], { token_num_uses: 2 }),
  ...Object.fromEntries(
    ['create-only', 'update-only', 'fenced', ...CAPS.flatMap((c) => [`only-${c}`, `all-but-${c}`])].map(
      (p) => [p, role([p])],
    ),
  ),
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    clock,
    roles: ROLES,
    config: { policies: POLICIES, secrets: { kv: { secret: {}, 'team/kv': {} } } },
  });
  for (const namespace of ['team-a', 'team-b'])
    h.cluster.createPod({ namespace, name: 'app', serviceAccount: 'app' });
});
afterAll(async () => {
  await h?.close();
});

/** A distinctive secret value (one run of token characters, as the audit scan reads lines), recorded for it. */
const secret = (label: string): string => {
  const value = `kvsecret-${label}-${randomBytes(8).toString('hex')}`;
  recordSecrets(value);
  return value;
};

const tokenFor = async (roleName: string, namespace = 'test', sa = 'nginx', pod = 'nginx') => {
  const jwt = await h.podToken({ namespace, serviceAccount: sa, pod });
  const res = await h.login('kubernetes', { role: roleName, jwt });
  expect(res.status).toBe(200);
  return (res.json['auth'] as { client_token: string }).client_token;
};

type Options = {
  token?: string | undefined;
  body?: unknown;
  type?: string;
  headers?: Record<string, string>;
};
const call = async (method: string, url: string, o: Options = {}) => {
  const payload =
    o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
  const res = await h.server.app.inject({
    method: method as 'GET',
    url,
    headers: {
      ...(o.token === undefined ? {} : { 'x-vault-token': o.token }),
      ...(payload === undefined ? {} : { 'content-type': o.type ?? 'application/json' }),
      ...o.headers,
    },
    ...(payload === undefined ? {} : { payload }),
  });
  return {
    status: res.statusCode,
    json: res.body === '' ? undefined : (res.json() as Record<string, unknown> & { errors?: unknown[] }),
  };
};
const MERGE = 'application/merge-patch+json';
const admin = (method: string, url: string, body?: unknown, type?: string) =>
  call(method, url, { token: ADMIN_TOKEN, body, ...(type === undefined ? {} : { type }) });
const dataOf = async (url: string) => (await admin('GET', url)).json?.['data'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Vault's response envelope around `data`, as Vault answers KV v2 requests. */
const envelope = (data: unknown, mountType = 'kv') => ({
  request_id: expect.stringMatching(UUID),
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data,
  wrap_info: null,
  warnings: null,
  auth: null,
  mount_type: mountType,
});
/** A time as Vault prints it (RFC 3339, no fraction when whole seconds). */
const time = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
/** Vault's metadata of one version, as `data/` answers it. */
const version = (n: number, createdMs: number, extra: Record<string, unknown> = {}) => ({
  created_time: time(createdMs),
  custom_metadata: null,
  deletion_time: '',
  destroyed: false,
  version: n,
  ...extra,
});
const DENIED = { status: 403, json: { errors: ['permission denied'] } };
const NOT_FOUND = { status: 404, json: { errors: [] } };
const NO_CONTENT = { status: 204, json: undefined };

describe('every KV v2 endpoint with the admin token, in Vault’s shapes', () => {
  it('writes, reads versions, refuses a stale cas, patches, lists, reads metadata and subkeys', async () => {
    const t0 = clock.nowMs();
    const [v1, v2, extra] = [secret('v1'), secret('v2'), secret('extra')];
    const url = '/v1/secret/data/shape/db';
    expect(await admin('POST', url, { data: { password: v1 }, options: { cas: 0 } })).toEqual({
      status: 200,
      json: envelope(version(1, t0)),
    });
    clock.advanceSeconds(1);
    expect(await admin('PUT', url, { data: { password: v2 }, options: { cas: 1 } })).toEqual({
      status: 200,
      json: envelope(version(2, t0 + 1000)),
    });
    expect(await admin('GET', url)).toEqual({
      status: 200,
      json: envelope({ data: { password: v2 }, metadata: version(2, t0 + 1000) }),
    });
    expect(await admin('GET', `${url}?version=1`)).toEqual({
      status: 200,
      json: envelope({ data: { password: v1 }, metadata: version(1, t0) }),
    });
    expect(await admin('GET', `${url}?version=7`)).toEqual(NOT_FOUND);
    expect(await admin('POST', url, { data: { password: 'x' }, options: { cas: 1 } })).toEqual({
      status: 400,
      json: { errors: ['check-and-set parameter did not match the current version'] },
    });
    clock.advanceSeconds(1);
    expect(await admin('PATCH', url, { data: { extra, gone: null } }, MERGE)).toEqual({
      status: 200,
      json: envelope(version(3, t0 + 2000)),
    });
    expect(await dataOf(url)).toEqual({ data: { password: v2, extra }, metadata: version(3, t0 + 2000) });
    expect(await admin('PATCH', url, { data: {} }, 'application/json')).toEqual({
      status: 415,
      json: {
        errors: ['PATCH requires Content-Type of application/merge-patch+json, provided application/json'],
      },
    });
    await admin('POST', '/v1/secret/data/shape/sub/one', { data: { a: secret('sub') } });
    expect(await admin('GET', '/v1/secret/metadata/shape/?list=true')).toEqual({
      status: 200,
      json: envelope({ keys: ['db', 'sub/'] }),
    });
    expect(await dataOf('/v1/secret/metadata/shape?list=true')).toEqual({ keys: ['db', 'sub/'] });
    expect(await dataOf('/v1/secret/metadata?list=true')).toEqual({
      keys: expect.arrayContaining(['shape/']),
    });
    expect(await admin('GET', '/v1/secret/metadata/shape/db')).toEqual({
      status: 200,
      json: envelope({
        cas_required: false,
        created_time: time(t0),
        current_version: 3,
        custom_metadata: null,
        delete_version_after: '0s',
        max_versions: 0,
        oldest_version: 0,
        updated_time: time(t0 + 2000),
        versions: Object.fromEntries(
          [0, 1, 2].map((s) => [
            String(s + 1),
            { created_time: time(t0 + s * 1000), deletion_time: '', destroyed: false },
          ]),
        ),
      }),
    });
    expect(await admin('GET', '/v1/secret/subkeys/shape/db')).toEqual({
      status: 200,
      json: envelope({ subkeys: { password: null, extra: null }, metadata: version(3, t0 + 2000) }),
    });
  });

  it('soft-deletes, undeletes, destroys, and writes, patches and deletes metadata', async () => {
    const t0 = clock.nowMs();
    const url = '/v1/secret/data/life/s';
    for (const label of ['a', 'b', 'c']) await admin('POST', url, { data: { v: secret(label) } });
    expect(await admin('DELETE', url)).toEqual(NO_CONTENT);
    // Vault's 404 for a deleted version: its metadata, in an envelope without mount type.
    expect(await admin('GET', url)).toEqual({
      status: 404,
      json: envelope({ data: null, metadata: version(3, t0, { deletion_time: time(t0) }) }, ''),
    });
    expect(await admin('POST', '/v1/secret/undelete/life/s', { versions: [3] })).toEqual(NO_CONTENT);
    expect((await admin('GET', url)).status).toBe(200);
    expect(await admin('PUT', '/v1/secret/delete/life/s', { versions: [1, 2] })).toEqual(NO_CONTENT);
    expect((await admin('GET', `${url}?version=1`)).status).toBe(404);
    expect(await admin('POST', '/v1/secret/destroy/life/s', { versions: '2,3' })).toEqual(NO_CONTENT);
    expect(await admin('GET', url)).toEqual({
      status: 404,
      json: envelope({ data: null, metadata: version(3, t0, { destroyed: true }) }, ''),
    });
    // A destroyed version stays destroyed.
    await admin('POST', '/v1/secret/undelete/life/s', { versions: [2, 3] });
    expect((await admin('GET', `${url}?version=2`)).status).toBe(404);
    const meta = { max_versions: 5, custom_metadata: { owner: 'team-life' } };
    expect(await admin('POST', '/v1/secret/metadata/life/s', meta)).toEqual(NO_CONTENT);
    const patch = { custom_metadata: { tier: 'gold' } };
    expect(await admin('PATCH', '/v1/secret/metadata/life/s', patch, MERGE)).toEqual(NO_CONTENT);
    expect(await dataOf('/v1/secret/metadata/life/s')).toMatchObject({
      max_versions: 5,
      custom_metadata: { owner: 'team-life', tier: 'gold' },
      versions: { '1': { destroyed: false }, '2': { destroyed: true }, '3': { destroyed: true } },
    });
    expect(await dataOf(`${url}?version=1`)).toMatchObject({
      metadata: { custom_metadata: { owner: 'team-life', tier: 'gold' } },
    });
    expect(await admin('DELETE', '/v1/secret/metadata/life/s')).toEqual(NO_CONTENT);
    expect(await admin('GET', '/v1/secret/metadata/life/s')).toEqual(NOT_FOUND);
    expect(await admin('GET', url)).toEqual(NOT_FOUND);
    expect(await admin('GET', '/v1/secret/metadata/life/?list=true')).toEqual(NOT_FOUND);
  });

  it('reads and writes the mount’s config: cas required, versions kept, versions deleted after a while', async () => {
    const body = { cas_required: true, delete_version_after: '10m', max_versions: 0 };
    expect(await admin('POST', '/v1/secret/config', body)).toEqual(NO_CONTENT);
    expect(await admin('GET', '/v1/secret/config')).toEqual({
      status: 200,
      json: envelope({ cas_required: true, delete_version_after: '10m0s', max_versions: 0 }),
    });
    const url = '/v1/secret/data/cfg/s';
    expect(await admin('POST', url, { data: { a: 'b' } })).toEqual({
      status: 400,
      json: { errors: ['check-and-set parameter required for this call'] },
    });
    // Each secret keeps the larger of its own max_versions and the mount's (10 when both are 0).
    await admin('POST', '/v1/secret/metadata/cfg/s', { max_versions: 2 });
    for (const cas of [0, 1, 2])
      expect((await admin('POST', url, { data: { cas }, options: { cas } })).status).toBe(200);
    expect(await dataOf('/v1/secret/metadata/cfg/s')).toMatchObject({
      oldest_version: 2,
      current_version: 3,
    });
    expect(await admin('GET', `${url}?version=1`)).toEqual(NOT_FOUND);
    clock.advanceSeconds(600);
    expect(await admin('GET', url)).toMatchObject({
      status: 404,
      json: { data: { data: null, metadata: { version: 3, deletion_time: time(clock.nowMs()) } } },
    });
    await admin('POST', '/v1/secret/config', { cas_required: false, delete_version_after: '0s' });
    expect(await dataOf('/v1/secret/config')).toMatchObject({
      cas_required: false,
      delete_version_after: '0s',
    });
  });

  it('keeps each mount to itself', async () => {
    const value = secret('team-kv');
    await admin('POST', '/v1/team/kv/data/app/s', { data: { v: value } });
    expect(await dataOf('/v1/team/kv/data/app/s')).toMatchObject({ data: { v: value } });
    expect(await admin('GET', '/v1/secret/data/app/s')).toEqual(NOT_FOUND);
    expect(await dataOf('/v1/team/kv/metadata?list=true')).toEqual({ keys: ['app/'] });
    // A grant on `secret/*` says nothing about `team/kv/`.
    const token = await tokenFor('only-read');
    expect(await call('GET', '/v1/team/kv/data/app/s', { token })).toEqual(DENIED);
    // What the vault CLI asks first: a mount is named only to a token with a grant under it.
    expect(await admin('GET', '/v1/sys/internal/ui/mounts/team/kv/app/s')).toMatchObject({
      status: 200,
      json: { data: { type: 'kv', path: 'team/kv/', options: { version: '2' } } },
    });
    expect(await call('GET', '/v1/sys/internal/ui/mounts/secret/app/s', { token })).toMatchObject({
      status: 200,
      json: { data: { type: 'kv', path: 'secret/' } },
    });
    for (const who of [{ token }, {}])
      expect((await call('GET', '/v1/sys/internal/ui/mounts/team/kv/app/s', who)).status).toBe(403);
  });
});

type Row = {
  name: string;
  method: string;
  url: (path: string) => string;
  body?: unknown;
  type?: string;
  cap: Cap;
  ok: number;
  /** The target must not exist yet (a create). */
  fresh?: boolean;
};
const write = { data: { n: 1 } };
const ROWS: Row[] = [
  { name: 'read', method: 'GET', url: (p) => `/v1/secret/data/${p}`, cap: 'read', ok: 200 },
  {
    name: 'read a version',
    method: 'GET',
    url: (p) => `/v1/secret/data/${p}?version=1`,
    cap: 'read',
    ok: 200,
  },
  { name: 'subkeys', method: 'GET', url: (p) => `/v1/secret/subkeys/${p}`, cap: 'read', ok: 200 },
  {
    name: 'overwrite',
    method: 'POST',
    url: (p) => `/v1/secret/data/${p}`,
    body: write,
    cap: 'update',
    ok: 200,
  },
  {
    name: 'create',
    method: 'PUT',
    url: (p) => `/v1/secret/data/${p}`,
    body: write,
    cap: 'create',
    ok: 200,
    fresh: true,
  },
  {
    name: 'patch',
    method: 'PATCH',
    url: (p) => `/v1/secret/data/${p}`,
    body: write,
    type: MERGE,
    cap: 'patch',
    ok: 200,
  },
  { name: 'delete latest', method: 'DELETE', url: (p) => `/v1/secret/data/${p}`, cap: 'delete', ok: 204 },
  ...(['delete', 'undelete', 'destroy'] as const).map((op): Row => ({
    name: op,
    method: 'POST',
    url: (p) => `/v1/secret/${op}/${p}`,
    body: { versions: [1] },
    cap: 'update',
    ok: 204,
  })),
  { name: 'read metadata', method: 'GET', url: (p) => `/v1/secret/metadata/${p}`, cap: 'read', ok: 200 },
  {
    name: 'list a folder',
    method: 'GET',
    url: (p) => `/v1/secret/metadata/${p.split('/')[0]}?list=true`,
    cap: 'list',
    ok: 200,
  },
  { name: 'list the root', method: 'GET', url: () => '/v1/secret/metadata/?list=1', cap: 'list', ok: 200 },
  {
    name: 'write metadata',
    method: 'POST',
    url: (p) => `/v1/secret/metadata/${p}`,
    body: { max_versions: 4 },
    cap: 'update',
    ok: 204,
  },
  {
    name: 'create metadata',
    method: 'POST',
    url: (p) => `/v1/secret/metadata/${p}`,
    body: { max_versions: 4 },
    cap: 'create',
    ok: 204,
    fresh: true,
  },
  {
    name: 'patch metadata',
    method: 'PATCH',
    url: (p) => `/v1/secret/metadata/${p}`,
    body: { max_versions: 4 },
    type: MERGE,
    cap: 'patch',
    ok: 204,
  },
  {
    name: 'delete metadata',
    method: 'DELETE',
    url: (p) => `/v1/secret/metadata/${p}`,
    cap: 'delete',
    ok: 204,
  },
  { name: 'read config', method: 'GET', url: () => '/v1/secret/config', cap: 'read', ok: 200 },
  {
    name: 'write config',
    method: 'POST',
    url: () => '/v1/secret/config',
    body: { max_versions: 0 },
    cap: 'update',
    ok: 204,
  },
];

describe('workload tokens: each endpoint needs exactly its capability', () => {
  const tokens = new Map<string, string>();
  beforeAll(async () => {
    for (const c of CAPS) {
      tokens.set(`only-${c}`, await tokenFor(`only-${c}`));
      tokens.set(`all-but-${c}`, await tokenFor(`all-but-${c}`));
    }
  });
  const state = async (p: string) => ({
    meta: await dataOf(`/v1/secret/metadata/${p}`),
    data: await dataOf(`/v1/secret/data/${p}?version=1`),
    config: await dataOf('/v1/secret/config'),
  });

  it.each(ROWS)('$name: refused with every capability but $cap, which allows it', async (row) => {
    const p = `acl-${row.name.replace(/ /g, '-')}/s`;
    if (row.fresh !== true) {
      await admin('POST', `/v1/secret/data/${p}`, { data: { v: secret('acl') } });
      await admin('POST', `/v1/secret/data/${p}`, { data: { v: secret('acl') } });
    }
    const before = await state(p);
    const request = { body: row.body, ...(row.type === undefined ? {} : { type: row.type }) };
    const refused = await call(row.method, row.url(p), {
      ...request,
      token: tokens.get(`all-but-${row.cap}`),
    });
    expect(refused).toEqual(DENIED);
    // A refused request changes nothing.
    expect(await state(p)).toEqual(before);
    const allowed = await call(row.method, row.url(p), { ...request, token: tokens.get(`only-${row.cap}`) });
    expect(allowed.status).toBe(row.ok);
  });

  it('lets a create-only policy write a new secret but not overwrite it; update-only the reverse', async () => {
    const creator = await tokenFor('create-only');
    const updater = await tokenFor('update-only');
    const [first, second] = [secret('first'), secret('second')];
    const post = (token: string, url: string, body: unknown) => call('POST', url, { token, body });
    expect(await post(updater, '/v1/secret/data/cu/new', { data: { v: first } })).toEqual(DENIED);
    expect(await admin('GET', '/v1/secret/metadata/cu/new')).toEqual(NOT_FOUND);
    expect((await post(creator, '/v1/secret/data/cu/new', { data: { v: first } })).status).toBe(200);
    expect(await post(creator, '/v1/secret/data/cu/new', { data: { v: second } })).toEqual(DENIED);
    expect(await dataOf('/v1/secret/data/cu/new')).toMatchObject({ data: { v: first } });
    expect((await post(updater, '/v1/secret/data/cu/new', { data: { v: second } })).status).toBe(200);
    expect(await dataOf('/v1/secret/data/cu/new')).toMatchObject({
      data: { v: second },
      metadata: { version: 2 },
    });
    // Metadata too; and a secret with metadata but no version exists for data writes.
    expect(await post(updater, '/v1/secret/metadata/cu/meta', { max_versions: 2 })).toEqual(DENIED);
    expect((await post(creator, '/v1/secret/metadata/cu/meta', { max_versions: 2 })).status).toBe(204);
    expect(await post(creator, '/v1/secret/data/cu/meta', { data: { v: first } })).toEqual(DENIED);
    expect((await post(updater, '/v1/secret/metadata/cu/meta', { max_versions: 3 })).status).toBe(204);
    // Once its metadata is deleted, the secret is new again.
    await admin('DELETE', '/v1/secret/metadata/cu/new');
    expect(await post(updater, '/v1/secret/data/cu/new', { data: { v: first } })).toEqual(DENIED);
    expect((await post(creator, '/v1/secret/data/cu/new', { data: { v: first } })).status).toBe(200);
  });

  it('lets only one of several concurrent create-only writes of a new secret through (write-once)', async () => {
    const creator = await tokenFor('create-only');
    const values = Array.from({ length: 5 }, (_, i) => secret(`race-${i}`));
    const answers = await Promise.all(
      values.map((v) => call('POST', '/v1/secret/data/cu/race', { token: creator, body: { data: { v } } })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 403, 403, 403, 403]);
    expect(await dataOf('/v1/secret/data/cu/race')).toMatchObject({ metadata: { version: 1 } });
    // A cas naming a version could only match by overwriting.
    expect(
      (
        await call('POST', '/v1/secret/data/cu/race2', {
          token: creator,
          body: { options: { cas: 3 }, data: { v: 1 } },
        })
      ).status,
    ).toBe(400);
  });
});

describe('one templated policy for two namespaces', () => {
  const values = { 'team-a': '', 'team-b': '' };
  const tokens = { 'team-a': '', 'team-b': '' };
  beforeAll(async () => {
    for (const ns of ['team-a', 'team-b'] as const) {
      values[ns] = secret(ns);
      await admin('POST', `/v1/secret/data/${ns}/db`, { data: { password: values[ns] } });
      tokens[ns] = await tokenFor('workloads', ns, 'app', 'app');
    }
  });

  it.each([
    ['team-a', 'team-b'],
    ['team-b', 'team-a'],
  ] as const)('lets %s read and list its own secrets, and refuses it %s’s', async (own, other) => {
    const token = tokens[own];
    expect(await call('GET', `/v1/secret/data/${own}/db`, { token })).toEqual({
      status: 200,
      json: envelope({ data: { password: values[own] }, metadata: expect.objectContaining({ version: 1 }) }),
    });
    expect(await call('GET', `/v1/secret/metadata/${own}/?list=true`, { token })).toMatchObject({
      status: 200,
      json: { data: { keys: ['db'] } },
    });
    expect(await call('GET', `/v1/secret/data/${other}/db`, { token })).toEqual(DENIED);
    expect(await call('GET', `/v1/secret/data/${other}/db?version=1`, { token })).toEqual(DENIED);
    expect(await call('GET', `/v1/secret/metadata/${other}/?list=true`, { token })).toEqual(DENIED);
    expect(await call('GET', `/v1/secret/subkeys/${other}/db`, { token })).toEqual(DENIED);
    // Read only: no write, no delete, no metadata read, even of its own.
    expect(await call('POST', `/v1/secret/data/${own}/db`, { token, body: { data: { x: 1 } } })).toEqual(
      DENIED,
    );
    expect(await call('DELETE', `/v1/secret/data/${own}/db`, { token })).toEqual(DENIED);
    expect(await call('GET', `/v1/secret/metadata/${own}/db`, { token })).toEqual(DENIED);
  });

  it('lets a deny on a more specific path win over the namespace grant', async () => {
    await admin('POST', '/v1/secret/data/team-a/restricted/root-ca', { data: { key: secret('restricted') } });
    const token = tokens['team-a'];
    expect(await call('GET', '/v1/secret/data/team-a/restricted/root-ca', { token })).toEqual(DENIED);
    expect(await call('GET', '/v1/secret/data/team-a/restricte%64/root-ca', { token })).toEqual(DENIED);
    expect((await call('GET', '/v1/secret/data/team-a/db', { token })).status).toBe(200);
  });

  it('does not extend an exact grant to a path with a trailing slash unless the request lists', async () => {
    const token = await tokenFor('fenced');
    await admin('POST', '/v1/secret/data/fenced/x', { data: { v: secret('fenced') } });
    expect(await call('DELETE', '/v1/secret/metadata/fenced/', { token })).toEqual(DENIED);
    expect(await call('POST', '/v1/secret/metadata/fenced/', { token, body: { max_versions: 1 } })).toEqual(
      DENIED,
    );
    expect(await call('GET', '/v1/secret/metadata/fenced?list=true', { token })).toMatchObject({
      status: 200,
      json: { data: { keys: ['x'] } },
    });
  });

  it.each([
    '/v1/secret/data/team-a/../team-b/db',
    '/v1/secret/data/team-a/%2e%2e/team-b/db',
    '/v1/secret/data/team-a%2F..%2Fteam-b%2Fdb',
    '/v1/secret/data/team-a/./../team-b/db',
    '/v1/secret/data//team-b/db',
    '/v1/secret/data/team-b/db;/team-a/x',
    '/v1/secret/data/team-b/db?x=/secret/data/team-a/db',
  ])('never gives team-a team-b’s secret through %s', async (url) => {
    const res = await call('GET', url, { token: tokens['team-a'] });
    expect([400, 403, 404]).toContain(res.status);
    expect(JSON.stringify(res.json)).not.toContain(values['team-b']);
  });

  it.each([
    ['no token', {}],
    ['an empty token', { 'x-vault-token': '' }],
    ['an unknown token', { 'x-vault-token': 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }],
    ['a string that is no token', { 'x-vault-token': 'not-a-token' }],
    ['an unknown bearer token', { authorization: 'Bearer ags.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' }],
  ])('refuses %s with 403 on every endpoint, before reading the body', async (_name, headers) => {
    for (const [method, url, body] of [
      ['GET', '/v1/secret/data/team-a/db', undefined],
      ['GET', '/v1/secret/metadata/team-a/?list=true', undefined],
      ['POST', '/v1/secret/data/team-a/db', { data: { x: 1 } }],
      ['POST', '/v1/secret/data/team-a/db', '{"data":'],
      ['PATCH', '/v1/secret/data/team-a/db', { data: { x: 1 } }],
      ['DELETE', '/v1/secret/metadata/team-a/db', undefined],
      ['POST', '/v1/secret/destroy/team-a/db', { versions: [1] }],
      ['GET', '/v1/secret/config', undefined],
    ] as const) {
      expect(await call(method, url, { headers, body, type: MERGE })).toEqual(DENIED);
    }
    expect(await dataOf('/v1/secret/data/team-a/db')).toMatchObject({ metadata: { version: 1 } });
  });

  it('counts no use of a use-limited token for a request the ACL refuses', async () => {
    const token = await tokenFor('once');
    await admin('POST', '/v1/secret/data/test/app', { data: { v: secret('once') } });
    for (let i = 0; i < 3; i++) {
      expect(await call('GET', '/v1/secret/data/team-b/db', { token })).toEqual(DENIED);
      expect(await call('POST', '/v1/secret/data/test/app', { token, body: { data: { v: 1 } } })).toEqual(
        DENIED,
      );
    }
    expect((await call('GET', '/v1/secret/data/test/app', { token })).status).toBe(200);
    expect((await call('GET', '/v1/secret/data/test/app', { token })).status).toBe(200);
    // Both uses spent: the token is gone.
    expect(await call('GET', '/v1/secret/data/test/app', { token })).toEqual(DENIED);
  });
});

const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
type Bad = [label: string, method: string, url: string, body: unknown, type?: string];
const cases = (method: string, url: string, list: Array<[string, unknown]>, prefix = '', type?: string) =>
  list.map(([label, body]): Bad =>
    type === undefined
      ? [`${prefix}${label}`, method, url, body]
      : [`${prefix}${label}`, method, url, body, type],
  );
const VERSION_BODIES: Array<[string, unknown]> = [
  ['no versions', {}],
  ['versions a word', { versions: 'abc' }],
  ['a word in versions', { versions: ['x'] }],
  ['a fraction in versions', { versions: [1.5] }],
  ['a list in versions', { versions: [[1]] }],
  ['versions an object', { versions: {} }],
  ['versions empty', { versions: [] }],
  ['a huge number in versions', { versions: [1e300] }],
  ['a body that is a list', '[1]'],
  ['truncated JSON', '{"versions":'],
  ['a huge list ending with a word', { versions: [...Array.from({ length: 50_000 }, (_, i) => i + 1), 'x'] }],
];
/** Each must be a 400 with one message, and change nothing. */
const BAD: Bad[] = [
  ...cases('POST', '/v1/secret/data/bad/s', [
    ['data a string', { data: 'x' }],
    ['data an array', { data: [1, 2] }],
    ['data a number', { data: 5 }],
    ['data a boolean', { data: true }],
    ['no data', {}],
    ['a body that is an array', '[1,2]'],
    ['a body that is a string', '"str"'],
    ['a body that is a number', '42'],
    ['truncated JSON', '{"data":'],
    ['a form body', 'data=x'],
    ['trailing garbage', '{"data":{}}}'],
    ['options a string', { data: {}, options: 'x' }],
    ['options an array', { data: {}, options: [1] }],
    ['data nested too deep', `{"data":${nested(MAX_DATA_DEPTH + 1)}}`],
    ['data nested far too deep', `{"data":${nested(50_000)}}`],
    ...['x', 1.5, {}, [1], 1e300, '99999999999999999999', '1e3'].map((cas): [string, unknown] => [
      `cas ${JSON.stringify(cas)}`,
      { data: {}, options: { cas } },
    ]),
  ]),
  ...cases(
    'PATCH',
    '/v1/secret/data/bad/s',
    [
      ['data a string', { data: 'x' }],
      ['cas a string', { data: {}, options: { cas: 'x' } }],
      ['truncated JSON', '{"data":'],
      ['data nested too deep', `{"data":${nested(5000)}}`],
    ],
    'patch: ',
    MERGE,
  ),
  ['patch: no content type', 'PATCH', '/v1/secret/data/bad/s', { data: {} }, ''],
  ...['abc', '1.5', '1e3', '99999999999999999999', '0x1'].map((v): Bad => [
    `version ${v}`,
    'GET',
    `/v1/secret/data/bad/s?version=${v}`,
    undefined,
  ]),
  ['subkeys depth a word', 'GET', '/v1/secret/subkeys/bad/s?depth=deep', undefined],
  ...['delete', 'undelete', 'destroy'].flatMap((op) =>
    cases('POST', `/v1/secret/${op}/bad/s`, VERSION_BODIES, `${op}: `),
  ),
  ...cases(
    'POST',
    '/v1/secret/metadata/bad/s',
    [
      ['max_versions a word', { max_versions: 'x' }],
      ['max_versions negative', { max_versions: -1 }],
      ['max_versions too large', { max_versions: 2 ** 40 }],
      ['cas_required a word', { cas_required: 'maybe' }],
      ['delete_version_after a word', { delete_version_after: 'soon' }],
      ['delete_version_after negative', { delete_version_after: '-1h' }],
      ['delete_version_after beyond a Go duration', { delete_version_after: '2562048h' }],
      ['delete_version_after a huge number', { delete_version_after: Number.MAX_SAFE_INTEGER }],
      ['custom_metadata a string', { custom_metadata: 'x' }],
      ['custom_metadata nested', { custom_metadata: { k: { nested: 1 } } }],
      [
        '65 custom keys',
        { custom_metadata: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) },
      ],
      ['a custom value too long', { custom_metadata: { k: 'v'.repeat(513) } }],
      ['a body that is a list', '[]'],
    ],
    'metadata: ',
  ),
  ...cases(
    'PATCH',
    '/v1/secret/metadata/bad/s',
    [
      ['max_versions a word', { max_versions: 'x' }],
      ['delete_version_after a huge duration', { delete_version_after: '9999999999h' }],
    ],
    'metadata patch: ',
    MERGE,
  ),
  ...cases(
    'POST',
    '/v1/secret/config',
    [
      ['max_versions a word', { max_versions: 'x' }],
      ['delete_version_after a word', { delete_version_after: 'soon' }],
      ['delete_version_after a huge number', { delete_version_after: Number.MAX_SAFE_INTEGER }],
      ['a body that is a string', '"x"'],
    ],
    'config: ',
  ),
];

describe('bad input', () => {
  beforeAll(async () => {
    await admin('POST', '/v1/secret/data/bad/s', { data: { a: secret('bad') } });
  });
  const snapshot = async () => ({
    meta: await dataOf('/v1/secret/metadata/bad/s'),
    config: await dataOf('/v1/secret/config'),
  });

  it.each(BAD)('%s: 400 with Vault’s errors, changing nothing', async (_label, method, url, body, type) => {
    const before = await snapshot();
    const res = await call(method, url, {
      token: ADMIN_TOKEN,
      body,
      ...(type === undefined ? {} : { type }),
    });
    expect(res).toEqual({ status: 400, json: { errors: [expect.any(String)] } });
    expect(await snapshot()).toEqual(before);
  });

  it('answers a bad list flag with Vault’s bare 400', async () => {
    expect(await admin('GET', '/v1/secret/metadata/bad/?list=maybe')).toEqual({
      status: 400,
      json: { errors: [] },
    });
  });

  it('answers a malformed URL with 400', async () => {
    expect(await admin('GET', '/v1/secret/data/bad/s%ZZ')).toEqual({
      status: 400,
      json: { errors: ['invalid request path: malformed percent-encoding'] },
    });
  });

  it('takes a huge list of versions in one request, and refuses one over the body limit with 413', async () => {
    const versions = Array.from({ length: 100_000 }, (_, i) => i + 1);
    expect(await admin('POST', '/v1/secret/delete/bad/s', { versions })).toEqual(NO_CONTENT);
    expect(await admin('POST', '/v1/secret/undelete/bad/s', { versions: versions.join(',') })).toEqual(
      NO_CONTENT,
    );
    expect((await admin('GET', '/v1/secret/data/bad/s')).status).toBe(200);
    const tooBig = { versions: Array.from({ length: 200_000 }, (_, i) => i + 1) };
    expect(await admin('POST', '/v1/secret/destroy/bad/s', tooBig)).toEqual({
      status: 413,
      json: { errors: ['request body too large'] },
    });
  });

  it('takes data nested as deep as allowed, and __proto__ as an ordinary key', async () => {
    const url = '/v1/secret/data/odd/deep';
    expect((await admin('POST', url, `{"data":${nested(MAX_DATA_DEPTH)}}`)).status).toBe(200);
    expect((await admin('PATCH', url, `{"data":${nested(MAX_DATA_DEPTH)}}`, MERGE)).status).toBe(200);
    expect((await admin('GET', url)).status).toBe(200);
    expect((await admin('GET', '/v1/secret/subkeys/odd/deep')).status).toBe(200);
    await admin('POST', '/v1/secret/data/odd/proto', '{"data":{"__proto__":{"polluted":"yes"}}}');
    expect((await admin('GET', '/v1/secret/data/odd/proto')).json?.['data']).toMatchObject({
      data: JSON.parse('{"__proto__":{"polluted":"yes"}}') as unknown,
    });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('never answers 500 to odd bodies on any endpoint', async () => {
    const bodies = [
      'null',
      '[]',
      '{}',
      '""',
      '0',
      'true',
      '{"__proto__":{"x":1}}',
      '{"data":{"__proto__":1}}',
    ];
    const paths = [
      'data/odd/s',
      'metadata/odd/s',
      'delete/odd/s',
      'undelete/odd/s',
      'destroy/odd/s',
      'config',
      'subkeys/odd/s',
      'odd',
      '',
    ];
    for (const path of paths) {
      for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'GET']) {
        for (const body of method === 'GET' || method === 'DELETE' ? [undefined] : bodies) {
          const res = await call(method, `/v1/secret/${path}`, { token: ADMIN_TOKEN, body, type: MERGE });
          expect(res.status, `${method} ${path} ${String(body)}`).toBeLessThan(500);
        }
      }
    }
    expect(Object.prototype).not.toHaveProperty('x');
  });
});

describe('secrets at rest and in the audit log', () => {
  it('keeps no secret value, nor a key of it, in plaintext in the store', async () => {
    const value = secret('rest');
    const patched = secret('rest-patch');
    const field = `field_${randomBytes(6).toString('hex')}`;
    await admin('POST', '/v1/secret/data/rest/s', { data: { [field]: value, nested: { deep: value } } });
    await admin('PATCH', '/v1/secret/data/rest/s', { data: { other: patched } }, MERGE);
    const entries = (h.server.store as ReturnType<typeof createMemoryStore>).entries();
    expect(entries.filter(([k]) => k.includes('rest/s')).length).toBeGreaterThan(2);
    const needles = [value, patched, field].flatMap((s) => [
      s,
      Buffer.from(s).toString('base64'),
      Buffer.from(s).toString('hex'),
    ]);
    for (const [k, v] of entries) for (const n of needles) expect(`${k}\n${v}`).not.toContain(n);
    // And yet both versions read back.
    expect(await dataOf('/v1/secret/data/rest/s?version=1')).toMatchObject({ data: { [field]: value } });
    expect(await dataOf('/v1/secret/data/rest/s')).toMatchObject({
      data: { [field]: value, other: patched },
    });
  });

  it('audits KV requests with every secret value HMAC’d', async () => {
    const value = secret('audit');
    const token = await tokenFor('only-read');
    await admin('POST', '/v1/secret/data/audit/s', { data: { password: value } });
    await call('GET', '/v1/secret/data/audit/s', { token });
    await call('POST', '/v1/secret/data/audit/s', { token, body: { data: { password: value } } });
    const file = h.auditFile as string;
    expect(readFileSync(file, 'utf8')).not.toContain(value);
    const HMAC = expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/);
    const responses = readEntries(file).filter(
      (e) => e.request['path'] === 'secret/data/audit/s' && e.type === 'response',
    );
    expect(responses.map((e) => [e.request['operation'], e.authgate?.status])).toEqual([
      ['update', 200],
      ['read', 200],
      ['update', 403],
    ]);
    for (const e of responses)
      expect(e.request).toMatchObject({ mount_point: 'secret/', mount_type: 'kv', mount_class: 'secret' });
    expect(responses[0]?.request['data']).toEqual({ data: { password: HMAC } });
    expect(responses[1]?.response).toMatchObject({ data: { data: { password: HMAC } } });
    // Refused before its body was read: nothing of it is in the entry.
    expect(responses[2]?.request['data']).toBeUndefined();
    expect(responses[2]).toMatchObject({ error: 'permission denied', authgate: { reason: 'acl_denied' } });
  });
});
