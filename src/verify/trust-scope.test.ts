import type { JwtMountConfig } from '../config/index.js';
import { describe, expect, it } from 'vitest';
import { ISSUER, jwksMount, mountOf } from './test-fixtures.js';
import { trustScope } from './trust-scope.js';

describe('trustScope', () => {
  const host = 'https://kubernetes.default.svc';
  const review = (over = {}) => mountOf({ kubernetesHost: host, issuers: [ISSUER, 'https://b'], ...over });
  const keys = (url: string, over = {}) => jwksMount({ kind: 'oidc-discovery', url }, over);

  it('is one scope for mounts that trust the same cluster, whatever their other settings', () => {
    expect(trustScope(review({ issuers: ['https://b', ISSUER], leewaySeconds: 5, path: 'x' }))).toBe(
      trustScope(review()),
    );
    expect(trustScope(keys(host, { tokenReviewerJwtFile: '/t' }))).toBe(trustScope(keys(host)));
  });

  type Mount = ReturnType<typeof mountOf>;
  it.each<[string, () => Mount, () => Mount]>([
    ['another API server', () => review({ kubernetesHost: 'https://10.0.0.1' }), review],
    ['another cluster CA at the same URL', () => review({ kubernetesCaCert: 'PEM of B' }), review],
    ['other issuers', () => review({ issuers: [ISSUER] }), review],
    ['a key set from elsewhere', () => keys('https://b.example'), () => keys(host)],
    [
      'a key set trusted through another CA',
      () => keys(host, { jwks: { ...keys(host).jwks, caCert: 'PEM of B' } }),
      () => keys(host),
    ],
  ])('changes with %s', (_what, other, base) => {
    expect(trustScope(other())).not.toBe(trustScope(base()));
  });
});

describe('trustScope of a jwt mount', () => {
  const url = 'https://issuer.example';
  const jwt = (over: Partial<JwtMountConfig> = {}): JwtMountConfig => ({
    path: 'jwt',
    type: 'jwt',
    description: '',
    keys: {
      source: { kind: 'oidc-discovery', url },
      caCert: undefined,
      cooldownMs: 1,
      maxAgeMs: 1,
      timeoutMs: 1,
    },
    boundIssuer: undefined,
    allowedAlgorithms: ['RS256'],
    allowedAlgorithmsAsSet: ['RS256'],
    defaultRole: undefined,
    defaultLeaseTtlSeconds: 0,
    maxLeaseTtlSeconds: 0,
    roles: new Map(),
    ...over,
  });

  it('is never a kubernetes mount’s with the same key source, and changes with the issuer and CA', () => {
    expect(trustScope(jwt())).not.toBe(
      trustScope(jwksMount({ kind: 'oidc-discovery', url }, { issuers: [url] })),
    );
    expect(trustScope(jwt({ boundIssuer: url }))).not.toBe(trustScope(jwt()));
    expect(trustScope(jwt({ keys: { ...jwt().keys, caCert: 'PEM' } }))).not.toBe(trustScope(jwt()));
    expect(trustScope(jwt({ defaultRole: 'x', path: 'other' }))).toBe(trustScope(jwt()));
  });
});
