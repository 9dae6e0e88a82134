import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';

/**
 * How each allowed algorithm verifies (RFC 7518 §3): hash, and for PS* the PSS padding with a salt
 * as long as the hash, for ES* the raw r||s (IEEE P1363) signature encoding JWS uses. EdDSA
 * (RFC 8037) is Ed25519 only, as go-jose's: no separate hash, a 64-byte signature.
 * `none`, HS* and anything else have no entry and can never verify.
 */
const ALGORITHMS: Record<
  string,
  { hash: string | null; kty: 'RSA' | 'EC' | 'OKP'; pss?: number; ecBytes?: number; okpBytes?: number }
> = {
  RS256: { hash: 'sha256', kty: 'RSA' },
  RS384: { hash: 'sha384', kty: 'RSA' },
  RS512: { hash: 'sha512', kty: 'RSA' },
  PS256: { hash: 'sha256', kty: 'RSA', pss: 32 },
  PS384: { hash: 'sha384', kty: 'RSA', pss: 48 },
  PS512: { hash: 'sha512', kty: 'RSA', pss: 64 },
  ES256: { hash: 'sha256', kty: 'EC', ecBytes: 64 },
  ES384: { hash: 'sha384', kty: 'EC', ecBytes: 96 },
  ES512: { hash: 'sha512', kty: 'EC', ecBytes: 132 },
  EdDSA: { hash: null, kty: 'OKP', okpBytes: 64 },
};

/** RSA keys shorter than this are refused, as jose refuses them. */
export const MIN_RSA_BITS = 2048;

/**
 * A public key from a JWK's public members, ready for {@link verifyJws}. Throws `TypeError` for a
 * private key, a key of another type, or an RSA key under 2048 bits.
 */
export const importPublicJwk = (jwk: Record<string, unknown>): KeyObject => {
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  if (key.type !== 'public') throw new TypeError('not a public key');
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (key.asymmetricKeyType === 'rsa' && (bits === undefined || bits < MIN_RSA_BITS)) {
    throw new TypeError(`RSA key of ${String(bits)} bits; at least ${MIN_RSA_BITS} are required`);
  }
  return key;
};

/**
 * Verifies the signature of a compact JWS with node:crypto, synchronously. Written by hand rather
 * than through jose's `jwtVerify` because jose verifies with WebCrypto, measured here at 72 µs per
 * RS256 token against 20 µs for `crypto.verify` — the largest cost of a login with a new token.
 * The claim checks jose would make are Vault's own (identity/validate-claims.ts), run after this.
 *
 * Synchronous on purpose. The callback form of `crypto.verify` (the work on libuv's pool) was
 * tried: about 10 % more logins with new tokens on two free cores, but every verification then
 * wakes a pool thread (12 % of the event loop's time), the half-rate p99 spread wider in
 * back-to-back runs, and under the manifests' CPU limit of 1 the pool has no second core to use:
 * its threads only share the quota with the loop, and threads that run at once exhaust a CFS
 * quota early, which stalls the whole process until the next period.
 *
 * Returns false for any signature that does not verify, a key whose type does not fit `alg`, an
 * unknown `alg` (`none`, HS*), or a malformed input; never throws for the token's sake.
 */
export const verifyJws = (jwt: string, alg: string, key: KeyObject): boolean => {
  const spec = ALGORITHMS[alg];
  if (spec === undefined) return false;
  // Algorithm confusion is impossible: the key's own type must be the one the algorithm names.
  if ((spec.kty === 'RSA') !== (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss'))
    return false;
  if (spec.kty === 'EC' && key.asymmetricKeyType !== 'ec') return false;
  if ((spec.kty === 'OKP') !== (key.asymmetricKeyType === 'ed25519')) return false;
  const dot = jwt.lastIndexOf('.');
  if (dot <= 0) return false;
  const signature = Buffer.from(jwt.slice(dot + 1), 'base64url');
  if (spec.ecBytes !== undefined && signature.length !== spec.ecBytes) return false;
  if (spec.okpBytes !== undefined && signature.length !== spec.okpBytes) return false;
  try {
    return verify(
      spec.hash,
      Buffer.from(jwt.slice(0, dot), 'ascii'),
      spec.pss !== undefined
        ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: spec.pss }
        : spec.ecBytes !== undefined
          ? { key, dsaEncoding: 'ieee-p1363' }
          : key,
      signature,
    );
  } catch {
    return false;
  }
};
