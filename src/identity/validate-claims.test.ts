import { describe, expect, it } from 'vitest';
import type { AuthgateError } from '../errors.js';
import type { UnverifiedClaims } from './claims.js';
import { validateClaims, type ClaimExpectations } from './validate-claims.js';

const NOW = 1_800_000_000;
const base: UnverifiedClaims = {
  header: { alg: 'RS256', kid: 'k' },
  issuer: 'https://kubernetes.default.svc.cluster.local',
  audiences: ['vault'],
  expiresAt: NOW + 3600,
  notBefore: NOW,
  issuedAt: NOW,
  legacy: false,
};
const expectations: ClaimExpectations = {
  algorithms: ['RS256', 'ES256'],
  issuers: ['https://kubernetes.default.svc.cluster.local'],
  audience: 'vault',
  leewaySeconds: 60,
  nowMs: NOW * 1000,
};
const failure = (claims: Partial<UnverifiedClaims>, exp: Partial<ClaimExpectations> = {}) => {
  try {
    validateClaims({ ...base, ...claims }, { ...expectations, ...exp });
    return undefined;
  } catch (err) {
    return {
      status: (err as AuthgateError).status,
      message: (err as Error).message,
      reason: (err as AuthgateError).reason,
      detail: (err as AuthgateError).detail,
    };
  }
};

describe('validateClaims', () => {
  it('accepts a token that is right on its face', () => {
    expect(failure({})).toBeUndefined();
  });

  it.each([
    ['alg none', { header: { alg: 'none' } }, 'algorithm_not_allowed'],
    ['HS256', { header: { alg: 'HS256' } }, 'algorithm_not_allowed'],
    ['no alg', { header: {} }, 'algorithm_not_allowed'],
    ['foreign issuer', { issuer: 'https://evil' }, 'issuer_mismatch'],
    ['missing issuer', { issuer: undefined }, 'issuer_mismatch'],
    ['other audience', { audiences: ['kube'] }, 'audience_mismatch'],
    ['no audience', { audiences: [] }, 'audience_mismatch'],
    ['expired past leeway', { expiresAt: NOW - 61 }, 'expired'],
    ['not yet valid past leeway', { notBefore: NOW + 61 }, 'not_yet_valid'],
    ['issued in the future past leeway', { issuedAt: NOW + 61 }, 'issued_in_future'],
  ])('refuses %s with 403', (_name, claims, reason) => {
    const f = failure(claims as Partial<UnverifiedClaims>);
    expect(f?.status).toBe(403);
    expect(f?.reason).toBe(reason);
  });

  it('uses Vault messages', () => {
    expect(failure({ expiresAt: NOW - 61 })?.message).toBe(
      'invalid expiration time (exp) claim: token is expired',
    );
    expect(failure({ audiences: ['x'] })?.message).toBe(
      'invalid audience (aud) claim: audience claim does not match any expected audience',
    );
  });

  it.each([
    ['expired within leeway', { expiresAt: NOW - 60 }],
    ['nbf within leeway', { notBefore: NOW + 60 }],
    ['iat within leeway', { issuedAt: NOW + 60 }],
    ['legacy token without exp/nbf/iat', { expiresAt: undefined, notBefore: undefined, issuedAt: undefined }],
  ])('allows %s', (_name, claims) => {
    expect(failure(claims as Partial<UnverifiedClaims>)).toBeUndefined();
  });

  it('compares the instant, not whole seconds, as go-jose does', () => {
    expect(failure({ expiresAt: NOW - 60 }, { nowMs: NOW * 1000 + 1 })?.reason).toBe('expired');
    expect(failure({ expiresAt: NOW - 59 }, { nowMs: NOW * 1000 + 999 })).toBeUndefined();
    expect(failure({ notBefore: NOW + 61 }, { nowMs: NOW * 1000 + 999 })?.reason).toBe('not_yet_valid');
    expect(failure({ notBefore: NOW + 61 }, { nowMs: NOW * 1000 + 1000 })).toBeUndefined();
  });

  // A token can fail both only once edited (nbf after exp); then Vault names nbf.
  it('checks nbf before exp, then iat, in the order of hashicorp/cap', () => {
    expect(failure({ notBefore: NOW + 61, expiresAt: NOW - 61 })?.reason).toBe('not_yet_valid');
    expect(failure({ expiresAt: NOW - 61, issuedAt: NOW + 61 })?.reason).toBe('expired');
  });

  it('skips issuer and audience checks when not configured', () => {
    expect(failure({ issuer: 'x', audiences: [] }, { issuers: [], audience: undefined })).toBeUndefined();
  });

  it.each([
    ['alg', { header: { alg: 'X'.repeat(100_000) } }, 'alg='],
    ['iss', { issuer: 'https://evil/'.padEnd(100_000, 'x') }, 'iss='],
    ['aud', { audiences: Array.from({ length: 10_000 }, (_, i) => `aud-${i}`) }, 'aud='],
  ])('bounds the %s it quotes in the detail, an attacker-controlled string', (_claim, claims, prefix) => {
    const detail = failure(claims as Partial<UnverifiedClaims>)?.detail ?? '';
    expect(detail.startsWith(prefix)).toBe(true);
    expect(detail.length).toBeLessThan(200);
  });

  it('quotes a short claim whole', () => {
    expect(failure({ issuer: 'https://evil' })?.detail).toBe('iss=https://evil');
  });
});
