import { describe, expect, it, vi } from 'vitest';
import { failure, setup } from './test-support.js';

const T0 = '2026-01-01T12:00:00Z';

describe('metadata', () => {
  it('answers Vault’s metadata shape with every kept version', async () => {
    const { engine, clock } = setup();
    await engine.write('s', { data: { a: 1 }, cas: undefined });
    clock.advanceSeconds(10);
    await engine.write('s', { data: { a: 2 }, cas: undefined });
    await engine.deleteLatest('s');
    expect(await engine.readMetadata('s')).toEqual({
      cas_required: false,
      created_time: T0,
      current_version: 2,
      custom_metadata: null,
      delete_version_after: '0s',
      max_versions: 0,
      oldest_version: 0,
      updated_time: '2026-01-01T12:00:10Z',
      versions: {
        '1': { created_time: T0, deletion_time: '', destroyed: false },
        '2': {
          created_time: '2026-01-01T12:00:10Z',
          deletion_time: '2026-01-01T12:00:10Z',
          destroyed: false,
        },
      },
    });
  });

  it('answers 404 for a secret without metadata', async () => {
    const { engine } = setup();
    expect(await failure(engine.readMetadata('nope'))).toMatchObject({ code: 'NOT_FOUND', message: '' });
  });

  it('creates metadata without a version, and sets only the given fields', async () => {
    const { engine } = setup();
    await engine.writeMetadata('s', {
      maxVersions: 5,
      casRequired: true,
      deleteVersionAfterSeconds: 12_319,
      customMetadata: { owner: 'jdoe' },
    });
    await engine.writeMetadata('s', { maxVersions: 7 });
    expect(await engine.readMetadata('s')).toMatchObject({
      current_version: 0,
      max_versions: 7,
      cas_required: true,
      delete_version_after: '3h25m19s',
      custom_metadata: { owner: 'jdoe' },
      versions: {},
    });
    expect(await engine.exists('s')).toBe(true);
    // Custom metadata is in every data answer, whatever version.
    expect((await engine.write('s', { data: {}, cas: 0 })).custom_metadata).toEqual({ owner: 'jdoe' });
  });

  it('changes nothing, and creates nothing, for a write with none of the fields', async () => {
    const { engine, store } = setup();
    expect(await engine.writeMetadata('s', {})).toEqual({ warnings: [] });
    expect(store.entries()).toEqual([]);
  });

  it('warns that cas_required false is ignored when the mount requires cas', async () => {
    const { engine } = setup({ mount: { casRequired: true } });
    expect(await engine.writeMetadata('s', { casRequired: false })).toEqual({
      warnings: [
        '"cas_required" set to false, but is mandated by backend config. This value will be ignored.',
      ],
    });
    expect(await engine.writeMetadata('s', { casRequired: true })).toEqual({ warnings: [] });
  });

  it('replaces custom_metadata on write, merges it on patch (null removes a key)', async () => {
    const { engine } = setup();
    await engine.writeMetadata('s', { customMetadata: { a: '1', b: '2' } });
    await engine.patchMetadata('s', { customMetadata: { b: null, c: '3' }, maxVersions: 4 });
    expect(await engine.readMetadata('s')).toMatchObject({
      custom_metadata: { a: '1', c: '3' },
      max_versions: 4,
    });
    await engine.patchMetadata('s', { maxVersions: null, customMetadata: null });
    expect(await engine.readMetadata('s')).toMatchObject({ custom_metadata: null, max_versions: 0 });
    await engine.writeMetadata('s', { customMetadata: { x: 'y' } });
    await engine.writeMetadata('s', { customMetadata: {} });
    expect((await engine.readMetadata('s')).custom_metadata).toBeNull();
  });

  it('patches only existing metadata', async () => {
    const { engine } = setup();
    expect((await failure(engine.patchMetadata('nope', { maxVersions: 1 }))).code).toBe('NOT_FOUND');
  });

  it('deletes metadata and every version for good', async () => {
    const { engine, store, keys } = setup();
    await engine.write('s', { data: { a: 1 }, cas: undefined });
    await engine.write('s', { data: { a: 2 }, cas: undefined });
    await engine.deleteMetadata('s');
    expect((await failure(engine.readMetadata('s'))).code).toBe('NOT_FOUND');
    expect(store.entries().filter(([k]) => k.startsWith(`${keys.prefix}kv:`))).toEqual([]);
    // A new secret at the path starts again at version 1.
    expect((await engine.write('s', { data: {}, cas: 0 })).version).toBe(1);
  });
});

describe('list', () => {
  it('names secrets and folders (with a trailing slash) of a folder, sorted', async () => {
    const { engine } = setup();
    for (const p of ['foo', 'foo/bar', 'foo/baz/qux', 'alpha', 'zeta/one']) {
      await engine.write(p, { data: {}, cas: undefined });
    }
    await engine.writeMetadata('meta-only/x', { maxVersions: 1 });
    expect(await engine.list('')).toEqual(['alpha', 'foo', 'foo/', 'meta-only/', 'zeta/']);
    expect(await engine.list('foo')).toEqual(['bar', 'baz/']);
    expect(await engine.list('foo/')).toEqual(['bar', 'baz/']);
    expect(await engine.list('foo/baz/')).toEqual(['qux']);
    expect(await engine.list('nope/')).toEqual([]);
    expect(await engine.list('alpha')).toEqual([]);
  });

  it('removes deleted secrets and folders left empty, keeps the rest', async () => {
    const { engine, store, keys } = setup();
    for (const p of ['a/b/c', 'a/d', 'e']) await engine.write(p, { data: {}, cas: undefined });
    await engine.deleteMetadata('a/b/c');
    expect(await engine.list('')).toEqual(['a/', 'e']);
    expect(await engine.list('a/')).toEqual(['d']);
    await engine.deleteMetadata('a/d');
    await engine.deleteMetadata('e');
    expect(await engine.list('')).toEqual([]);
    expect(store.entries().filter(([k]) => k.includes(':folder:'))).toEqual([]);
    void keys;
  });

  it('deletes a path over the limits that names no secret without climbing its folders', async () => {
    const { engine, store } = setup();
    const deep = Array.from({ length: 5000 }, () => 'a').join('/');
    const setMembers = vi.spyOn(store, 'setMembers');
    const setRemove = vi.spyOn(store, 'setRemove');
    await engine.deleteMetadata(deep);
    expect(setMembers).not.toHaveBeenCalled();
    expect(setRemove).not.toHaveBeenCalled();
    // A path within the limits is cleaned as before (a name a crashed write may have left).
    await engine.deleteMetadata('x/y');
    expect(setRemove).toHaveBeenCalled();
  });

  it('keeps listing a secret whose versions are all deleted or destroyed (its metadata remains)', async () => {
    const { engine } = setup();
    await engine.write('s', { data: {}, cas: undefined });
    await engine.destroyVersions('s', [1]);
    expect(await engine.list('')).toEqual(['s']);
  });

  it('stays consistent while siblings are written and deleted concurrently', async () => {
    const { engine, engine2 } = setup();
    await engine.write('dir/old', { data: {}, cas: undefined });
    await Promise.all([
      engine.deleteMetadata('dir/old'),
      engine2.write('dir/new', { data: {}, cas: undefined }),
      engine.write('dir/sub/x', { data: {}, cas: undefined }),
      engine2.deleteMetadata('dir/sub/gone'),
    ]);
    expect(await engine.list('')).toEqual(['dir/']);
    expect(await engine.list('dir/')).toEqual(['new', 'sub/']);
  });
});

describe('config', () => {
  it('answers the mount’s settings from authgate.yaml until written, then the written ones', async () => {
    const { engine, engine2 } = setup({ mount: { maxVersions: 10, deleteVersionAfterSeconds: 3600 } });
    expect(await engine.readConfig()).toEqual({
      cas_required: false,
      delete_version_after: '1h0m0s',
      max_versions: 10,
    });
    await engine.writeConfig({ maxVersions: 5, casRequired: true });
    // Another replica sees it at once: nothing is cached in memory.
    expect(await engine2.readConfig()).toEqual({
      cas_required: true,
      delete_version_after: '1h0m0s',
      max_versions: 5,
    });
    await engine.writeConfig({ deleteVersionAfterSeconds: -1 });
    expect((await engine.readConfig()).delete_version_after).toBe('-1s');
    await engine.writeConfig({ deleteVersionAfterSeconds: 0 });
    expect((await engine.readConfig()).delete_version_after).toBe('0s');
  });
});

describe('mountInfo', () => {
  it('describes a KV version 2 mount the same way on every replica', () => {
    const { engine, engine2 } = setup({ mount: { path: 'team/kv' } });
    const info = engine.mountInfo();
    expect(info).toMatchObject({ type: 'kv', options: { version: '2' }, path: 'team/kv/' });
    expect(info['accessor']).toMatch(/^kv_[0-9a-f]{8}$/);
    expect(info['uuid']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(engine2.mountInfo()).toEqual(info);
  });
});
