import { afterAll, expect, it } from 'vitest';
import { startHarness, type Harness } from './helpers/harness.js';

/*
 * `/v1/sys/health` is what load balancers and the readiness probe ask (deploy/base): it reports
 * the seal, which only the store decides. An API server that hangs must not hold its answer for
 * the verifier's upstream timeout (a probe's own timeout is shorter, and every replica would fail
 * it at once); `/v1/sys/health/ready` still waits for, and reports, the upstream.
 */

let h: Harness | undefined;
afterAll(async () => {
  await h?.close();
});

it('answers /v1/sys/health from the store while the API server hangs; /ready waits for it', async () => {
  h = await startHarness({ audit: null });
  h.cluster.faults.latencyMs = 3000;
  let readyAnswered = false;
  const ready = h.server.app.inject({ url: '/v1/sys/health/ready' }).then((res) => {
    readyAnswered = true;
    return res;
  });
  const health = await h.server.app.inject({ url: '/v1/sys/health' });
  expect(health.statusCode).toBe(200);
  expect(health.json()).toMatchObject({ sealed: false });
  const seal = await h.server.app.inject({ url: '/v1/sys/seal-status' });
  expect(seal.json()).toMatchObject({ sealed: false });
  expect(readyAnswered).toBe(false);
  expect((await ready).statusCode).toBe(200);
}, 20_000);
