import { describe, expect, it } from 'vitest';
import type { JwtRoleConfig } from '../config/index.js';
import { isAuthgateError } from '../errors.js';
import { checkBoundClaims, checkValidity, claimAt, mappedClaims, userClaimOf } from './jwt-claims.js';

const NOW = 1_800_000_000;
const role = (over: Partial<JwtRoleConfig> = {}): JwtRoleConfig => ({
  name: 'r',
  roleType: 'jwt',
  boundAudiences: [],
  boundSubject: undefined,
  boundClaims: {},
  boundClaimsType: 'string',
  claimMappings: {},
  userClaim: 'sub',
  userClaimJsonPointer: false,
  clockSkewLeewaySeconds: 60,
  expirationLeewaySeconds: 150,
  notBeforeLeewaySeconds: 150,
  leewaysAsSet: { clockSkew: 0, expiration: 0, notBefore: 0 },
  tokenPolicies: [],
  tokenTtlSeconds: 0,
  tokenMaxTtlSeconds: 0,
  tokenExplicitMaxTtlSeconds: 0,
  tokenNumUses: 0,
  tokenBoundCidrs: [],
  tokenNoDefaultPolicy: false,
  tokenPeriodSeconds: 0,
  tokenType: 'default',
  ...over,
});

/** The reason a check refused with (400), or 'ok'. */
const outcome = (check: () => void): string => {
  try {
    check();
    return 'ok';
  } catch (err) {
    if (!isAuthgateError(err) || err.status !== 400) throw err;
    return err.reason;
  }
};
const validity = (payload: Record<string, unknown>, r = role(), nowS = NOW) =>
  outcome(() => checkValidity(payload, { boundIssuer: undefined }, r, nowS * 1000));

describe("the JWT method's times (hashicorp/cap)", () => {
  it.each<[string, Record<string, unknown>, number, string]>([
    ['exp within the skew', { exp: NOW - 60 }, NOW, 'ok'],
    ['exp past the skew', { exp: NOW - 61 }, NOW, 'expired'],
    ['nbf within the skew', { nbf: NOW + 60, exp: NOW + 600 }, NOW, 'ok'],
    ['nbf past the skew', { nbf: NOW + 61, exp: NOW + 600 }, NOW, 'not_yet_valid'],
    ['iat in the future past the skew', { iat: NOW + 61, nbf: NOW, exp: NOW + 600 }, NOW, 'issued_in_future'],
    // No exp: valid until the later of nbf and iat + expiration_leeway (150 s), + the skew.
    ['no exp, iat 200 s ago', { iat: NOW - 200 }, NOW, 'ok'],
    ['no exp, iat 211 s ago', { iat: NOW - 211 }, NOW, 'expired'],
    // No nbf nor iat: valid from exp − not_before_leeway (150 s), − the skew.
    ['no nbf nor iat, exp in 210 s', { exp: NOW + 210 }, NOW, 'ok'],
    ['no nbf nor iat, exp in 211 s', { exp: NOW + 211 }, NOW, 'not_yet_valid'],
    ['no time claim at all', {}, NOW, 'missing_time_claims'],
    ['an exp that is not a number', { exp: '1' }, NOW, 'malformed_claims'],
  ])('%s', (_what, payload, now, expected) => {
    expect(validity(payload, role(), now)).toBe(expected);
  });

  it('applies no skew when the role sets none', () => {
    expect(validity({ exp: NOW - 1 }, role({ clockSkewLeewaySeconds: 0 }))).toBe('expired');
  });

  it('checks issuer, subject and audiences before the times', () => {
    const r = role({ boundSubject: 'a', boundAudiences: ['x', 'y'] });
    expect(outcome(() => checkValidity({ iss: 'i', exp: 0 }, { boundIssuer: 'j' }, r, NOW * 1000))).toBe(
      'issuer_mismatch',
    );
    expect(validity({ sub: 'b', exp: 0 }, r)).toBe('subject_mismatch');
    expect(validity({ sub: 'a', aud: ['z'], exp: 0 }, r)).toBe('audience_mismatch');
    expect(validity({ sub: 'a', aud: ['z', 'y'], exp: NOW + 10 }, r)).toBe('ok');
    expect(validity({ aud: 'z', exp: NOW + 10 })).toBe('audience_not_bound');
  });
});

describe('bound claims, the user claim and claim mappings', () => {
  const payload = { sub: 'u', team: 'web', groups: ['a', 'b'], n: 3, ok: true, k: { ns: 'prod' } };

  it.each<[string, Partial<JwtRoleConfig>, string]>([
    ['a string equal', { boundClaims: { team: ['web'] } }, 'ok'],
    ['any element of a list claim', { boundClaims: { groups: ['x', 'b'] } }, 'ok'],
    ['a number as a number', { boundClaims: { n: [3] } }, 'ok'],
    ['a number as a string', { boundClaims: { n: ['3'] } }, 'bound_claim_mismatch'],
    ['a boolean', { boundClaims: { ok: [true] } }, 'ok'],
    ['a pointer into an object', { boundClaims: { '/k/ns': ['prod'] } }, 'ok'],
    ['an object claim', { boundClaims: { k: ['prod'] } }, 'bound_claim_mismatch'],
    ['a missing claim', { boundClaims: { nope: ['x'] } }, 'bound_claim_missing'],
    ['every key must match', { boundClaims: { team: ['web'], n: [4] } }, 'bound_claim_mismatch'],
    ['a glob', { boundClaims: { team: ['w*'] }, boundClaimsType: 'glob' }, 'ok'],
    [
      'a glob against a number',
      { boundClaims: { n: ['*'] }, boundClaimsType: 'glob' },
      'bound_claim_mismatch',
    ],
    [
      'a string that is a glob, compared as a string',
      { boundClaims: { team: ['w*'] } },
      'bound_claim_mismatch',
    ],
  ])('%s', (_what, over, expected) => {
    expect(outcome(() => checkBoundClaims(payload, role(over)))).toBe(expected);
  });

  it('reads the user claim by name or by pointer, and only as a string', () => {
    expect(userClaimOf(payload, role())).toBe('u');
    expect(userClaimOf(payload, role({ userClaim: '/k/ns', userClaimJsonPointer: true }))).toBe('prod');
    expect(outcome(() => userClaimOf(payload, role({ userClaim: 'n' })))).toBe('user_claim_not_string');
    expect(outcome(() => userClaimOf(payload, role({ userClaim: 'nope' })))).toBe('user_claim_missing');
    // Not a pointer unless the role says so: `/k/ns` is then a claim's name.
    expect(userClaimOf({ '/k/ns': 'x' }, role({ userClaim: '/k/ns' }))).toBe('x');
    expect(outcome(() => userClaimOf(payload, role({ userClaim: '/k/ns' })))).toBe('user_claim_missing');
  });

  it('maps scalars to strings and skips what is missing', () => {
    const r = role({
      claimMappings: { team: 'team', n: 'count', ok: 'flag', nope: 'x', '/k/ns': 'namespace' },
    });
    expect(mappedClaims(payload, r)).toEqual({ team: 'web', count: '3', flag: 'true', namespace: 'prod' });
    expect(outcome(() => mappedClaims(payload, role({ claimMappings: { groups: 'g' } })))).toBe(
      'claim_mapping_not_string',
    );
  });
});

describe("claims as Vault's getClaim reads them", () => {
  it('reads a claim by its name first, then by pointer', () => {
    expect(claimAt({ '/a/b': 'named', a: { b: 'pointed' } }, '/a/b')).toBe('named');
    expect(claimAt({ a: { b: 'pointed' } }, '/a/b')).toBe('pointed');
    expect(claimAt({ a: 1 }, 'b')).toBeUndefined();
  });

  it('refuses, never throws, on a claim nested deeper than JSON.stringify can go', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    const r = role({ boundClaims: { groups: ['a'] } });
    expect(outcome(() => checkBoundClaims({ groups: deep }, r))).toBe('bound_claim_mismatch');
    expect(outcome(() => checkValidity({ iss: deep, exp: NOW }, { boundIssuer: 'i' }, r, NOW * 1000))).toBe(
      'malformed_claims',
    );
    expect(
      outcome(() => checkValidity({ sub: deep, exp: NOW }, { boundIssuer: undefined }, r, NOW * 1000)),
    ).toBe('malformed_claims');
  });
});
