import fc from 'fast-check';

/* The generated scenarios of test/login-modes.test.ts: one token, presented to both mounts. */

/** What the token is bound to (TokenRequest's boundObjectRef), or a legacy Secret token. */
export const TOKEN_KINDS = ['pod', 'secret', 'node', 'plain', 'legacy'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/**
 * The token's audiences: the roles' (`vault`), another service's, several with the roles' among
 * them, or none requested (the API server's own audiences).
 */
export const AUDIENCES = {
  role: ['vault'],
  other: ['other'],
  several: ['other', 'vault', 'third'],
  default: [],
} as const;
export type AudienceChoice = keyof typeof AUDIENCES;

/**
 * The key that signs: the current one; one rotated out but still published; one removed from
 * the published set after the jwks mount did (`seen`) or did not load it; a new ES256 key; a key
 * of another cluster with the same issuer; another cluster's issuer altogether.
 */
export const KEY_CASES = [
  'current',
  'old-published',
  'removed-seen',
  'removed-unseen',
  'es256',
  'foreign-key',
  'foreign-issuer',
] as const;
export type KeyCase = (typeof KEY_CASES)[number];

/**
 * What happens to the cluster's objects after minting: nothing; the pod deleted or only
 * terminating; the service account deleted or recreated (new uid); the bound Secret or Node
 * deleted; the whole namespace deleted; a legacy token's Secret given a new token.
 */
export const DELETIONS = [
  'none',
  'pod',
  'pod-terminating',
  'sa',
  'sa-recreated',
  'secret',
  'node',
  'namespace',
  'legacy-reminted',
] as const;
export type Deletion = (typeof DELETIONS)[number];

/** Roles of both mounts (the same config), bound by name and namespace with globs. */
export const ROLES = {
  glob: {
    bound_service_account_names: ['app-*'],
    bound_service_account_namespaces: ['team-*'],
    audience: 'vault',
    token_policies: ['apps'],
    token_ttl: '1h',
    token_max_ttl: '4h',
  },
  byname: {
    bound_service_account_names: ['web', 'app-web'],
    bound_service_account_namespaces: ['team-*', 'prod-*'],
    audience: 'vault',
    alias_name_source: 'serviceaccount_name',
    token_policies: ['web', 'Shared'],
    token_ttl: '10m',
  },
  any: {
    bound_service_account_names: ['*'],
    bound_service_account_namespaces: ['*'],
    audience: 'vault',
    token_period: '30m',
    token_num_uses: 3,
  },
  noaud: {
    bound_service_account_names: ['*'],
    bound_service_account_namespaces: ['team-*', 'dev-*'],
    allow_missing_audience: true,
    token_explicit_max_ttl: '2h',
  },
  noaudname: {
    bound_service_account_names: ['*app*'],
    bound_service_account_namespaces: ['*'],
    allow_missing_audience: true,
    alias_name_source: 'serviceaccount_name',
    token_no_default_policy: true,
    token_policies: ['c'],
  },
  prod: {
    bound_service_account_names: ['app-*'],
    bound_service_account_namespaces: ['prod-*'],
    audience: 'vault',
  },
  otheraud: {
    bound_service_account_names: ['*'],
    bound_service_account_namespaces: ['*'],
    audience: 'other',
  },
} as const satisfies Record<string, Record<string, unknown>>;
export type RoleName = keyof typeof ROLES;

/** A change made to the signed token: none, one claim of the payload, or the header's `alg`. */
export type Tamper =
  | { kind: 'none' }
  | { kind: 'payload'; field: 'exp' | 'namespace' | 'sa' | 'aud' | 'iss' | 'pod' | 'sub' | 'nbf' }
  | { kind: 'alg'; alg: string };

/**
 * When the login happens, relative to the token: a few minutes after minting; within 2 s of the
 * last instant the 60 s leeway allows after `exp`; or right after minting by an issuer whose
 * clock is ahead (or behind) by about the leeway, so that `nbf`/`iat` sit at its edge.
 */
export type Timing =
  | { kind: 'soon'; afterMs: number }
  | { kind: 'exp-edge'; deltaMs: number }
  | { kind: 'issuer-skew'; skewMs: number; afterMs: number };

export type Scenario = {
  kind: TokenKind;
  audiences: AudienceChoice;
  expirationSeconds: number;
  key: KeyCase;
  /** The alg of a key the case adds (`removed-*`). */
  addedAlg: 'ES256' | 'RS256';
  deletion: Deletion;
  /** How long before the login the deletion happens (clamped to the time since minting). */
  deletedBeforeLoginMs: number;
  /** Namespace prefix and service-account name: what the roles' globs see. */
  namespacePrefix: 'team' | 'prod' | 'dev';
  serviceAccount: 'app-web' | 'web' | 'db' | 'myapp';
  role: RoleName;
  timing: Timing;
  tamper: Tamper;
  /** Which mount sees the token first (the two share the claims cache). */
  jwksFirst: boolean;
};

/** Around the 60 s grace: the terminating pod's deletion, or a deleted object's. */
const graceMs = fc.oneof(
  fc.integer({ min: 0, max: 120_000 }),
  fc.integer({ min: 58_000, max: 62_000 }),
  fc.constantFrom(60_000, 60_001, 59_999),
);

const timing: fc.Arbitrary<Timing> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('soon' as const),
      afterMs: fc.integer({ min: 0, max: 300_000 }),
    }),
  },
  fc.record({
    kind: fc.constant('exp-edge' as const),
    deltaMs: fc.oneof(fc.integer({ min: -2000, max: 2000 }), fc.constantFrom(-1, 0, 1, 999, 1000, 1001)),
  }),
  fc.record({
    kind: fc.constant('issuer-skew' as const),
    skewMs: fc.oneof(
      fc.integer({ min: -120_000, max: 120_000 }),
      fc.integer({ min: 58_000, max: 62_000 }),
      fc.integer({ min: 59_000, max: 61_500 }),
    ),
    afterMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2000 })),
  }),
);

const tamper: fc.Arbitrary<Tamper> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ kind: 'none' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('payload' as const),
      field: fc.constantFrom('exp', 'namespace', 'sa', 'aud', 'iss', 'pod', 'sub', 'nbf'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('alg' as const),
      alg: fc.constantFrom('RS256', 'ES256', 'RS384', 'PS256', 'ES384', 'none', 'HS256'),
    }),
  },
);

export const SCENARIO: fc.Arbitrary<Scenario> = fc.record({
  // Most workloads log in with their pod's projected token.
  kind: fc.oneof(
    { weight: 2, arbitrary: fc.constant('pod' as const) },
    { weight: 5, arbitrary: fc.constantFrom(...TOKEN_KINDS) },
  ),
  audiences: fc.oneof(
    { weight: 3, arbitrary: fc.constant('role' as const) },
    { weight: 3, arbitrary: fc.constantFrom(...(Object.keys(AUDIENCES) as AudienceChoice[])) },
  ),
  // 3607 is the kubelet's default volume: a pod-bound token for the API audiences lives a year.
  expirationSeconds: fc.constantFrom(600, 601, 3600, 3607, 7200),
  key: fc.oneof(
    { weight: 4, arbitrary: fc.constant('current' as const) },
    { weight: 3, arbitrary: fc.constantFrom(...KEY_CASES) },
  ),
  addedAlg: fc.constantFrom('ES256' as const, 'RS256' as const),
  deletion: fc.oneof(
    { weight: 3, arbitrary: fc.constant('none' as const) },
    { weight: 4, arbitrary: fc.constantFrom(...DELETIONS) },
  ),
  deletedBeforeLoginMs: graceMs,
  namespacePrefix: fc.constantFrom('team' as const, 'prod' as const, 'dev' as const),
  serviceAccount: fc.constantFrom('app-web' as const, 'web' as const, 'db' as const, 'myapp' as const),
  role: fc.constantFrom(...(Object.keys(ROLES) as RoleName[])),
  timing,
  tamper,
  jwksFirst: fc.boolean(),
});
