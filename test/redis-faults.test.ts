import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REVIEWER, seedFirstSetup, startDevCluster, type DevCluster } from '../src/devcluster/index.js';
import { startAuthgateServer, waitFor, type AuthgateServer } from './helpers/authgate-process.js';
import { freePort, startRedis, type RedisServer } from './helpers/redis-server.js';
import { replicaConfig } from './helpers/replica-config.js';

let cluster: DevCluster;
const dir = mkdtempSync(join(tmpdir(), 'authgate-faults-'));

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};
const lookupSelf = async (server: AuthgateServer, token: string) =>
  (await fetch(`${server.url}/v1/auth/token/lookup-self`, { headers: { 'x-vault-token': token } })).status;
const podToken = async () =>
  (
    await cluster.mintToken({
      namespace: 'test',
      serviceAccount: 'nginx',
      audiences: ['vault'],
      pod: 'nginx',
    })
  ).token;
const login = async (server: AuthgateServer, jwt: string) =>
  post(`${server.url}/v1/auth/kubernetes/login`, { role: 'nginx', jwt });

beforeAll(async () => {
  cluster = await startDevCluster();
  seedFirstSetup(cluster);
  writeFileSync(join(dir, 'server.key'), randomBytes(48).toString('base64'));
  writeFileSync(join(dir, 'admin-token'), `admin-${randomBytes(16).toString('hex')}`);
  writeFileSync(
    join(dir, 'reviewer-token'),
    (await cluster.mintToken({ ...REVIEWER, expirationSeconds: 3600 })).token,
  );
});
afterAll(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('when Redis fails', () => {
  let redis: RedisServer;
  let server: AuthgateServer;
  beforeAll(async () => {
    redis = await startRedis({ appendonly: true });
    server = await startAuthgateServer(
      dir,
      'faults',
      replicaConfig(cluster.url, cluster.issuer, redis.url, dir),
    );
  });
  afterAll(async () => {
    await server?.stop();
    await redis?.stop();
  });

  it('answers only 503 while Redis is gone, never 500 or a crash, and recovers by itself', async () => {
    const jwts = await Promise.all(Array.from({ length: 20 }, podToken));
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const batch = await Promise.all(
          jwts.slice(0, 5).map((jwt, k) => login(server, jwts[(i + k) % jwts.length] ?? jwt)),
        );
        statuses.push(...batch.map((r) => r.status));
      }
    })();
    await new Promise((r) => setTimeout(r, 300));
    await redis.kill();
    const killedAt = statuses.length;
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await load;
    const during = statuses.slice(killedAt + 10);
    expect(during.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(during.filter((s) => s === 503).length).toBeGreaterThan(0);
    const down = await login(server, await podToken());
    expect(down.status).toBe(503);
    expect((down.json['errors'] as string[])[0]).toMatch(/unavailable/);
    expect(server.child.exitCode).toBeNull();

    await redis.start();
    const jwt = await podToken();
    await waitFor(async () => (await login(server, jwt)).status === 200, 15_000, 'logins to succeed again');
    const health = await fetch(`${server.url}/v1/sys/health/ready`);
    expect(health.status).toBe(200);
    expect(server.output()).toMatch(/"event":"store\.unavailable"/);
    // No bug path was taken and nothing escaped: no 500 handler, no unhandled rejection.
    expect(server.output()).not.toMatch(/request\.bug|Unhandled|uncaught/i);
  });

  it('loses no issued token across a Redis restart with AOF on', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 10; i++) {
      const res = await login(server, await podToken());
      expect(res.status).toBe(200);
      tokens.push((res.json['auth'] as { client_token: string }).client_token);
    }
    await redis.kill();
    await redis.start();
    await waitFor(
      async () => (await lookupSelf(server, tokens[0] ?? '')) === 200,
      15_000,
      'Redis to be back',
    );
    for (const t of tokens) expect(await lookupSelf(server, t)).toBe(200);
  });
});

describe('when Redis is unreachable at start', () => {
  it('stays up, reports not ready and why, and becomes ready when Redis appears', async () => {
    const port = await freePort();
    const server = await startAuthgateServer(
      dir,
      'late',
      replicaConfig(cluster.url, cluster.issuer, `redis://127.0.0.1:${port}`, dir),
    );
    let redis: RedisServer | undefined;
    try {
      const ready = await fetch(`${server.url}/v1/sys/health/ready`);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toMatch(/store/);
      expect((await fetch(`${server.url}/v1/sys/health`)).status).toBe(503);
      expect((await login(server, await podToken())).status).toBe(503);
      await waitFor(
        () => /"event":"store\.unavailable".*ECONNREFUSED/.test(server.output()),
        5000,
        'the log to say why',
      );

      redis = await startRedis({ port });
      await waitFor(
        async () => (await fetch(`${server.url}/v1/sys/health/ready`)).status === 200,
        15_000,
        'readiness',
      );
      expect((await login(server, await podToken())).status).toBe(200);
      expect(server.child.exitCode).toBeNull();
    } finally {
      await server.stop();
      await redis?.stop();
    }
  });
});
