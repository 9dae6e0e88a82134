import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ROLE } from '../src/cli/dev.js';
import { REVIEWER, seedFirstSetup, startDevCluster, type DevCluster } from '../src/devcluster/index.js';
import { startAuthgateServer, waitFor } from './helpers/authgate-process.js';

let cluster: DevCluster;
const dir = mkdtempSync(join(tmpdir(), 'authgate-shutdown-'));

beforeAll(async () => {
  cluster = await startDevCluster();
  seedFirstSetup(cluster);
  writeFileSync(join(dir, 'server.key'), randomBytes(48).toString('base64'));
  writeFileSync(
    join(dir, 'reviewer-token'),
    (await cluster.mintToken({ ...REVIEWER, expirationSeconds: 3600 })).token,
  );
});
afterAll(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

const startServer = () =>
  startAuthgateServer(dir, 'shutdown', {
    listener: { port: 0 },
    log: { level: 'info' },
    server_key_file: join(dir, 'server.key'),
    auth: {
      kubernetes: {
        type: 'kubernetes',
        kubernetes_host: cluster.url,
        token_reviewer_jwt_file: join(dir, 'reviewer-token'),
        verification: 'tokenreview',
        issuers: [cluster.issuer],
        roles: { nginx: DEV_ROLE },
      },
    },
  });
const podTokens = (n: number) =>
  Promise.all(
    Array.from(
      { length: n },
      async () =>
        (
          await cluster.mintToken({
            namespace: 'test',
            serviceAccount: 'nginx',
            audiences: ['vault'],
            pod: 'nginx',
          })
        ).token,
    ),
  );

/** How many TokenReviews have reached the cluster since the call (counted before its latency). */
const reviewsArrived = () => {
  const count = () => cluster.stats().byPath['/apis/authentication.k8s.io/v1/tokenreviews'] ?? 0;
  const before = count();
  return () => count() - before;
};

describe('graceful shutdown', () => {
  it('finishes every login in flight when SIGTERM arrives, then exits 0', async () => {
    const server = await startServer();
    const jwts = await podTokens(20);
    // Every login waits 1 s on its TokenReview: all 20 are in flight when the signal comes.
    cluster.faults.latencyMs = 1000;
    const reviewed = reviewsArrived();
    try {
      const inFlight = jwts.map((jwt) =>
        fetch(`${server.url}/v1/auth/kubernetes/login`, {
          method: 'POST',
          body: JSON.stringify({ role: 'nginx', jwt }),
        }).then(
          (r) => ({ status: r.status, connection: r.headers.get('connection') }),
          (err: Error) => `cut off: ${err.message}`,
        ),
      );
      // Not a fixed sleep: on a loaded machine the logins reached the TokenReview 140-360 ms after
      // they were sent, and one that comes after the signal is refused (503).
      await waitFor(() => reviewed() >= 20, 5000, 'the 20 logins to wait on their TokenReview');
      server.child.kill('SIGTERM');
      // Answered in full, each telling its client not to send more on that connection.
      expect(await Promise.all(inFlight)).toEqual(jwts.map(() => ({ status: 200, connection: 'close' })));
      expect(await server.exited).toBe(0);
      expect(server.output()).toMatch(/"event":"server\.stopped"/);
    } finally {
      cluster.faults.latencyMs = 0;
    }
  });

  // Vault reads one stop signal and ignores the rest; a second SIGTERM (a supervisor that repeats
  // it), a Ctrl-C or a logrotate SIGHUP during the drain must not cut the requests in flight.
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    'ignores a %s that comes while it drains: the login in flight is answered, the exit is 0',
    async (second) => {
      const server = await startServer();
      const [jwt] = await podTokens(1);
      cluster.faults.latencyMs = 1000;
      const reviewed = reviewsArrived();
      try {
        const inFlight = fetch(`${server.url}/v1/auth/kubernetes/login`, {
          method: 'POST',
          body: JSON.stringify({ role: 'nginx', jwt }),
        }).then(
          (r) => r.status,
          (err: Error) => `cut off: ${err.message}`,
        );
        await waitFor(() => reviewed() >= 1, 5000, 'the login to wait on its TokenReview');
        server.child.kill('SIGTERM');
        await waitFor(() => server.output().includes('"event":"server.stopping"'), 5000, 'server.stopping');
        server.child.kill(second);
        expect(await inFlight).toBe(200);
        expect(await server.exited).toBe(0);
        expect(server.child.signalCode).toBeNull();
        expect(server.output()).toMatch(new RegExp(`"event":"server\\.signal_ignored","signal":"${second}"`));
      } finally {
        cluster.faults.latencyMs = 0;
      }
    },
  );
});
