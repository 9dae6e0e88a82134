import { describe, expect, it } from 'vitest';
import { MalformedTokenError, parseUnverifiedClaims } from './claims.js';

const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const jwt = (payload: unknown, header: unknown = { alg: 'RS256', kid: 'k1' }) =>
  `${enc(header)}.${enc(payload)}.c2ln`;

describe('parseUnverifiedClaims', () => {
  it('reads the projected layout with pod and node', () => {
    const c = parseUnverifiedClaims(
      jwt({
        aud: ['vault'],
        exp: 200,
        iat: 100,
        iss: 'https://kubernetes.default.svc.cluster.local',
        jti: 'j-1',
        'kubernetes.io': {
          namespace: 'test',
          node: { name: 'worker-1', uid: 'n-uid' },
          pod: { name: 'nginx', uid: 'p-uid' },
          serviceaccount: { name: 'nginx', uid: 'sa-uid' },
        },
        nbf: 100,
        sub: 'system:serviceaccount:test:nginx',
      }),
    );
    expect(c).toMatchObject({
      header: { alg: 'RS256', kid: 'k1' },
      audiences: ['vault'],
      expiresAt: 200,
      namespace: 'test',
      serviceAccount: { name: 'nginx', uid: 'sa-uid' },
      pod: { name: 'nginx', uid: 'p-uid' },
      node: { name: 'worker-1', uid: 'n-uid' },
      jti: 'j-1',
      legacy: false,
    });
  });

  it('leaves the secret name of a projected token bound to a Secret unset, as Vault reads it', () => {
    const c = parseUnverifiedClaims(
      jwt({
        aud: ['vault'],
        'kubernetes.io': {
          namespace: 'test',
          secret: { name: 'bound-secret', uid: 's-uid' },
          serviceaccount: { name: 'nginx', uid: 'sa-uid' },
        },
        sub: 'system:serviceaccount:test:nginx',
      }),
    );
    expect(c.secretName).toBeUndefined();
    expect(c.boundSecret).toEqual({ name: 'bound-secret', uid: 's-uid' });
    expect(c.legacy).toBe(false);
  });

  it('reads the legacy flat layout', () => {
    const c = parseUnverifiedClaims(
      jwt(
        {
          iss: 'kubernetes/serviceaccount',
          'kubernetes.io/serviceaccount/namespace': 'federation-system',
          'kubernetes.io/serviceaccount/secret.name': 'zone-region-token-899ks',
          'kubernetes.io/serviceaccount/service-account.name': 'zone-region',
          'kubernetes.io/serviceaccount/service-account.uid': '671cc280',
          sub: 'system:serviceaccount:federation-system:zone-region',
        },
        { alg: 'RS256', kid: '' },
      ),
    );
    expect(c).toMatchObject({
      legacy: true,
      namespace: 'federation-system',
      serviceAccount: { name: 'zone-region', uid: '671cc280' },
      secretName: 'zone-region-token-899ks',
      audiences: [],
    });
    expect(c.expiresAt).toBeUndefined();
  });

  it('accepts a single-string aud', () => {
    expect(parseUnverifiedClaims(jwt({ aud: 'vault' })).audiences).toEqual(['vault']);
  });

  it.each([
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['JSON serialization', '{"payload":"x"}'],
    ['non-base64 header', '!!!.e30.c2ln'],
    ['padded base64', `${enc({ alg: 'RS256' })}=.e30.c2ln`],
    ['header not JSON', `${Buffer.from('nope').toString('base64url')}.e30.c2ln`],
    ['payload an array', `${enc({ alg: 'RS256' })}.${enc([1])}.c2ln`],
    ['empty signature', `${enc({ alg: 'RS256' })}.e30.`],
    ['empty string', ''],
  ])('refuses %s', (_what, token) => {
    expect(() => parseUnverifiedClaims(token)).toThrow(MalformedTokenError);
  });
});
