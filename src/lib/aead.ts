import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createRandomPool } from './random-pool.js';

/** AES-256-GCM's IV (96 bits, random per value) and tag (128 bits), bytes. */
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;

/** IVs from a pool of CSPRNG bytes: a call into OpenSSL per IV costs more than the encryption. */
const randomIv = createRandomPool();

/**
 * AES-256-GCM under `key` (32 bytes) with a fresh random IV, bound to `aad`. Returns the IV and
 * the body (ciphertext ‖ tag), for the caller to frame.
 */
export const sealGcm = (
  key: Buffer,
  plaintext: Buffer | string,
  aad: string,
): { iv: Buffer; body: Buffer } => {
  const iv = randomIv(GCM_IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return { iv, body };
};

/**
 * Opens a body {@link sealGcm} made (ciphertext ‖ tag) under `key` and `iv`, bound to `aad`.
 * Returns undefined when it does not open: another key, another AAD, altered or truncated bytes.
 * Never says which.
 */
export const openGcm = (key: Buffer, iv: Buffer, body: Buffer, aad: string): Buffer | undefined => {
  if (iv.length !== GCM_IV_BYTES || body.length < GCM_TAG_BYTES) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(body.subarray(body.length - GCM_TAG_BYTES));
    const plain = decipher.update(body.subarray(0, body.length - GCM_TAG_BYTES));
    const rest = decipher.final(); // GCM's is empty: no copy then
    return rest.length === 0 ? plain : Buffer.concat([plain, rest]);
  } catch {
    // GCM's tag check failed.
    return undefined;
  }
};
