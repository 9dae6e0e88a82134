/*
 * The signing algorithms the config names: a kubernetes mount's `allowed_algorithms`, a jwt
 * mount's `jwt_supported_algs` and an identity key's `algorithm`.
 */

/** The RSA (PKCS#1 v1.5) and ECDSA algorithms: both a mount's and an identity key's. */
const RS_ES_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'] as const;

/** The JWS algorithms a mount may accept (`allowed_algorithms`); never `none` or HS*. */
export const SIGNING_ALGORITHMS = [...RS_ES_ALGORITHMS, 'PS256', 'PS384', 'PS512'] as const;
/** One of {@link SIGNING_ALGORITHMS}. */
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/**
 * The algorithms a jwt mount may accept (`jwt_supported_algs`): hashicorp/cap's supported set,
 * which Vault's JWT method accepts by default — the mount's nine and EdDSA (Ed25519).
 */
export const JWT_SIGNING_ALGORITHMS = [...SIGNING_ALGORITHMS, 'EdDSA'] as const;
/** One of {@link JWT_SIGNING_ALGORITHMS}. */
export type JwtSigningAlgorithm = (typeof JWT_SIGNING_ALGORITHMS)[number];

/**
 * The algorithms an identity key signs with (`identity.keys.<name>.algorithm`): Vault's
 * `supportedAlgs`, in Vault's order, which discovery lists as they are.
 */
export const IDENTITY_KEY_ALGORITHMS = [...RS_ES_ALGORITHMS, 'EdDSA'] as const;
/** One of {@link IDENTITY_KEY_ALGORITHMS}. */
export type IdentityKeyAlgorithm = (typeof IDENTITY_KEY_ALGORITHMS)[number];
