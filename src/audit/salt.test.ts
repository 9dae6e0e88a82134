import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
// The key ring compose.ts injects: the salts are tested sealed as they are in production.
import { createSecretCipher } from '../secrets/index.js';
import { createKeys, createMemoryStore } from '../store/index.js';
import { auditSaltAad, createSaltSource, SALT_RECHECK_MS } from './salt.js';

const keys = createKeys();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const keyA = randomBytes(32);
const keyB = randomBytes(32);
const underA = createSecretCipher(keyA);
const bAfterA = createSecretCipher(keyB, [keyA]);

const fixture = (sealer = bAfterA) => {
  const store = createMemoryStore({ clock: createFakeClock() });
  return { store, source: () => createSaltSource({ store, keys, sealer }) };
};
const rejection = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: unknown) => err as Error,
  );

describe('createSaltSource', () => {
  it('seals a new salt under the current key, bound to its device', async () => {
    const { store, source } = fixture();
    const salt = await source().saltOf('file');
    expect(salt).toMatch(UUID);
    const stored = (await store.get(keys.auditSalt('file'))) ?? '';
    expect(stored).not.toContain(salt);
    expect(bAfterA.isStale(stored)).toBe(false);
    expect(bAfterA.open(stored, auditSaltAad('file')).toString()).toBe(salt);
    // Another process over the same store reads the same salt.
    expect(await source().saltOf('file')).toBe(salt);
  });

  it('writes a salt in use back once the store has lost it, so a replica started later takes it', async () => {
    const { store } = fixture();
    let now = 0;
    const running = createSaltSource({ store, keys, sealer: bAfterA, nowMs: () => now });
    const salt = await running.saltOf('file');
    await store.delete(keys.auditSalt('file')); // Redis restarted without its data
    now += SALT_RECHECK_MS - 1;
    expect(await running.saltOf('file')).toBe(salt);
    expect(await store.get(keys.auditSalt('file'))).toBeUndefined();
    now += 1;
    expect(await running.saltOf('file')).toBe(salt); // the write does not wait for the look
    await new Promise((resolve) => setImmediate(resolve));
    expect(await createSaltSource({ store, keys, sealer: bAfterA }).saltOf('file')).toBe(salt);
  });

  it('takes the salt another replica wrote after a loss, when it comes to look again', async () => {
    const { store } = fixture();
    let now = 0;
    const running = createSaltSource({ store, keys, sealer: bAfterA, nowMs: () => now });
    const first = await running.saltOf('file');
    await store.delete(keys.auditSalt('file'));
    const other = await createSaltSource({ store, keys, sealer: bAfterA }).saltOf('file');
    expect(other).not.toBe(first);
    now += SALT_RECHECK_MS;
    await running.saltOf('file');
    await new Promise((resolve) => setImmediate(resolve));
    expect(await running.saltOf('file')).toBe(other);
  });

  it('agrees on one salt when replicas create it at once', async () => {
    const { source } = fixture();
    const salts = await Promise.all(Array.from({ length: 5 }, () => source().saltOf('file')));
    expect(new Set(salts).size).toBe(1);
  });

  it('opens a salt sealed under a previous key, and leaves its re-sealing to a re-key', async () => {
    const { store, source } = fixture();
    const salt = randomUUID();
    const sealed = underA.seal(salt, auditSaltAad('file'));
    await store.set(keys.auditSalt('file'), sealed);
    expect(await source().saltOf('file')).toBe(salt);
    expect(await store.get(keys.auditSalt('file'))).toBe(sealed);
  });

  it('uses a salt an earlier version stored in clear and seals it, replicas racing alike', async () => {
    const { store, source } = fixture();
    const legacy = randomUUID();
    await store.set(keys.auditSalt('file'), legacy);
    const salts = await Promise.all(Array.from({ length: 5 }, () => source().saltOf('file')));
    expect(new Set(salts)).toEqual(new Set([legacy]));
    const stored = (await store.get(keys.auditSalt('file'))) ?? '';
    expect(stored).not.toContain(legacy);
    expect(bAfterA.open(stored, auditSaltAad('file')).toString()).toBe(legacy);
  });

  it.each([
    [
      'sealed under a key it does not hold',
      () => createSecretCipher(randomBytes(32)).seal(randomUUID(), auditSaltAad('file')),
    ],
    ['sealed for another device', () => bAfterA.seal(randomUUID(), auditSaltAad('other'))],
    ['neither sealed nor a UUID', () => 'salt'],
    ['an empty string', () => ''],
  ])('refuses a salt %s, every time, and never replaces it', async (_what, stored) => {
    const { store, source } = fixture();
    const value = stored();
    await store.set(keys.auditSalt('file'), value);
    const salts = source();
    for (let i = 0; i < 2; i++) {
      const err = await rejection(salts.saltOf('file'));
      expect(err?.message).toMatch(/^audit salt of device "file" does not open under the encryption keys/);
    }
    expect(await store.get(keys.auditSalt('file'))).toBe(value);
  });
});

describe('rewrap of the salts', () => {
  const legacy = randomUUID();
  const cases: Array<[string, (() => string) | undefined, { resealed: number; unopenable: number }]> = [
    ['absent', undefined, { resealed: 0, unopenable: 0 }],
    [
      'sealed under the current key',
      () => bAfterA.seal(legacy, auditSaltAad('file')),
      { resealed: 0, unopenable: 0 },
    ],
    [
      'sealed under a previous key',
      () => underA.seal(legacy, auditSaltAad('file')),
      { resealed: 1, unopenable: 0 },
    ],
    ['in clear (an earlier version)', () => legacy, { resealed: 1, unopenable: 0 }],
    [
      'sealed under a key it does not hold',
      () => createSecretCipher(randomBytes(32)).seal(legacy, auditSaltAad('file')),
      { resealed: 0, unopenable: 1 },
    ],
  ];

  it.each(cases)('of a salt %s', async (what, stored, counts) => {
    const { store, source } = fixture();
    const before = stored?.();
    if (before !== undefined) await store.set(keys.auditSalt('file'), before);
    const unopenable: string[] = [];
    expect(await source().rewrap(['file'], (d) => unopenable.push(d))).toEqual(counts);
    expect(unopenable).toEqual(counts.unopenable === 1 ? ['file'] : []);
    const after = await store.get(keys.auditSalt('file'));
    if (counts.resealed === 0) {
      expect(after).toBe(before);
      return;
    }
    expect(bAfterA.isStale(after ?? ''), what).toBe(false);
    expect(bAfterA.open(after ?? '', auditSaltAad('file')).toString()).toBe(legacy);
  });

  it('makes no salt for a device that has none yet', async () => {
    const { store, source } = fixture();
    await source().rewrap(['file', 'other'], () => undefined);
    expect(await store.get(keys.auditSalt('other'))).toBeUndefined();
  });
});
