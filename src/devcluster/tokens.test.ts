import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { startDevCluster, type DevCluster, type DevClusterOptions } from './index.js';

const NOW_MS = Date.UTC(2024, 4, 1, 10, 0, 0, 250);
const NOW_S = Math.floor(NOW_MS / 1000);
const ISSUER = 'https://kubernetes.default.svc.cluster.local';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const segment = (token: string, index: number): string =>
  Buffer.from(token.split('.')[index] as string, 'base64url').toString('utf8');

let cluster: DevCluster | undefined;
const start = async (options: DevClusterOptions = {}): Promise<DevCluster> => {
  cluster = await startDevCluster({ clock: createFakeClock(NOW_MS), ...options });
  return cluster;
};
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

describe('bound token shape', () => {
  it('has a header of exactly alg and kid, the kid being a published one', async () => {
    const c = await start();
    c.createServiceAccount('default', 'app');
    const { token } = await c.mintToken({ namespace: 'default', serviceAccount: 'app' });
    const kid = (c.jwks().keys[0] as { kid: string }).kid;
    expect(segment(token, 0)).toBe(`{"alg":"RS256","kid":"${kid}"}`);
    expect(token.split('.')).toHaveLength(3);
    expect(token).not.toMatch(/=/);
  });

  it('emits the pod-bound 1.30+ claims in lexicographic order, nested ones too', async () => {
    const c = await start();
    const node = c.createNode('worker-1');
    const sa = c.createServiceAccount('test', 'nginx');
    const pod = c.createPod({
      namespace: 'test',
      name: 'nginx',
      serviceAccount: 'nginx',
      nodeName: 'worker-1',
    });
    const { token, expirationTimestamp } = await c.mintToken({
      namespace: 'test',
      serviceAccount: 'nginx',
      audiences: ['vault'],
      expirationSeconds: 7200,
      pod: 'nginx',
    });
    const payload = segment(token, 1);
    const jti = (JSON.parse(payload) as { jti: string }).jti;
    expect(jti).toMatch(UUID_V4);
    expect(payload).toBe(
      `{"aud":["vault"],"exp":${NOW_S + 7200},"iat":${NOW_S},"iss":"${ISSUER}","jti":"${jti}",` +
        `"kubernetes.io":{"namespace":"test","node":{"name":"worker-1","uid":"${node.uid}"},` +
        `"pod":{"name":"nginx","uid":"${pod.uid}"},"serviceaccount":{"name":"nginx","uid":"${sa.uid}"}},` +
        `"nbf":${NOW_S},"sub":"system:serviceaccount:test:nginx"}`,
    );
    expect(expirationTimestamp).toBe('2024-05-01T12:00:00Z');
  });

  it('keeps aud an array with one element and defaults it to the API audiences', async () => {
    const c = await start({ issuers: ['https://a.example', 'https://b.example'], apiAudiences: ['api'] });
    c.createServiceAccount('default', 'app');
    const { token } = await c.mintToken({ namespace: 'default', serviceAccount: 'app' });
    const claims = JSON.parse(segment(token, 1)) as { aud: unknown; iss: string; exp: number; iat: number };
    expect(claims.aud).toEqual(['api']);
    expect(claims.iss).toBe('https://a.example');
    expect(claims.exp - claims.iat).toBe(3600);
  });

  // pkg/kubeapiserver/options/authentication.go: `len(o.APIAudiences) == 0` → the issuers.
  it('takes the issuers as API audiences when --api-audiences is empty', async () => {
    const c = await start({ issuers: ['https://a.example', 'https://b.example'], apiAudiences: [] });
    c.createServiceAccount('default', 'app');
    const { token } = await c.mintToken({ namespace: 'default', serviceAccount: 'app' });
    expect((JSON.parse(segment(token, 1)) as { aud: unknown }).aud).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });

  it('names the node without a uid when the Node object is missing', async () => {
    const c = await start();
    c.createPod({ namespace: 'test', name: 'p', serviceAccount: 'sa', nodeName: 'ghost' });
    const { token } = await c.mintToken({ namespace: 'test', serviceAccount: 'sa', pod: 'p' });
    expect(segment(token, 1)).toContain('"node":{"name":"ghost"},');
  });

  it('leaves out jti and node when those features are off (1.21–1.29 shape)', async () => {
    const c = await start({ features: { jti: false, podNodeInfo: false } });
    c.createNode('worker-1');
    c.createPod({ namespace: 'test', name: 'p', serviceAccount: 'sa', nodeName: 'worker-1' });
    const { token } = await c.mintToken({ namespace: 'test', serviceAccount: 'sa', pod: 'p' });
    const claims = JSON.parse(segment(token, 1)) as Record<string, unknown>;
    expect(Object.keys(claims)).toEqual(['aud', 'exp', 'iat', 'iss', 'kubernetes.io', 'nbf', 'sub']);
    expect(Object.keys(claims['kubernetes.io'] as object)).toEqual(['namespace', 'pod', 'serviceaccount']);
  });

  it('extends a pod-bound 3607 s API-audience token to a year with warnafter, reporting now + 3607', async () => {
    const c = await start();
    c.createPod({ namespace: 'kube-system', name: 'coredns', serviceAccount: 'coredns' });
    const { token, expirationTimestamp } = await c.mintToken({
      namespace: 'kube-system',
      serviceAccount: 'coredns',
      expirationSeconds: 3607,
      pod: 'coredns',
    });
    const claims = JSON.parse(segment(token, 1)) as {
      exp: number;
      iat: number;
      'kubernetes.io': { warnafter: number };
    };
    expect(claims.exp - claims.iat).toBe(31_536_000);
    expect(claims['kubernetes.io'].warnafter - claims.iat).toBe(3607);
    expect(Object.keys(claims['kubernetes.io']).at(-1)).toBe('warnafter');
    expect(expirationTimestamp).toBe(new Date((NOW_S + 3607) * 1000).toISOString().replace('.000Z', 'Z'));
  });

  it('does not extend 3607 s tokens with a custom audience or without a pod', async () => {
    const c = await start();
    c.createPod({ namespace: 'ns', name: 'p', serviceAccount: 'sa' });
    for (const r of [
      { audiences: ['vault'], pod: 'p' },
      { audiences: undefined, pod: undefined },
    ]) {
      const { token } = await c.mintToken({
        namespace: 'ns',
        serviceAccount: 'sa',
        expirationSeconds: 3607,
        ...r,
      });
      const claims = JSON.parse(segment(token, 1)) as { exp: number; iat: number; 'kubernetes.io': object };
      expect(claims.exp - claims.iat).toBe(3607);
      expect(claims['kubernetes.io']).not.toHaveProperty('warnafter');
    }
  });

  it('signs with ES256 when asked', async () => {
    const c = await start({ signingAlg: 'ES256' });
    c.createServiceAccount('default', 'app');
    const { token } = await c.mintToken({ namespace: 'default', serviceAccount: 'app' });
    expect(JSON.parse(segment(token, 0))).toMatchObject({ alg: 'ES256' });
    expect(Buffer.from(token.split('.')[2] as string, 'base64url')).toHaveLength(64);
  });
});

describe('legacy Secret token shape', () => {
  // The token controller signs with JWTTokenGenerator (pkg/serviceaccount/jwt.go), whose signer
  // carries the derived kid; only tokens minted before kid support (and kept in their Secret) have "".
  it("has the signing key's kid, as the token controller signs today", async () => {
    const c = await start();
    c.createServiceAccount('ns', 'app');
    const token = await c.mintLegacyToken('ns', 'app');
    const kid = (c.jwks().keys[0] as { kid: string }).kid;
    expect(segment(token, 0)).toBe(`{"alg":"RS256","kid":"${kid}"}`);
  });

  it('has kid "" when minted as before kid support, and only the flat claims, sorted', async () => {
    const c = await start();
    const sa = c.createServiceAccount('federation-system', 'zone-region');
    const token = await c.mintLegacyToken('federation-system', 'zone-region', 'zone-region-token-899ks', {
      emptyKid: true,
    });
    expect(segment(token, 0)).toBe('{"alg":"RS256","kid":""}');
    expect(segment(token, 1)).toBe(
      '{"iss":"kubernetes/serviceaccount","kubernetes.io/serviceaccount/namespace":"federation-system",' +
        '"kubernetes.io/serviceaccount/secret.name":"zone-region-token-899ks",' +
        '"kubernetes.io/serviceaccount/service-account.name":"zone-region",' +
        `"kubernetes.io/serviceaccount/service-account.uid":"${sa.uid}","sub":"system:serviceaccount:federation-system:zone-region"}`,
    );
  });

  it('names its Secret <sa>-token-<5 chars> when no name is given', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'app');
    const token = await c.mintLegacyToken('ns', 'app');
    expect(JSON.parse(segment(token, 1))).toMatchObject({
      'kubernetes.io/serviceaccount/secret.name': expect.stringMatching(/^app-token-[a-z0-9]{5}$/),
    });
  });
});
