import { describe, expect, it } from 'vitest';
import { isAuthgateError } from '../../errors.js';
import { failure, setup } from './test-support.js';

const T0 = '2026-01-01T12:00:00Z';

describe('write and read', () => {
  it('numbers versions from 1 and reads the latest or a given one', async () => {
    const { engine, clock } = setup();
    expect(await engine.write('app/db', { data: { password: 'one' }, cas: undefined })).toEqual({
      created_time: T0,
      custom_metadata: null,
      deletion_time: '',
      destroyed: false,
      version: 1,
    });
    clock.advanceMs(1500);
    const v2 = await engine.write('app/db', { data: { password: 'two' }, cas: undefined });
    expect(v2.version).toBe(2);
    expect(v2.created_time).toBe('2026-01-01T12:00:01.5Z');

    expect(await engine.read('app/db')).toEqual({
      kind: 'found',
      value: { password: 'two' },
      metadata: { ...v2 },
    });
    const first = await engine.read('app/db', 1);
    expect(first.kind === 'found' && first.value).toEqual({ password: 'one' });
    expect(first.metadata.version).toBe(1);
  });

  it('keeps nested values, arrays, numbers and a key named __proto__ as written', async () => {
    const { engine } = setup();
    const data = JSON.parse('{"a":{"b":[1,2,{"c":null}]},"n":1.5,"t":true,"__proto__":{"x":1}}') as Record<
      string,
      unknown
    >;
    await engine.write('s', { data, cas: undefined });
    const read = await engine.read('s');
    expect(read.kind === 'found' && JSON.stringify(read.value)).toBe(JSON.stringify(data));
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('answers 404 with no message for a missing secret, a missing version and a version 0 secret', async () => {
    const { engine } = setup();
    expect(await failure(engine.read('nope'))).toMatchObject({ code: 'NOT_FOUND', status: 404, message: '' });
    await engine.write('s', { data: { a: 1 }, cas: undefined });
    expect((await failure(engine.read('s', 2))).code).toBe('NOT_FOUND');
    await engine.writeMetadata('only-meta', { maxVersions: 3 });
    expect((await failure(engine.read('only-meta'))).code).toBe('NOT_FOUND');
  });

  it('refuses a write without a path', async () => {
    const { engine } = setup();
    expect(await failure(engine.write('', { data: {}, cas: undefined }))).toMatchObject({
      status: 400,
      message: 'missing path',
    });
  });
});

describe('check-and-set', () => {
  const mismatch = 'check-and-set parameter did not match the current version';

  it('with cas 0 writes only a secret that has no version yet', async () => {
    const { engine } = setup();
    expect((await engine.write('s', { data: { a: 1 }, cas: 0 })).version).toBe(1);
    expect(await failure(engine.write('s', { data: { a: 2 }, cas: 0 }))).toMatchObject({
      status: 400,
      message: mismatch,
    });
  });

  it('with cas n writes only when n is the current version', async () => {
    const { engine } = setup();
    await engine.write('s', { data: { a: 1 }, cas: undefined });
    expect(await failure(engine.write('s', { data: { a: 2 }, cas: 2 }))).toMatchObject({ message: mismatch });
    expect((await engine.write('s', { data: { a: 2 }, cas: 1 })).version).toBe(2);
  });

  it('refuses an unparseable cas with Vault’s message', async () => {
    const { engine } = setup();
    expect(await failure(engine.write('s', { data: {}, cas: null }))).toMatchObject({
      status: 400,
      message: 'error parsing check-and-set parameter',
    });
  });

  it('requires cas when the mount requires it, and when the secret does', async () => {
    const required = 'check-and-set parameter required for this call';
    const mount = setup({ mount: { casRequired: true } });
    expect(await failure(mount.engine.write('s', { data: {}, cas: undefined }))).toMatchObject({
      message: required,
    });
    expect((await mount.engine.write('s', { data: {}, cas: 0 })).version).toBe(1);

    const { engine } = setup();
    await engine.writeMetadata('s', { casRequired: true });
    expect(await failure(engine.write('s', { data: {}, cas: undefined }))).toMatchObject({
      message: required,
    });
    expect((await engine.write('s', { data: {}, cas: 0 })).version).toBe(1);
  });

  it('lets exactly one of many concurrent cas-0 writers win, on one replica or two', async () => {
    const { engine, engine2 } = setup();
    const writers = Array.from({ length: 12 }, (_, i) =>
      (i % 2 === 0 ? engine : engine2).write('race', { data: { writer: i }, cas: 0 }),
    );
    const results = await Promise.allSettled(writers);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.every((r) => isAuthgateError(r.reason) && r.reason.message.includes('did not match'))).toBe(
      true,
    );
    expect((await engine.readMetadata('race')).current_version).toBe(1);
  });

  it('gives concurrent writers without cas distinct, consecutive versions', async () => {
    const { engine, engine2 } = setup();
    const versions = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? engine : engine2).write('busy', { data: { i }, cas: undefined }),
      ),
    );
    expect(versions.map((v) => v.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const meta = await engine.readMetadata('busy');
    expect(meta.current_version).toBe(8);
    expect(Object.keys(meta.versions)).toHaveLength(8);
  });
});

describe('max_versions', () => {
  it('keeps the 10 newest versions by default and moves oldest_version as Vault does', async () => {
    const { engine, store, keys } = setup();
    for (let i = 1; i <= 9; i++) await engine.write('s', { data: { i }, cas: undefined });
    expect((await engine.readMetadata('s')).oldest_version).toBe(0);
    await engine.write('s', { data: { i: 10 }, cas: undefined });
    expect((await engine.readMetadata('s')).oldest_version).toBe(1);
    await engine.write('s', { data: { i: 11 }, cas: undefined });
    const meta = await engine.readMetadata('s');
    expect(meta.oldest_version).toBe(2);
    expect(Object.keys(meta.versions).map(Number)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect((await failure(engine.read('s', 1))).code).toBe('NOT_FOUND');
    expect(await store.get(keys.kvVersion('secret', 's', 1))).toBeUndefined();
    expect(await store.get(keys.kvVersion('secret', 's', 2))).toBeDefined();
  });

  it('uses the larger of the mount’s and the secret’s max_versions', async () => {
    const { engine } = setup({ mount: { maxVersions: 3 } });
    await engine.writeMetadata('big', { maxVersions: 5 });
    await engine.writeMetadata('small', { maxVersions: 2 });
    for (let i = 0; i < 7; i++) {
      await engine.write('big', { data: { i }, cas: undefined });
      await engine.write('small', { data: { i }, cas: undefined });
    }
    expect(Object.keys((await engine.readMetadata('big')).versions)).toEqual(['3', '4', '5', '6', '7']);
    expect(Object.keys((await engine.readMetadata('small')).versions)).toEqual(['5', '6', '7']);
  });

  it('trims every version beyond a lowered max_versions on the next write', async () => {
    const { engine, store, keys } = setup();
    for (let i = 0; i < 6; i++) await engine.write('s', { data: { i }, cas: undefined });
    await engine.writeConfig({ maxVersions: 2 });
    expect(Object.keys((await engine.readMetadata('s')).versions)).toHaveLength(6);
    await engine.write('s', { data: {}, cas: undefined });
    const meta = await engine.readMetadata('s');
    expect(Object.keys(meta.versions)).toEqual(['6', '7']);
    expect(meta.oldest_version).toBe(6);
    for (const n of [1, 2, 3, 4, 5])
      expect(await store.get(keys.kvVersion('secret', 's', n))).toBeUndefined();
  });
});

describe('soft delete, undelete and destroy', () => {
  it('soft-deletes the latest version: reads answer gone with its metadata, undelete restores it', async () => {
    const { engine, clock } = setup();
    await engine.write('s', { data: { v: 1 }, cas: undefined });
    await engine.write('s', { data: { v: 2 }, cas: undefined });
    clock.advanceSeconds(60);
    await engine.deleteLatest('s');
    const gone = await engine.read('s');
    expect(gone).toEqual({
      kind: 'gone',
      metadata: {
        created_time: T0,
        custom_metadata: null,
        deletion_time: '2026-01-01T12:01:00Z',
        destroyed: false,
        version: 2,
      },
    });
    // Older versions still read; deleting again changes nothing.
    expect((await engine.read('s', 1)).kind).toBe('found');
    clock.advanceSeconds(1);
    await engine.deleteLatest('s');
    expect((await engine.readMetadata('s')).versions['2']?.deletion_time).toBe('2026-01-01T12:01:00Z');

    await engine.undeleteVersions('s', [2]);
    const back = await engine.read('s');
    expect(back.kind === 'found' && back.value).toEqual({ v: 2 });
    expect(back.metadata.deletion_time).toBe('');
  });

  it('deletes and undeletes given versions, skipping unknown ones', async () => {
    const { engine } = setup();
    for (let i = 1; i <= 3; i++) await engine.write('s', { data: { i }, cas: undefined });
    await engine.deleteVersions('s', [1, 3, 99]);
    expect((await engine.read('s', 1)).kind).toBe('gone');
    expect((await engine.read('s', 2)).kind).toBe('found');
    expect((await engine.read('s', 3)).kind).toBe('gone');
    await engine.undeleteVersions('s', [1, 99]);
    expect((await engine.read('s', 1)).kind).toBe('found');
    expect((await engine.read('s', 3)).kind).toBe('gone');
  });

  it('destroys versions for good: value deleted from the store, undelete cannot restore', async () => {
    const { engine, store, keys } = setup();
    await engine.write('s', { data: { v: 1 }, cas: undefined });
    await engine.write('s', { data: { v: 2 }, cas: undefined });
    await engine.destroyVersions('s', [1]);
    expect(await store.get(keys.kvVersion('secret', 's', 1))).toBeUndefined();
    const read = await engine.read('s', 1);
    expect(read).toMatchObject({
      kind: 'gone',
      metadata: { destroyed: true, deletion_time: '', version: 1 },
    });
    await engine.undeleteVersions('s', [1]);
    expect((await engine.read('s', 1)).kind).toBe('gone');
    expect((await engine.read('s', 2)).kind).toBe('found');
  });

  it('refuses an empty version list with Vault’s messages', async () => {
    const { engine } = setup();
    expect((await failure(engine.deleteVersions('s', []))).message).toBe('No version number provided');
    expect((await failure(engine.undeleteVersions('s', []))).message).toBe('No version number provided');
    expect((await failure(engine.destroyVersions('s', []))).message).toBe('no version number provided');
  });

  it('does nothing for versions of a secret that does not exist', async () => {
    const { engine, store } = setup();
    await engine.deleteLatest('nope');
    await engine.deleteVersions('nope', [1]);
    await engine.destroyVersions('nope', [1]);
    expect(store.entries()).toEqual([]);
  });
});

describe('delete_version_after', () => {
  it('sets deletion_time from the smaller of mount and secret setting; reads stop at it', async () => {
    const { engine, clock } = setup({ mount: { deleteVersionAfterSeconds: 3600 } });
    await engine.writeMetadata('short', { deleteVersionAfterSeconds: 60 });
    const long = await engine.write('long', { data: {}, cas: undefined });
    const short = await engine.write('short', { data: {}, cas: undefined });
    expect(long.deletion_time).toBe('2026-01-01T13:00:00Z');
    expect(short.deletion_time).toBe('2026-01-01T12:01:00Z');
    clock.advanceSeconds(59);
    expect((await engine.read('short')).kind).toBe('found');
    clock.advanceSeconds(1);
    expect((await engine.read('short')).kind).toBe('gone');
    expect((await engine.read('long')).kind).toBe('found');
  });

  it('is disabled for every secret by a negative mount setting', async () => {
    const { engine } = setup();
    await engine.writeMetadata('s', { deleteVersionAfterSeconds: 60 });
    await engine.writeConfig({ deleteVersionAfterSeconds: -1 });
    expect((await engine.write('s', { data: {}, cas: undefined })).deletion_time).toBe('');
  });

  it('gives an undeleted version a new deletion time counted from the undelete', async () => {
    const { engine, clock } = setup({ mount: { deleteVersionAfterSeconds: 60 } });
    await engine.write('s', { data: {}, cas: undefined });
    clock.advanceSeconds(120);
    expect((await engine.read('s')).kind).toBe('gone');
    await engine.undeleteVersions('s', [1]);
    expect((await engine.read('s')).metadata.deletion_time).toBe('2026-01-01T12:03:00Z');
  });
});

describe('patch', () => {
  it('writes a new version from a JSON merge patch of the current one', async () => {
    const { engine } = setup();
    await engine.write('s', { data: { a: 1, keep: 'x', nested: { b: 1, c: 2 } }, cas: undefined });
    const result = await engine.patch('s', { data: { a: null, nested: { c: 3 }, added: [1] }, cas: 1 });
    expect(result).toMatchObject({ kind: 'found', value: { version: 2 } });
    const read = await engine.read('s');
    expect(read.kind === 'found' && read.value).toEqual({ keep: 'x', nested: { b: 1, c: 3 }, added: [1] });
  });

  it('answers 404 for a missing secret, gone for a deleted current version, and checks cas', async () => {
    const { engine } = setup();
    expect((await failure(engine.patch('nope', { data: {}, cas: undefined }))).code).toBe('NOT_FOUND');
    await engine.write('s', { data: { a: 1 }, cas: undefined });
    expect((await failure(engine.patch('s', { data: {}, cas: 5 }))).message).toBe(
      'check-and-set parameter did not match the current version',
    );
    await engine.deleteLatest('s');
    expect(await engine.patch('s', { data: { a: 2 }, cas: undefined })).toMatchObject({
      kind: 'gone',
      metadata: { version: 1 },
    });
    expect((await engine.readMetadata('s')).current_version).toBe(1);
  });
});

describe('subkeys', () => {
  it('answers the structure with every leaf null, to a depth', async () => {
    const { engine } = setup();
    await engine.write('s', {
      data: { foo: 'abc', bar: { baz: 'def', deep: { x: 1 } }, quux: {} },
      cas: undefined,
    });
    const all = await engine.subkeys('s');
    expect(all.kind === 'found' && all.value).toEqual({
      foo: null,
      bar: { baz: null, deep: { x: null } },
      quux: null,
    });
    const one = await engine.subkeys('s', 0, 1);
    expect(one.kind === 'found' && one.value).toEqual({ foo: null, bar: null, quux: null });
    const two = await engine.subkeys('s', 1, 2);
    expect(two.kind === 'found' && two.value).toEqual({
      foo: null,
      bar: { baz: null, deep: null },
      quux: null,
    });
  });
});
