import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevCluster, type DevCluster } from './index.js';

let cluster: DevCluster;
beforeAll(async () => {
  cluster = await startDevCluster();
});
afterAll(async () => {
  await cluster?.close();
});

const post = async (path: string, body: unknown, token = cluster.adminToken) => {
  const res = await fetch(`${cluster.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('creating objects over HTTP', () => {
  it('creates a namespace, a service account and a pod, as kubectl would', async () => {
    expect(
      (await post('/api/v1/namespaces', { metadata: { name: 'shop', labels: { team: 'x' } } })).status,
    ).toBe(201);
    expect(
      (await post('/api/v1/namespaces/shop/serviceaccounts', { metadata: { name: 'cart' } })).status,
    ).toBe(201);
    const pod = await post('/api/v1/namespaces/shop/pods', {
      metadata: { name: 'cart-1' },
      spec: { serviceAccountName: 'cart', nodeName: 'worker-9', containers: [{ name: 'c', image: 'x' }] },
    });
    expect(pod.status).toBe(201);
    expect(pod.body).toMatchObject({
      kind: 'Pod',
      metadata: { name: 'cart-1', namespace: 'shop' },
      spec: { serviceAccountName: 'cart' },
    });
    const { token } = await cluster.mintToken({
      namespace: 'shop',
      serviceAccount: 'cart',
      audiences: ['vault'],
      pod: 'cart-1',
    });
    expect(token.split('.')).toHaveLength(3);
  });

  it('answers 409 for a name that exists and 400 for an invalid name', async () => {
    await post('/api/v1/namespaces', { metadata: { name: 'dup' } });
    expect((await post('/api/v1/namespaces', { metadata: { name: 'dup' } })).status).toBe(409);
    expect((await post('/api/v1/namespaces', { metadata: { name: 'Not_Valid' } })).status).toBe(400);
  });

  it('refuses a caller that is not the admin', async () => {
    cluster.createServiceAccount('default', 'someone');
    const { token } = await cluster.mintToken({ namespace: 'default', serviceAccount: 'someone' });
    expect((await post('/api/v1/namespaces', { metadata: { name: 'nope' } }, token)).status).toBe(403);
  });
});
