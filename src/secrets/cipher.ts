import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encryption at rest for secrets engines: AES-256-GCM with a random 96-bit IV per value and the
 * value's location as additional authenticated data, so a sealed value moved to another key
 * (another path, version or mount) no longer opens.
 */
export type SecretCipher = {
  /** Seals `plaintext` bound to `aad` (e.g. `kv:secret:app/db:3`). Returns `v1.<iv>.<ciphertext+tag>` (base64url). */
  seal(plaintext: Buffer | string, aad: string): string;
  /**
   * Opens a value sealed with the same key and `aad`.
   * @throws CipherError when the value is malformed, was sealed under another key or AAD, or was altered.
   */
  open(sealed: string, aad: string): Buffer;
};

/** A sealed value that does not open: corrupt, tampered with, or sealed under another key. */
export class CipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CipherError';
  }
}

const IV_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 'v1';

/**
 * Derives the 256-bit data key with HKDF-SHA256 from `keyMaterial` (≥ 32 bytes: the
 * `secrets.encryption_key_file`, else the server key) under a fixed label, so the data key is
 * never the HMAC key itself even when both come from the server key.
 *
 * @throws TypeError when `keyMaterial` is shorter than 32 bytes.
 */
export const createSecretCipher = (keyMaterial: Buffer): SecretCipher => {
  if (!Buffer.isBuffer(keyMaterial) || keyMaterial.length < 32) {
    throw new TypeError('secret key material must be a Buffer of at least 32 bytes');
  }
  const key = Buffer.from(
    hkdfSync('sha256', keyMaterial, Buffer.alloc(0), 'authgate secrets at rest v1', 32),
  );
  return {
    seal: (plaintext, aad) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(aad, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}.${iv.toString('base64url')}.${body.toString('base64url')}`;
    },
    open: (sealed, aad) => {
      const parts = sealed.split('.');
      if (parts.length !== 3 || parts[0] !== VERSION)
        throw new CipherError('sealed value has an unknown format');
      const iv = Buffer.from(parts[1] ?? '', 'base64url');
      const body = Buffer.from(parts[2] ?? '', 'base64url');
      if (iv.length !== IV_BYTES || body.length < TAG_BYTES)
        throw new CipherError('sealed value is truncated');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, iv);
        decipher.setAAD(Buffer.from(aad, 'utf8'));
        decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
        return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]);
      } catch {
        // GCM's tag check failed: another key, another AAD, or altered bytes. Never say which.
        throw new CipherError('sealed value does not open under this key');
      }
    },
  };
};
