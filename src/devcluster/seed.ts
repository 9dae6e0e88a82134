import type { DevCluster } from './index.js';

/** The reviewer service account that `seedFirstSetup` creates: authgate's own identity. */
export const REVIEWER = { namespace: 'authgate', serviceAccount: 'authgate' } as const;

/**
 * The typical first setup of a Vault Kubernetes tutorial, in a simulated cluster: namespace
 * `test` (label `team=web`), node `worker-1`, pod `nginx` running as service account `nginx`, and
 * the reviewer service account `authgate/authgate` bound to `system:auth-delegator` so that its
 * tokens may create TokenReviews, and allowed to read namespaces (for namespace selectors). Used
 * by `authgate dev`, the tests and the bench.
 */
export const seedFirstSetup = (
  cluster: Pick<
    DevCluster,
    | 'createNamespace'
    | 'createNode'
    | 'createPod'
    | 'createServiceAccount'
    | 'grantAuthDelegator'
    | 'grantNamespaceReader'
  >,
): void => {
  cluster.createNamespace('test', { team: 'web' });
  cluster.createNode('worker-1');
  cluster.createPod({
    namespace: 'test',
    name: 'nginx',
    serviceAccount: 'nginx',
    nodeName: 'worker-1',
    labels: { app: 'nginx' },
  });
  cluster.createNamespace(REVIEWER.namespace);
  cluster.createServiceAccount(REVIEWER.namespace, REVIEWER.serviceAccount);
  cluster.grantAuthDelegator(REVIEWER.namespace, REVIEWER.serviceAccount);
  // As deploy/ binds it: the reviewer reads namespaces' labels for roles with a namespace selector.
  cluster.grantNamespaceReader(REVIEWER.namespace, REVIEWER.serviceAccount);
};
