import fc from 'fast-check';

/*
 * What test/identity-model.test.ts generates: an `identity` section (keys and roles within the
 * bounds authgate and Vault accept) and a sequence of what happens to it — workloads asking for
 * tokens, the clock moving (by rotation periods, verification TTLs, token TTLs, or to just around
 * a token's `exp`), operators rotating keys, and callers that must be refused.
 */

export type Algorithm = 'RS256' | 'RS384' | 'RS512' | 'ES256' | 'ES384' | 'ES512' | 'EdDSA';

export type KeySpec = {
  name: string;
  algorithm: Algorithm;
  rotationPeriodSeconds: number;
  verificationTtlSeconds: number;
};
export type RoleSpec = { name: string; key: string; audience: string; ttlSeconds: number };
export type ModelConfig = { keys: KeySpec[]; roles: RoleSpec[] };

/** A workload: which service account logs in, and whether its login token is bound to a pod. */
export type Subject = { namespace: string; serviceAccount: string; podBound: boolean };

export const NAMESPACES = ['test', 'shop'] as const;
export const SERVICE_ACCOUNTS = ['nginx', 'web'] as const;

/**
 * Callers that must get no token, or requests that sign nothing: each with the answer Vault gives
 * (see the test for the expected status and body).
 */
export const PROBES = [
  'admin-known-role',
  'admin-unknown-role',
  'no-identity-policy',
  'narrow-other-role',
  'anonymous',
  'unknown-token',
  'head-token-admin',
  'head-token-reader',
  'head-token-anonymous',
  'post-token-admin',
  'list-token-admin',
  'head-keys',
] as const;
export type Probe = (typeof PROBES)[number];

export type Command =
  | {
      kind: 'issue';
      role: number;
      /** `signer` may read every role's path; `narrow` only the first role's. */
      loginRole: 'signer' | 'narrow';
      mount: 'jwks' | 'kubernetes';
      subject: Subject;
    }
  | { kind: 'advance-seconds'; seconds: number }
  | {
      kind: 'advance-window';
      /** A key's rotation period or verification TTL, or a role's token TTL… */
      window: 'rotation' | 'verification' | 'ttl';
      index: number;
      /** …times this, plus `offsetSeconds`. */
      factor: number;
      offsetSeconds: number;
    }
  /**
   * To `beforeSeconds` before the key's next scheduled rotation, as far as the test can tell (so
   * that the next steps cross it by less than the key set's max-age).
   */
  | { kind: 'near-rotation'; key: number; beforeSeconds: number }
  /** To the `exp` of the n-th token issued so far, plus `offsetSeconds` (only forward). */
  | { kind: 'to-exp'; token: number; offsetSeconds: number }
  | { kind: 'rotate'; key: number }
  /** Every probe, at this point of the run; `name` is a role name no role has. */
  | { kind: 'probes'; name: string };

export type ModelRun = {
  config: ModelConfig;
  /** Whether operators rotate by hand in this run (a caching verifier's guarantee assumes not). */
  manualRotations: boolean;
  commands: Command[];
};

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86_400;

/** 60 s (the least either accepts) to a week, with the boundaries and the defaults likely. */
const ROTATION_PERIOD = fc.oneof(
  fc.constantFrom(MINUTE, MINUTE + 1, 10 * MINUTE, HOUR, DAY),
  fc.integer({ min: MINUTE, max: 7 * DAY }),
);

const ALGORITHM: fc.Arbitrary<Algorithm> = fc.oneof(
  { weight: 6, arbitrary: fc.constant('ES256' as const) },
  { weight: 3, arbitrary: fc.constantFrom('ES384' as const, 'ES512' as const, 'EdDSA' as const) },
  // RSA key generation takes tens of ms per key: likely enough to be seen, rare enough to stay fast.
  { weight: 1, arbitrary: fc.constantFrom('RS256' as const, 'RS384' as const, 'RS512' as const) },
);

/**
 * A key: `verification_ttl` between 60 s and 10 × `rotation_period` (Vault's bound: "verification_ttl
 * cannot be longer than 10x rotation_period"), at most a year.
 */
const keySpec = (name: string): fc.Arbitrary<KeySpec> =>
  fc.tuple(ALGORITHM, ROTATION_PERIOD).chain(([algorithm, rotationPeriodSeconds]) => {
    const max = Math.min(10 * rotationPeriodSeconds, 365 * DAY);
    return fc
      .oneof(fc.constantFrom(MINUTE, rotationPeriodSeconds, max), fc.integer({ min: MINUTE, max }))
      .map((verificationTtlSeconds) => ({
        name,
        algorithm,
        rotationPeriodSeconds,
        verificationTtlSeconds,
      }));
  });

/** A role's TTL: at least 1 s, at most its key's verification TTL (authgate's rule and Vault's). */
const ttlFor = (key: KeySpec): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(1, Math.min(MINUTE, key.verificationTtlSeconds), key.verificationTtlSeconds),
    fc.integer({ min: 1, max: key.verificationTtlSeconds }),
  );

const AUDIENCE = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/),
  fc.constantFrom('https://payments.example/api', 'spiffe://cluster.local/ns/shop/sa/web'),
);

export const MODEL_CONFIG: fc.Arbitrary<ModelConfig> = fc
  .tuple(keySpec('default'), fc.option(keySpec('k1'), { nil: undefined }))
  .chain(([first, second]) => {
    const keys = second === undefined ? [first] : [first, second];
    const role = (i: number) =>
      fc.nat({ max: keys.length - 1 }).chain((k) => {
        const key = keys[k] as KeySpec;
        return fc.record({
          name: fc.constant(`r${i}`),
          key: fc.constant(key.name),
          audience: AUDIENCE,
          ttlSeconds: ttlFor(key),
        });
      });
    return fc
      .integer({ min: 1, max: 3 })
      .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => role(i))))
      .map((roles) => ({ keys, roles }));
  });

const SUBJECT: fc.Arbitrary<Subject> = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  serviceAccount: fc.constantFrom(...SERVICE_ACCOUNTS),
  podBound: fc.boolean(),
});

const commandFor = (config: ModelConfig): fc.Arbitrary<Command> =>
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('issue' as const),
        role: fc.nat({ max: config.roles.length - 1 }),
        loginRole: fc.constantFrom('signer' as const, 'narrow' as const),
        // TokenReview logins cost a reviewer-token rewrite each: mostly the offline mount.
        mount: fc.oneof(
          { weight: 4, arbitrary: fc.constant('jwks' as const) },
          { weight: 1, arbitrary: fc.constant('kubernetes' as const) },
        ),
        subject: SUBJECT,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('advance-seconds' as const),
        seconds: fc.oneof(
          fc.constantFrom(1, 5, 6, 30, 59, 60, 61, 65, 66),
          fc.integer({ min: 1, max: 2 * DAY }),
        ),
      }),
    },
    {
      weight: 4,
      arbitrary: fc
        .constantFrom('rotation' as const, 'verification' as const, 'ttl' as const)
        .chain((window) =>
          fc.record({
            kind: fc.constant('advance-window' as const),
            window: fc.constant(window),
            index: fc.nat({ max: (window === 'ttl' ? config.roles.length : config.keys.length) - 1 }),
            factor: fc.constantFrom(0.5, 1, 1, 2, 3),
            offsetSeconds: fc.constantFrom(-1, 0, 0, 1, 60, 65, 66),
          }),
        ),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('near-rotation' as const),
        key: fc.nat({ max: config.keys.length - 1 }),
        beforeSeconds: fc.constantFrom(1, 6, 30),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('to-exp' as const),
        token: fc.nat({ max: 20 }),
        offsetSeconds: fc.constantFrom(-61, -1, 0, 1, 59, 60, 61, 65, 66),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('rotate' as const),
        key: fc.nat({ max: config.keys.length - 1 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('probes' as const),
        // A role name no role has (role names are r0…r2).
        name: fc.stringMatching(/^[a-z][a-z0-9_-]{0,30}$/).filter((n) => !/^r[0-9]$/.test(n)),
      }),
    },
  );

export const MODEL_RUN: fc.Arbitrary<ModelRun> = fc
  .tuple(MODEL_CONFIG, fc.boolean())
  .chain(([config, manualRotations]) =>
    fc.array(commandFor(config), { minLength: 1, maxLength: 14 }).map((commands) => ({
      config,
      manualRotations,
      commands: manualRotations ? commands : commands.filter((c) => c.kind !== 'rotate'),
    })),
  );
