import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import { AuthgateError } from '../../errors.js';
import type { SecretCipher } from '../cipher.js';
import type { IdentityAlgorithm, PublicJwk } from './types.js';

/**
 * One signing key pair as the ring stores it: the public half in clear (it is published), the
 * private half only as a sealed JWK.
 */
export type StoredKey = {
  /** RFC 7638 thumbprint (SHA-256, base64url) of the public JWK: stable, and unique across rings. */
  kid: string;
  alg: IdentityAlgorithm;
  /** When the pair was generated, ms since the epoch. */
  createdAtMs: number;
  /** The public JWK's key members only (`kty`, `crv`, `x`, `y` / `n`, `e`). */
  publicJwk: JWK;
  /** The private JWK as JSON, sealed by {@link SecretCipher} under {@link privateKeyAad}. */
  sealedPrivateJwk: string;
};

/**
 * The AAD a private key is sealed under: its key ring's name and its own kid, so that a sealed
 * key copied into another ring or entry no longer opens.
 */
export const privateKeyAad = (keyName: string, kid: string): string => `oidc-key:${keyName}:${kid}`;

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

const publicMembers = (jwk: JWK): JWK => {
  const out: JWK = {};
  for (const m of PUBLIC_MEMBERS) if (jwk[m] !== undefined) out[m] = jwk[m];
  return out;
};

/**
 * Generates a key pair for `alg` (RSA keys are 2048 bits, as Vault's; ES512 is P-521; EdDSA is
 * Ed25519) and seals its private half at once: the extractable private key lives only inside this
 * call.
 *
 * jose rather than node:crypto because it speaks JOSE end to end: the JWK export that the JWKS
 * publishes, the RFC 7638 kid, and JWS signatures in the encoding JWS requires (ECDSA as raw
 * r‖s, which node:crypto produces only when asked).
 */
export const generateStoredKey = async (
  keyName: string,
  alg: IdentityAlgorithm,
  cipher: Pick<SecretCipher, 'seal'>,
  nowMs: number,
): Promise<StoredKey> => {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = publicMembers(await exportJWK(publicKey));
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    alg,
    createdAtMs: nowMs,
    publicJwk,
    sealedPrivateJwk: cipher.seal(JSON.stringify(privateJwk), privateKeyAad(keyName, kid)),
  };
};

/** A key as the JWKS publishes it. */
export const toPublicJwk = (key: Pick<StoredKey, 'kid' | 'alg' | 'publicJwk'>): PublicJwk => ({
  ...key.publicJwk,
  kid: key.kid,
  alg: key.alg,
  use: 'sig',
});

/** The private key a token is signed with, imported non-extractable. */
export type Signer = { kid: string; alg: IdentityAlgorithm; key: CryptoKey };

/**
 * Opens a stored key's private half for signing.
 *
 * @throws AuthgateError INTERNAL (reason `identity_key_unsealable`) when the sealed key does not
 *   open: the ring was written under another encryption key (replicas configured with different
 *   `secrets.encryption_key_file`s, or the file changed), or it was altered. Never a new key in its
 *   place: another replica may hold the right encryption key, and a silent replacement would split
 *   the fleet's keys.
 */
export const openSigner = async (
  keyName: string,
  key: StoredKey,
  cipher: Pick<SecretCipher, 'open'>,
): Promise<Signer> => {
  let jwk: JWK;
  try {
    jwk = JSON.parse(
      cipher.open(key.sealedPrivateJwk, privateKeyAad(keyName, key.kid)).toString('utf8'),
    ) as JWK;
  } catch (err) {
    throw new AuthgateError('INTERNAL', {
      reason: 'identity_key_unsealable',
      detail: `signing key ${key.kid} of "${keyName}" does not open under this encryption key`,
      // Not a parser's error: its message quotes the text around the fault, the private key.
      cause: err instanceof SyntaxError ? undefined : err,
    });
  }
  const imported = await importJWK(jwk, key.alg, { extractable: false });
  if (imported instanceof Uint8Array) throw new TypeError(`signing key ${key.kid} is not an asymmetric key`);
  return { kid: key.kid, alg: key.alg, key: imported };
};
