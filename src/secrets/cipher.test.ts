import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CipherError, createSecretCipher } from './cipher.js';

describe('createSecretCipher', () => {
  const cipher = createSecretCipher(randomBytes(32));

  it('opens what it sealed, and the sealed form holds no plaintext', () => {
    const sealed = cipher.seal('hunter2-password', 'kv:secret:app:1');
    expect(sealed).not.toContain('hunter2');
    expect(sealed.startsWith('v1.')).toBe(true);
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
    const [v, iv, body] = sealed.split('.') as [string, string, string];
    const flipped = Buffer.from(body, 'base64url');
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    for (const bad of [
      `${v}.${iv}.${flipped.toString('base64url')}`,
      `${v}.${iv}.AAAA`,
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
