import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { signEntry } from '../lib/hash.js';
import { createKeys, createMemoryStore } from '../store/index.js';
import type { JwksDocument, JwksSource } from './jwks-source.js';
import { createSharedJwksSource } from './shared-jwks-source.js';
import { silent } from './test-fixtures.js';

const ISSUER_KEYS: JwksDocument = { keys: [{ kty: 'EC', kid: 'issuer', crv: 'P-256', x: 'x', y: 'y' }] };
const PLANTED: JwksDocument = { keys: [{ kty: 'EC', kid: 'attacker', crv: 'P-256', x: 'a', y: 'b' }] };
const MAC_KEY = Buffer.alloc(32, 5);

/** One replica's shared source over `store`, in front of an issuer that counts its fetches. */
const setup = () => {
  const clock = createFakeClock(Date.UTC(2026, 10, 29));
  const store = createMemoryStore({ clock, sweepIntervalMs: 0 });
  const keys = createKeys();
  const replica = (macKey = MAC_KEY, ttlMs = 600_000, log = silent) => {
    const issuer = { fetches: 0 };
    const inner: JwksSource = {
      kind: 'url',
      location: 'https://issuer.example/keys',
      load: async () => {
        issuer.fetches++;
        return ISSUER_KEYS;
      },
    };
    const source = createSharedJwksSource(
      inner,
      { store, keys, clock, log, kind: 'jwks', freshMs: 30_000, ttlMs, macKey },
      () => undefined,
    );
    return { source, issuer };
  };
  return { clock, store, keys, replica };
};

describe('the shared key set', () => {
  it('takes a set another replica fetched, without fetching', async () => {
    const { replica } = setup();
    const a = replica();
    expect(await a.source.load()).toEqual(ISSUER_KEYS);
    const b = replica();
    expect(await b.source.load()).toEqual(ISSUER_KEYS);
    expect([a.issuer.fetches, b.issuer.fetches]).toEqual([1, 0]);
  });

  it('shares nothing with a max age of 0, and says nothing of it', async () => {
    const { store, keys, replica } = setup();
    const warnings: unknown[] = [];
    const log = { ...silent, warn: (...args: unknown[]) => warnings.push(args) } as typeof silent;
    const r = replica(MAC_KEY, 0, log);
    expect(await r.source.load()).toEqual(ISSUER_KEYS);
    expect(await store.get(keys.jwks('jwks'))).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it.each([
    ['without a MAC', (_name: string, value: string) => value],
    [
      'signed under another key',
      (name: string, value: string) => signEntry(Buffer.alloc(32, 9), name, value),
    ],
    ['signed for another name', (_name: string, value: string) => signEntry(MAC_KEY, 'ag:jwks:other', value)],
  ])('ignores a set planted in the store %s, and fetches the issuer’s', async (_how, plant) => {
    const { clock, store, keys, replica } = setup();
    const value = JSON.stringify({ doc: PLANTED, fetchedAtMs: clock.nowMs() + 1000 });
    await store.set(keys.jwks('jwks'), plant(keys.jwks('jwks'), value), { ttlMs: 600_000 });
    const r = replica();
    expect(await r.source.load()).toEqual(ISSUER_KEYS);
    expect(r.issuer.fetches).toBe(1);
  });
});
