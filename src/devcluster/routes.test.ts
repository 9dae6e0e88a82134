import { afterEach, describe, expect, it } from 'vitest';
import { startDevCluster, type DevCluster, type DevClusterOptions } from './index.js';

let cluster: DevCluster | undefined;
const start = async (options: DevClusterOptions = {}): Promise<DevCluster> => {
  cluster = await startDevCluster(options);
  return cluster;
};
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const call = async (
  c: DevCluster,
  path: string,
  init: { method?: string; bearer?: string | null; body?: unknown } = {},
) => {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const bearer = init.bearer === undefined ? c.adminToken : init.bearer;
  if (bearer !== null) headers['authorization'] = `Bearer ${bearer}`;
  const res = await fetch(`${c.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: () => JSON.parse(text) as Record<string, unknown>,
  };
};

const REVIEWS = '/apis/authentication.k8s.io/v1/tokenreviews';

describe('TokenReview RBAC', () => {
  it('answers 401 without a bearer token, with an unknown one, or with a token for another audience', async () => {
    const c = await start();
    c.createServiceAccount('gw', 'gateway');
    c.grantAuthDelegator('gw', 'gateway');
    const { token: vaultToken } = await c.mintToken({
      namespace: 'gw',
      serviceAccount: 'gateway',
      audiences: ['vault'],
    });
    for (const bearer of [null, 'wrong', vaultToken]) {
      const res = await call(c, REVIEWS, { method: 'POST', bearer, body: { spec: { token: 'x' } } });
      expect(res.status).toBe(401);
      expect(res.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
    expect(c.stats().tokenReviews).toBe(0);
  });

  it('reads the Authorization header as the bearer authenticator does', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    const body = { spec: { token } };
    for (const bearer of [`${c.adminToken} extra`, `${c.adminToken}  more`]) {
      expect((await call(c, REVIEWS, { method: 'POST', bearer, body })).status).toBe(201);
    }
    const tab = await fetch(`${c.url}${REVIEWS}`, {
      method: 'POST',
      headers: { authorization: `Bearer\t${c.adminToken}` },
      body: JSON.stringify(body),
    });
    expect(tab.status).toBe(401);
    const lower = await fetch(`${c.url}${REVIEWS}`, {
      method: 'POST',
      headers: { authorization: `bEaReR ${c.adminToken}` },
      body: JSON.stringify(body),
    });
    expect(lower.status).toBe(201);
  });

  it('answers 403 to a service account without system:auth-delegator', async () => {
    const c = await start();
    c.createServiceAccount('gw', 'gateway');
    const { token } = await c.mintToken({ namespace: 'gw', serviceAccount: 'gateway' });
    const res = await call(c, REVIEWS, { method: 'POST', bearer: token, body: { spec: { token } } });
    expect(res.status).toBe(403);
    expect(res.text).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"tokenreviews.authentication.k8s.io is forbidden: User \\"system:serviceaccount:gw:gateway\\" cannot create resource \\"tokenreviews\\" in API group \\"authentication.k8s.io\\" at the cluster scope","reason":"Forbidden","details":{"group":"authentication.k8s.io","kind":"tokenreviews"},"code":403}\n',
    );
  });

  it('answers 403 to a service account that may not read namespaces, and their labels to one that may', async () => {
    const c = await start();
    c.createNamespace('web-a', { team: 'web' });
    c.createServiceAccount('gw', 'gateway');
    const { token } = await c.mintToken({ namespace: 'gw', serviceAccount: 'gateway' });
    const denied = await call(c, '/api/v1/namespaces/web-a', { bearer: token });
    expect(denied.status).toBe(403);
    expect(denied.json()['message']).toBe(
      'namespaces "web-a" is forbidden: User "system:serviceaccount:gw:gateway" cannot get resource "namespaces" in API group "" at the cluster scope',
    );
    expect((await call(c, '/api/v1/namespaces', { bearer: token })).json()['message']).toMatch(
      /cannot list resource "namespaces"/,
    );
    expect((await call(c, '/api/v1/namespaces?watch=1', { bearer: token })).json()['message']).toMatch(
      /cannot watch resource "namespaces"/,
    );
    c.grantNamespaceReader('gw', 'gateway');
    const read = await call(c, '/api/v1/namespaces/web-a', { bearer: token });
    expect(read.status).toBe(200);
    expect((read.json()['metadata'] as { labels: Record<string, string> }).labels).toEqual({
      team: 'web',
      'kubernetes.io/metadata.name': 'web-a',
    });
  });

  it('lets a service account with system:auth-delegator review tokens', async () => {
    const c = await start();
    c.createServiceAccount('gw', 'gateway');
    c.grantAuthDelegator('gw', 'gateway');
    const { token } = await c.mintToken({ namespace: 'gw', serviceAccount: 'gateway' });
    const res = await call(c, REVIEWS, { method: 'POST', bearer: token, body: { spec: { token } } });
    expect(res.status).toBe(201);
    expect(res.json()).toMatchObject({ status: { authenticated: true } });
    expect(c.stats().tokenReviews).toBe(1);
  });

  it('accepts a legacy token as the caller credential', async () => {
    const c = await start();
    c.createServiceAccount('gw', 'gateway');
    c.grantAuthDelegator('gw', 'gateway');
    const legacy = await c.mintLegacyToken('gw', 'gateway');
    expect(
      (await call(c, REVIEWS, { method: 'POST', bearer: legacy, body: { spec: { token: legacy } } })).status,
    ).toBe(201);
  });
});

describe('the simulator stats endpoint', () => {
  it('gives the cluster admin the counters over HTTP, and nobody else', async () => {
    const c = await start();
    c.createServiceAccount('gw', 'gateway');
    c.grantAuthDelegator('gw', 'gateway');
    const { token } = await c.mintToken({ namespace: 'gw', serviceAccount: 'gateway' });
    await call(c, REVIEWS, { method: 'POST', bearer: token, body: { spec: { token } } });
    const res = await call(c, '/debug/simulator/stats');
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ tokenReviews: 1, byPath: { [REVIEWS]: 1 } });
    expect((await call(c, '/debug/simulator/stats', { bearer: token })).status).toBe(403);
    expect((await call(c, '/debug/simulator/stats', { bearer: null })).status).toBe(401);
  });
});

describe('TokenReview request errors', () => {
  const postRaw = (c: DevCluster, body: string) =>
    fetch(`${c.url}${REVIEWS}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.adminToken}` },
      body,
    });

  it('answers 400 for an empty token', async () => {
    const c = await start();
    const res = await call(c, REVIEWS, { method: 'POST', body: { spec: { token: '' } } });
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'token is required for TokenReview in authentication',
      reason: 'BadRequest',
      code: 400,
    });
  });

  it('answers 400 for a body that is not JSON or is mistyped, and keeps serving', async () => {
    const c = await start();
    for (const body of [
      '{not json',
      '[]',
      '{"spec":{"token":5}}',
      '{"spec":{"token":"x","audiences":"vault"}}',
      '{"kind":"Pod"}',
    ]) {
      const res = await postRaw(c, body);
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    }
    expect(c.stats().tokenReviews).toBe(0);
  });
});

describe('issuer discovery', () => {
  it('serves the discovery document and JWKS without credentials, with their headers', async () => {
    const c = await start({ issuers: ['https://issuer.example.com'] });
    await c.rotateKey('ES256');
    const discovery = await call(c, '/.well-known/openid-configuration?ignored=1', { bearer: null });
    expect(discovery.status).toBe(200);
    expect(discovery.headers.get('content-type')).toBe('application/json');
    expect(discovery.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(discovery.text).toBe(
      `{"issuer":"https://issuer.example.com","jwks_uri":"${c.url}/openid/v1/jwks","response_types_supported":["id_token"],"subject_types_supported":["public"],"id_token_signing_alg_values_supported":["ES256","RS256"]}`,
    );
    const jwks = await call(c, '/openid/v1/jwks', { bearer: null });
    expect(jwks.headers.get('content-type')).toBe('application/jwk-set+json');
    expect(jwks.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(jwks.text).toBe(JSON.stringify(c.jwks()));
    const keys = c.jwks().keys as Record<string, string>[];
    expect(keys.map((k) => Object.keys(k))).toEqual([
      ['use', 'kty', 'kid', 'alg', 'n', 'e'],
      ['use', 'kty', 'kid', 'crv', 'alg', 'x', 'y'],
    ]);
  });

  it('refuses a bearer token that does not authenticate, 401 as on every path', async () => {
    const c = await start({ issuers: ['https://issuer.example.com'] });
    for (const path of ['/.well-known/openid-configuration', '/openid/v1/jwks'])
      expect((await call(c, path, { bearer: 'not-a-token' })).status).toBe(401);
    // A service account's own token is a caller like any other.
    c.createServiceAccount('test', 'nginx');
    const { token } = await c.mintToken({ namespace: 'test', serviceAccount: 'nginx' });
    expect((await call(c, '/openid/v1/jwks', { bearer: token })).status).toBe(200);
  });

  it('does not serve sub-paths of the discovery endpoints', async () => {
    const c = await start();
    expect((await call(c, '/openid/v1/jwks/foo')).status).toBe(404);
    expect((await call(c, '/.well-known')).status).toBe(404);
  });
});

describe('issuer discovery for an issuer that is not an https URL', () => {
  // NewOpenIDMetadataProvider (pkg/serviceaccount/openidmetadata.go) refuses an issuer without the
  // https scheme, or with a query or fragment, and the API server then installs no endpoints.
  it.each([
    'kubernetes.default.svc',
    'http://issuer.example.com',
    'https://issuer.example.com?x=1',
    'https://issuer.example.com#f',
  ])('serves neither endpoint for issuer %s', async (issuer) => {
    const c = await start({ issuers: [issuer] });
    expect((await call(c, '/.well-known/openid-configuration')).status).toBe(404);
    expect((await call(c, '/openid/v1/jwks')).status).toBe(404);
    expect((await call(c, '/openid/v1/jwks', { bearer: null })).status).toBe(401);
  });

  it('serves them for an https issuer with a path, and for an upper-case scheme', async () => {
    for (const issuer of ['https://issuer.example.com/id/1', 'HTTPS://issuer.example.com']) {
      const c = await start({ issuers: [issuer] });
      expect((await call(c, '/openid/v1/jwks', { bearer: null })).status).toBe(200);
      await c.close();
      cluster = undefined;
    }
  });
});

describe('namespaces and pods', () => {
  it('serves a namespace with its automatic name label, and lists by label selector', async () => {
    const c = await start();
    const ns = c.createNamespace('payments', { team: 'payments' });
    c.createNamespace('other', { team: 'x' });
    const one = await call(c, '/api/v1/namespaces/payments');
    expect(one.json()).toMatchObject({
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: {
        name: 'payments',
        uid: ns.uid,
        labels: { team: 'payments', 'kubernetes.io/metadata.name': 'payments' },
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    });
    const list = (
      await call(c, '/api/v1/namespaces?labelSelector=team%3Dpayments,kubernetes.io/metadata.name%3Dpayments')
    ).json();
    expect(list['kind']).toBe('NamespaceList');
    expect((list['items'] as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual([
      'payments',
    ]);
    expect(list['items']).not.toContainEqual(expect.objectContaining({ kind: 'Namespace' }));
    const notIn = (await call(c, '/api/v1/namespaces?labelSelector=team%20notin%20(payments),team')).json();
    expect((notIn['items'] as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual([
      'other',
    ]);
  });

  it('answers 404 Status bodies for a missing namespace or pod', async () => {
    const c = await start();
    const res = await call(c, '/api/v1/namespaces/test/pods/nginx');
    expect(res.status).toBe(404);
    expect(res.text).toBe(
      '{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"pods \\"nginx\\" not found","reason":"NotFound","details":{"name":"nginx","kind":"pods"},"code":404}\n',
    );
    expect((await call(c, '/api/v1/namespaces/nope')).json()).toMatchObject({
      message: 'namespaces "nope" not found',
    });
  });

  it('serves and lists pods by field selector, to an admin or any service account', async () => {
    const c = await start();
    const pod = c.createPod({
      namespace: 'test',
      name: 'nginx',
      serviceAccount: 'nginx',
      nodeName: 'worker-1',
      labels: { app: 'nginx' },
    });
    c.createPod({ namespace: 'test', name: 'other', serviceAccount: 'nginx' });
    c.createServiceAccount('test', 'nginx');
    const { token } = await c.mintToken({ namespace: 'test', serviceAccount: 'nginx' });
    const one = (await call(c, '/api/v1/namespaces/test/pods/nginx', { bearer: token })).json();
    expect(one).toMatchObject({
      kind: 'Pod',
      metadata: { name: 'nginx', namespace: 'test', uid: pod.uid, labels: { app: 'nginx' } },
      spec: { serviceAccountName: 'nginx', serviceAccount: 'nginx', nodeName: 'worker-1' },
      status: { phase: 'Running' },
    });
    const list = (await call(c, '/api/v1/namespaces/test/pods?fieldSelector=metadata.name%3Dnginx')).json();
    expect((list['items'] as unknown[]).length).toBe(1);
    expect((await call(c, '/api/v1/namespaces/test/pods?fieldSelector=spec.bogus%3Dx')).json()).toMatchObject(
      {
        code: 400,
        message: 'field label not supported: spec.bogus',
      },
    );
    expect((await call(c, '/api/v1/namespaces/test/pods?labelSelector=%3D%3Dx')).status).toBe(400);
  });

  it('deletes a pod for an admin only', async () => {
    const c = await start();
    c.createPod({ namespace: 'test', name: 'nginx', serviceAccount: 'nginx' });
    c.createServiceAccount('test', 'nginx');
    const { token } = await c.mintToken({ namespace: 'test', serviceAccount: 'nginx' });
    const denied = await call(c, '/api/v1/namespaces/test/pods/nginx', { method: 'DELETE', bearer: token });
    expect(denied.status).toBe(403);
    const res = await call(c, '/api/v1/namespaces/test/pods/nginx', { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      kind: 'Pod',
      metadata: { name: 'nginx', deletionTimestamp: expect.any(String) },
    });
    expect((await call(c, '/api/v1/namespaces/test/pods/nginx')).status).toBe(404);
  });

  it('answers 404 for unknown paths, 405 for unsupported methods, and survives junk', async () => {
    const c = await start();
    expect((await call(c, '/apis/nope/v1/things')).json()).toMatchObject({
      kind: 'Status',
      code: 404,
      reason: 'NotFound',
    });
    expect((await call(c, '/api/v1/namespaces/x', { method: 'PUT', body: {} })).status).toBe(405);
    expect((await call(c, '/api/v1/namespaces/%E0%A4%A', {})).status).toBe(404);
    const big = await fetch(`${c.url}${REVIEWS}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${c.adminToken}` },
      body: 'x'.repeat(4 * 1024 * 1024),
    });
    expect(big.status).toBe(413);
    expect((await call(c, '/healthz', { bearer: null })).text).toBe('ok');
  });
});
