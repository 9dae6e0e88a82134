import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS } from '../devcluster/index.js';
import { integerFlag, parseFlags, unwritable } from './command.js';
import { devClusterApi, type ClusterApi } from './dev-state.js';

/** The dev role that load tokens log in with: namespaces `load-*`, service accounts `app-*`. */
export const LOAD_ROLE_NAME = 'load';
export const LOAD_ROLE = {
  bound_service_account_names: ['app-*'],
  bound_service_account_namespaces: ['load-*'],
  audience: 'vault',
  token_policies: ['load'],
  token_ttl: '1h',
  token_max_ttl: '24h',
};

/** One entry of the tokens file (what the k6 scripts read). */
export type LoadToken = {
  token: string;
  role: string;
  namespace: string;
  serviceAccount: string;
  pod: string;
};

/** `--ttl SECONDS` of `dev token` and `dev tokens`: what the cluster's TokenRequest API accepts. */
export const ttlFlag = (value: string): number =>
  integerFlag(value, '--ttl', { min: MIN_TOKEN_SECONDS, max: MAX_TOKEN_SECONDS, unit: 'seconds' });

/** The usage line of `--ttl SECONDS` (default 7200). */
/**
 * Runs `fn` over `items` with at most `limit` in flight (token signing is CPU work in the dev
 * process). The first failure rejects and stops every worker: nothing more is started after it.
 */
export const mapLimit = async <T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> => {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
};

/**
 * Mints `count` distinct pod-bound tokens spread over `namespaces` namespaces (`load-0` …), each
 * namespace with its service account (`app-0` …) and each token bound to a pod of its own, through
 * the dev cluster's real TokenRequest API — so a load test sends distinct tokens, not one replayed.
 */
export const mintLoadTokens = async (
  api: ClusterApi,
  opts: { count: number; namespaces: number; audience: string; ttlSeconds: number },
): Promise<LoadToken[]> => {
  const ns = (i: number) => `load-${i % opts.namespaces}`;
  const sa = (i: number) => `app-${i % opts.namespaces}`;
  for (let k = 0; k < Math.min(opts.namespaces, opts.count); k++) {
    await api('POST', '/api/v1/namespaces', { metadata: { name: ns(k) } });
    await api('POST', `/api/v1/namespaces/${ns(k)}/serviceaccounts`, { metadata: { name: sa(k) } });
  }
  const indexes = Array.from({ length: opts.count }, (_, i) => i);
  return mapLimit(indexes, 16, async (i) => {
    const pod = `pod-${i}`;
    const created = await api('POST', `/api/v1/namespaces/${ns(i)}/pods`, {
      metadata: { name: pod },
      spec: { serviceAccountName: sa(i), nodeName: 'worker-1', containers: [{ name: 'app', image: 'app' }] },
    });
    if (created.status !== 201 && created.status !== 409) {
      throw new Error(`creating pod ${ns(i)}/${pod}: ${String(created.body['message'] ?? created.status)}`);
    }
    const res = await api('POST', `/api/v1/namespaces/${ns(i)}/serviceaccounts/${sa(i)}/token`, {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      spec: {
        audiences: [opts.audience],
        expirationSeconds: opts.ttlSeconds,
        boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod },
      },
    });
    if (res.status !== 201)
      throw new Error(`TokenRequest for ${ns(i)}/${sa(i)}: ${String(res.body['message'] ?? res.status)}`);
    const token = (res.body['status'] as { token: string }).token;
    return { token, role: LOAD_ROLE_NAME, namespace: ns(i), serviceAccount: sa(i), pod };
  });
};

/** `authgate dev tokens --count N --namespaces K --out FILE`: the token file of the k6 scripts. */
export const runDevTokens = async (argv: string[]): Promise<number> => {
  const values = parseFlags(argv, {
    count: { type: 'string', default: '1000' },
    namespaces: { type: 'string', default: '10' },
    audience: { type: 'string', default: 'vault' },
    ttl: { type: 'string', default: '7200' },
    out: { type: 'string', default: 'tokens.json' },
  });
  const count = integerFlag(values.count, '--count', { min: 1 });
  const namespaces = integerFlag(values.namespaces, '--namespaces', { min: 1 });
  const ttlSeconds = ttlFlag(values.ttl);
  // Minting thousands of tokens only to fail on the write wastes the wait: check first.
  const problem = unwritable(values.out);
  if (problem !== undefined) throw new Error(`cannot write --out ${values.out}: ${problem}`);
  const api = devClusterApi();
  const tokens = await mintLoadTokens(api, { count, namespaces, audience: values.audience, ttlSeconds });
  // Live tokens: readable by this user only, and the file appears whole or not at all.
  const temp = `${values.out}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(temp, JSON.stringify(tokens), { mode: 0o600, flag: 'wx' });
    renameSync(temp, values.out);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  process.stdout.write(
    `wrote ${tokens.length} tokens over ${Math.min(namespaces, count)} namespaces to ${values.out} (role "${LOAD_ROLE_NAME}")\n`,
  );
  return 0;
};
