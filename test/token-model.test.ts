import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { startHarness, type Harness } from './helpers/harness.js';
import {
  AdminLookup,
  AdminRenew,
  Advance,
  LookupAccessor,
  LookupSelf,
  Login,
  Refused,
  RenewSelf,
  tokenCommands,
} from './helpers/token-commands.js';
import { NO_INCREMENT, bindModelEnv, seen } from './helpers/token-checks.js';
import { MOUNT, POLICIES, ROLES, roleConfig } from './helpers/token-model.js';
import { INVALID_TOKEN_MESSAGE } from '../src/errors.js';

/*
 * The client-token lifecycle as a state machine: random sequences of logins, lookups, renewals
 * and revocations (by the token itself, by the operator naming the token or its accessor) and
 * clock jumps (to just before, at and past expiry and max TTL), each answer checked against what
 * Vault would say (test/helpers/token-model.ts). Seed and size: FUZZ_SEED, FUZZ_RUNS; a failure
 * prints the shrunk command sequence, and FUZZ_PATH replays it.
 */

const SEED = Number(process.env['FUZZ_SEED'] ?? 20260801);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 50);
const PATH = process.env['FUZZ_PATH'];

const clock = createFakeClock(Date.UTC(2026, 7, 1));
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    clock,
    mount: { default_lease_ttl: MOUNT.defaultLeaseTtl, max_lease_ttl: MOUNT.maxLeaseTtl },
    roles: Object.fromEntries(Object.entries(ROLES).map(([name, s]) => [name, roleConfig(s)])),
    config: { policies: POLICIES },
  });
  bindModelEnv({ harness: h, clock });
});
afterAll(async () => {
  if (process.env['FUZZ_STATS'] !== undefined) console.log(Object.fromEntries(seen));
  await h?.close();
});

/** What a default run reaches: every kind of answer the model knows. */
const EXPECTED_OUTCOMES = [
  '400 bad increment',
  '400 invalid accessor',
  '400 token not found',
  `403 ${INVALID_TOKEN_MESSAGE}`,
  '403 bad token',
  '403 permission denied',
  'login',
  'login capped',
  'lookup, num_uses left',
  'lookup, num_uses unlimited',
  'renewal',
  'renewal capped',
  'revoke accessor dead',
  'revoke accessor live',
  'revoke token dead',
  'revoke token live',
  'revoke-self',
];

describe('client-token lifecycle against a model of Vault', () => {
  it('answers every login, lookup, renewal and revocation as Vault would', async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(tokenCommands, { maxCommands: 60, size: 'max' }), async (cmds) => {
        await fc.asyncModelRun(() => ({ model: { tokens: [] }, real: {} }), cmds);
      }),
      { seed: SEED, numRuns: RUNS, ...(PATH === undefined ? {} : { path: PATH }) },
    );
    // A model that skipped its branches would pass whatever the server said.
    if (PATH === undefined && RUNS >= 50)
      expect([...seen.keys()].filter((k) => EXPECTED_OUTCOMES.includes(k)).sort()).toEqual(EXPECTED_OUTCOMES);
  }, 120_000);

  // Sequences the random runs reach rarely, through the same model.
  it.each([
    {
      name: 'a one-use token: its lookup is its last use',
      cmds: () => [new Login('once'), new LookupSelf(0, 'GET'), new LookupSelf(0, 'GET'), new AdminLookup(0)],
    },
    {
      name: 'a use-limited token used up by lookups, a refusal and a renewal',
      cmds: () => [
        new Login('uses'),
        new LookupSelf(0, 'GET'),
        new Refused(0),
        new RenewSelf(0, NO_INCREMENT),
        new LookupAccessor(0),
      ],
    },
    {
      name: "a periodic use-limited token renewed up to its counter's end",
      // Renewed by the operator (no use spent) every 550 s for 6 h: the last renewals are capped.
      cmds: () => [
        new Login('uses-periodic'),
        ...Array.from({ length: 40 }, () => [
          new Advance({ kind: 'by', ms: 550_000 }),
          new AdminRenew(0, false, NO_INCREMENT),
          new LookupAccessor(0),
        ]).flat(),
      ],
    },
  ])('$name', async ({ cmds }) => {
    await fc.asyncModelRun(() => ({ model: { tokens: [] }, real: {} }), cmds());
  });
});
