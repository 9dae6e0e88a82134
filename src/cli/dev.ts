import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig, type AuthgateConfig } from '../config/index.js';
import { REVIEWER, seedFirstSetup, startDevCluster, type DevCluster } from '../devcluster/index.js';
import { LOAD_ROLE, LOAD_ROLE_NAME } from './dev-tokens.js';
import { startServer, waitForShutdown } from './server.js';

/** Where `authgate dev` leaves what `authgate dev token` needs (cluster URL and its admin bearer). */
export const devStatePath = (): string =>
  process.env['AUTHGATE_DEV_STATE'] ?? join(tmpdir(), `authgate-dev-${process.getuid?.() ?? 'user'}.json`);

/**
 * Writes the state file without following a link planted at its path: a private temporary file
 * is created exclusively, then renamed over the path (rename replaces a link, never writes through it).
 */
const writeStateFile = (path: string, content: string): void => {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, content, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
};

type DevState = {
  clusterUrl: string;
  clusterAdminToken: string;
  gatewayAddress: string;
  /** The gateway's admin token (dev only; the state file is 0600 in the user's runtime directory). */
  adminToken: string;
  pid: number;
};

/** The role `nginx` of the dev config, as a typical first setup writes it (authgate.yaml form). */
export const DEV_ROLE = {
  bound_service_account_names: ['nginx'],
  bound_service_account_namespaces: ['test'],
  audience: 'vault',
  token_policies: ['nginx'],
  token_ttl: '1h',
  token_max_ttl: '24h',
};

/**
 * The dev policies: each workload reads and lists its own namespace's secrets and signs identity
 * tokens for role `nginx`; load-test tokens read theirs the same way. One policy serves every
 * namespace: the path is templated from the token's identity.
 */
export const DEV_POLICIES = {
  nginx: {
    path: {
      'secret/data/{{identity.namespace}}/*': { capabilities: ['read', 'list'] },
      'secret/metadata/{{identity.namespace}}/*': { capabilities: ['read', 'list'] },
      'identity/oidc/token/nginx': { capabilities: ['read'] },
    },
  },
  load: {
    path: {
      'secret/data/{{identity.namespace}}/*': { capabilities: ['read'] },
    },
  },
};

/** Lifetime of the reviewer token that dev writes, and how often it rewrites it (80 %, as the kubelet). */
const REVIEWER_TOKEN_SECONDS = 3600;

export type DevSetup = {
  cluster: DevCluster;
  config: AuthgateConfig;
  dir: string;
  /** Rewrites the reviewer token file as the kubelet would. */
  rotateReviewerToken(): Promise<void>;
  stop(): void;
};

/**
 * Starts the simulated cluster with the typical first setup — namespace `test`, service account
 * and pod `nginx`, a reviewer service account `authgate/authgate` allowed to create TokenReviews
 * — and writes a ready config: mount `kubernetes` (TokenReview) and `kubernetes-jwks` (local
 * JWKS verification via the cluster's OIDC discovery), each with role `nginx`.
 */
export const setUpDev = async (opts: {
  address: string;
  port: number;
  clusterPort?: number;
  /** Keep tokens in this Redis instead of in memory. */
  redisUrl?: string;
  /** Audit to this file (a `file` device named `file`). */
  auditFile?: string;
  /** Serve /metrics (default true). */
  metrics?: boolean;
  /** Also load the policy files of this directory (`policy_dir`). */
  policyDir?: string;
}): Promise<DevSetup> => {
  const cluster = await startDevCluster({ port: opts.clusterPort ?? 0 });
  seedFirstSetup(cluster);

  const dir = join(tmpdir(), `authgate-dev-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const reviewerFile = join(dir, 'reviewer-token');
  const rotateReviewerToken = async () => {
    const { token } = await cluster.mintToken({ ...REVIEWER, expirationSeconds: REVIEWER_TOKEN_SECONDS });
    writeFileSync(reviewerFile, token, { mode: 0o600 });
  };
  await rotateReviewerToken();
  const rotation = setInterval(
    () => void rotateReviewerToken().catch(() => undefined),
    REVIEWER_TOKEN_SECONDS * 800,
  );
  rotation.unref();
  writeFileSync(join(dir, 'server.key'), randomBytes(48).toString('base64'), { mode: 0o600 });
  writeFileSync(join(dir, 'admin-token'), `agadmin.${randomBytes(24).toString('base64url')}`, {
    mode: 0o600,
  });

  const role = DEV_ROLE;
  const yaml = JSON.stringify(
    {
      listener: { address: opts.address, port: opts.port },
      // A key prefix of this run's own: its server key is new, so whatever an earlier run left in
      // the same Redis (tokens, sealed secrets, identity key rings) could not be opened anyway.
      ...(opts.redisUrl === undefined
        ? {}
        : {
            store: {
              type: 'redis',
              key_prefix: `ag:dev-${randomBytes(4).toString('hex')}:`,
              redis: { url: opts.redisUrl },
            },
          }),
      ...(opts.metrics === false ? { telemetry: { metrics: false } } : {}),
      ...(opts.auditFile === undefined
        ? {}
        : { audit: { file: { type: 'file', path: resolve(opts.auditFile) } } }),
      log: { level: process.env['AUTHGATE_LOG_LEVEL'] ?? 'info' },
      server_key_file: join(dir, 'server.key'),
      admin_token_file: join(dir, 'admin-token'),
      policies: DEV_POLICIES,
      ...(opts.policyDir === undefined ? {} : { policy_dir: resolve(opts.policyDir) }),
      identity: {
        issuer: `http://${opts.address.includes(':') ? `[${opts.address}]` : opts.address}:${opts.port}`,
        roles: { nginx: { audience: 'nginx-downstream', ttl: '1h' } },
      },
      auth: {
        kubernetes: {
          type: 'kubernetes',
          kubernetes_host: cluster.url,
          token_reviewer_jwt_file: reviewerFile,
          verification: 'tokenreview',
          issuers: [cluster.issuer],
          roles: { nginx: role, [LOAD_ROLE_NAME]: LOAD_ROLE },
        },
        'kubernetes-jwks': {
          type: 'kubernetes',
          kubernetes_host: cluster.url,
          verification: 'jwks',
          jwks: { oidc_discovery_url: cluster.url },
          issuers: [cluster.issuer],
          roles: { nginx: role, [LOAD_ROLE_NAME]: LOAD_ROLE },
        },
      },
    },
    null,
    2,
  );
  writeFileSync(join(dir, 'authgate.yaml'), yaml);
  // Environment overrides are not applied here: dev's listener comes from its flags.
  const config = parseConfig(yaml, { source: join(dir, 'authgate.yaml'), baseDir: dir, env: {} });
  return {
    cluster,
    config,
    dir,
    rotateReviewerToken,
    stop: () => {
      clearInterval(rotation);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/** `authgate dev`: the whole setup in one process, printed so a newcomer can log in at once. */
export const runDev = async (argv: string[]): Promise<number> => {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8200' },
      address: { type: 'string', default: '127.0.0.1' },
      'cluster-port': { type: 'string', default: '0' },
      redis: { type: 'string' },
      'audit-file': { type: 'string' },
      metrics: { type: 'string', default: 'on' },
      'policy-dir': { type: 'string' },
    },
  });
  const setup = await setUpDev({
    address: values.address,
    port: Number(values.port),
    clusterPort: Number(values['cluster-port']),
    ...(values.redis === undefined ? {} : { redisUrl: values.redis }),
    ...(values['audit-file'] === undefined ? {} : { auditFile: values['audit-file'] }),
    metrics: values.metrics !== 'off',
    ...(values['policy-dir'] === undefined ? {} : { policyDir: values['policy-dir'] }),
  });
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer(setup.config);
  } catch (err) {
    // E.g. the port is taken: stop the simulator too, or its listener keeps the process alive.
    setup.stop();
    await setup.cluster.close();
    throw err;
  }
  const { token } = await setup.cluster.mintToken({
    namespace: 'test',
    serviceAccount: 'nginx',
    audiences: ['vault'],
    expirationSeconds: 7200,
    pod: 'nginx',
  });
  const adminToken = readFileSync(join(setup.dir, 'admin-token'), 'utf8');
  const state: DevState = {
    clusterUrl: setup.cluster.url,
    clusterAdminToken: setup.cluster.adminToken,
    gatewayAddress: server.address,
    adminToken,
    pid: process.pid,
  };
  writeStateFile(devStatePath(), JSON.stringify(state));
  process.stdout.write(
    [
      '',
      `authgate dev is running (${values.redis === undefined ? 'in-memory store' : `Redis store at ${values.redis}, key prefix ${setup.config.store.keyPrefix}`}, simulated cluster). Do not use it in production.`,
      '',
      `  Gateway:        ${server.address}`,
      `  Cluster:        ${setup.cluster.url}  (issuer ${setup.cluster.issuer})`,
      `  Admin token:    ${adminToken}`,
      '  Mounts:         auth/kubernetes (TokenReview), auth/kubernetes-jwks (JWKS); role "nginx" → test/nginx, audience "vault"',
      ...(values['audit-file'] === undefined
        ? []
        : [`  Audit:          file device "file" → ${resolve(values['audit-file'])}`]),
      '',
      '  A pod token for test/nginx (audience vault, 2h):',
      `  ${token}`,
      '',
      '  Log in:',
      `  curl -s -X POST ${server.address}/v1/auth/kubernetes/login -d '{"role":"nginx","jwt":"${token}"}'`,
      '',
      '  Secrets: policy "nginx" lets test/* workloads read secret/data/test/* (KV v2). Write one as admin:',
      `  curl -s -H "X-Vault-Token: ${adminToken}" ${server.address}/v1/secret/data/test/hello -d '{"data":{"greeting":"hi"}}'`,
      '  then read it with the client_token of the login: curl -s -H "X-Vault-Token: <client_token>" …/v1/secret/data/test/hello',
      '',
      '  More tokens: authgate dev token --namespace test --service-account nginx --pod nginx',
      '',
    ].join('\n'),
  );
  return waitForShutdown(server, async () => {
    setup.stop();
    removeOwnState(devStatePath());
    await setup.cluster.close();
  });
};

/**
 * Removes the state file on exit only while it still names this process: a second `authgate dev`
 * started since has written its own, which `authgate dev token` must keep finding.
 */
const removeOwnState = (path: string): void => {
  try {
    if ((JSON.parse(readFileSync(path, 'utf8')) as Partial<DevState>).pid !== process.pid) return;
  } catch {
    return;
  }
  rmSync(path, { force: true });
};

/** `authgate dev token`: asks the running dev cluster's TokenRequest API for a token. */
/**
 * A client of the running dev cluster's Kubernetes API (admin bearer), from the state file
 * `authgate dev` wrote; undefined (and a message) when no dev server is running.
 */
export const devClusterApi = (
  command: string,
):
  | ((
      method: string,
      path: string,
      body?: unknown,
    ) => Promise<{ status: number; body: Record<string, unknown> }>)
  | undefined => {
  let state: DevState;
  try {
    state = JSON.parse(readFileSync(devStatePath(), 'utf8')) as DevState;
  } catch {
    process.stderr.write(
      `${command}: no running dev server (${devStatePath()} not found); start "authgate dev" first\n`,
    );
    return undefined;
  }
  const headers = { authorization: `Bearer ${state.clusterAdminToken}`, 'content-type': 'application/json' };
  return async (method, path, body) => {
    const res = await fetch(`${state.clusterUrl}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
};

export const runDevToken = async (argv: string[]): Promise<number> => {
  const { values } = parseArgs({
    args: argv,
    options: {
      namespace: { type: 'string', default: 'test' },
      'service-account': { type: 'string', default: 'nginx' },
      audience: { type: 'string', default: 'vault' },
      ttl: { type: 'string', default: '7200' },
      pod: { type: 'string' },
    },
  });
  const api = devClusterApi('authgate dev token');
  if (api === undefined) return 1;
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
    spec: { audiences: [values.audience], expirationSeconds: Number(values.ttl), boundObjectRef },
  });
  if (res.status !== 201) {
    process.stderr.write(`authgate dev token: ${String(res.body['message'] ?? res.status)}\n`);
    return 1;
  }
  process.stdout.write(`${String((res.body['status'] as { token: string }).token)}\n`);
  return 0;
};
