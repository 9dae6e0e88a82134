import { describe, expect, it } from 'vitest';
import { createObjectStore } from './objects.js';
import { validateBound, validateLegacy, type Wording } from './validators.js';

const NOW_MS = Date.UTC(2024, 4, 1, 10, 0, 0);
const NOW_S = NOW_MS / 1000;

const setup = (wording: Wording = 'current') => {
  const objects = createObjectStore({ nowMs: () => NOW_MS, onEvent: () => undefined });
  const sa = objects.createServiceAccount('ns', 'sa');
  const deps = {
    objects,
    nowMs: () => NOW_MS,
    wording,
    features: { jti: true, podNodeInfo: true, nodeBinding: true },
  };
  const claims = (times: { iat?: number; nbf?: number; exp?: number }) => ({
    ...times,
    'kubernetes.io': { namespace: 'ns', serviceaccount: { name: 'sa', uid: sa.meta.uid } },
  });
  return { deps, claims, objects };
};

describe('bound-token time checks', () => {
  it.each([
    ['current', { iat: NOW_S + 61 }, 'service account token is issued in the future'],
    ['current', { nbf: NOW_S + 61, iat: NOW_S + 61 }, 'service account token is not valid yet'],
    ['current', { exp: NOW_S - 61 }, 'service account token has expired'],
    ['legacy', { iat: NOW_S + 61 }, 'Token could not be validated.'],
    ['legacy', { nbf: NOW_S + 61 }, 'Token could not be validated.'],
    ['legacy', { exp: NOW_S - 61 }, 'Token has expired.'],
  ] as const)('(%s) refuses %j with %s', (wording, times, message) => {
    const { deps, claims } = setup(wording);
    expect(() => validateBound(deps, claims(times))).toThrow(message);
  });

  it('allows each time claim at exactly the 60 s leeway', () => {
    const { deps, claims } = setup();
    expect(validateBound(deps, claims({ iat: NOW_S + 60, nbf: NOW_S + 60, exp: NOW_S - 60 }))).toMatchObject({
      namespace: 'ns',
      name: 'sa',
    });
  });

  it('gives no credential id without jti', () => {
    const { deps, claims } = setup();
    expect(validateBound(deps, claims({})).credentialId).toBeUndefined();
    expect(validateBound(deps, { ...claims({}), jti: 'abc' }).credentialId).toBe('JTI=abc');
  });
});

// claims.go before 1.29 checked deletion before the uid, and worded a deleted service account
// `ServiceAccount <ns>/<name> has been deleted`; 1.29+ checks the uid first.
describe('bound-token object checks by release', () => {
  const longAgo = NOW_MS - 61_000;

  it.each([
    ['current', 'service account ns/sa has been deleted'],
    ['legacy', 'ServiceAccount ns/sa has been deleted'],
  ] as const)('(%s) refuses a token of a service account deleted over 60 s ago', (wording, message) => {
    const { deps, claims, objects } = setup(wording);
    (objects.getServiceAccount('ns', 'sa') as { meta: { deletionMs?: number } }).meta.deletionMs = longAgo;
    expect(() => validateBound(deps, claims({}))).toThrow(message);
  });

  it.each([
    ['current', 'pod UID'],
    ['legacy', 'Token has been invalidated'],
  ] as const)('(%s) for a terminating pod of another uid says %s', (wording, message) => {
    const { deps, claims, objects } = setup(wording);
    const pod = objects.createPod({ namespace: 'ns', name: 'p', serviceAccount: 'sa' });
    pod.meta.deletionMs = longAgo;
    const bound = {
      ...claims({}),
      'kubernetes.io': { ...claims({})['kubernetes.io'], pod: { name: 'p', uid: 'old' } },
    };
    expect(() => validateBound(deps, bound)).toThrow(message);
  });
});

describe('legacy-token claims', () => {
  const full = {
    iss: 'kubernetes/serviceaccount',
    sub: 'system:serviceaccount:ns:sa',
    'kubernetes.io/serviceaccount/namespace': 'ns',
    'kubernetes.io/serviceaccount/secret.name': 's',
    'kubernetes.io/serviceaccount/service-account.name': 'sa',
    'kubernetes.io/serviceaccount/service-account.uid': 'u',
  };
  it.each([
    ['sub', 'sub claim is missing'],
    ['kubernetes.io/serviceaccount/namespace', 'namespace claim is missing'],
    ['kubernetes.io/serviceaccount/secret.name', 'secretName claim is missing'],
    ['kubernetes.io/serviceaccount/service-account.name', 'serviceAccountName claim is missing'],
    ['kubernetes.io/serviceaccount/service-account.uid', 'serviceAccountUID claim is missing'],
  ])('refuses a token without %s', (claim, message) => {
    const { deps } = setup();
    expect(() => validateLegacy(deps, 't', { ...full, [claim]: '' })).toThrow(message);
  });

  it('refuses a sub that does not match the flat claims', () => {
    const { deps } = setup();
    expect(() => validateLegacy(deps, 't', { ...full, sub: 'system:serviceaccount:ns:other' })).toThrow(
      'sub claim is invalid',
    );
  });

  it('refuses a legacy token whose service account uid changed', () => {
    const { deps, objects } = setup();
    const live = objects.getServiceAccount('ns', 'sa')?.meta.uid;
    objects.putSecret('ns', 's', { data: { token: 't' } });
    expect(() => validateLegacy(deps, 't', full)).toThrow(
      `ServiceAccount UID (${live}) does not match claim (u)`,
    );
  });
});
