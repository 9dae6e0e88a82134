import fc from 'fast-check';
import { expect } from 'vitest';
import type { FakeClock } from '../../src/lib/clock.js';
import type { Harness } from './harness.js';
import { INVALID_TOKEN_MESSAGE } from '../../src/errors.js';
import {
  authData,
  grants,
  isLive,
  lookupData,
  placeLease,
  spendUse,
  type ModelToken,
} from './token-model.js';

/*
 * The checks of test/token-model.test.ts: how a command's answer is compared with the model
 * (test/helpers/token-model.ts), and the requests that commands share.
 */

/** The server and clock the commands drive; bound once by the test, before any command runs. */
export type ModelEnv = { harness: Harness; clock: FakeClock };
let env: ModelEnv | undefined;

/** Binds the commands to a harness and its fake clock. */
export const bindModelEnv = (e: ModelEnv): void => {
  env = e;
};

/** The bound environment; a TypeError when the test has not bound one. */
export const bound = (): ModelEnv => {
  if (env === undefined) throw new TypeError('bindModelEnv() before running commands');
  return env;
};

/** Now, on the model's fake clock (ms since the epoch). */
export const now = (): number => bound().clock.nowMs();

/** The model's state: the tokens issued in this run, in issue order. */
export type Model = { tokens: ModelToken[] };

/** The `index`-th latest token, modulo the tokens issued so far. */
export const nth = (m: Model, index: number): ModelToken | undefined =>
  m.tokens[m.tokens.length - 1 - (index % Math.max(1, m.tokens.length))];

/** Outcomes seen over the whole run, so that the test can tell it reached every branch. */
export const seen = new Map<string, number>();
/** Counts an outcome (`403 permission denied`, `renewal capped`, …) for the coverage check. */
export const saw = (outcome: string): void => {
  seen.set(outcome, (seen.get(outcome) ?? 0) + 1);
};
/** Counts an outcome (`403 permission denied`, `renewal capped`, …) for the coverage check. */
export type Answer = { status: number; json: Record<string, unknown> | undefined };

/** A request through Fastify's inject, with `token` as X-Vault-Token and `body` as JSON. */
export const send = async (
  method: 'GET' | 'POST',
  url: string,
  token: string,
  body?: string,
): Promise<Answer> => {
  const res = await bound().harness.server.app.inject({
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

export const expectError = (res: Answer, status: number, message: string): void => {
  saw(`${status} ${message}`);
  expect({ status: res.status, json: res.json }).toEqual({ status, json: { errors: [message] } });
};

export const expectLookup = (res: Answer, t: ModelToken, id: string, numUses: number): void => {
  saw(`lookup, num_uses ${numUses < 0 ? 'last' : numUses > 0 ? 'left' : 'unlimited'}`);
  expect(res.status).toBe(200);
  const data = res.json?.['data'] as Record<string, unknown>;
  expect(data).toMatchObject(lookupData(t, now(), id, numUses));
  expect((data['meta'] as Record<string, unknown>)['role']).toBe(t.roleName);
  if (t.role.period === 0) expect(data).not.toHaveProperty('period');
  if (t.lastRenewalMs === null) expect(data).not.toHaveProperty('last_renewal_time');
};

/**
 * Renews `t` in the model (or finds it cannot be) and checks the answer: Vault's CalculateTTL
 * from the issue time, warnings included.
 */
export const expectRenewal = (res: Answer, t: ModelToken, clientToken: string, incrementS: number): void => {
  const nowMs = now();
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
export type Increment = { body: Record<string, unknown> | undefined; seconds: number; label: string };

export const incrementArb: fc.Arbitrary<Increment> = fc
  .tuple(
    fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 120 }), fc.integer({ min: 1, max: 30_000 })),
    fc.constantFrom('none', 'empty', 'null', 'number', 'seconds', 'plain', 'units', 'hours', 'signed', 'sub'),
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
      // Go's ParseInt takes a sign; a negative duration under a second is 0 seconds, not refused.
      signed: [{ increment: `+${seconds}` }, seconds],
      sub: [{ increment: seconds === 0 ? '-999ms' : `${seconds}s999ms` }, seconds],
    };
    const [body, s] = bodies[form] ?? [undefined, 0];
    return { body, seconds: s, label: body === undefined ? 'no body' : JSON.stringify(body) };
  });

export const NO_INCREMENT: Increment = { body: undefined, seconds: 0, label: 'no body' };

/** A request made with the token itself: dead → 403 `invalid token`; else a use is spent, then the ACL. */
export const selfRequest = async (
  t: ModelToken,
  method: 'GET' | 'POST',
  path: string,
  capability: 'read' | 'update',
  body?: string,
): Promise<{ res: Answer; numUses: number } | undefined> => {
  const live = isLive(t, now());
  const res = await send(method, `/v1/${path}`, t.token, body);
  if (!live) {
    expectError(res, 403, INVALID_TOKEN_MESSAGE);
    return undefined;
  }
  const numUses = spendUse(t);
  if (!grants(t.role, path, capability)) {
    expectError(res, 403, 'permission denied');
    return undefined;
  }
  return { res, numUses };
};
