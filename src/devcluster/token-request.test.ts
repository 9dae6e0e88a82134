import { afterEach, describe, expect, it } from 'vitest';
import { createFakeClock } from '../lib/clock.js';
import { KubeApiError, startDevCluster, type DevCluster, type DevClusterOptions } from './index.js';

let cluster: DevCluster | undefined;
const start = async (options: DevClusterOptions = {}): Promise<DevCluster> => {
  cluster = await startDevCluster({ clock: createFakeClock(Date.UTC(2024, 4, 1, 10, 0, 0)), ...options });
  return cluster;
};
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

type Json = Record<string, unknown> & { message?: string; code?: number; reason?: string };
const requestToken = async (
  c: DevCluster,
  ns: string,
  name: string,
  body: unknown,
  bearer = c.adminToken,
) => {
  const res = await fetch(`${c.url}/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
};
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString()) as Record<
    string,
    unknown
  > & {
    exp: number;
    iat: number;
  };

// What `kubectl create token` sends.
const KUBECTL_BODY = {
  kind: 'TokenRequest',
  apiVersion: 'authentication.k8s.io/v1',
  metadata: { creationTimestamp: null },
  spec: { audiences: null, expirationSeconds: null, boundObjectRef: null },
  status: { token: '', expirationTimestamp: null },
};

describe('TokenRequest over HTTP', () => {
  it('accepts the nulls kubectl sends and defaults to 3600 s and the API audiences', async () => {
    const c = await start();
    c.createServiceAccount('default', 'my-sa');
    const res = await requestToken(c, 'default', 'my-sa', KUBECTL_BODY);
    expect(res.status).toBe(201);
    const status = res.body['status'] as { token: string; expirationTimestamp: string };
    expect(res.body).toEqual({
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name: 'my-sa', namespace: 'default', creationTimestamp: '2024-05-01T10:00:00Z' },
      spec: {
        audiences: ['https://kubernetes.default.svc.cluster.local'],
        expirationSeconds: 3600,
        boundObjectRef: null,
      },
      status: { token: status.token, expirationTimestamp: '2024-05-01T11:00:00Z' },
    });
    const claims = claimsOf(status.token);
    expect(claims.exp - claims.iat).toBe(3600);
  });

  // TokenREST.Create echoes the request's spec as decoded: BoundObjectReference's members in struct
  // order (kind, apiVersion, name, uid; all omitempty), unknown members dropped, no uid filled in.
  it('binds to a pod and echoes the ref as sent, in Go struct order', async () => {
    const c = await start();
    const pod = c.createPod({ namespace: 'default', name: 'test-pod', serviceAccount: 'my-sa' });
    const res = await requestToken(c, 'default', 'my-sa', {
      spec: {
        audiences: ['vault'],
        boundObjectRef: { name: 'test-pod', colour: 'red', apiVersion: 'v1', kind: 'Pod' },
      },
    });
    expect(res.status).toBe(201);
    const echoed = (res.body['spec'] as Json)['boundObjectRef'];
    expect(JSON.stringify(echoed)).toBe('{"kind":"Pod","apiVersion":"v1","name":"test-pod"}');
    const claims = claimsOf((res.body['status'] as { token: string }).token);
    expect(claims['kubernetes.io']).toMatchObject({ pod: { name: 'test-pod', uid: pod.uid } });
    const withUid = await requestToken(c, 'default', 'my-sa', {
      spec: { boundObjectRef: { uid: pod.uid, kind: 'Pod', name: 'test-pod' } },
    });
    expect(JSON.stringify((withUid.body['spec'] as Json)['boundObjectRef'])).toBe(
      `{"kind":"Pod","name":"test-pod","uid":"${pod.uid}"}`,
    );
  });

  // The registry's key function (NamespaceKeyFunc / NoNamespaceKeyFunc) refuses the name before
  // any lookup, so an unnamed or unaddressable bound object is a 400, not a 404.
  it.each([
    [{ kind: 'Pod', apiVersion: 'v1' }, 'Name parameter required.'],
    [{ kind: 'Secret', name: '' }, 'Name parameter required.'],
    [{ kind: 'Node', name: 'a/b' }, `Name parameter invalid: "a/b": may not contain '/'`],
    [{ kind: 'Pod', name: '..' }, `Name parameter invalid: "..": may not be '..'`],
  ])('answers 400 for bound object %j', async (ref, message) => {
    const c = await start();
    c.createServiceAccount('default', 'my-sa');
    const res = await requestToken(c, 'default', 'my-sa', { spec: { boundObjectRef: ref } });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(message);
  });

  it('answers 400 for a boundObjectRef member that is not a string', async () => {
    const c = await start();
    c.createServiceAccount('default', 'my-sa');
    const res = await requestToken(c, 'default', 'my-sa', {
      spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 5 } },
    });
    expect(res.status).toBe(400);
    expect(res.body.message).toBe(
      'TokenRequest in version "v1" cannot be handled as a TokenRequest: json: cannot unmarshal number into Go struct field BoundObjectReference.spec.boundObjectRef.name of type string',
    );
  });

  it.each([
    [599, 'may not specify a duration less than 10 minutes'],
    [2 ** 32 + 1, 'may not specify a duration larger than 2^32 seconds'],
  ])('answers 422 for expirationSeconds %d', async (seconds, why) => {
    const c = await start();
    c.createServiceAccount('default', 'my-sa');
    const res = await requestToken(c, 'default', 'my-sa', { spec: { expirationSeconds: seconds } });
    expect(res.status).toBe(422);
    expect(res.body).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: ${seconds}: ${why}`,
      reason: 'Invalid',
      details: {
        group: 'authentication.k8s.io',
        kind: 'TokenRequest',
        causes: [
          {
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${seconds}: ${why}`,
            field: 'spec.expirationSeconds',
          },
        ],
      },
      code: 422,
    });
  });

  it('answers 422 when the body names another service account', async () => {
    const c = await start();
    c.createServiceAccount('default', 'my-sa');
    const res = await requestToken(c, 'default', 'my-sa', { metadata: { name: 'other' }, spec: {} });
    expect(res.status).toBe(422);
    expect(res.body.message).toBe(
      'TokenRequest.authentication.k8s.io "my-sa" is invalid: metadata.name: Invalid value: "other": must match the service account name if specified',
    );
  });

  // TokenREST.Create (1.25+): body name/namespace vs URL, then the service account lookup, then
  // ValidateTokenRequest; so a missing service account is a 404 whatever the expirationSeconds.
  it('checks the body name, then the service account, then expirationSeconds', async () => {
    const c = await start();
    const missing = await requestToken(c, 'default', 'ghost', { spec: { expirationSeconds: 599 } });
    expect(missing.status).toBe(404);
    expect(missing.body.message).toBe('serviceaccounts "ghost" not found');
    const renamed = await requestToken(c, 'default', 'ghost', {
      metadata: { name: 'other' },
      spec: { expirationSeconds: 599 },
    });
    expect(renamed.status).toBe(422);
    expect(renamed.body.message).toBe(
      'TokenRequest.authentication.k8s.io "ghost" is invalid: metadata.name: Invalid value: "other": must match the service account name if specified',
    );
    c.createServiceAccount('default', 'ghost');
    const short = await requestToken(c, 'default', 'ghost', {
      spec: { expirationSeconds: 599, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'nope' } },
    });
    expect(short.status).toBe(422);
  });

  it('answers 404 for a missing service account or bound object', async () => {
    const c = await start();
    const missingSa = await requestToken(c, 'default', 'ghost', { spec: {} });
    expect(missingSa.status).toBe(404);
    expect(missingSa.body).toMatchObject({
      message: 'serviceaccounts "ghost" not found',
      reason: 'NotFound',
    });
    c.createServiceAccount('default', 'my-sa');
    const missingPod = await requestToken(c, 'default', 'my-sa', {
      spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'nope' } },
    });
    expect(missingPod.status).toBe(404);
    expect(missingPod.body.message).toBe('pods "nope" not found');
  });

  it('refuses to bind to a pod of another service account, an unknown kind or a stale uid', async () => {
    const c = await start();
    c.createServiceAccount('default', 'my-sa');
    c.createPod({ namespace: 'default', name: 'p', serviceAccount: 'other' });
    const wrongSa = await requestToken(c, 'default', 'my-sa', {
      spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } },
    });
    expect(wrongSa.status).toBe(400);
    expect(wrongSa.body.message).toBe(
      'cannot bind token for serviceaccount "my-sa" to pod running with different serviceaccount name.',
    );
    const kind = await requestToken(c, 'default', 'my-sa', {
      spec: { boundObjectRef: { kind: 'ConfigMap', apiVersion: 'v1', name: 'p' } },
    });
    expect(kind.status).toBe(400);
    expect(kind.body.message).toBe('cannot bind token to object of type /v1, Kind=ConfigMap');
    c.createPod({ namespace: 'default', name: 'mine', serviceAccount: 'my-sa' });
    const stale = await requestToken(c, 'default', 'my-sa', {
      spec: { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'mine', uid: 'old-uid' } },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.message).toBe(
      'Operation cannot be fulfilled on Pod "mine": the UID in the bound object reference (old-uid) does not match the UID in record. The object might have been deleted and then recreated',
    );
  });

  it('shortens to the max expiration with a Warning, which also prevents the 3607 extension', async () => {
    const c = await start({ maxTokenExpirationSeconds: 3600 });
    c.createPod({ namespace: 'default', name: 'p', serviceAccount: 'my-sa' });
    const res = await requestToken(c, 'default', 'my-sa', {
      spec: { expirationSeconds: 3607, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('warning')).toBe(
      '299 - "requested expiration of 3607 seconds shortened to 3600 seconds"',
    );
    const claims = claimsOf((res.body['status'] as { token: string }).token);
    expect(claims.exp - claims.iat).toBe(3600);
  });

  it('is forbidden to a service account and unauthorized without a token', async () => {
    const c = await start();
    c.createServiceAccount('gw', 'gateway');
    const { token } = await c.mintToken({ namespace: 'gw', serviceAccount: 'gateway' });
    const denied = await requestToken(c, 'gw', 'gateway', { spec: {} }, token);
    expect(denied.status).toBe(403);
    expect(denied.body.message).toBe(
      'serviceaccounts "gateway" is forbidden: User "system:serviceaccount:gw:gateway" cannot create resource "serviceaccounts/token" in API group "" in the namespace "gw"',
    );
    expect((await requestToken(c, 'gw', 'gateway', { spec: {} }, 'nope')).status).toBe(401);
  });
});

describe('mintToken', () => {
  it('throws the same API errors', async () => {
    const c = await start();
    await expect(c.mintToken({ namespace: 'ns', serviceAccount: 'ghost' })).rejects.toMatchObject({
      code: 404,
      message: 'serviceaccounts "ghost" not found',
    });
    c.createServiceAccount('ns', 'sa');
    const error = await c
      .mintToken({ namespace: 'ns', serviceAccount: 'sa', expirationSeconds: 60 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).code).toBe(422);
    await expect(
      c.mintToken({ namespace: 'ns', serviceAccount: 'sa', pod: 'a', secret: 'b' }),
    ).rejects.toThrow(TypeError);
  });
});
