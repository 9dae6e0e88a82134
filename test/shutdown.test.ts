import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_ROLE } from '../src/cli/dev.js';
import { REVIEWER, seedFirstSetup, startDevCluster, type DevCluster } from '../src/devcluster/index.js';
import { startAuthgateServer } from './helpers/authgate-process.js';

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

describe('graceful shutdown', () => {
  it('finishes every login in flight when SIGTERM arrives, then exits 0', async () => {
    const server = await startAuthgateServer(dir, 'shutdown', {
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
    const jwts = await Promise.all(
      Array.from(
        { length: 20 },
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
    // Every login waits 400 ms on its TokenReview: all 20 are in flight when the signal comes.
    cluster.faults.latencyMs = 400;
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
      await new Promise((r) => setTimeout(r, 150));
      server.child.kill('SIGTERM');
      // Answered in full, each telling its client not to send more on that connection.
      expect(await Promise.all(inFlight)).toEqual(jwts.map(() => ({ status: 200, connection: 'close' })));
      expect(await server.exited).toBe(0);
      expect(server.output()).toMatch(/"event":"server\.stopped"/);
    } finally {
      cluster.faults.latencyMs = 0;
    }
  });
});
