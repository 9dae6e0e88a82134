import Type, { type TSchema } from 'typebox';
import { JWT_SIGNING_ALGORITHMS, SIGNING_ALGORITHMS } from './algorithms.js';

/*
 * The value types the schema of `authgate.yaml` is built from (schema.ts and its parts).
 */

/**
 * An integer from `minimum` to at most the largest safe integer. Ajv's `integer` alone lets
 * `.inf` and `1e309` (Infinity) through, and numbers past 2^53 that no count can be exact in,
 * nor be written back as digits (`1e+30` is what Redis would be sent).
 */
export const Count = (minimum: number, maximum: number = Number.MAX_SAFE_INTEGER) =>
  Type.Integer({ minimum, maximum });

export const Duration = Type.Union([Type.String({ minLength: 1 }), Count(0)], {
  description: 'a duration: seconds, or a string like "90s", "15m", "1h30m"',
});

export const StringList = Type.Array(Type.String({ minLength: 1 }));

/**
 * A mapping whose keys are names: every value is checked against `value` whatever its key (so a
 * badly named entry is still reported field by field), and every key against `pattern`, whose
 * `description` is the message a bad name gets. Not `Type.Record(Type.String({ pattern }), …)`:
 * that compiles to `patternProperties` alone, which leaves entries with other names unchecked.
 */
export const NamedRecord = <T extends TSchema>(value: T, pattern: string, rule: string) =>
  Type.Record(Type.String(), value, { propertyNames: { pattern, description: rule } });

/**
 * Role names: Vault's `framework.GenericNameRegex` (`\w(([\w-.]+)?\w)?`): letters, digits, `_`,
 * `-` and `.`, beginning and ending with a letter, digit or `_`.
 */
export const ROLE_NAME_PATTERN = '^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$';

export const Algorithm = Type.Union(
  SIGNING_ALGORITHMS.map((a) => Type.Literal(a)),
  { description: 'RS256/384/512, ES256/384/512 or PS256/384/512 (never none, never HS*)' },
);

/** A jwt mount's algorithms: a kubernetes mount's, and EdDSA (Ed25519), as Vault's JWT method. */
export const JwtAlgorithm = Type.Union(
  JWT_SIGNING_ALGORITHMS.map((a) => Type.Literal(a)),
  { description: 'RS256/384/512, ES256/384/512, PS256/384/512 or EdDSA (never none, never HS*)' },
);

/** The token settings every role has, kubernetes or jwt (Vault's tokenutil fields). */
export const TokenRoleFields = {
  token_policies: Type.Optional(StringList),
  token_ttl: Type.Optional(Duration),
  token_max_ttl: Type.Optional(Duration),
  token_explicit_max_ttl: Type.Optional(Duration),
  token_num_uses: Type.Optional(Count(0)),
  token_bound_cidrs: Type.Optional(StringList),
  token_no_default_policy: Type.Optional(Type.Boolean()),
  token_period: Type.Optional(Duration),
  token_type: Type.Optional(
    Type.Union([Type.Literal('service'), Type.Literal('batch'), Type.Literal('default')]),
  ),
};

/**
 * What every auth mount has, whatever its type: a description, the lease TTLs of its tokens and
 * `allow_insecure_http` (its roles are {@link namedRoles}).
 */
export const MountCommonFields = {
  description: Type.Optional(Type.String()),
  /** Mount defaults for tokens (Vault's mount tune): 768h each unless set. */
  default_lease_ttl: Type.Optional(Duration),
  max_lease_ttl: Type.Optional(Duration),
  /** Refuse plain `http:` to a non-loopback host only when false (default). Logged as insecure. */
  allow_insecure_http: Type.Optional(Type.Boolean()),
};

/** An auth mount's `roles`: its kind of role by name, names as Vault's. */
export const namedRoles = <T extends TSchema>(role: T) =>
  NamedRecord(
    role,
    ROLE_NAME_PATTERN,
    "role names are letters, digits, '_', '-' and '.', beginning and ending with a letter, digit or '_'",
  );
