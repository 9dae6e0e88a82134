import { createHash, KeyObject, verify as cryptoVerify } from 'node:crypto';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';

/** Signing algorithms the simulator mints with (an RSA key gives RS256 only; P-256 gives ES256). */
export type SigningAlg = 'RS256' | 'ES256';

/** A service-account key: the private half signs, the public half is published and verifies. */
export type ServiceAccountKey = {
  /** base64url(SHA-256(DER SubjectPublicKeyInfo)), as `keyIDFromPublicKey`. */
  kid: string;
  alg: SigningAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
};

/**
 * The key ID the API server derives from a public key: `base64url_nopad(SHA-256(DER(PKIX
 * SubjectPublicKeyInfo)))` (`keyIDFromPublicKey` in `pkg/serviceaccount/jwt.go`).
 */
export const keyIdFromPublicKey = (publicKey: KeyObject): string =>
  createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64url');

/** The signing algorithm a public key supports, or `undefined` for a key the simulator cannot use. */
export const algForKey = (publicKey: KeyObject): SigningAlg | undefined => {
  if (publicKey.asymmetricKeyType === 'rsa') return 'RS256';
  if (publicKey.asymmetricKeyType === 'ec' && publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1')
    return 'ES256';
  return undefined;
};

/** A fresh key pair (RSA 2048 or P-256) with its derived kid. */
export const generateServiceAccountKey = async (alg: SigningAlg): Promise<ServiceAccountKey> => {
  const pair = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const publicKey = KeyObject.from(pair.publicKey);
  return { kid: keyIdFromPublicKey(publicKey), alg, privateKey: KeyObject.from(pair.privateKey), publicKey };
};

/**
 * A published JWK with the API server's member order (`use, kty, kid, crv, alg, x, y, n, e`; go-jose's
 * struct order). Only public members are ever included.
 *
 * @throws TypeError for a key type other than RSA or EC P-256.
 */
export const publishedJwk = async (publicKey: KeyObject): Promise<Record<string, string>> => {
  const alg = algForKey(publicKey);
  if (!alg) throw new TypeError('publishedJwk: only RSA and EC P-256 keys are supported');
  const jwk = await exportJWK(publicKey);
  const kid = keyIdFromPublicKey(publicKey);
  if (alg === 'RS256') return { use: 'sig', kty: 'RSA', kid, alg, n: String(jwk.n), e: String(jwk.e) };
  return { use: 'sig', kty: 'EC', kid, crv: String(jwk.crv), alg, x: String(jwk.x), y: String(jwk.y) };
};

/**
 * Whether the API server serves issuer discovery for this (first) issuer: `NewOpenIDMetadataProvider`
 * wants an `https` URL without query or fragment, and otherwise the endpoints are not installed.
 */
export const servesDiscovery = (issuer: string): boolean => {
  try {
    const url = new URL(issuer);
    return url.protocol === 'https:' && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
};

/** `{"keys":[…]}` exactly as `/openid/v1/jwks` serves it (compact, no trailing newline). */
export const jwksDocument = (jwks: readonly Record<string, string>[]): string =>
  JSON.stringify({ keys: jwks });

/**
 * The discovery document exactly as `/.well-known/openid-configuration` serves it: fixed member
 * order, `id_token_signing_alg_values_supported` sorted and de-duplicated.
 */
export const discoveryDocument = (issuer: string, jwksUri: string, algs: readonly string[]): string =>
  JSON.stringify({
    issuer,
    jwks_uri: jwksUri,
    response_types_supported: ['id_token'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: [...new Set(algs)].sort(),
  });

/**
 * A compact JWS over the exact `payload` bytes, with the protected header exactly
 * `{"alg":"<alg>","kid":"<kid>"}` (no `typ`, as the API server signs). `kid` is the key's own kid,
 * or `""` for a legacy Secret token.
 */
export const signCompact = (key: ServiceAccountKey, kid: string, payload: string): Promise<string> =>
  new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: key.alg, kid })
    .sign(key.privateKey);

/**
 * Whether `signature` is a valid `alg` signature over `signingInput` under `publicKey`. A key whose
 * type does not fit `alg` never verifies (go-jose refuses such a pair too). Never throws.
 */
export const verifyJws = (
  publicKey: KeyObject,
  alg: string,
  signingInput: string,
  signature: Buffer,
): boolean => {
  if (algForKey(publicKey) !== alg) return false;
  try {
    const data = Buffer.from(signingInput);
    return alg === 'ES256'
      ? cryptoVerify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature)
      : cryptoVerify('sha256', data, publicKey, signature);
  } catch {
    return false;
  }
};

/** The published key set and the current signing key. */
export type KeyRing = ReturnType<typeof createKeyRing>;

/**
 * The keys the simulator signs with and accepts. Published keys are listed oldest first, as the
 * API server lists `--service-account-key-file` keys in flag order; the most recently added key
 * signs.
 */
export const createKeyRing = (initial: ServiceAccountKey) => {
  const keys: { key: ServiceAccountKey; jwk: Record<string, string> }[] = [];
  let signer = initial;

  const add = async (key: ServiceAccountKey): Promise<void> => {
    keys.push({ key, jwk: await publishedJwk(key.publicKey) });
    signer = key;
  };

  return {
    add,
    /** The key new tokens are signed with. */
    signingKey: (): ServiceAccountKey => signer,
    /**
     * Stop publishing and accepting `kid`. Removing the signing key makes the newest remaining key
     * sign.
     *
     * @throws TypeError when `kid` is unknown or is the last key.
     */
    remove: (kid: string): void => {
      const index = keys.findIndex((k) => k.key.kid === kid);
      if (index < 0) throw new TypeError(`removeKey: no key with kid ${JSON.stringify(kid)}`);
      if (keys.length === 1) throw new TypeError('removeKey: cannot remove the last key');
      keys.splice(index, 1);
      if (signer.kid === kid) signer = (keys[keys.length - 1] as { key: ServiceAccountKey }).key;
    },
    /**
     * Verification keys for a token's `kid` header. A non-empty kid selects only keys with that kid
     * (current API servers); an empty kid, or `matchKid: false` (pre-1.31 servers), gives all keys.
     */
    verificationKeys: (kid: string, matchKid = true): ServiceAccountKey[] =>
      keys.filter((k) => !matchKid || kid === '' || k.key.kid === kid).map((k) => k.key),
    /** The published JWKs, oldest first. */
    jwks: (): Record<string, string>[] => keys.map((k) => k.jwk),
  };
};

/** Create a key ring whose first key is already published. */
export const startKeyRing = async (initial: ServiceAccountKey): Promise<KeyRing> => {
  const ring = createKeyRing(initial);
  await ring.add(initial);
  return ring;
};
