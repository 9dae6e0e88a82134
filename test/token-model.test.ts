import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { ADMIN_TOKEN, startHarness, type Harness } from './helpers/harness.js';
import {
  MOUNT,
  POLICIES,
  ROLES,
  authData,
  grants,
  hardLimitS,
  isLive,
  lookupData,
  placeLease,
  roleConfig,
  spendUse,
  usesNotAfterOf,
  type ModelToken,
} from './helpers/token-model.js';

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
});
afterAll(async () => {
  if (process.env['FUZZ_STATS'] !== undefined) console.log(Object.fromEntries(seen));
  await h?.close();
});

type Model = { tokens: ModelToken[] };

/** The `index`-th latest token, modulo the tokens issued so far. */
const nth = (m: Model, index: number): ModelToken | undefined =>
  m.tokens[m.tokens.length - 1 - (index % Math.max(1, m.tokens.length))];

/** Outcomes seen over the whole run, so that the test can tell it reached every branch. */
const seen = new Map<string, number>();
const saw = (outcome: string): void => {
  seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
};
type Answer = { status: number; json: Record<string, unknown> | undefined };

const send = async (method: 'GET' | 'POST', url: string, token: string, body?: string): Promise<Answer> => {
  const res = await h.server.app.inject({
    method,
    url,
    headers: {
      'x-vault-token': token,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { payload: body }),
  });
  return {
    status: res.statusCode,
    json: res.body === '' ? undefined : (res.json() as Record<string, unknown>),
  };
};

const expectError = (res: Answer, status: number, message: string): void => {
  saw(`${status} ${message}`);
  expect({ status: res.status, json: res.json }).toEqual({ status, json: { errors: [message] } });
};

const expectLookup = (res: Answer, t: ModelToken, id: string, numUses: number): void => {
  saw(`lookup, num_uses ${numUses < 0 ? 'last' : numUses > 0 ? 'left' : 'unlimited'}`);
  expect(res.status).toBe(200);
  const data = res.json?.['data'] as Record<string, unknown>;
  expect(data).toMatchObject(lookupData(t, clock.nowMs(), id, numUses));
  expect((data['meta'] as Record<string, unknown>)['role']).toBe(t.roleName);
  if (t.role.period === 0) expect(data).not.toHaveProperty('period');
  if (t.lastRenewalMs === null) expect(data).not.toHaveProperty('last_renewal_time');
};

/**
 * Renews `t` in the model (or finds it cannot be) and checks the answer: Vault's CalculateTTL
 * from the issue time, warnings included.
 */
const expectRenewal = (res: Answer, t: ModelToken, clientToken: string, incrementS: number): void => {
  const nowMs = clock.nowMs();
  const lease = placeLease(t.role, t.issueMs, nowMs, incrementS, t.usesNotAfterMs);
  if ('error' in lease) {
    expectError(res, 400, lease.error);
    return;
  }
  saw(lease.warnings.length > 0 ? 'renewal capped' : 'renewal');
  t.expireMs = lease.expireMs;
  t.lastRenewalMs = nowMs;
  expect(res.status).toBe(200);
  expect(res.json?.['auth']).toMatchObject(authData(t, clientToken, lease.leaseTtl));
  expect(res.json?.['warnings']).toEqual(lease.warnings.length > 0 ? lease.warnings : null);
};

/** A generated increment and the body that carries it, in one of the forms clients send. */
type Increment = { body: Record<string, unknown> | undefined; seconds: number; label: string };

const incrementArb: fc.Arbitrary<Increment> = fc
  .tuple(
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 30_000 })),
    fc.constantFrom('none', 'empty', 'null', 'number', 'seconds', 'plain', 'units', 'hours'),
  )
  .map(([seconds, form]): Increment => {
    const units = `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m${seconds % 60}s`;
    const tenths = Math.round(seconds / 360) / 10;
    const bodies: Record<string, [Record<string, unknown> | undefined, number]> = {
      none: [undefined, 0],
      empty: [{}, 0],
      null: [{ increment: null }, 0],
      number: [{ increment: seconds }, seconds],
      seconds: [{ increment: `${seconds}s` }, seconds],
      plain: [{ increment: seconds === 0 ? '' : String(seconds) }, seconds],
      units: [{ increment: units }, seconds],
      hours: [{ increment: `${tenths}h` }, Math.round(tenths * 3600)],
    };
    const [body, s] = bodies[form] ?? [undefined, 0];
    return { body, seconds: s, label: body === undefined ? 'no body' : JSON.stringify(body) };
  });

const NO_INCREMENT: Increment = { body: undefined, seconds: 0, label: 'no body' };

/** A command aimed at the model's `index`-th latest token (modulo the tokens issued so far). */
abstract class OnToken implements fc.AsyncCommand<Model, object> {
  constructor(readonly index: number) {}
  check = (m: Readonly<Model>): boolean => m.tokens.length > 0;
  protected pick(m: Model): ModelToken {
    const t = nth(m, this.index);
    if (t === undefined) throw new TypeError('no token');
    return t;
  }
  abstract run(m: Model): Promise<void>;
  abstract toString(): string;
}

class Login implements fc.AsyncCommand<Model, object> {
  constructor(readonly roleName: string) {}
  check = (m: Readonly<Model>): boolean => m.tokens.length < 16;
  async run(m: Model): Promise<void> {
    const role = ROLES[this.roleName];
    if (role === undefined) throw new TypeError(this.roleName);
    const res = await h.login('jwks', { role: this.roleName, jwt: await h.podToken() });
    const issueMs = clock.nowMs();
    const usesNotAfterMs = usesNotAfterOf(role, issueMs);
    const lease = placeLease(role, issueMs, issueMs, 0, usesNotAfterMs);
    if ('error' in lease) throw new TypeError(`role ${this.roleName} cannot issue: ${lease.error}`);
    expect(res.status).toBe(200);
    const auth = res.json['auth'] as { client_token: string; accessor: string };
    const limit = hardLimitS(role, issueMs);
    const t: ModelToken = {
      token: auth.client_token,
      accessor: auth.accessor,
      roleName: this.roleName,
      role,
      issueMs,
      expireMs: lease.expireMs,
      creationTtl: lease.leaseTtl,
      lastRenewalMs: null,
      usesLeft: role.numUses,
      usesNotAfterMs,
      notAfterMs: limit === null ? null : limit * 1000,
      gone: false,
    };
    saw(lease.warnings.length > 0 ? 'login capped' : 'login');
    expect(auth).toMatchObject(authData(t, t.token, lease.leaseTtl));
    expect(res.json['warnings']).toEqual(lease.warnings.length > 0 ? lease.warnings : null);
    m.tokens.push(t);
  }
  toString = (): string => `login(${this.roleName})`;
}

/** A request made with the token itself: dead → 403; else a use is spent, then the ACL. */
const selfRequest = async (
  t: ModelToken,
  method: 'GET' | 'POST',
  path: string,
  capability: 'read' | 'update',
  body?: string,
): Promise<{ res: Answer; numUses: number } | undefined> => {
  const live = isLive(t, clock.nowMs());
  const res = await send(method, `/v1/${path}`, t.token, body);
  if (!live) {
    expectError(res, 403, 'permission denied');
    return undefined;
  }
  const numUses = spendUse(t);
  if (!grants(t.role, path, capability)) {
    expectError(res, 403, 'permission denied');
    return undefined;
  }
  return { res, numUses };
};

class LookupSelf extends OnToken {
  constructor(
    index: number,
    readonly method: 'GET' | 'POST',
  ) {
    super(index);
  }
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const capability = this.method === 'GET' ? 'read' : 'update';
    const done = await selfRequest(t, this.method, 'auth/token/lookup-self', capability);
    if (done !== undefined) expectLookup(done.res, t, t.token, done.numUses);
  }
  toString = (): string => `lookupSelf(#${this.index}, ${this.method})`;
}

class RenewSelf extends OnToken {
  constructor(
    index: number,
    readonly increment: Increment,
  ) {
    super(index);
  }
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const body = this.increment.body === undefined ? undefined : JSON.stringify(this.increment.body);
    const done = await selfRequest(t, 'POST', 'auth/token/renew-self', 'update', body);
    if (done === undefined) return;
    // The renewal spent the last use: the token is revoked, and renew finds none (Vault's 400).
    if (done.numUses === -1) expectError(done.res, 400, 'token not found');
    else expectRenewal(done.res, t, t.token, this.increment.seconds);
  }
  toString = (): string => `renewSelf(#${this.index}, ${this.increment.label})`;
}

class RevokeSelf extends OnToken {
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const done = await selfRequest(t, 'POST', 'auth/token/revoke-self', 'update');
    if (done === undefined) return;
    saw('revoke-self');
    expect(done.res.status).toBe(204);
    t.gone = true;
  }
  toString = (): string => `revokeSelf(#${this.index})`;
}

/** A request the token's policies never allow: refused, and it still spends a use. */
class Refused extends OnToken {
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const done = await selfRequest(t, 'GET', 'secret/data/model/x', 'read');
    expect(done).toBeUndefined();
  }
  toString = (): string => `refused(#${this.index})`;
}

class AdminLookup extends OnToken {
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const res = await send('POST', '/v1/auth/token/lookup', ADMIN_TOKEN, JSON.stringify({ token: t.token }));
    if (!isLive(t, clock.nowMs())) expectError(res, 403, 'bad token');
    else expectLookup(res, t, t.token, t.usesLeft);
  }
  toString = (): string => `adminLookup(#${this.index})`;
}

class AdminRenew extends OnToken {
  constructor(
    index: number,
    readonly byAccessor: boolean,
    readonly increment: Increment,
  ) {
    super(index);
  }
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const named = this.byAccessor ? { accessor: t.accessor } : { token: t.token };
    const url = this.byAccessor ? '/v1/auth/token/renew-accessor' : '/v1/auth/token/renew';
    const res = await send('POST', url, ADMIN_TOKEN, JSON.stringify({ ...this.increment.body, ...named }));
    if (!isLive(t, clock.nowMs()))
      expectError(res, 400, this.byAccessor ? 'invalid accessor' : 'token not found');
    else expectRenewal(res, t, this.byAccessor ? '' : t.token, this.increment.seconds);
  }
  toString = (): string =>
    `adminRenew(#${this.index}, ${this.byAccessor ? 'accessor' : 'token'}, ${this.increment.label})`;
}

class AdminRevoke extends OnToken {
  constructor(
    index: number,
    readonly byAccessor: boolean,
  ) {
    super(index);
  }
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const live = isLive(t, clock.nowMs());
    const url = this.byAccessor ? '/v1/auth/token/revoke-accessor' : '/v1/auth/token/revoke';
    const named = this.byAccessor ? { accessor: t.accessor } : { token: t.token };
    const res = await send('POST', url, ADMIN_TOKEN, JSON.stringify(named));
    saw(`revoke ${this.byAccessor ? 'accessor' : 'token'} ${live ? 'live' : 'dead'}`);
    t.gone = true;
    // Vault: an accessor that names no token is a warning, not an error; a token, 204 either way.
    if (this.byAccessor && !live) {
      expect(res.status).toBe(200);
      expect(res.json?.['warnings']).toEqual(['No token found with this accessor']);
    } else expect(res.status).toBe(204);
  }
  toString = (): string => `adminRevoke(#${this.index}, ${this.byAccessor ? 'accessor' : 'token'})`;
}

class LookupAccessor extends OnToken {
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const res = await send(
      'POST',
      '/v1/auth/token/lookup-accessor',
      ADMIN_TOKEN,
      JSON.stringify({ accessor: t.accessor }),
    );
    if (!isLive(t, clock.nowMs())) expectError(res, 400, 'invalid accessor');
    else expectLookup(res, t, '', t.usesLeft);
  }
  toString = (): string => `lookupAccessor(#${this.index})`;
}

/** Where a clock jump lands: by an amount, or next to a token's expiry or hard limit. */
type Jump =
  { kind: 'by'; ms: number } | { kind: 'expiry' | 'limit' | 'uses'; index: number; offsetMs: number };

class Advance implements fc.AsyncCommand<Model, object> {
  constructor(readonly jump: Jump) {}
  check = (): boolean => true;
  async run(m: Model): Promise<void> {
    const j = this.jump;
    if (j.kind === 'by') {
      clock.advanceMs(j.ms);
      return;
    }
    const t = nth(m, j.index);
    const at = { expiry: t?.expireMs, limit: t?.notAfterMs, uses: t?.usesNotAfterMs }[j.kind];
    if (at === undefined || at === null) return;
    const target = at + j.offsetMs;
    if (target > clock.nowMs()) clock.setMs(target);
  }
  toString = (): string => `advance(${JSON.stringify(this.jump)})`;
}

/** Which token a command names, counted from the latest: mostly one of the last few. */
const index = fc.oneof({ arbitrary: fc.nat({ max: 2 }), weight: 3 }, fc.nat({ max: 63 }));
const smallJump = fc.record({ kind: fc.constant('by' as const), ms: fc.integer({ min: 0, max: 5_000 }) });
const jumpArb: fc.Arbitrary<Jump> = fc.oneof(
  { arbitrary: smallJump, weight: 3 },
  fc.record({
    kind: fc.constant('by' as const),
    ms: fc.integer({ min: 1, max: 7_200 }).map((s) => s * 1000),
  }),
  fc.record({
    kind: fc.constant('by' as const),
    ms: fc.integer({ min: 1, max: 400_000 }).map((s) => s * 1000),
  }),
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('expiry' as const, 'limit' as const, 'uses' as const),
      index,
      offsetMs: fc.constantFrom(-1500, -1000, -1, 0, 1, 500, 1000),
    }),
    weight: 2,
  },
);

const login = fc.constantFrom(...Object.keys(ROLES)).map((r) => new Login(r));
const lookupSelf = fc
  .tuple(index, fc.constantFrom('GET' as const, 'GET' as const, 'POST' as const))
  .map(([i, mth]) => new LookupSelf(i, mth));
const renewSelf = fc.tuple(index, incrementArb).map(([i, inc]) => new RenewSelf(i, inc));
/** Weighted by repetition: workloads log in, look up and renew more than operators act. */
const commands = [
  login,
  login,
  lookupSelf,
  lookupSelf,
  renewSelf,
  renewSelf,
  index.map((i) => new RevokeSelf(i)),
  index.map((i) => new Refused(i)),
  index.map((i) => new AdminLookup(i)),
  fc.tuple(index, fc.boolean(), incrementArb).map(([i, acc, inc]) => new AdminRenew(i, acc, inc)),
  fc.tuple(index, fc.boolean()).map(([i, acc]) => new AdminRevoke(i, acc)),
  index.map((i) => new LookupAccessor(i)),
  jumpArb.map((j) => new Advance(j)),
  jumpArb.map((j) => new Advance(j)),
];

/** What a default run reaches: every kind of answer the model knows. */
const EXPECTED_OUTCOMES = [
  '400 invalid accessor',
  '400 token not found',
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
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: 'max' }), async (cmds) => {
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
