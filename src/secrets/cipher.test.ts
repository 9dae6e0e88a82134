import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CipherError, createSecretCipher } from './cipher.js';

describe('createSecretCipher', () => {
  const cipher = createSecretCipher(randomBytes(32));

  it('opens what it sealed, and the sealed form holds no plaintext', () => {
    const sealed = cipher.seal('hunter2-password', 'kv:secret:app:1');
    expect(sealed).not.toContain('hunter2');
    expect(sealed).toMatch(/^v2\.[\w-]{11}\.[\w-]{16}\.[\w-]+$/);
    expect(cipher.open(sealed, 'kv:secret:app:1').toString()).toBe('hunter2-password');
  });

  it('seals the same value differently each time (random IV)', () => {
    expect(cipher.seal('x', 'a')).not.toBe(cipher.seal('x', 'a'));
  });

  it('refuses a value moved to another AAD', () => {
    const sealed = cipher.seal('v', 'kv:secret:a:1');
    expect(() => cipher.open(sealed, 'kv:secret:b:1')).toThrow(CipherError);
  });

  it('refuses a value sealed under another key', () => {
    const other = createSecretCipher(randomBytes(32));
    expect(() => other.open(cipher.seal('v', 'a'), 'a')).toThrow(CipherError);
  });

  it('refuses altered, truncated and malformed values', () => {
    const sealed = cipher.seal('value', 'a');
    const [v, id, iv, body] = sealed.split('.') as [string, string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    for (const bad of [
      `${v}.${id}.${iv}.${flipped.toString('base64url')}`,
      `${v}.${id}.${iv}.AAAA`,
      `${v}.${iv}.${body}`,
      'v2.a.b',
      'nonsense',
      '',
    ]) {
      expect(() => cipher.open(bad, 'a')).toThrow(CipherError);
    }
  });

  it('refuses key material shorter than 32 bytes', () => {
    expect(() => createSecretCipher(randomBytes(16))).toThrow(TypeError);
  });
});

/** A value as authgate sealed it before values named their key (`v1.<iv>.<body>`). */
const legacySeal = (material: Buffer, plaintext: string, aad: string): string => {
  const key = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'authgate secrets at rest v1', 32));
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  return `v1.${iv.toString('base64url')}.${body.toString('base64url')}`;
};

describe('createSecretCipher with previous keys', () => {
  const a = randomBytes(32);
  const b = randomBytes(40);
  const c = randomBytes(32);
  const onlyA = createSecretCipher(a);
  const bAfterA = createSecretCipher(b, [a]);
  const onlyB = createSecretCipher(b);
  const keyId = (sealed: string) => sealed.split('.')[1];

  it('names the sealing key by an id that is neither the key nor changes with the value', () => {
    const one = onlyA.seal('x', 'a');
    const two = onlyA.seal('y', 'b');
    expect(keyId(one)).toBe(keyId(two));
    expect(keyId(bAfterA.seal('x', 'a'))).not.toBe(keyId(one));
    expect(one).not.toContain(a.toString('base64url').slice(0, 8));
  });

  it('opens values sealed under a previous key, and seals new ones under the current key', () => {
    const old = onlyA.seal('under-a', 'a');
    expect(bAfterA.open(old, 'a').toString()).toBe('under-a');
    const fresh = bAfterA.seal('under-b', 'a');
    expect(keyId(fresh)).toBe(keyId(onlyB.seal('z', 'a')));
    expect(onlyB.open(fresh, 'a').toString()).toBe('under-b');
    expect(() => onlyA.open(fresh, 'a')).toThrow(CipherError);
  });

  it('opens values sealed before they named their key, under the current key or a previous one', () => {
    expect(onlyA.open(legacySeal(a, 'legacy-a', 'x'), 'x').toString()).toBe('legacy-a');
    const ring = createSecretCipher(b, [c, a]);
    expect(ring.open(legacySeal(a, 'legacy-a', 'x'), 'x').toString()).toBe('legacy-a');
    expect(ring.open(legacySeal(b, 'legacy-b', 'x'), 'x').toString()).toBe('legacy-b');
    expect(() => ring.open(legacySeal(a, 'legacy-a', 'x'), 'y')).toThrow(CipherError);
    expect(() => onlyB.open(legacySeal(a, 'legacy-a', 'x'), 'x')).toThrow(CipherError);
  });

  it('refuses a value naming a key it does not hold, as a value sealed under another key', () => {
    const underC = createSecretCipher(c).seal('v', 'a');
    let message = '';
    try {
      bAfterA.open(underC, 'a');
    } catch (err) {
      expect(err).toBeInstanceOf(CipherError);
      message = (err as Error).message;
    }
    expect(message).toBe('sealed value does not open under this key');
  });

  it('opens by the named key only: a value whose id was swapped for another held key does not open', () => {
    const underA = onlyA.seal('v', 'a').split('.');
    const idB = keyId(onlyB.seal('v', 'a'));
    expect(() => bAfterA.open([underA[0], idB, underA[2], underA[3]].join('.'), 'a')).toThrow(CipherError);
  });

  it('tells stale values (legacy format, previous or unknown key) from current ones', () => {
    expect(bAfterA.isStale(bAfterA.seal('v', 'a'))).toBe(false);
    expect(bAfterA.isStale(onlyA.seal('v', 'a'))).toBe(true);
    expect(bAfterA.isStale(legacySeal(b, 'v', 'a'))).toBe(true);
    expect(bAfterA.isStale(createSecretCipher(c).seal('v', 'a'))).toBe(true);
  });

  it('ignores a previous key equal to the current one', () => {
    const same = createSecretCipher(a, [a]);
    expect(same.open(onlyA.seal('v', 'a'), 'a').toString()).toBe('v');
  });

  it('refuses previous key material shorter than 32 bytes', () => {
    expect(() => createSecretCipher(a, [randomBytes(31)])).toThrow(TypeError);
  });
});
