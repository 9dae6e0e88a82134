import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { registerKvRoutes } from './kv-routes.js';
import { installErrorHandling, installJsonForAnyContentType } from '../vault-errors.js';
import { createSecretCipher } from '../../secrets/cipher.js';
import { createKvEngine } from '../../secrets/kv/engine.js';
import { setup } from '../../secrets/kv/test-support.js';

// The routes alone, with the project's error handling and JSON parsing but no ACL hook: these
// tests pin status codes and bodies to Vault's; the ACL is tested end to end with the full app.
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

const build = (options: { mountAccess?: (mount: string) => boolean } = {}) => {
  const env = setup();
  // A second mount, with a slash in its path, on the same store.
  const team = createKvEngine({
    store: env.store,
    keys: env.keys,
    clock: env.clock,
    cipher: createSecretCipher(Buffer.alloc(32, 3)),
    mount: { path: 'team/kv', maxVersions: 0, casRequired: false, deleteVersionAfterSeconds: 0 },
  });
  const app = Fastify();
  installJsonForAnyContentType(app, 1024 * 1024);
  installErrorHandling(app);
  registerKvRoutes(app, {
    engines: new Map([
      ['secret', env.engine],
      ['team/kv', team],
    ]),
    ...(options.mountAccess === undefined
      ? {}
      : { mountAccess: async (_request, mount) => options.mountAccess?.(mount) ?? false }),
  });
  apps.push(app);
  const call = async (method: string, url: string, body?: unknown, contentType = 'application/json') => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      ...(body === undefined
        ? {}
        : {
            payload: typeof body === 'string' ? body : JSON.stringify(body),
            headers: { 'content-type': contentType },
          }),
    });
    return {
      status: res.statusCode,
      body: res.body === '' ? undefined : (res.json() as Record<string, unknown>),
    };
  };
  return { ...env, app, call };
};

const envelopeOf = (data: unknown, mountType = 'kv') => ({
  request_id: expect.any(String),
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data,
  wrap_info: null,
  warnings: null,
  auth: null,
  mount_type: mountType,
});

describe('data/', () => {
  it('writes (200 with the version), reads (200 with data and metadata), soft-deletes (204)', async () => {
    const { call } = build();
    const written = await call('POST', '/v1/secret/data/app/db', {
      data: { password: 'p' },
      options: { cas: 0 },
    });
    expect(written).toEqual({
      status: 200,
      body: envelopeOf({
        created_time: '2026-01-01T12:00:00Z',
        custom_metadata: null,
        deletion_time: '',
        destroyed: false,
        version: 1,
      }),
    });
    expect(await call('GET', '/v1/secret/data/app/db')).toEqual({
      status: 200,
      body: envelopeOf({
        data: { password: 'p' },
        metadata: {
          created_time: '2026-01-01T12:00:00Z',
          custom_metadata: null,
          deletion_time: '',
          destroyed: false,
          version: 1,
        },
      }),
    });
    expect(await call('DELETE', '/v1/secret/data/app/db')).toEqual({ status: 204, body: undefined });
    // Vault's 404 for a deleted version carries its metadata, and no mount type.
    expect(await call('GET', '/v1/secret/data/app/db?version=1')).toEqual({
      status: 404,
      body: envelopeOf(
        {
          data: null,
          metadata: {
            created_time: '2026-01-01T12:00:00Z',
            custom_metadata: null,
            deletion_time: '2026-01-01T12:00:00Z',
            destroyed: false,
            version: 1,
          },
        },
        '',
      ),
    });
  });

  it('answers 404 {"errors":[]} for a missing secret, and PUT writes like POST', async () => {
    const { call } = build();
    expect(await call('GET', '/v1/secret/data/nope')).toEqual({ status: 404, body: { errors: [] } });
    expect((await call('PUT', '/v1/secret/data/x', { data: { a: 1 } })).status).toBe(200);
  });

  it('answers 400 with Vault’s messages for bad writes', async () => {
    const { call } = build();
    await call('POST', '/v1/secret/data/s', { data: { a: 1 } });
    expect(await call('POST', '/v1/secret/data/s', { data: { a: 2 }, options: { cas: 0 } })).toEqual({
      status: 400,
      body: { errors: ['check-and-set parameter did not match the current version'] },
    });
    expect(await call('POST', '/v1/secret/data/s', { nodata: 1 })).toEqual({
      status: 400,
      body: { errors: ['no data provided'] },
    });
    expect(await call('POST', '/v1/secret/data/s', '["not","an","object"]')).toEqual({
      status: 400,
      body: { errors: ['error parsing JSON'] },
    });
    expect(await call('POST', '/v1/secret/data/s', 'not json')).toMatchObject({ status: 400 });
    expect((await call('GET', '/v1/secret/data/s?version=abc')).status).toBe(400);
    expect((await call('GET', '/v1/secret/data/s?version=1&version=2')).status).toBe(400);
  });

  it('patches with JSON merge patch only, 415 for another content type', async () => {
    const { call } = build();
    await call('POST', '/v1/secret/data/s', { data: { a: 1, b: 2 } });
    expect(await call('PATCH', '/v1/secret/data/s', { data: { b: null, c: 3 } }, 'application/json')).toEqual(
      {
        status: 415,
        body: {
          errors: ['PATCH requires Content-Type of application/merge-patch+json, provided application/json'],
        },
      },
    );
    const patched = await call(
      'PATCH',
      '/v1/secret/data/s',
      { data: { b: null, c: 3 } },
      'application/merge-patch+json',
    );
    expect(patched).toMatchObject({ status: 200, body: { data: { version: 2 } } });
    expect((await call('GET', '/v1/secret/data/s')).body?.['data']).toMatchObject({ data: { a: 1, c: 3 } });
    expect(await call('PATCH', '/v1/secret/data/nope', { data: {} }, 'application/merge-patch+json')).toEqual(
      {
        status: 404,
        body: { errors: [] },
      },
    );
  });

  it('answers Vault’s invalid-path 404 for a folder, the data root and paths outside the API', async () => {
    const { call } = build();
    const invalid = (verb: string) => [
      `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${verb}' for this operation.`,
    ];
    expect(await call('GET', '/v1/secret/data/folder/')).toEqual({
      status: 404,
      body: { ...envelopeOf(null, ''), warnings: invalid('get') },
    });
    expect((await call('GET', '/v1/secret/foo')).body?.['warnings']).toEqual(invalid('get'));
    expect((await call('POST', '/v1/secret/foo', { a: 1 })).body?.['warnings']).toEqual(invalid('put'));
    expect((await call('GET', '/v1/secret/data')).body?.['warnings']).toEqual([
      'Non-listing operations on the root of a K/V v2 mount are not supported.',
    ]);
  });
});

describe('methods and lists where Vault has none', () => {
  it('answers HEAD as a read: never a write, never a list', async () => {
    const { call, store } = build();
    expect((await call('HEAD', '/v1/secret/metadata/s')).status).toBe(404);
    expect((await call('HEAD', '/v1/secret/data/s')).status).toBe(404);
    expect(store.entries()).toEqual([]);
    await call('POST', '/v1/secret/data/dir/s', { data: {} });
    expect((await call('HEAD', '/v1/secret/metadata/dir?list=true')).status).toBe(404);
    expect((await call('GET', '/v1/secret/metadata/dir?list=true')).status).toBe(200);
  });

  it('answers a list of a data path with the invalid-path 404, of an operation root with 405', async () => {
    const { call } = build();
    expect((await call('GET', '/v1/secret/data/x?list=true')).body?.['warnings']).toEqual([
      `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv list' for this operation.`,
    ]);
    expect((await call('GET', '/v1/secret/delete?list=true')).status).toBe(405);
    expect((await call('GET', '/v1/secret/subkeys/x?list=true')).status).toBe(405);
    expect(await call('GET', '/v1/secret/metadata/?list=true&list=true')).toEqual({
      status: 400,
      body: { errors: [] },
    });
  });
});

describe('delete/, undelete/, destroy/', () => {
  it('take {versions} by POST or PUT and answer 204; other methods 405', async () => {
    const { call } = build();
    await call('POST', '/v1/secret/data/s', { data: { a: 1 } });
    await call('POST', '/v1/secret/data/s', { data: { a: 2 } });
    expect(await call('POST', '/v1/secret/delete/s', { versions: [1] })).toEqual({
      status: 204,
      body: undefined,
    });
    expect((await call('GET', '/v1/secret/data/s?version=1')).status).toBe(404);
    expect((await call('PUT', '/v1/secret/undelete/s', { versions: [1] })).status).toBe(204);
    expect((await call('GET', '/v1/secret/data/s?version=1')).status).toBe(200);
    expect((await call('POST', '/v1/secret/destroy/s', { versions: '1,2' })).status).toBe(204);
    expect((await call('GET', '/v1/secret/data/s')).body?.['data']).toMatchObject({
      metadata: { destroyed: true },
    });
    expect(await call('POST', '/v1/secret/delete/s', {})).toEqual({
      status: 400,
      body: { errors: ['No version number provided'] },
    });
    expect(await call('GET', '/v1/secret/destroy/s')).toEqual({
      status: 405,
      body: { errors: ['unsupported operation'] },
    });
  });
});

describe('metadata/', () => {
  it('lists with ?list=true (folders with a slash), 404 when empty, 400 for a bad flag', async () => {
    const { call } = build();
    for (const p of ['foo', 'foo/bar', 'baz']) await call('POST', `/v1/secret/data/${p}`, { data: {} });
    expect(await call('GET', '/v1/secret/metadata?list=true')).toEqual({
      status: 200,
      body: envelopeOf({ keys: ['baz', 'foo', 'foo/'] }),
    });
    expect((await call('GET', '/v1/secret/metadata/?list=1')).body?.['data']).toEqual({
      keys: ['baz', 'foo', 'foo/'],
    });
    expect((await call('GET', '/v1/secret/metadata/foo?list=true')).body?.['data']).toEqual({
      keys: ['bar'],
    });
    expect(await call('GET', '/v1/secret/metadata/nope/?list=true')).toEqual({
      status: 404,
      body: { errors: [] },
    });
    expect(await call('GET', '/v1/secret/metadata/?list=maybe')).toEqual({
      status: 400,
      body: { errors: [] },
    });
    expect((await call('GET', '/v1/secret/metadata?list=false')).status).toBe(404);
  });

  it('reads, writes (204, or 200 with a warning), patches and deletes metadata', async () => {
    const { call } = build();
    expect(
      await call('POST', '/v1/secret/metadata/s', { max_versions: 3, custom_metadata: { owner: 'me' } }),
    ).toEqual({
      status: 204,
      body: undefined,
    });
    expect(
      await call(
        'PATCH',
        '/v1/secret/metadata/s',
        { custom_metadata: { team: 'x' } },
        'application/merge-patch+json',
      ),
    ).toEqual({ status: 204, body: undefined });
    const read = await call('GET', '/v1/secret/metadata/s');
    expect(read).toMatchObject({
      status: 200,
      body: {
        data: { max_versions: 3, custom_metadata: { owner: 'me', team: 'x' }, current_version: 0 },
        mount_type: 'kv',
      },
    });
    expect((await call('POST', '/v1/secret/metadata/s', { custom_metadata: { '': 'v' } })).status).toBe(400);
    expect(await call('DELETE', '/v1/secret/metadata/s')).toEqual({ status: 204, body: undefined });
    expect(await call('GET', '/v1/secret/metadata/s')).toEqual({ status: 404, body: { errors: [] } });
  });
});

describe('config and subkeys', () => {
  it('reads and writes the mount’s config', async () => {
    const { call } = build();
    expect(
      await call('POST', '/v1/secret/config', { max_versions: 5, delete_version_after: '3h25m19s' }),
    ).toEqual({
      status: 204,
      body: undefined,
    });
    expect(await call('GET', '/v1/secret/config')).toEqual({
      status: 200,
      body: envelopeOf({ cas_required: false, delete_version_after: '3h25m19s', max_versions: 5 }),
    });
    expect((await call('DELETE', '/v1/secret/config')).status).toBe(405);
    // Any negative value disables it, and reads back as Vault's one disabled value.
    expect((await call('POST', '/v1/secret/config', { delete_version_after: '-5h' })).status).toBe(204);
    expect((await call('GET', '/v1/secret/config')).body?.['data']).toMatchObject({
      delete_version_after: '-1s',
    });
  });

  it('answers subkeys with the values removed', async () => {
    const { call } = build();
    await call('POST', '/v1/secret/data/s', { data: { foo: 'abc', bar: { baz: 'def' }, quux: {} } });
    expect((await call('GET', '/v1/secret/subkeys/s')).body?.['data']).toMatchObject({
      subkeys: { foo: null, bar: { baz: null }, quux: null },
      metadata: { version: 1 },
    });
    expect((await call('GET', '/v1/secret/subkeys/s?depth=1')).body?.['data']).toMatchObject({
      subkeys: { foo: null, bar: null, quux: null },
    });
  });
});

describe('mounts with a slash, and sys/internal/ui/mounts', () => {
  it('serves a mount whose path has a slash, separately from the others', async () => {
    const { call } = build();
    await call('POST', '/v1/team/kv/data/s', { data: { a: 'team' } });
    expect((await call('GET', '/v1/team/kv/data/s')).body?.['data']).toMatchObject({ data: { a: 'team' } });
    expect((await call('GET', '/v1/secret/data/s')).status).toBe(404);
  });

  it('tells the vault CLI that a path is under a KV version 2 mount', async () => {
    const { call } = build();
    const res = await call('GET', '/v1/sys/internal/ui/mounts/team/kv/some/secret');
    expect(res).toMatchObject({
      status: 200,
      body: { data: { type: 'kv', options: { version: '2' }, path: 'team/kv/' }, mount_type: 'system' },
    });
    expect((await call('GET', '/v1/sys/internal/ui/mounts/secret')).body?.['data']).toMatchObject({
      path: 'secret/',
    });
  });

  it('answers Vault’s 403 for a path under no KV mount, or a mount the caller may not see', async () => {
    const { call } = build({ mountAccess: (mount) => mount === 'secret' });
    expect(await call('GET', '/v1/sys/internal/ui/mounts/other/x')).toEqual({
      status: 403,
      body: {
        errors: [
          `preflight capability check returned 403, please ensure client's policies grant access to path "other/x/"`,
        ],
      },
    });
    expect((await call('GET', '/v1/sys/internal/ui/mounts/team/kv/x')).status).toBe(403);
    expect((await call('GET', '/v1/sys/internal/ui/mounts/secret/x')).status).toBe(200);
    expect(await call('GET', '/v1/sys/internal/ui/mounts/')).toEqual({
      status: 400,
      body: { errors: ['path not set'] },
    });
  });
});
