import { hkdfSync } from 'node:crypto';
import { GCM_IV_BYTES, GCM_TAG_BYTES, openGcm, sealGcm } from '../lib/aead.js';

/**
 * Encryption at rest for secrets engines: AES-256-GCM with a random 96-bit IV per value and the
 * value's location as additional authenticated data, so a sealed value moved to another key
 * (another path, version or mount) no longer opens.
 *
 * A cipher holds a key ring: the current key, which seals, and previous keys, which only open
 * (Vault's keyring: old terms decrypt, the newest encrypts). A value names the key that sealed it.
 */
export type SecretCipher = {
  /**
   * Seals `plaintext` bound to `aad` (e.g. `kv:secret:app/db:3`) under the current key. Returns
   * `v2.<key id>.<iv>.<ciphertext+tag>` (base64url).
   */
  seal(plaintext: Buffer | string, aad: string): string;
  /**
   * Opens a value sealed under the current or a previous key with the same `aad`: a `v2` value by
   * its key id (one key tried), a `v1` value (sealed before values named their key) under the
   * current key, then each previous key in order.
   * @throws CipherError when the value is malformed, names a key this cipher does not hold, was
   *   sealed under another key or AAD, or was altered.
   */
  open(sealed: string, aad: string): Buffer;
  /**
   * True when `sealed` is not in the current format under the current key (a `v1` value, or one
   * sealed under a previous or unknown key): a re-key re-seals it. Reads no ciphertext.
   */
  isStale(sealed: string): boolean;
};

/**
 * What a re-key did: values re-sealed under the current key, and values it could not open (under
 * no key the cipher holds, or altered), which it left as they were.
 */
export type ResealCounts = { resealed: number; unopenable: number };

/** A sealed value that does not open: corrupt, tampered with, or sealed under another key. */
export class CipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CipherError';
  }
}

const LEGACY = 'v1';
const VERSION = 'v2';
/** Key id length, bytes: 2^-64 odds that two keys of one ring collide; 11 base64url characters. */
const KEY_ID_BYTES = 8;

type DataKey = { id: string; key: Buffer };

/**
 * The data key and its id, both HKDF-SHA256 of the key material under distinct labels: the id is
 * as unrelated to the data key as to the material, so it tells a reader which key sealed a value
 * and nothing that helps guess either (the material has ≥ 256 bits; an 8-byte HKDF output of it
 * cannot be inverted).
 */
const deriveDataKey = (keyMaterial: Buffer): DataKey => {
  if (!Buffer.isBuffer(keyMaterial) || keyMaterial.length < 32) {
    throw new TypeError('secret key material must be a Buffer of at least 32 bytes');
  }
  const derive = (label: string, bytes: number) =>
    Buffer.from(hkdfSync('sha256', keyMaterial, Buffer.alloc(0), label, bytes));
  return {
    key: derive('authgate secrets at rest v1', 32),
    id: derive('authgate secrets at rest key id v1', KEY_ID_BYTES).toString('base64url'),
  };
};

/** Opens one AES-256-GCM body (ciphertext ‖ tag) under `key`; throws CipherError on any failure. */
const openWith = (key: Buffer, iv: Buffer, body: Buffer, aad: string): Buffer => {
  const opened = openGcm(key, iv, body, aad);
  // Another key, another AAD, or altered bytes. Never say which.
  if (opened === undefined) throw new CipherError('sealed value does not open under this key');
  return opened;
};

/**
 * Derives the 256-bit data keys with HKDF-SHA256 from `keyMaterial` (≥ 32 bytes: the
 * `secrets.encryption_key_file`, else the server key) and from each of `previousKeyMaterial`
 * (`secrets.previous_encryption_key_files`, in order), under a fixed label, so a data key is
 * never the HMAC key itself even when both come from the server key. Previous material equal to
 * the current one or to an earlier entry is ignored.
 *
 * @throws TypeError when any key material is shorter than 32 bytes.
 */
export const createSecretCipher = (
  keyMaterial: Buffer,
  previousKeyMaterial: readonly Buffer[] = [],
): SecretCipher => {
  const current = deriveDataKey(keyMaterial);
  const byId = new Map<string, Buffer>([[current.id, current.key]]);
  for (const material of previousKeyMaterial) {
    const previous = deriveDataKey(material);
    if (!byId.has(previous.id)) byId.set(previous.id, previous.key);
  }
  // A v1 value names no key: the current one first (the common case), then the previous ones.
  const legacyOrder = [...byId.values()];
  const currentPrefix = `${VERSION}.${current.id}.`;

  return {
    seal: (plaintext, aad) => {
      const { iv, body } = sealGcm(current.key, plaintext, aad);
      return `${currentPrefix}${iv.toString('base64url')}.${body.toString('base64url')}`;
    },
    open: (sealed, aad) => {
      const parts = sealed.split('.');
      const legacy = parts.length === 3 && parts[0] === LEGACY;
      if (!legacy && (parts.length !== 4 || parts[0] !== VERSION))
        throw new CipherError('sealed value has an unknown format');
      const iv = Buffer.from((legacy ? parts[1] : parts[2]) ?? '', 'base64url');
      const body = Buffer.from((legacy ? parts[2] : parts[3]) ?? '', 'base64url');
      if (iv.length !== GCM_IV_BYTES || body.length < GCM_TAG_BYTES)
        throw new CipherError('sealed value is truncated');
      if (!legacy) {
        const key = byId.get(parts[1] ?? '');
        // Same message as a wrong key: which keys a server holds is nobody's business.
        if (key === undefined) throw new CipherError('sealed value does not open under this key');
        return openWith(key, iv, body, aad);
      }
      for (let i = 0; i < legacyOrder.length - 1; i++) {
        try {
          return openWith(legacyOrder[i] as Buffer, iv, body, aad);
        } catch {
          /* the next key */
        }
      }
      return openWith(legacyOrder[legacyOrder.length - 1] as Buffer, iv, body, aad);
    },
    isStale: (sealed) => !sealed.startsWith(currentPrefix),
  };
};
