import type { IdentityKeyConfig } from '../../config/index.js';
import { AuthgateError } from '../../errors.js';
import { toPublicJwk, type StoredKey } from './key-material.js';
import type { PublicJwk } from './types.js';

/** The key that signs now. */
export type ActiveKey = StoredKey & {
  /** When it started signing, ms since the epoch; it is due for rotation `rotation_period` later. */
  activatedAtMs: number;
  /**
   * The longest role TTL (seconds) using this ring when the key started signing, so that a
   * config reload that shortens a TTL never shortens the window of tokens already signed.
   */
  maxTokenTtlSeconds: number;
};

/** A key that signs no more; published until `notAfterMs`. Its private half is gone. */
export type RetiredKey = Omit<StoredKey, 'sealedPrivateJwk'> & { retiredAtMs: number; notAfterMs: number };

/**
 * One named key's ring, stored as JSON sealed whole under `keys.oidcKeyRing(name)` (no TTL; see
 * key-ring-store.ts). As Vault's
 * `namedKey`: the current key, the next key (generated a rotation ahead and already published, so
 * that a verifier whose cached JWKS is younger than the rotation period knows the next signing key
 * before the first token it signs), and retired keys kept for verification. Private halves are
 * sealed; only `current` and `next` keep one.
 */
export type StoredRing = {
  v: 1;
  name: string;
  /** 1 at creation, +1 on every rotation; logged, so operators can tell replicas' views apart. */
  generation: number;
  current: ActiveKey;
  next: StoredKey;
  retired: RetiredKey[];
};

/** A new ring: `current` signs from `nowMs`, `next` waits. */
export const newRing = (
  name: string,
  current: StoredKey,
  next: StoredKey,
  nowMs: number,
  maxTokenTtlSeconds: number,
): StoredRing => ({
  v: 1,
  name,
  generation: 1,
  current: { ...current, activatedAtMs: nowMs, maxTokenTtlSeconds },
  next,
  retired: [],
});

/** Whether the current key has signed for `rotation_period` or longer. */
export const rotationDue = (ring: StoredRing, key: IdentityKeyConfig, nowMs: number): boolean =>
  nowMs >= ring.current.activatedAtMs + key.rotationPeriodSeconds * 1000;

export type RotationTerms = {
  nowMs: number;
  key: IdentityKeyConfig;
  /** The longest TTL (seconds) of the roles using this ring, as configured now. */
  maxTokenTtlSeconds: number;
  /**
   * Added to a token's TTL when computing how long its key stays published: how long another
   * replica may keep signing with a ring it loaded just before this rotation, plus clock leeway.
   */
  marginMs: number;
};

/**
 * Rotates: the current key retires (its private half dropped), the waiting key signs from now,
 * `newNext` waits. A change of algorithm thus takes two rotations: `newNext` is generated with the
 * algorithm configured now, and signs only once it has been published for a whole period. The retired key stays published until `now + max(verification_ttl, longest
 * token TTL + margin)`, so no token it signed outlives it. Retired keys past their window are
 * dropped.
 */
export const rotateRing = (ring: StoredRing, newNext: StoredKey, terms: RotationTerms): StoredRing => {
  const { nowMs, key, marginMs } = terms;
  const ttlSeconds = Math.max(ring.current.maxTokenTtlSeconds, terms.maxTokenTtlSeconds);
  const notAfterMs = nowMs + Math.max(key.verificationTtlSeconds * 1000, ttlSeconds * 1000 + marginMs);
  const { kid, alg, createdAtMs, publicJwk } = ring.current;
  return {
    v: 1,
    name: ring.name,
    generation: ring.generation + 1,
    current: { ...ring.next, activatedAtMs: nowMs, maxTokenTtlSeconds: terms.maxTokenTtlSeconds },
    next: newNext,
    retired: [
      { kid, alg, createdAtMs, publicJwk, retiredAtMs: nowMs, notAfterMs },
      ...ring.retired.filter((r) => r.notAfterMs > nowMs),
    ],
  };
};

/** The ring's keys a verifier may meet at `nowMs`: current, next, and retired keys in their window. */
export const publishedKeys = (ring: StoredRing, nowMs: number): PublicJwk[] => [
  toPublicJwk(ring.current),
  toPublicJwk(ring.next),
  ...ring.retired.filter((r) => r.notAfterMs > nowMs).map(toPublicJwk),
];

export const serializeRing = (ring: StoredRing): string => JSON.stringify(ring);

/** The AAD the sealed ring of key `name` is bound to: a ring moved to another key's entry does not open. */
export const ringAad = (name: string): string => `oidc-ring:${name}`;

const isKey = (k: unknown): k is StoredKey => {
  const key = k as Partial<StoredKey> | null;
  return (
    typeof key === 'object' &&
    key !== null &&
    typeof key.kid === 'string' &&
    typeof key.alg === 'string' &&
    typeof key.publicJwk === 'object' &&
    typeof key.sealedPrivateJwk === 'string'
  );
};

/**
 * Parses a stored ring. The store is trusted (only authgate writes it), so this checks the fields
 * that signing and publishing read rather than every member.
 *
 * @throws AuthgateError INTERNAL (reason `identity_key_ring_corrupt`) when the value is not a
 *   version-1 ring of `name`: fail closed rather than sign with a guess.
 */
export const parseRing = (raw: string, name: string): StoredRing => {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = undefined;
  }
  const r = value as Partial<StoredRing> | undefined;
  if (
    typeof r !== 'object' ||
    r === null ||
    r.v !== 1 ||
    r.name !== name ||
    typeof r.generation !== 'number' ||
    !isKey(r.current) ||
    typeof r.current.activatedAtMs !== 'number' ||
    !isKey(r.next) ||
    !Array.isArray(r.retired) ||
    !r.retired.every((k) => typeof k?.kid === 'string' && typeof k.notAfterMs === 'number')
  ) {
    throw new AuthgateError('INTERNAL', {
      reason: 'identity_key_ring_corrupt',
      detail: `the key ring of "${name}" has an unexpected shape`,
    });
  }
  return r as StoredRing;
};
