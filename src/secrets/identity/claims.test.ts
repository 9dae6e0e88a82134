import { describe, expect, it } from 'vitest';
import { buildClaims, issuerUrl, subjectOfToken } from './claims.js';

const sa = {
  service_account_namespace: 'shop',
  service_account_name: 'web',
  service_account_uid: 'sa-uid',
  service_account_secret_name: '',
  role: 'web-role',
};

describe('subjectOfToken', () => {
  it.each([
    ['the admin token (no record)', undefined, undefined],
    ['a token without service-account metadata', { metadata: {}, mountPath: 'kubernetes' }, undefined],
    [
      'a token missing the service-account uid',
      { metadata: { ...sa, service_account_uid: '' }, mountPath: 'kubernetes' },
      undefined,
    ],
    // auth/token/create: the admin wrote the metadata; nothing verified it.
    [
      'a token of the token store, whatever its metadata says',
      { metadata: sa, mountPath: 'token' },
      undefined,
    ],
    [
      'a token from a login without a pod',
      { metadata: sa, mountPath: 'kubernetes' },
      { namespace: 'shop', serviceAccountName: 'web', serviceAccountUid: 'sa-uid', role: 'web-role' },
    ],
    [
      'a token from a pod-bound login',
      { metadata: { ...sa, pod_name: 'web-1', pod_uid: 'pod-uid' }, mountPath: 'kubernetes' },
      {
        namespace: 'shop',
        serviceAccountName: 'web',
        serviceAccountUid: 'sa-uid',
        podName: 'web-1',
        podUid: 'pod-uid',
        role: 'web-role',
      },
    ],
  ])('reads %s', (_what, record, subject) => {
    expect(subjectOfToken(record)).toStrictEqual(subject);
  });
});

describe('claims', () => {
  it('names the issuer under /v1/identity/oidc, without a doubled slash', () => {
    expect(issuerUrl('https://a.example/')).toBe('https://a.example/v1/identity/oidc');
  });

  it('puts the Kubernetes identity where Kubernetes puts it in projected tokens', () => {
    const claims = buildClaims(
      'https://a.example/v1/identity/oidc',
      'aud',
      {
        namespace: 'ns',
        serviceAccountName: 'sa',
        serviceAccountUid: 'u',
        podName: 'p',
        podUid: 'pu',
        role: 'r',
      },
      100,
      60,
    );
    expect(claims).toStrictEqual({
      iss: 'https://a.example/v1/identity/oidc',
      sub: 'system:serviceaccount:ns:sa',
      aud: 'aud',
      iat: 100,
      exp: 160,
      'kubernetes.io': {
        namespace: 'ns',
        serviceaccount: { name: 'sa', uid: 'u' },
        pod: { name: 'p', uid: 'pu' },
      },
    });
  });
});
