import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../../lib/clock.js';
import { createKeys, createMemoryStore, StoreUnavailableError } from '../../store/index.js';
import { createSecretCipher } from '../cipher.js';
import { ExactNumber, parseExactJson } from '../../lib/exact-json.js';
import { createKvEngine } from './engine.js';
import type { JsonObject } from './json.js';
import { folderEntries } from './storage.js';
import { failure, mountConfig, rejection, setup } from './test-support.js';
import type { AuthgateError } from '../../errors.js';

describe('folderEntries', () => {
  it('names each parent folder and the entry for the next level', () => {
    expect(folderEntries('a/b/c')).toEqual([
      ['', 'a/'],
      ['a/', 'b/'],
      ['a/b/', 'c'],
    ]);
    expect(folderEntries('top')).toEqual([['', 'top']]);
  });
});

describe('storage', () => {
  it('never stores a value in plaintext, only sealed', async () => {
    const { engine, store } = setup();
    const marker = 'hunter2-7c1f0e-not-in-store';
    await engine.write('app/db', { data: { password: marker, [marker]: 'key too' }, cas: undefined });
    await engine.patch('app/db', { data: { other: marker }, cas: undefined });
    const dump = store.entries().flat().join('\n');
    expect(dump).not.toContain(marker);
    expect(dump).not.toContain('hunter2');
    expect(dump).toContain('v2.'); // the sealed versions
  });

  it('answers a 500 (not a crash, not the value) for an altered or moved sealed value', async () => {
    const { engine, store, keys } = setup();
    await engine.write('a', { data: { p: 'one' }, cas: undefined });
    await engine.write('b', { data: { p: 'two' }, cas: undefined });
    const sealedA = (await store.get(keys.kvVersion('secret', 'a', 1))) as string;
    const flipped = `${sealedA.slice(0, -2)}${sealedA.endsWith('AA') ? 'BB' : 'AA'}`;
    await store.set(keys.kvVersion('secret', 'a', 1), flipped);
    expect(await failure(engine.read('a'))).toMatchObject({
      code: 'INTERNAL',
      status: 500,
      message: 'internal error',
    });
    // A's genuine value copied under B: the AAD names another secret, so it does not open.
    await store.set(keys.kvVersion('secret', 'b', 1), sealedA);
    expect((await failure(engine.read('b'))).code).toBe('INTERNAL');
  });

  it('answers a 500 for a corrupt metadata record', async () => {
    const { engine, store, keys } = setup();
    await store.set(keys.kvMetadata('secret', 's'), '{"not":"metadata"}');
    expect((await failure(engine.read('s'))).code).toBe('INTERNAL');
    // One cut short is not quoted, for request.failed to log, in the cause the parser gave.
    await store.set(keys.kvMetadata('secret', 't'), '{"customMetadata":{"note":"Zq8xW2vLr5TnK0pY","p":x}');
    const err = (await rejection(engine.read('t'))) as AuthgateError;
    const cause = err.cause as Error | undefined;
    expect([err.message, err.detail, cause?.message, cause?.stack].join('\n')).not.toContain('K0pY');
  });

  it('fails closed with 503 when the store is down', async () => {
    const down = () => Promise.reject(new StoreUnavailableError('redis unavailable'));
    const broken = {
      get: down,
      set: down,
      delete: down,
      deleteIfEquals: down,
      setAdd: down,
      setMembers: down,
      setRemove: down,
      batch: down,
    };
    const { engine } = setup({ deps: { store: broken } });
    expect(await failure(engine.read('s'))).toMatchObject({ code: 'UNAVAILABLE', status: 503 });
    expect((await failure(engine.write('s', { data: {}, cas: undefined }))).code).toBe('UNAVAILABLE');
    expect((await failure(engine.list(''))).code).toBe('UNAVAILABLE');
  });

  it('answers 503 when another writer holds the secret’s lock too long, and proceeds once it expires', async () => {
    const { engine, store, keys, clock } = setup({ deps: { lockWaitMs: 50, lockTtlMs: 10_000 } });
    await store.set(keys.kvLock('secret', 's'), 'a crashed replica', { mode: 'if-absent', ttlMs: 10_000 });
    expect(await failure(engine.write('s', { data: {}, cas: undefined }))).toMatchObject({
      code: 'UNAVAILABLE',
      status: 503,
    });
    clock.advanceMs(10_000);
    expect((await engine.write('s', { data: {}, cas: undefined })).version).toBe(1);
    expect(await store.get(keys.kvLock('secret', 's'))).toBeUndefined();
  });

  it('gives up (503) rather than commit when its lock expired and was taken meanwhile', async () => {
    const clock = createFakeClock();
    const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
    const keys = createKeys();
    const lock = keys.kvLock('secret', 's');
    let stall = true;
    // Just after reading the metadata, the holder stalls past its lock's TTL and another takes it.
    const stalling = {
      ...store,
      get: async (key: string) => {
        const value = await store.get(key);
        if (stall && key === keys.kvMetadata('secret', 's')) {
          stall = false;
          clock.advanceMs(1000);
          await store.set(lock, 'someone else', { mode: 'if-absent', ttlMs: 1000 });
        }
        return value;
      },
    };
    const engine = createKvEngine({
      store: stalling,
      keys,
      clock,
      cipher: createSecretCipher(Buffer.alloc(32, 1)),
      mount: mountConfig(),
      lockTtlMs: 1000,
    });
    expect((await failure(engine.write('s', { data: {}, cas: undefined }))).code).toBe('UNAVAILABLE');
    expect(await store.get(keys.kvMetadata('secret', 's'))).toBeUndefined();
    expect(await store.get(lock)).toBe('someone else');
  });
});

describe('numbers kept as their text', () => {
  // The key and AAD of test-support's setup().
  const cipher = createSecretCipher(Buffer.alloc(32, 9));
  const aad = (path: string, n: number) => JSON.stringify(['kv', 'secret', path, n]);
  const plaintext = async (s: ReturnType<typeof setup>, path: string, n = 1) =>
    cipher
      .open((await s.store.get(s.keys.kvVersion('secret', path, n))) as string, aad(path, n))
      .toString('utf8');
  const EXACT = '{"n":12345678901234567890,"f":1.10,"list":[1e5,{"m":9007199254740993}],"s":"x","i":1}';

  it('stores data holding exact numbers with their text and reads them back as the same ExactNumbers', async () => {
    const s = setup();
    const data = parseExactJson(EXACT) as JsonObject;
    await s.engine.write('e', { data, cas: undefined });
    expect(await plaintext(s, 'e')).toBe(`=${EXACT}`);
    const read = await s.engine.read('e');
    expect(read.kind === 'found' && read.value).toStrictEqual(data);
    expect(read.kind === 'found' && read.value['f']).toBeInstanceOf(ExactNumber);
  });

  it('stores data without any as plain JSON, as before', async () => {
    const s = setup();
    const data = { a: 1, b: 2.5, c: -3, d: 0, e: [true, null, 'x'] };
    await s.engine.write('p', { data, cas: undefined });
    expect(await plaintext(s, 'p')).toBe(JSON.stringify(data));
    const read = await s.engine.read('p');
    expect(read.kind === 'found' && read.value).toStrictEqual(data);
  });

  it('reads a value stored before exact numbers existed', async () => {
    const s = setup();
    await s.engine.write('old', { data: { placeholder: true }, cas: undefined });
    const old = '{"n":12345678901234567000,"f":1.1,"s":"=not a marker"}';
    await s.store.set(s.keys.kvVersion('secret', 'old', 1), cipher.seal(old, aad('old', 1)));
    const read = await s.engine.read('old');
    expect(read.kind === 'found' && read.value).toStrictEqual(JSON.parse(old));
  });

  it('does not keep the text of a version that opens but does not parse, for the log to write', async () => {
    const s = setup();
    await s.engine.write('cut', { data: { placeholder: true }, cas: undefined });
    const secret = 'Zq8xW2vLr5TnK0pY';
    // JSON.parse quotes the text around the fault, here the end of the value.
    const sealed = cipher.seal(`{"password":"${secret}","p":x}`, aad('cut', 1));
    await s.store.set(s.keys.kvVersion('secret', 'cut', 1), sealed);
    const err = (await rejection(s.engine.read('cut'))) as AuthgateError;
    expect(err).toMatchObject({ code: 'INTERNAL', reason: 'kv_value_corrupt' });
    // What request.failed logs: the detail and the cause, whose message and stack pino writes.
    const cause = err.cause as Error | undefined;
    const said = [err.message, err.detail, cause?.message, cause?.stack].join('\n');
    for (let i = 0; i + 4 <= secret.length; i++) expect(said).not.toContain(secret.slice(i, i + 4));
  });

  it('keeps exact numbers through a merge patch, in the patch and in what it keeps', async () => {
    const s = setup();
    await s.engine.write('m', { data: parseExactJson(EXACT) as JsonObject, cas: undefined });
    await s.engine.patch('m', {
      data: parseExactJson('{"f":2.50,"s":null,"new":1e-7}') as JsonObject,
      cas: undefined,
    });
    expect(await plaintext(s, 'm', 2)).toBe(
      '={"n":12345678901234567890,"f":2.50,"list":[1e5,{"m":9007199254740993}],"i":1,"new":1e-7}',
    );
  });
});
