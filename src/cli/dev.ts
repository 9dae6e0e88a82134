import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseConfig, redactUrl, redisUrlProblem, type AuthgateConfig } from '../config/index.js';
import { REVIEWER, seedFirstSetup, startDevCluster } from '../devcluster/index.js';
import { addressFlag, onOffFlag, parseFlags, portFlag, unwritable, UsageError } from './command.js';
import { forkDevCluster, type DevClusterHandle } from './dev-cluster-process.js';
import { devStatePath, liveStateOf, removeOwnState, writeStateFile, type DevState } from './dev-state.js';
import { LOAD_ROLE, LOAD_ROLE_NAME } from './dev-tokens.js';
import { DEV_BATCH_ROLE, DEV_JWT_ROLE, DEV_POLICIES, DEV_ROLE, DEV_SELECTOR_ROLE } from './dev-roles.js';
import { startServer, waitForShutdown } from './server.js';

export { DEV_BATCH_ROLE, DEV_JWT_ROLE, DEV_POLICIES, DEV_ROLE, DEV_SELECTOR_ROLE } from './dev-roles.js';

const REVIEWER_TOKEN_SECONDS = 3600;

export type DevSetup = {
  cluster: DevClusterHandle;
  config: AuthgateConfig;
  dir: string;
  /** Rewrites the reviewer token file as the kubelet would. */
  rotateReviewerToken(): Promise<void>;
  /** Stops the cluster and removes the directory of its keys and tokens. */
  close(): Promise<void>;
};

/** What `authgate dev` runs with: its flags, checked. */
export type DevOptions = {
  address: string;
  port: number;
  clusterPort?: number;
  /** Run the simulated cluster in a child process of its own (default: in this one). */
  clusterProcess?: boolean;
  /** Keep tokens in this Redis instead of in memory. */
  redisUrl?: string;
  /** Audit to this file (a `file` device named `file`). */
  auditFile?: string;
  /** Serve /metrics (default true). */
  metrics?: boolean;
  /** Also load the policy files of this directory (`policy_dir`). */
  policyDir?: string;
  /**
   * Give the TokenReview mount `kubernetes` the signature prefilter (`jwks` from the cluster's
   * OIDC discovery): a forged token is refused without a TokenReview (default false).
   */
  tokenreviewPrefilter?: boolean;
};

/**
 * Starts the simulated cluster with the typical first setup — namespace `test`, service account
 * and pod `nginx`, a reviewer service account `authgate/authgate` allowed to create TokenReviews
 * — and writes a ready config: mount `kubernetes` (TokenReview; with `tokenreviewPrefilter`, its
 * signature prefilter too) and `kubernetes-jwks` (local JWKS verification via the cluster's OIDC
 * discovery), each with role `nginx`, and `jwt` (Vault's JWT method over the cluster's JWKS) with
 * its own role `nginx`. The cluster runs in
 * this process, or with `clusterProcess` in a child of its own. When it fails
 * half-way, what it started is closed and what it wrote removed.
 */
export const setUpDev = async (opts: DevOptions): Promise<DevSetup> => {
  const port = opts.clusterPort ?? 0;
  const cluster = await (opts.clusterProcess === true ? forkDevCluster(port) : startSeeded(port));
  const dir = join(tmpdir(), `authgate-dev-${process.pid}-${randomBytes(4).toString('hex')}`);
  let rotation: NodeJS.Timeout | undefined;
  const close = async () => {
    clearInterval(rotation);
    rmSync(dir, { recursive: true, force: true });
    await cluster.close();
  };
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const reviewerFile = join(dir, 'reviewer-token');
    const rotateReviewerToken = async () => {
      const { token } = await cluster.mintToken({ ...REVIEWER, expirationSeconds: REVIEWER_TOKEN_SECONDS });
      writeFileSync(reviewerFile, token, { mode: 0o600 });
    };
    await rotateReviewerToken();
    rotation = setInterval(
      () => void rotateReviewerToken().catch(() => undefined),
      REVIEWER_TOKEN_SECONDS * 800,
    );
    rotation.unref();
    writeFileSync(join(dir, 'server.key'), randomBytes(48).toString('base64'), { mode: 0o600 });
    writeFileSync(join(dir, 'admin-token'), `agadmin.${randomBytes(24).toString('base64url')}`, {
      mode: 0o600,
    });
    const config = parseConfig(devConfigYaml(opts, cluster, dir, reviewerFile), {
      // What a mistake is reported in: the file itself is removed on the way out.
      source: "authgate dev's flags and AUTHGATE_LOG_LEVEL",
      baseDir: dir,
      // Environment overrides are not applied here: dev's listener comes from its flags.
      env: {},
    });
    return { cluster, config, dir, rotateReviewerToken, close };
  } catch (err) {
    await close();
    throw err;
  }
};

/** The simulated cluster in this process, with the first setup. */
const startSeeded = async (port: number): Promise<DevClusterHandle> => {
  const cluster = await startDevCluster({ port });
  try {
    seedFirstSetup(cluster);
    return cluster;
  } catch (err) {
    await cluster.close();
    throw err;
  }
};

/** The config of `authgate dev`, written to `dir/authgate.yaml` (JSON, a subset of YAML) and returned. */
const devConfigYaml = (
  opts: DevOptions,
  cluster: DevClusterHandle,
  dir: string,
  reviewerFile: string,
): string => {
  const roles = {
    nginx: DEV_ROLE,
    'nginx-batch': DEV_BATCH_ROLE,
    'web-team': DEV_SELECTOR_ROLE,
    [LOAD_ROLE_NAME]: LOAD_ROLE,
  };
  // Both mounts read the keys from the simulated API server, and namespaces' labels (role
  // `web-team`) with the reviewer token.
  const jwks = { oidc_discovery_url: cluster.url };
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
      log: { level: process.env['AUTHGATE_LOG_LEVEL'] || 'info' },
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
          ...(opts.tokenreviewPrefilter === true ? { jwks } : {}),
          issuers: [cluster.issuer],
          roles,
        },
        'kubernetes-jwks': {
          type: 'kubernetes',
          kubernetes_host: cluster.url,
          token_reviewer_jwt_file: reviewerFile,
          verification: 'jwks',
          jwks,
          issuers: [cluster.issuer],
          roles,
        },
        // The cluster's issuer is its in-cluster name, not this URL, so the keys are read from the
        // JWKS URL rather than by discovery (whose document must name its own URL as the issuer).
        jwt: {
          type: 'jwt',
          jwks_url: `${cluster.url}/openid/v1/jwks`,
          bound_issuer: cluster.issuer,
          roles: { nginx: DEV_JWT_ROLE },
        },
      },
    },
    null,
    2,
  );
  writeFileSync(join(dir, 'authgate.yaml'), yaml, { mode: 0o600 });
  return yaml;
};

/** The flags of `authgate dev`, checked before anything starts. @throws UsageError naming a bad one. */
const devOptions = (argv: string[]): DevOptions => {
  const values = parseFlags(argv, {
    port: { type: 'string', default: '8200' },
    address: { type: 'string', default: '127.0.0.1' },
    'cluster-port': { type: 'string', default: '0' },
    'cluster-process': { type: 'boolean', default: false },
    redis: { type: 'string' },
    'audit-file': { type: 'string' },
    metrics: { type: 'string', default: 'on' },
    'policy-dir': { type: 'string' },
    'tokenreview-prefilter': { type: 'boolean', default: false },
  });
  const redisProblem = values.redis === undefined ? undefined : redisUrlProblem(values.redis);
  if (redisProblem !== undefined) throw new UsageError(`--redis: ${redisProblem}`);
  const policyDir = values['policy-dir'];
  if (policyDir !== undefined && statSync(policyDir, { throwIfNoEntry: false })?.isDirectory() !== true)
    throw new UsageError(`--policy-dir: ${policyDir} is not a directory`);
  const auditProblem = values['audit-file'] === undefined ? undefined : unwritable(values['audit-file']);
  if (auditProblem !== undefined) throw new UsageError(`--audit-file: ${auditProblem}`);
  return {
    address: addressFlag(values.address, '--address'),
    port: portFlag(values.port, '--port'),
    clusterPort: portFlag(values['cluster-port'], '--cluster-port'),
    clusterProcess: values['cluster-process'],
    ...(values.redis === undefined ? {} : { redisUrl: values.redis }),
    ...(values['audit-file'] === undefined ? {} : { auditFile: values['audit-file'] }),
    metrics: onOffFlag(values.metrics, '--metrics'),
    ...(values['policy-dir'] === undefined ? {} : { policyDir: values['policy-dir'] }),
    tokenreviewPrefilter: values['tokenreview-prefilter'],
  };
};

/**
 * The port to listen on: `port`, or, for 0, a port of `address` that is free now. Chosen before
 * the config is written because the identity issuer (`http://<address>:<port>`) is part of it: an
 * issuer naming port 0 is an address no verifier can fetch the signing keys from. Another process
 * may take the port before the gateway listens; then `listen` fails, as for a taken `--port`.
 */
const portToListenOn = (address: string, port: number): Promise<number> =>
  port !== 0
    ? Promise.resolve(port)
    : new Promise((resolvePort, reject) => {
        const probe = createServer();
        probe.once('error', reject);
        probe.listen({ host: address, port: 0 }, () => {
          const bound = probe.address();
          probe.close(() => resolvePort(typeof bound === 'object' && bound !== null ? bound.port : 0));
        });
      });

/** A stop signal that came while `authgate dev` was starting. */
class Interrupted extends Error {}

/** Until released, SIGINT and SIGTERM are noted (the first one) instead of ending the process. */
const noteStopSignals = () => {
  let signal: NodeJS.Signals | undefined;
  const note = (s: NodeJS.Signals) => {
    signal ??= s;
  };
  process.on('SIGINT', note);
  process.on('SIGTERM', note);
  return {
    get signal() {
      return signal;
    },
    release: () => {
      process.off('SIGINT', note);
      process.off('SIGTERM', note);
    },
  };
};

/** `authgate dev`: the whole setup in one process, printed so a newcomer can log in at once. */
export const runDev = async (argv: string[]): Promise<number> => {
  const flags = devOptions(argv);
  const opts = { ...flags, port: await portToListenOn(flags.address, flags.port) };
  // Where the state goes is settled before anything starts: a directory that cannot be had is
  // told at once, not after the cluster and the gateway ran.
  const statePath = devStatePath();
  // A Ctrl-C while it starts would kill it with its key files left in the temp directory: noted
  // instead, and acted on once what was started can be stopped.
  const interrupted = noteStopSignals();
  let setup: DevSetup;
  try {
    setup = await setUpDev(opts);
  } catch (err) {
    interrupted.release();
    throw err;
  }
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let previousState: DevState | undefined;
  try {
    if (interrupted.signal !== undefined) throw new Interrupted();
    server = await startServer(setup.config);
    if (interrupted.signal !== undefined) throw new Interrupted();
    const { token } = await setup.cluster.mintToken({
      namespace: 'test',
      serviceAccount: 'nginx',
      audiences: ['vault'],
      expirationSeconds: 7200,
      pod: 'nginx',
    });
    const adminToken = readFileSync(join(setup.dir, 'admin-token'), 'utf8');
    previousState = liveStateOf(statePath);
    writeStateFile(statePath, {
      clusterUrl: setup.cluster.url,
      clusterAdminToken: setup.cluster.adminToken,
      gatewayAddress: server.address,
      adminToken,
      pid: process.pid,
      ...(previousState === undefined ? {} : { previous: previousState }),
    });
    process.stdout.write(banner(opts, setup, server.address, adminToken, token));
  } catch (err) {
    interrupted.release();
    // E.g. the port is taken: stop the simulator too, or its listener keeps the process alive.
    await server?.close();
    await setup.close();
    if (err instanceof Interrupted) return 0;
    throw err;
  }
  const running = waitForShutdown(server, async () => {
    removeOwnState(statePath, previousState);
    await setup.close();
  });
  interrupted.release();
  // One that came while the banner was made: acted on as if it came now.
  if (interrupted.signal !== undefined) process.emit(interrupted.signal, interrupted.signal);
  return running;
};

/** What `authgate dev` prints once it runs: where, and how to log in (a Redis password never shows). */
const banner = (opts: DevOptions, setup: DevSetup, address: string, adminToken: string, token: string) =>
  [
    '',
    `authgate dev is running (${opts.redisUrl === undefined ? 'in-memory store' : `Redis store at ${redactUrl(opts.redisUrl)}, key prefix ${setup.config.store.keyPrefix}`}, simulated cluster). Do not use it in production.`,
    '',
    `  Gateway:        ${address}`,
    `  Cluster:        ${setup.cluster.url}  (issuer ${setup.cluster.issuer})`,
    `  Admin token:    ${adminToken}`,
    `  Mounts:         auth/kubernetes (TokenReview${opts.tokenreviewPrefilter === true ? ', JWKS signature prefilter' : ''}), auth/kubernetes-jwks (JWKS), auth/jwt (Vault's JWT method); role "nginx" → test/nginx, audience "vault"`,
    ...(opts.auditFile === undefined
      ? []
      : [`  Audit:          file device "file" → ${resolve(opts.auditFile)}`]),
    '',
    '  A pod token for test/nginx (audience vault, 2h):',
    `  ${token}`,
    '',
    '  Log in:',
    `  curl -s -X POST ${address}/v1/auth/kubernetes/login -d '{"role":"nginx","jwt":"${token}"}'`,
    '',
    '  Secrets: policy "nginx" lets test/* workloads read secret/data/test/* (KV v2). Write one as admin:',
    `  curl -s -H "X-Vault-Token: ${adminToken}" ${address}/v1/secret/data/test/hello -d '{"data":{"greeting":"hi"}}'`,
    '  then read it with the client_token of the login: curl -s -H "X-Vault-Token: <client_token>" …/v1/secret/data/test/hello',
    '',
    '  More tokens: authgate dev token --namespace test --service-account nginx --pod nginx',
    '',
  ].join('\n');
