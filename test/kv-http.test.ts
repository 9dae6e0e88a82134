import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { createMemoryStore } from '../src/store/index.js';
import { readEntries } from './helpers/audit.js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  call,
  clock,
  dataOf,
  DENIED,
  envelope,
  harness,
  MERGE,
  NO_CONTENT,
  NOT_FOUND,
  secret,
  time,
  tokenFor,
  useKvHarness,
  version,
} from './helpers/kv-suite.js';
import type { Harness } from './helpers/harness.js';

/*
 * KV v2 end to end (shapes, lifecycle, at rest, audit); the setup is helpers/kv-suite.ts.
 */

useKvHarness();
let h: Harness;
beforeAll(() => {
  h = harness();
});

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

  it('takes a secret named with a trailing slash as that secret, as Vault’s storage cleans its keys', async () => {
    const url = '/v1/secret/data/slash/s';
    for (const label of ['a', 'b']) await admin('POST', url, { data: { v: secret(label) } });
    expect(await admin('POST', '/v1/secret/metadata/slash/s/', { max_versions: 5 })).toEqual(NO_CONTENT);
    expect(
      await admin('PATCH', '/v1/secret/metadata/slash/s/', { custom_metadata: { o: 'x' } }, MERGE),
    ).toEqual(NO_CONTENT);
    expect(await dataOf('/v1/secret/metadata/slash/s/')).toMatchObject({
      max_versions: 5,
      current_version: 2,
      custom_metadata: { o: 'x' },
    });
    // No folder `s/` (nor a key with no name in it) appears beside the secret.
    expect(await dataOf('/v1/secret/metadata/slash?list=true')).toEqual({ keys: ['s'] });
    expect(await admin('GET', '/v1/secret/metadata/slash/s/?list=true')).toEqual(NOT_FOUND);
    expect(await admin('GET', '/v1/secret/subkeys/slash/s/')).toMatchObject({
      status: 200,
      json: { data: { subkeys: { v: null }, metadata: { version: 2 } } },
    });
    expect(await admin('POST', '/v1/secret/delete/slash/s/', { versions: [2] })).toEqual(NO_CONTENT);
    expect((await admin('GET', url)).status).toBe(404);
    expect(await admin('POST', '/v1/secret/undelete/slash/s/', { versions: [2] })).toEqual(NO_CONTENT);
    expect((await admin('GET', url)).status).toBe(200);
    expect(await admin('POST', '/v1/secret/destroy/slash/s/', { versions: [1] })).toEqual(NO_CONTENT);
    expect(await admin('GET', `${url}?version=1`)).toMatchObject({
      status: 404,
      json: { data: { metadata: { version: 1, destroyed: true } } },
    });
    expect(await admin('DELETE', '/v1/secret/metadata/slash/s/')).toEqual(NO_CONTENT);
    expect(await admin('GET', url)).toEqual(NOT_FOUND);
    expect(await admin('GET', '/v1/secret/metadata/slash/?list=true')).toEqual(NOT_FOUND);
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

describe('Vault’s warnings about request fields', () => {
  const IGNORED = (...names: string[]) =>
    `Endpoint ignored these unrecognized parameters: [${names.join(' ')}]`;
  const REPLACED =
    "Endpoint replaced the value of these parameters with the values captured from the endpoint's path: [path]";
  const warned = (warnings: string[]) => ({ status: 200, json: expect.objectContaining({ warnings }) });

  it('names the fields an endpoint ignored, sorted, on every answer with a body', async () => {
    const url = '/v1/secret/data/warn/s';
    const body = { data: { v: secret('warn') }, options: {}, zeta: 1, alpha: null };
    expect(await admin('POST', url, body)).toEqual(warned([IGNORED('alpha', 'zeta')]));
    expect(await admin('PATCH', url, { data: { w: 1 }, foo: 1 }, MERGE)).toEqual(warned([IGNORED('foo')]));
    expect(await admin('GET', `${url}?version=1&token=x`)).toEqual(warned([IGNORED('token')]));
    expect(await admin('GET', '/v1/secret/subkeys/warn/s?depth=1&x=1')).toEqual(warned([IGNORED('x')]));
    expect(await admin('GET', '/v1/secret/metadata/warn/s?list=false')).toEqual(warned([IGNORED('list')]));
    expect(await admin('GET', '/v1/secret/metadata/warn?list=true&x=1')).toEqual(warned([IGNORED('x')]));
    expect(await admin('GET', '/v1/secret/config?x=1')).toEqual(warned([IGNORED('x')]));
    // A `path` in the body is the URL's, and said so.
    expect(await admin('POST', url, { data: {}, path: 'elsewhere' })).toEqual(warned([REPLACED]));
    expect(await admin('GET', '/v1/secret/data/elsewhere')).toEqual(NOT_FOUND);
    // Known fields are not named.
    expect((await admin('GET', `${url}?version=2`)).json?.['warnings']).toBeNull();
  });

  it('adds nothing to an answer without a body, nor to a 404', async () => {
    const url = '/v1/secret/data/warn/quiet';
    await admin('POST', url, { data: { v: 1 } });
    expect(await admin('POST', '/v1/secret/metadata/warn/quiet', { max_versions: 3, foo: 1 })).toEqual(
      NO_CONTENT,
    );
    expect(await admin('POST', '/v1/secret/delete/warn/quiet', { versions: [1], foo: 1 })).toEqual(
      NO_CONTENT,
    );
    expect(await admin('GET', `${url}?foo=1`)).toMatchObject({ status: 404, json: { warnings: null } });
    expect(await admin('POST', '/v1/secret/config', { foo: 1 })).toEqual(NO_CONTENT);
  });

  it('puts the handler’s own warning first', async () => {
    await admin('POST', '/v1/secret/config', { cas_required: true });
    try {
      expect(await admin('POST', '/v1/secret/metadata/warn/cas', { cas_required: false, foo: 1 })).toEqual(
        warned([
          '"cas_required" set to false, but is mandated by backend config. This value will be ignored.',
          IGNORED('foo'),
        ]),
      );
    } finally {
      await admin('POST', '/v1/secret/config', { cas_required: false });
    }
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
    expect(responses[2]).toMatchObject({
      error: '1 error occurred:\n\t* permission denied\n\n',
      authgate: { reason: 'acl_denied' },
    });
  });
});
