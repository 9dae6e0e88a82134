import { describe, expect, it } from 'vitest';
import { AuthgateError } from '../../errors.js';
import type { StoredKey } from './key-material.js';
import { newRing, parseRing, publishedKeys, rotateRing, rotationDue, serializeRing } from './key-ring.js';
import { key } from './test-support.js';

const stored = (kid: string, alg: StoredKey['alg'] = 'ES256'): StoredKey => ({
  kid,
  alg,
  createdAtMs: 0,
  publicJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` },
  sealedPrivateJwk: `v1.sealed-${kid}`,
});
const T0 = 1_000_000;
const cfg = key('default', { rotationPeriodSeconds: 100, verificationTtlSeconds: 50 });

describe('key ring', () => {
  it('is due for rotation exactly one rotation period after its current key started signing', () => {
    const ring = newRing('default', stored('a'), stored('b'), T0, 10);
    expect(rotationDue(ring, cfg, T0 + 99_999)).toBe(false);
    expect(rotationDue(ring, cfg, T0 + 100_000)).toBe(true);
  });

  it('retires the current key without its private half, for max(verification_ttl, longest TTL + margin)', () => {
    const ring = newRing('default', stored('a'), stored('b'), T0, 10);
    const table = [
      { maxTtl: 10, marginMs: 1000, notAfter: T0 + 50_000 }, // verification_ttl dominates
      { maxTtl: 60, marginMs: 1000, notAfter: T0 + 61_000 }, // TTL now + margin dominates
    ];
    for (const row of table) {
      const next = rotateRing(ring, stored('c'), {
        nowMs: T0,
        key: cfg,
        maxTokenTtlSeconds: row.maxTtl,
        marginMs: row.marginMs,
      });
      expect(next.generation).toBe(2);
      expect(next.current).toMatchObject({ kid: 'b', activatedAtMs: T0, maxTokenTtlSeconds: row.maxTtl });
      expect(next.next.kid).toBe('c');
      expect(next.retired).toStrictEqual([
        {
          kid: 'a',
          alg: 'ES256',
          createdAtMs: 0,
          publicJwk: stored('a').publicJwk,
          retiredAtMs: T0,
          notAfterMs: row.notAfter,
        },
      ]);
    }
  });

  it('keeps the window of the longest TTL the retiring key was activated with, after a config shortened it', () => {
    const ring = newRing('default', stored('a'), stored('b'), T0, 3600);
    const next = rotateRing(ring, stored('c'), { nowMs: T0, key: cfg, maxTokenTtlSeconds: 10, marginMs: 0 });
    expect(next.retired[0]?.notAfterMs).toBe(T0 + 3_600_000);
  });

  it('publishes current, next and retired keys inside their window, and prunes the others on rotation', () => {
    let ring = newRing('default', stored('a'), stored('b'), T0, 0);
    ring = rotateRing(ring, stored('c'), { nowMs: T0, key: cfg, maxTokenTtlSeconds: 0, marginMs: 0 });
    expect(publishedKeys(ring, T0 + 49_999).map((k) => k.kid)).toStrictEqual(['b', 'c', 'a']);
    expect(publishedKeys(ring, T0 + 50_000).map((k) => k.kid)).toStrictEqual(['b', 'c']);
    expect(publishedKeys(ring, T0)[0]).toStrictEqual({
      ...stored('b').publicJwk,
      kid: 'b',
      alg: 'ES256',
      use: 'sig',
    });
    ring = rotateRing(ring, stored('d'), {
      nowMs: T0 + 50_000,
      key: cfg,
      maxTokenTtlSeconds: 0,
      marginMs: 0,
    });
    expect(ring.retired.map((k) => k.kid)).toStrictEqual(['b']);
  });

  it('parses what it serialized, and refuses anything else as corrupt', () => {
    const ring = newRing('default', stored('a'), stored('b'), T0, 0);
    expect(parseRing(serializeRing(ring), 'default')).toStrictEqual(ring);
    for (const bad of ['', 'nope', '{}', '{"v":2}', serializeRing({ ...ring, name: 'other' })]) {
      expect(() => parseRing(bad, 'default')).toThrow(AuthgateError);
    }
  });
});
