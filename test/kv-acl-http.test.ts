import { beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  call,
  type Cap,
  CAPS,
  dataOf,
  DENIED,
  envelope,
  INVALID,
  MERGE,
  NOT_FOUND,
  secret,
  tokenFor,
  useKvHarness,
} from './helpers/kv-suite.js';

/*
 * KV v2 end to end: each endpoint needs exactly its capability; one templated policy for two namespaces.
 */

useKvHarness();

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

  it('lets only one of several concurrent create-only metadata writes of a new secret through', async () => {
    const creator = await tokenFor('create-only');
    // Each checked absent by the ACL before any of them is written: the engine must check again.
    const answers = await Promise.all(
      [2, 3, 4, 5, 6].map((n) =>
        call('POST', '/v1/secret/metadata/cu/meta-race', { token: creator, body: { max_versions: n } }),
      ),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([204, 403, 403, 403, 403]);
    const winner = [2, 3, 4, 5, 6][answers.findIndex((a) => a.status === 204)];
    expect(await dataOf('/v1/secret/metadata/cu/meta-race')).toMatchObject({ max_versions: winner });
    for (const refused of answers.filter((a) => a.status === 403)) expect(refused).toEqual(DENIED);
  });

  it('checks check-and-set on a create-only write as on any other (Vault checks it on every write)', async () => {
    const creator = await tokenFor('create-only');
    const write = (path: string, body: unknown) =>
      call('POST', `/v1/secret/data/${path}`, { token: creator, body });
    const required = { status: 400, json: { errors: ['check-and-set parameter required for this call'] } };
    const unparsable = { status: 400, json: { errors: ['error parsing check-and-set parameter'] } };
    expect(await write('cu/cas-bad', { options: { cas: 'abc' }, data: { v: 1 } })).toMatchObject(unparsable);
    expect((await admin('POST', '/v1/secret/config', { cas_required: true })).status).toBe(204);
    try {
      expect(await write('cu/cas-req', { data: { v: 1 } })).toMatchObject(required);
      expect(await admin('GET', '/v1/secret/metadata/cu/cas-req')).toEqual(NOT_FOUND);
      expect((await write('cu/cas-req', { options: { cas: 0 }, data: { v: 1 } })).status).toBe(200);
      expect(await write('cu/cas-req', { options: { cas: 1 }, data: { v: 2 } })).toEqual(DENIED);
    } finally {
      expect((await admin('POST', '/v1/secret/config', { cas_required: false })).status).toBe(204);
    }
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

  it('refuses to list a folder whose subtree a more specific rule denies', async () => {
    await admin('POST', '/v1/secret/data/team-a/restricted/root-ca', { data: { key: secret('restricted') } });
    const token = tokens['team-a'];
    for (const url of [
      '/v1/secret/metadata/team-a/restricted/?list=true',
      '/v1/secret/metadata/team-a/restricted?list=true',
    ]) {
      expect(await call('GET', url, { token })).toEqual(DENIED);
    }
    expect(await call('GET', '/v1/secret/metadata/team-a/?list=true', { token })).toMatchObject({
      status: 200,
      json: { data: { keys: expect.arrayContaining(['restricted/']) } },
    });
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

  it('holds a deny on a secret’s exact path when the request names it with a trailing slash', async () => {
    const token = await tokenFor('guarded');
    const value = secret('guarded');
    await admin('POST', '/v1/secret/data/guarded/s', { data: { v: value } });
    for (const [method, url, body] of [
      ['GET', '/v1/secret/metadata/guarded/s/', undefined],
      ['POST', '/v1/secret/metadata/guarded/s/', { max_versions: 1 }],
      ['DELETE', '/v1/secret/metadata/guarded/s/', undefined],
      ['POST', '/v1/secret/delete/guarded/s/', { versions: [1] }],
      ['POST', '/v1/secret/undelete/guarded/s/', { versions: [1] }],
      ['POST', '/v1/secret/destroy/guarded/s/', { versions: [1] }],
      ['GET', '/v1/secret/subkeys/guarded/s/', undefined],
    ] as const) {
      expect(await call(method, url, { token, body })).toEqual(DENIED);
    }
    expect(await call('PATCH', '/v1/secret/metadata/guarded/s/', { token, body: {}, type: MERGE })).toEqual(
      DENIED,
    );
    expect(await dataOf('/v1/secret/data/guarded/s')).toMatchObject({ data: { v: value } });
    // The rest of the mount is the policy's: a sibling, and the folder's list.
    await admin('POST', '/v1/secret/data/guarded/t', { data: { v: 1 } });
    expect(
      await call('POST', '/v1/secret/metadata/guarded/t/', { token, body: { max_versions: 1 } }),
    ).toEqual({
      status: 204,
      json: undefined,
    });
    expect(await call('GET', '/v1/secret/metadata/guarded/?list=true', { token })).toMatchObject({
      status: 200,
      json: { data: { keys: ['s', 't'] } },
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
    const token = tokens['team-a'];
    const res = await call('GET', url, { token });
    expect([301, 400, 403, 404]).toContain(res.status);
    expect(JSON.stringify(res.json ?? null)).not.toContain(values['team-b']);
    // A path that is not clean is redirected to the clean one, as Vault's mux does: where the
    // ACL judges it as it is.
    if (res.status === 301) expect((await call('GET', res.location ?? '', { token })).status).toBe(403);
  });

  it.each([
    ['no token', {}, DENIED],
    ['an empty token', { 'x-vault-token': '' }, DENIED],
    ['an unknown token', { 'x-vault-token': 'ags.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, INVALID],
    ['a string that is no token', { 'x-vault-token': 'not-a-token' }, INVALID],
    [
      'an unknown bearer token',
      { authorization: 'Bearer ags.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' },
      INVALID,
    ],
  ])('refuses %s with 403 on every endpoint, before reading the body', async (_name, headers, refusal) => {
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
      expect(await call(method, url, { headers, body, type: MERGE })).toEqual(refusal);
    }
    expect(await dataOf('/v1/secret/data/team-a/db')).toMatchObject({ metadata: { version: 1 } });
  });

  it('spends a use of a use-limited token on a request the ACL refuses, as Vault does', async () => {
    // Vault's handleRequest counts the use before acting on the ACL's verdict, so a token with a
    // few uses cannot probe paths it may not read for free.
    const token = await tokenFor('once');
    await admin('POST', '/v1/secret/data/test/app', { data: { v: secret('once') } });
    expect(await call('GET', '/v1/secret/data/team-b/db', { token })).toEqual(DENIED);
    // The second and last use: allowed, and the token is gone after it.
    expect((await call('GET', '/v1/secret/data/test/app', { token })).status).toBe(200);
    expect(await call('GET', '/v1/secret/data/test/app', { token })).toEqual(INVALID);
  });

  it('spends the last use on a refused request too: the token is gone after it', async () => {
    const token = await tokenFor('once');
    expect(await call('GET', '/v1/secret/data/team-b/db', { token })).toEqual(DENIED);
    expect(await call('POST', '/v1/secret/data/test/app', { token, body: { data: { v: 1 } } })).toEqual(
      DENIED,
    );
    expect(await call('GET', '/v1/secret/data/test/app', { token })).toEqual(INVALID);
  });
});
