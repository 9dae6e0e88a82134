import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { entityId } from '../src/auth/index.js';
import { startDevCluster } from '../src/devcluster/index.js';
import { createFakeClock } from '../src/lib/clock.js';
import { startHarness, type Harness } from './helpers/harness.js';
import { createHeldKeys, playCase, type Clusters } from './helpers/login-modes-cluster.js';
import { ROLES, SCENARIO, type Scenario } from './helpers/login-modes-inputs.js';
import { expectJwks, expectTokenReview, type ExpectedLogin } from './helpers/login-modes-model.js';

/*
 * The two ways a kubernetes mount proves a token, as a differential property: one token, fresh
 * for each case, presented to a `tokenreview` mount and to a `jwks` mount with the same roles
 * must get the same answer — the same auth metadata, policies, alias (through the entity id),
 * TTLs; or the same status and Vault error — except where the docs say the modes differ
 * (test/helpers/login-modes-model.ts names each place). Generated: the token's binding (pod,
 * Secret, Node, none, legacy Secret token), audiences, lifetime, the login instant around exp,
 * nbf and iat with the 60 s leeway, the signing key (rotated, removed, ES256, foreign), objects
 * deleted after minting, roles with globs, audience or none and either alias source, and edits
 * to the signed token. Seed and size: FUZZ_SEED, FUZZ_RUNS; FUZZ_PATH replays one case.
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20260801);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 400);
const PATH = process.env['FUZZ_PATH'];
const RUN_OPTIONS = { seed: SEED, numRuns: RUNS, ...(PATH === undefined ? {} : { path: PATH }) };

const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const ISSUERS = [ISSUER, 'kubernetes/serviceaccount'];
const ALGORITHMS = ['RS256', 'ES256'];
const SERVER_KEY = randomBytes(32);
const clock = createFakeClock(Date.UTC(2026, 6, 1, 8, 0, 0));

let h: Harness;
let clusters: Clusters;
let held: ReturnType<typeof createHeldKeys>;
let cases = 0;
const seen = { ok: 0, refused: 0, differ: 0 };

beforeAll(async () => {
  h = await startHarness({
    clock,
    serverKey: SERVER_KEY,
    // Legacy Secret tokens carry the issuer `kubernetes/serviceaccount`.
    mount: { issuers: ISSUERS, allowed_algorithms: ALGORITHMS },
    roles: {
      ...ROLES,
      warmup: {
        bound_service_account_names: ['warmup'],
        bound_service_account_namespaces: ['*'],
        audience: 'warmup',
      },
    },
    // A new kid is fetched at once (the real API server publishes a key an hour before it signs
    // with it; the simulator signs at once), and keys are refreshed only then: the test knows
    // which keys the mount holds.
    jwks: { cooldown: '0s', max_age: '87600h' },
  });
  clusters = {
    own: h.cluster,
    sameIssuer: await startDevCluster({ clock, issuers: [ISSUER] }),
    otherIssuer: await startDevCluster({ clock, issuers: ['https://evil.example.com'] }),
  };
  held = createHeldKeys(h.cluster);
});

afterAll(async () => {
  await h?.close();
  await clusters?.sameIssuer.close();
  await clusters?.otherIssuer.close();
});

type Answer = Awaited<ReturnType<Harness['login']>>;

/** An answer without what is random or per mount (the token, its accessor, the entity id). */
const comparable = (a: Answer) => {
  const json: Record<string, unknown> = { ...a.json };
  delete json['request_id'];
  const auth = json['auth'] as Record<string, unknown> | null | undefined;
  if (auth) {
    const stable = { ...auth };
    for (const key of ['client_token', 'accessor', 'entity_id']) delete stable[key];
    json['auth'] = stable;
  }
  return { status: a.status, json };
};

const check = (mount: string, answer: Answer, want: ExpectedLogin) => {
  if (want.status === 403) {
    expect(answer, mount).toEqual({ status: 403, json: { errors: [want.error] } });
    return;
  }
  expect(answer.status, `${mount}: ${JSON.stringify(answer.json)}`).toBe(200);
  const auth = answer.json['auth'] as Record<string, unknown>;
  expect(auth['metadata'], mount).toEqual(want.metadata);
  expect(auth['policies'], mount).toEqual(want.policies);
  // The alias is not in the answer; the entity id is an HMAC of the mount and the alias name.
  expect(auth['entity_id'], `${mount} alias ${want.alias}`).toBe(entityId(SERVER_KEY, mount, want.alias));
};

const loginBothWays = async (s: Scenario): Promise<void> => {
  const n = ++cases;
  const played = await playCase(clusters, clock, s, n, async (jwt) => {
    const warm = await h.login('jwks', { role: 'warmup', jwt });
    held.observe();
    expect(warm.status).toBe(200);
  });
  try {
    // The reviewer's own token, as the kubelet keeps it fresh, whatever the clock did.
    await h.rotateReviewer();
    const facts = {
      ...played,
      role: s.role,
      nowMs: clock.nowMs(),
      issuers: ISSUERS,
      allowedAlgorithms: ALGORITHMS,
      keyHeldByJwks: held.has(played.signer),
    };
    const answers: Record<string, Answer> = {};
    for (const mount of s.jwksFirst ? ['jwks', 'kubernetes'] : ['kubernetes', 'jwks']) {
      answers[mount] = await h.login(mount, { role: s.role, jwt: played.jwt });
      if (mount === 'jwks') held.observe();
    }
    const [tr, jwks] = [answers['kubernetes'] as Answer, answers['jwks'] as Answer];
    const [wantTr, wantJwks] = [expectTokenReview(facts), expectJwks(facts)];
    check('kubernetes', tr, wantTr);
    check('jwks', jwks, wantJwks);
    if (JSON.stringify(wantTr) === JSON.stringify(wantJwks)) {
      // Where the modes agree, they agree on everything: TTLs, renewability, the envelope.
      expect(comparable(jwks)).toEqual(comparable(tr));
      seen[wantTr.status === 200 ? 'ok' : 'refused']++;
    } else seen.differ++;
  } finally {
    played.restore();
  }
};

describe('one token through a tokenreview mount and a jwks mount', () => {
  it('gets the same answer from both, but where the docs say the modes differ', async () => {
    await fc.assert(fc.asyncProperty(SCENARIO, loginBothWays), RUN_OPTIONS);
    // The generator reaches every kind of outcome (a run where every login is refused proves little).
    expect(seen.ok).toBeGreaterThan(RUNS / 20);
    expect(seen.refused).toBeGreaterThan(RUNS / 4);
    expect(seen.differ).toBeGreaterThan(0);
  }, 120_000);
});
