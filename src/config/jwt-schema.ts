import Type, { type Static } from 'typebox';
import {
  JwtAlgorithm,
  Count,
  MountCommonFields,
  namedRoles,
  StringList,
  TokenRoleFields,
} from './schema-parts.js';

/*
 * The schema of a jwt mount in `authgate.yaml` (`auth.<mount>` with `type: jwt`): the field names
 * of Vault's JWT auth method. `jwt-mount-config.ts` normalizes what passes it.
 */

/**
 * A leeway of a jwt role (Vault's `clock_skew_leeway`, `expiration_leeway`, `not_before_leeway`):
 * a duration, where 0 (or absent) is Vault's default and -1 is none.
 */
const Leeway = Type.Union([Type.String({ minLength: 1 }), Count(-1)], {
  description: 'a duration: seconds, or a string like "90s"; 0 = the default, -1 = none',
});

/** A value of `bound_claims`: what a claim must equal (or match, as a glob); a list = any of them. */
const BoundClaimValue = Type.Union([
  Type.String(),
  Type.Number(),
  Type.Boolean(),
  Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()])),
]);

/**
 * One role of a jwt mount (`auth.<mount>.roles.<name>`), with the field names of Vault's JWT auth
 * method (`auth/jwt/role/<name>`, `role_type: jwt`); `jwt-mount-config.ts` applies its rules.
 */
export const JwtRoleSchema = Type.Object(
  {
    /** Only `jwt`: authgate serves no OIDC browser flow. Default `jwt`. */
    role_type: Type.Optional(Type.Literal('jwt')),
    bound_audiences: Type.Optional(StringList),
    /** The claim whose value names the workload (its alias): `sub`, or a JSON pointer with `user_claim_json_pointer`. */
    user_claim: Type.String({ minLength: 1 }),
    user_claim_json_pointer: Type.Optional(Type.Boolean()),
    bound_subject: Type.Optional(Type.String({ minLength: 1 })),
    /** Claim (or JSON pointer, `/kubernetes.io/namespace`) → the value, or values, it must have. */
    bound_claims: Type.Optional(Type.Record(Type.String({ minLength: 1 }), BoundClaimValue)),
    bound_claims_type: Type.Optional(Type.Union([Type.Literal('string'), Type.Literal('glob')])),
    /** Claim (or JSON pointer) → the token metadata key its value is copied to. */
    claim_mappings: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }))),
    clock_skew_leeway: Type.Optional(Leeway),
    expiration_leeway: Type.Optional(Leeway),
    not_before_leeway: Type.Optional(Leeway),
    ...TokenRoleFields,
  },
  { additionalProperties: false },
);

/**
 * One `auth.<mount>` of type `jwt`: Vault's JWT auth method (`auth/jwt/config`), for any issuer
 * whose tokens are signed with published or given keys; `jwt-mount-config.ts` normalizes it.
 */
export const JwtMountSchema = Type.Object(
  {
    type: Type.Literal('jwt'),
    /** The issuer's URL: keys from `<url>/.well-known/openid-configuration`, whose `issuer` must be this URL. */
    oidc_discovery_url: Type.Optional(Type.String({ minLength: 1 })),
    oidc_discovery_ca_pem: Type.Optional(Type.String({ minLength: 1 })),
    jwks_url: Type.Optional(Type.String({ minLength: 1 })),
    jwks_ca_pem: Type.Optional(Type.String({ minLength: 1 })),
    /** PEM public keys (RSA, EC or Ed25519) that tokens are checked against, whatever their `kid`. */
    jwt_validation_pubkeys: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
    /** The `iss` every token must carry. Default: any. */
    bound_issuer: Type.Optional(Type.String({ minLength: 1 })),
    jwt_supported_algs: Type.Optional(Type.Array(JwtAlgorithm, { minItems: 1 })),
    /** The role of a login that names none. */
    default_role: Type.Optional(Type.String({ minLength: 1 })),
    ...MountCommonFields,
    roles: namedRoles(JwtRoleSchema),
  },
  { additionalProperties: false },
);

/** A mount that passed {@link JwtMountSchema}, before normalization. */
export type JwtMountDocument = Static<typeof JwtMountSchema>;
/** A role that passed {@link JwtRoleSchema}, before normalization. */
export type JwtRoleDocument = Static<typeof JwtRoleSchema>;
