import { ApiException, AuthenticationV1Api, CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startDevCluster, type DevCluster } from './index.js';

let cluster: DevCluster;
let kc: KubeConfig;
let aborts: AbortController[] = [];

beforeEach(async () => {
  cluster = await startDevCluster();
  kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'dev', server: cluster.url, skipTLSVerify: true }],
    users: [{ name: 'u', token: cluster.adminToken }],
    contexts: [{ name: 'c', cluster: 'dev', user: 'u' }],
    currentContext: 'c',
  });
});
afterEach(async () => {
  for (const a of aborts) a.abort();
  aborts = [];
  await cluster.close();
});

describe('@kubernetes/client-node against the simulator', () => {
  it('creates a TokenReview', async () => {
    const pod = cluster.createPod({ namespace: 'test', name: 'nginx', serviceAccount: 'nginx' });
    const { token } = await cluster.mintToken({
      namespace: 'test',
      serviceAccount: 'nginx',
      audiences: ['vault'],
      pod: 'nginx',
    });
    const review = await kc
      .makeApiClient(AuthenticationV1Api)
      .createTokenReview({ body: { spec: { token, audiences: ['vault'] } } });
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.audiences).toEqual(['vault']);
    expect(review.status?.user?.username).toBe('system:serviceaccount:test:nginx');
    expect(review.status?.user?.extra?.['authentication.kubernetes.io/pod-uid']).toEqual([pod.uid]);

    const refused = await kc
      .makeApiClient(AuthenticationV1Api)
      .createTokenReview({ body: { spec: { token, audiences: ['other'] } } });
    expect(refused.status?.authenticated).toBeUndefined();
    expect(refused.status?.error).toBe(
      '[invalid bearer token, token audiences ["vault"] is invalid for the target audiences ["other"]]',
    );
  });

  it('reads a namespace and gets a 404 ApiException for a missing one', async () => {
    cluster.createNamespace('payments', { team: 'payments' });
    const core = kc.makeApiClient(CoreV1Api);
    const ns = await core.readNamespace({ name: 'payments' });
    expect(ns.metadata?.labels).toEqual({ team: 'payments', 'kubernetes.io/metadata.name': 'payments' });
    expect(ns.status?.phase).toBe('Active');
    const error = await core.readNamespace({ name: 'nope' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<unknown>).code).toBe(404);
  });

  it('lists and deletes pods', async () => {
    cluster.createPod({ namespace: 'test', name: 'a', serviceAccount: 'sa', nodeName: 'worker-1' });
    cluster.createPod({ namespace: 'test', name: 'b', serviceAccount: 'sa' });
    const core = kc.makeApiClient(CoreV1Api);
    const list = await core.listNamespacedPod({ namespace: 'test' });
    expect(list.items.map((p) => p.metadata?.name).sort()).toEqual(['a', 'b']);
    const one = await core.listNamespacedPod({ namespace: 'test', fieldSelector: 'metadata.name=a' });
    expect(one.items.map((p) => p.spec?.nodeName)).toEqual(['worker-1']);
    const deleted = await core.deleteNamespacedPod({ name: 'a', namespace: 'test' });
    expect(deleted.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    expect((await core.listNamespacedPod({ namespace: 'test' })).items.map((p) => p.metadata?.name)).toEqual([
      'b',
    ]);
  });

  it('watches pods and sees MODIFIED then DELETED when one is deleted', async () => {
    const pod = cluster.createPod({ namespace: 'test', name: 'nginx', serviceAccount: 'nginx' });
    const seen: string[] = [];
    let done: unknown = 'not yet';
    const controller = await new Watch(kc).watch(
      '/api/v1/namespaces/test/pods',
      {},
      (phase, obj: { metadata?: { uid?: string } }) => {
        if (obj.metadata?.uid === pod.uid) seen.push(phase);
      },
      (err) => {
        done = err;
      },
    );
    aborts.push(controller);
    await until(() => seen.length >= 1);
    cluster.deletePod('test', 'nginx');
    await until(() => seen.length >= 3);
    expect(seen).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    expect(done).toBe('not yet');
  });
});

const until = async (predicate: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
};
