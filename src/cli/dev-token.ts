import { parseFlags } from './command.js';
import { devClusterApi } from './dev-state.js';
import { ttlFlag } from './dev-tokens.js';

// `authgate dev token`: one token from the running dev cluster (`dev tokens` mints many, for load).

/** `authgate dev token`: asks the running dev cluster's TokenRequest API for a token. */
export const runDevToken = async (argv: string[]): Promise<number> => {
  const values = parseFlags(argv, {
    namespace: { type: 'string', default: 'test' },
    'service-account': { type: 'string', default: 'nginx' },
    audience: { type: 'string', default: 'vault' },
    ttl: { type: 'string', default: '7200' },
    pod: { type: 'string' },
  });
  const ttl = ttlFlag(values.ttl);
  const api = devClusterApi();
  const ns = values.namespace;
  const sa = values['service-account'];
  // Make sure the namespace, service account and pod exist, as `kubectl apply` would.
  await api('POST', '/api/v1/namespaces', { metadata: { name: ns } });
  await api('POST', `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name: sa } });
  let boundObjectRef: { kind: string; apiVersion: string; name: string } | null = null;
  if (values.pod !== undefined) {
    const pod = await api('GET', `/api/v1/namespaces/${ns}/pods/${values.pod}`);
    if (pod.status === 404) {
      await api('POST', `/api/v1/namespaces/${ns}/pods`, {
        metadata: { name: values.pod },
        spec: {
          serviceAccountName: sa,
          nodeName: 'worker-1',
          containers: [{ name: values.pod, image: 'nginx' }],
        },
      });
    }
    boundObjectRef = { kind: 'Pod', apiVersion: 'v1', name: values.pod };
  }
  const res = await api('POST', `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
    kind: 'TokenRequest',
    apiVersion: 'authentication.k8s.io/v1',
    spec: { audiences: [values.audience], expirationSeconds: ttl, boundObjectRef },
  });
  if (res.status !== 201) throw new Error(String(res.body['message'] ?? res.status));
  process.stdout.write(`${String((res.body['status'] as { token: string }).token)}\n`);
  return 0;
};
