import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REVIEWER, seedFirstSetup, startDevCluster, type DevCluster } from '../../src/devcluster/index.js';
import { startAuthgateServer, type AuthgateServer } from './authgate-process.js';
import { replicaConfig } from './replica-config.js';

/** Two `authgate server` processes on one Redis, against one dev cluster, with one admin token. */
export type Replicas = {
  cluster: DevCluster;
  a: AuthgateServer;
  b: AuthgateServer;
  admin: string;
  /** A service account token of test/nginx for audience `vault`, bound to `pod`. */
  podToken(pod?: string): Promise<string>;
  stop(): Promise<void>;
};

/** What replicas share, before any runs: a dev cluster, and a directory with their key files. */
export type ReplicaSetup = {
  cluster: DevCluster;
  dir: string;
  admin: string;
  /** A service account token of test/nginx for audience `vault`, bound to `pod`. */
  podToken(pod?: string): Promise<string>;
  /**
   * Starts `authgate server` named `name` on `redis` with the config of {@link replicaConfig}, and
   * extra environment `env`.
   */
  start(
    name: string,
    redis: Parameters<typeof replicaConfig>[2],
    env?: Record<string, string>,
  ): Promise<AuthgateServer>;
  /** Stops every server started and the cluster, and removes the directory. */
  stop(): Promise<void>;
};

/** Starts a dev cluster and writes the server key, admin token and reviewer token replicas read. */
export const prepareReplicas = async (): Promise<ReplicaSetup> => {
  const admin = `admin-${randomBytes(16).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'authgate-replicas-'));
  const cluster = await startDevCluster();
  const servers: AuthgateServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    seedFirstSetup(cluster);
    writeFileSync(join(dir, 'server.key'), randomBytes(48).toString('base64'));
    writeFileSync(join(dir, 'admin-token'), admin);
    writeFileSync(
      join(dir, 'reviewer-token'),
      (await cluster.mintToken({ ...REVIEWER, expirationSeconds: 3600 })).token,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const podToken = async (pod = 'nginx') =>
    (await cluster.mintToken({ namespace: 'test', serviceAccount: 'nginx', audiences: ['vault'], pod }))
      .token;
  const start = async (
    name: string,
    redis: Parameters<typeof replicaConfig>[2],
    env: Record<string, string> = {},
  ) => {
    const server = await startAuthgateServer(
      dir,
      name,
      replicaConfig(cluster.url, cluster.issuer, redis, dir),
      env,
    );
    servers.push(server);
    return server;
  };
  return { cluster, dir, admin, podToken, start, stop };
};

/**
 * Starts a dev cluster and two replicas sharing `redis` (a URL, or a Redis Cluster's seed nodes),
 * with the config of {@link replicaConfig}.
 */
export const startReplicas = async (redis: Parameters<typeof replicaConfig>[2]): Promise<Replicas> => {
  const setup = await prepareReplicas();
  try {
    // Settled, not raced: a server that started is stopped even when the other did not start.
    const started = await Promise.allSettled(['a', 'b'].map((name) => setup.start(name, redis)));
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const [a, b] = started.map((s) => (s as PromiseFulfilledResult<AuthgateServer>).value) as [
      AuthgateServer,
      AuthgateServer,
    ];
    const { cluster, admin, podToken, stop } = setup;
    return { cluster, a, b, admin, podToken, stop };
  } catch (err) {
    await setup.stop();
    throw err;
  }
};

/** A request to a replica: the status and the JSON answer (`{}` when empty). */
export const call = async (
  server: AuthgateServer,
  method: string,
  path: string,
  token?: string,
  body?: unknown,
) => {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: token === undefined ? {} : { 'x-vault-token': token },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
};

/** A login at the `kubernetes` mount (TokenReview). */
export const login = async (server: AuthgateServer, jwt: string, role = 'nginx') => {
  const res = await call(server, 'POST', '/v1/auth/kubernetes/login', undefined, { role, jwt });
  return { status: res.status, auth: res.json['auth'] as { client_token: string; accessor: string } };
};
