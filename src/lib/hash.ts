import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** HMAC-SHA256, base64url: shorter keys for caches and stores. */
export const hmacB64 = (key: Buffer | string, value: string): string =>
  createHmac('sha256', key).update(value).digest('base64url');

/**
 * A short, non-reversible fingerprint for logs: the first 12 hex characters of SHA-256. It lets
 * an operator correlate log lines for one token without the token ever being written.
 */
export const fingerprint = (secret: string): string =>
  createHash('sha256').update(secret).digest('hex').slice(0, 12);

/** Constant-time string comparison (lengths are compared first, which leaks only the length). */
export const safeEqual = (a: string, b: string): boolean => {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) return false;
  return timingSafeEqual(ab, bb);
};
