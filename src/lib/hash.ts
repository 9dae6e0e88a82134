import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A key of its own for one use, derived from `key` (HMAC-SHA256 of `label`), so that two uses of
 * one server key never share an HMAC key.
 */
export const deriveKey = (key: Buffer, label: string): Buffer =>
  createHmac('sha256', key).update(label).digest();

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

/**
 * The MAC {@link signEntry} puts on `value` stored under `name` (HMAC-SHA256, base64url: 43
 * characters), for a store format that carries it elsewhere in the value.
 */
export const entryMac = (key: Buffer, name: string, value: string): string =>
  hmacB64(key, `${name}\n${value}`);

/**
 * A value for a shared store with an HMAC bound to the name it is stored under:
 * `<mac>.<value>`. What authgate reads back from a store it shares with other replicas (a
 * verified result, a key set) is believed only with its MAC: whoever can write the store cannot
 * forge one without the key, nor move one entry to another name.
 */
export const signEntry = (key: Buffer, name: string, value: string): string =>
  `${entryMac(key, name, value)}.${value}`;

/** The value {@link signEntry} wrapped, when its MAC holds for `name`; undefined otherwise. */
export const openEntry = (key: Buffer, name: string, raw: string): string | undefined => {
  const dot = raw.indexOf('.');
  if (dot < 0) return undefined;
  const value = raw.slice(dot + 1);
  return safeEqual(raw.slice(0, dot), entryMac(key, name, value)) ? value : undefined;
};

/**
 * An accessor (`<prefix>_1a2b3c4d`) and a UUID-shaped id derived from `seed` (SHA-256), for a
 * mount Vault would name at random when it is enabled: authgate's mounts come from the config
 * file, so every replica and every restart must name them alike.
 */
export const stableMountIds = (seed: string, accessorPrefix: string): { accessor: string; uuid: string } => {
  const h = createHash('sha256').update(seed).digest('hex');
  return {
    accessor: `${accessorPrefix}_${h.slice(0, 8)}`,
    uuid: `${h.slice(8, 16)}-${h.slice(16, 20)}-${h.slice(20, 24)}-${h.slice(24, 28)}-${h.slice(28, 40)}`,
  };
};
