import fc from 'fast-check';
import { expect } from 'vitest';
import { ADMIN_TOKEN } from './harness.js';
import {
  NO_INCREMENT,
  bound,
  expectError,
  expectLookup,
  expectRenewal,
  incrementArb,
  nth,
  now,
  selfRequest,
  send,
  saw,
  type Increment,
  type Model,
} from './token-checks.js';
import {
  ROLES,
  authData,
  hardLimitS,
  isLive,
  placeLease,
  usesNotAfterOf,
  type ModelToken,
} from './token-model.js';

/*
 * The commands of test/token-model.test.ts, each a request (or a clock jump) whose answer is
 * checked against the model as it runs.
 */

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

export class Login implements fc.AsyncCommand<Model, object> {
  constructor(readonly roleName: string) {}
  check = (m: Readonly<Model>): boolean => m.tokens.length < 16;
  async run(m: Model): Promise<void> {
    const role = ROLES[this.roleName];
    if (role === undefined) throw new TypeError(this.roleName);
    const res = await bound().harness.login('jwks', {
      role: this.roleName,
      jwt: await bound().harness.podToken(),
    });
    const issueMs = now();
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

export class LookupSelf extends OnToken {
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

export class RenewSelf extends OnToken {
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

/**
 * Increments Vault's framework refuses, and why (Go's strconv / time errors through
 * parseutil.ParseDurationSecond, sdk/framework field_data.go), as `[value, %v of it, reason]`.
 */
const BAD_INCREMENTS: Array<[unknown, string, string]> = [
  ['-5', '-5', "cannot provide negative value '-5'"],
  ['-5m', '-5m', "cannot provide negative value '-300'"],
  ['abc', 'abc', 'time: invalid duration "abc"'],
  ['1x', '1x', 'time: unknown unit "x" in duration "1x"'],
  ['5m-', '5m-', 'time: unknown unit "m-" in duration "5m-"'],
  [' 5', ' 5', 'time: invalid duration " 5"'],
  ['1.5d', '1.5d', 'strconv.ParseInt: parsing "1.5": invalid syntax'],
  [1.5, '1.5', 'time: missing unit in duration "1.5"'],
  [-1, '-1', "cannot provide negative value '-1'"],
  [true, 'true', 'could not parse duration from input'],
  [[], '[]', 'could not parse duration from input'],
  [{}, 'map[]', 'could not parse duration from input'],
];

/** Vault's 400 for a refused increment. */
const badIncrementMessage = (shown: string, reason: string): string =>
  `Field validation failed: error converting input ${shown} for field "increment": ${reason}`;

/**
 * A renewal whose increment is not a duration: 400 and the token unchanged, after the request
 * spent its use (Vault checks the fields once the token has been used); the operator's forms
 * refuse it before looking at the token.
 */
class BadIncrement extends OnToken {
  constructor(
    index: number,
    readonly bad: [unknown, string, string],
    readonly form: 'self' | 'token' | 'accessor',
  ) {
    super(index);
  }
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const [increment, shown, reason] = this.bad;
    const message = badIncrementMessage(shown, reason);
    saw('400 bad increment');
    const body = JSON.stringify({ increment });
    if (this.form === 'self') {
      const done = await selfRequest(t, 'POST', 'auth/token/renew-self', 'update', body);
      if (done !== undefined) expectError(done.res, 400, message);
      return;
    }
    const url = this.form === 'token' ? '/v1/auth/token/renew' : '/v1/auth/token/renew-accessor';
    const named = this.form === 'token' ? { token: t.token } : { accessor: t.accessor };
    const res = await send('POST', url, ADMIN_TOKEN, JSON.stringify({ increment, ...named }));
    expectError(res, 400, message);
  }
  toString = (): string => `badIncrement(#${this.index}, ${this.form}, ${JSON.stringify(this.bad[0])})`;
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
export class Refused extends OnToken {
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const done = await selfRequest(t, 'GET', 'secret/data/model/x', 'read');
    expect(done).toBeUndefined();
  }
  toString = (): string => `refused(#${this.index})`;
}

export class AdminLookup extends OnToken {
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const res = await send('POST', '/v1/auth/token/lookup', ADMIN_TOKEN, JSON.stringify({ token: t.token }));
    if (!isLive(t, now())) expectError(res, 403, 'bad token');
    else expectLookup(res, t, t.token, t.usesLeft);
  }
  toString = (): string => `adminLookup(#${this.index})`;
}

export class AdminRenew extends OnToken {
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
    if (!isLive(t, now())) expectError(res, 400, this.byAccessor ? 'invalid accessor' : 'token not found');
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
    const live = isLive(t, now());
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

export class LookupAccessor extends OnToken {
  async run(m: Model): Promise<void> {
    const t = this.pick(m);
    const res = await send(
      'POST',
      '/v1/auth/token/lookup-accessor',
      ADMIN_TOKEN,
      JSON.stringify({ accessor: t.accessor }),
    );
    if (!isLive(t, now())) expectError(res, 400, 'invalid accessor');
    else expectLookup(res, t, '', t.usesLeft);
  }
  toString = (): string => `lookupAccessor(#${this.index})`;
}

/** Where a clock jump lands: by an amount, or next to a token's expiry or hard limit. */
type Jump =
  { kind: 'by'; ms: number } | { kind: 'expiry' | 'limit' | 'uses'; index: number; offsetMs: number };

export class Advance implements fc.AsyncCommand<Model, object> {
  constructor(readonly jump: Jump) {}
  check = (): boolean => true;
  async run(m: Model): Promise<void> {
    const j = this.jump;
    if (j.kind === 'by') {
      bound().clock.advanceMs(j.ms);
      return;
    }
    const t = nth(m, j.index);
    const at = { expiry: t?.expireMs, limit: t?.notAfterMs, uses: t?.usesNotAfterMs }[j.kind];
    if (at === undefined || at === null) return;
    const target = at + j.offsetMs;
    if (target > now()) bound().clock.setMs(target);
  }
  toString = (): string => `advance(${JSON.stringify(this.jump)})`;
}

/**
 * What an agent does: again and again, wait until shortly before (or after) the token expires,
 * then renew it, itself or through the operator. Each step is checked as the single commands are.
 */
class RenewLoop extends OnToken {
  constructor(
    index: number,
    readonly rounds: number,
    readonly offsetMs: number,
    readonly viaOperator: boolean,
    readonly increment: Increment,
  ) {
    super(index);
  }
  async run(m: Model): Promise<void> {
    for (let round = 0; round < this.rounds; round++) {
      await new Advance({ kind: 'expiry', index: this.index, offsetMs: this.offsetMs }).run(m);
      if (this.viaOperator) await new AdminRenew(this.index, false, this.increment).run(m);
      else await new RenewSelf(this.index, this.increment).run(m);
    }
  }
  toString = (): string =>
    `renewLoop(#${this.index}, ${this.rounds}×, ${this.offsetMs} ms, ${this.viaOperator ? 'operator' : 'self'}, ${this.increment.label})`;
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
export const tokenCommands = [
  login,
  login,
  lookupSelf,
  lookupSelf,
  renewSelf,
  renewSelf,
  index.map((i) => new RevokeSelf(i)),
  fc
    .tuple(
      index,
      fc.constantFrom(...BAD_INCREMENTS),
      fc.constantFrom('self' as const, 'token' as const, 'accessor' as const),
    )
    .map(([i, inc, form]) => new BadIncrement(i, inc, form)),
  index.map((i) => new Refused(i)),
  index.map((i) => new AdminLookup(i)),
  fc.tuple(index, fc.boolean(), incrementArb).map(([i, acc, inc]) => new AdminRenew(i, acc, inc)),
  fc.tuple(index, fc.boolean()).map(([i, acc]) => new AdminRevoke(i, acc)),
  index.map((i) => new LookupAccessor(i)),
  fc
    .tuple(
      index,
      fc.integer({ min: 1, max: 12 }),
      fc.constantFrom(-300_000, -60_000, -1500, -1, 0),
      fc.boolean(),
      fc.oneof({ arbitrary: fc.constant(NO_INCREMENT), weight: 2 }, incrementArb),
    )
    .map(([i, rounds, offset, op, inc]) => new RenewLoop(i, rounds, offset, op, inc)),
  jumpArb.map((j) => new Advance(j)),
  jumpArb.map((j) => new Advance(j)),
];
