import { describe, expect, it } from 'vitest';
import { API, errorOf, post, review, useReviewCluster } from './test-support.js';

const env = useReviewCluster();
const start = env.start;

describe('TokenReview success', () => {
  it('answers 201 with the echoed spec, the SA user, sorted extras and the audience intersection', async () => {
    const c = await start();
    const node = c.createNode('kind-control-plane');
    const sa = c.createServiceAccount('default', 'my-sa');
    const pod = c.createPod({
      namespace: 'default',
      name: 'test-pod',
      serviceAccount: 'my-sa',
      nodeName: 'kind-control-plane',
    });
    const { token } = await c.mintToken({
      namespace: 'default',
      serviceAccount: 'my-sa',
      audiences: ['vault'],
      pod: 'test-pod',
    });
    const jti = (
      JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as { jti: string }
    ).jti;
    const res = await post(c, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token, audiences: ['vault'] },
    });
    expect(res.status).toBe(201);
    expect(JSON.stringify(res.body)).toBe(
      JSON.stringify({
        kind: 'TokenReview',
        apiVersion: 'authentication.k8s.io/v1',
        metadata: { creationTimestamp: null },
        spec: { token, audiences: ['vault'] },
        status: {
          authenticated: true,
          user: {
            username: 'system:serviceaccount:default:my-sa',
            uid: sa.uid,
            groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
            extra: {
              'authentication.kubernetes.io/credential-id': [`JTI=${jti}`],
              'authentication.kubernetes.io/node-name': ['kind-control-plane'],
              'authentication.kubernetes.io/node-uid': [node.uid],
              'authentication.kubernetes.io/pod-name': ['test-pod'],
              'authentication.kubernetes.io/pod-uid': [pod.uid],
            },
          },
          audiences: ['vault'],
        },
      }),
    );
  });

  it('checks against the API audiences when spec.audiences is empty', async () => {
    const c = await start();
    c.createServiceAccount('default', 'app');
    const { token } = await c.mintToken({ namespace: 'default', serviceAccount: 'app' });
    const status = await review(c, token);
    expect(status).toMatchObject({ authenticated: true, audiences: [API] });
    // An unbound token carries only its credential id (jti).
    expect(Object.keys(status.user.extra ?? {})).toEqual(['authentication.kubernetes.io/credential-id']);
  });

  it('keeps the requested order in status.audiences', async () => {
    const c = await start();
    c.createServiceAccount('default', 'app');
    const { token } = await c.mintToken({
      namespace: 'default',
      serviceAccount: 'app',
      audiences: ['a', 'b', 'c'],
    });
    expect((await review(c, token, ['c', 'x', 'a'])).audiences).toEqual(['c', 'a']);
  });

  it('accepts a body without apiVersion/kind, with creationTimestamp null and status {}', async () => {
    const c = await start();
    c.createServiceAccount('default', 'app');
    const { token } = await c.mintToken({ namespace: 'default', serviceAccount: 'app' });
    const res = await post(c, {
      metadata: { creationTimestamp: null },
      spec: { token, audiences: null },
      status: {},
    });
    expect(res.status).toBe(201);
    expect(res.body.status.authenticated).toBe(true);
  });

  it('still accepts an extended token past its warnafter', async () => {
    const c = await start();
    c.createPod({ namespace: 'ns', name: 'p', serviceAccount: 'sa' });
    const { token } = await c.mintToken({
      namespace: 'ns',
      serviceAccount: 'sa',
      expirationSeconds: 3607,
      pod: 'p',
    });
    env.clock().advanceSeconds(7200);
    expect((await review(c, token)).authenticated).toBe(true);
  });
});

describe('TokenReview failures', () => {
  it('accepts a token expired 60 s ago and refuses one expired 61 s ago', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', expirationSeconds: 600 });
    env.clock().advanceSeconds(600 + 60);
    expect((await review(c, token)).authenticated).toBe(true);
    env.clock().advanceSeconds(1);
    expect(await errorOf(c, token)).toBe('[invalid bearer token, service account token has expired]');
  });

  it('refuses a token whose nbf is more than 60 s ahead', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    c.faults.clockSkewSeconds = 61;
    const { token: ahead } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    c.faults.clockSkewSeconds = 60;
    const { token: edge } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    c.faults.clockSkewSeconds = 0;
    expect(await errorOf(c, ahead)).toBe('[invalid bearer token, service account token is not valid yet]');
    expect((await review(c, edge)).authenticated).toBe(true);
  });

  it('refuses a token whose pod was deleted', async () => {
    const c = await start();
    c.createPod({ namespace: 'ns', name: 'p', serviceAccount: 'sa' });
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', pod: 'p' });
    c.deletePod('ns', 'p');
    expect(await errorOf(c, token)).toBe(
      '[invalid bearer token, service account token has been invalidated]',
    );
  });

  it('accepts a terminating pod for 60 s after its deletionTimestamp and refuses it at 61 s', async () => {
    const c = await start();
    c.createPod({ namespace: 'ns', name: 'p', serviceAccount: 'sa' });
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', pod: 'p' });
    c.deletePod('ns', 'p', { terminating: true });
    env.clock().advanceSeconds(60);
    expect((await review(c, token)).authenticated).toBe(true);
    env.clock().advanceSeconds(1);
    expect(await errorOf(c, token)).toBe(
      '[invalid bearer token, service account token has been invalidated]',
    );
  });

  it('refuses a token whose pod was recreated under the same name', async () => {
    const c = await start();
    const old = c.createPod({ namespace: 'ns', name: 'p', serviceAccount: 'sa' });
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', pod: 'p' });
    c.deletePod('ns', 'p');
    const fresh = c.createPod({ namespace: 'ns', name: 'p', serviceAccount: 'sa' });
    expect(await errorOf(c, token)).toBe(
      `[invalid bearer token, pod UID (${fresh.uid}) does not match service account pod ref claim (${old.uid})]`,
    );
  });

  it('refuses a token whose service account was deleted or recreated', async () => {
    const c = await start();
    const old = c.createServiceAccount('ns', 'sa');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    c.deleteServiceAccount('ns', 'sa');
    expect(await errorOf(c, token)).toBe('[invalid bearer token, serviceaccounts "sa" not found]');
    const fresh = c.createServiceAccount('ns', 'sa');
    expect(await errorOf(c, token)).toBe(
      `[invalid bearer token, service account UID (${fresh.uid}) does not match claim (${old.uid})]`,
    );
  });

  it('refuses a secret-bound token once the Secret is gone or recreated', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const old = c.createSecret('ns', 's');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', secret: 's' });
    expect((await review(c, token)).authenticated).toBe(true);
    c.deleteSecret('ns', 's');
    expect(await errorOf(c, token)).toBe(
      '[invalid bearer token, service account token has been invalidated]',
    );
    const fresh = c.createSecret('ns', 's');
    expect(await errorOf(c, token)).toBe(
      `[invalid bearer token, secret UID (${fresh.uid}) does not match service account secret ref claim (${old.uid})]`,
    );
  });

  it('verifies the Node of a node-bound token', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const old = c.createNode('n1');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', node: 'n1' });
    expect((await review(c, token)).user.extra).toEqual({
      'authentication.kubernetes.io/credential-id': [expect.stringMatching(/^JTI=/)],
      'authentication.kubernetes.io/node-name': ['n1'],
      'authentication.kubernetes.io/node-uid': [old.uid],
    });
    c.deleteNode('n1');
    expect(await errorOf(c, token)).toBe(
      '[invalid bearer token, service account token has been invalidated]',
    );
    const fresh = c.createNode('n1');
    expect(await errorOf(c, token)).toBe(
      `[invalid bearer token, node UID (${fresh.uid}) does not match service account node ref claim (${old.uid})]`,
    );
  });

  it('refuses a token whose audiences are disjoint from the requested ones', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', audiences: ['vault'] });
    expect(await errorOf(c, token, ['payments-api', 'x'])).toBe(
      '[invalid bearer token, token audiences ["vault"] is invalid for the target audiences ["payments-api" "x"]]',
    );
    expect(await errorOf(c, token)).toBe(
      `[invalid bearer token, token audiences ["vault"] is invalid for the target audiences ["${API}"]]`,
    );
    const status = await review(c, token, ['x']);
    expect(status).toEqual({ user: {}, error: expect.any(String) });
  });

  it('refuses a token whose key was removed, and keeps tokens of rotated-out keys valid', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const { token: old } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    const { kid } = await c.rotateKey('ES256');
    const { token: fresh } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    expect(JSON.parse(Buffer.from(fresh.split('.')[0] as string, 'base64url').toString())).toEqual({
      alg: 'ES256',
      kid,
    });
    expect((await review(c, old)).authenticated).toBe(true);
    expect((await review(c, fresh)).authenticated).toBe(true);
    c.removeKey(kid);
    expect(await errorOf(c, fresh)).toBe('[invalid bearer token, invalid signature, no keys found]');
    expect((await review(c, old)).authenticated).toBe(true);
  });

  it('refuses a token with a bad signature', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const { token: a } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', audiences: ['a'] });
    const { token: b } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa', audiences: ['b'] });
    const [h, p] = a.split('.') as [string, string];
    const forged = `${h}.${p}.${b.split('.')[2] as string}`;
    expect(await errorOf(c, forged, ['a'])).toBe(
      '[invalid bearer token, square/go-jose: error in cryptographic primitive]',
    );
  });

  it('does not claim malformed tokens or foreign issuers', async () => {
    const c = await start({ issuers: ['https://one.example', 'https://two.example'] });
    c.createServiceAccount('ns', 'sa');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    const [h, p, s] = token.split('.') as [string, string, string];
    const foreignPayload = Buffer.from(JSON.stringify({ iss: 'https://evil.example', sub: 'x' })).toString(
      'base64url',
    );
    for (const bad of [
      `${h}.${p}`,
      `{"alg":"none"}`,
      `${h}.${foreignPayload}.${s}`,
      `${h}.${p}=.${s}`,
      'not-a-jwt',
    ]) {
      expect(await errorOf(c, bad)).toBe('invalid bearer token');
    }
  });

  // TokenReview authenticates a fake request with `Authorization: Bearer <spec.token>`, which the
  // bearer authenticator (request/bearertoken) trims, splits on ' ' into at most 3 parts and reads
  // the second of: surrounding whitespace and anything after a space are ignored, and a token that
  // starts with a space is no bearer token at all (not authenticated, no error).
  it('reads spec.token as the bearer authenticator reads an Authorization header', async () => {
    const c = await start();
    c.createServiceAccount('ns', 'sa');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    for (const padded of [`${token}\n`, `\n${token}\r\n`, `${token} trailing words`]) {
      expect((await review(c, padded)).authenticated).toBe(true);
    }
    const res = await post(c, { spec: { token: ` ${token}` } });
    expect(res.status).toBe(201);
    expect(res.body.status).toEqual({ user: {} });
    expect(await errorOf(c, `${token}\tx`)).toBe('invalid bearer token');
    // base64.RawURLEncoding skips \r and \n, so go-jose reads a token broken over lines as whole.
    const [h, p, sig] = token.split('.') as [string, string, string];
    expect((await review(c, `${h}.${p.slice(0, 10)}\r\n${p.slice(10)}.${sig}`)).authenticated).toBe(true);
  });

  it('accepts tokens of a second configured issuer', async () => {
    const c = await start({ issuers: ['https://one.example', 'https://two.example'], apiAudiences: ['api'] });
    c.createServiceAccount('ns', 'sa');
    const { token } = await c.mintToken({ namespace: 'ns', serviceAccount: 'sa' });
    expect((await review(c, token)).audiences).toEqual(['api']);
  });
});
