import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createFakeClock } from '../src/lib/clock.js';
import { NGINX_ROLE, startHarness, type Harness } from './helpers/harness.js';

const clock = createFakeClock(Date.UTC(2026, 5, 1, 12, 0, 0));
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    clock,
    roles: {
      nginx: NGINX_ROLE,
      prod: { ...NGINX_ROLE, bound_service_account_namespaces: ['prod'] },
      other: { ...NGINX_ROLE, audience: 'other' },
    },
  });
});
afterAll(async () => {
  await h?.close();
});
afterEach(async () => {
  h.cluster.faults.clockSkewSeconds = 0;
  h.cluster.faults.latencyMs = 0;
  await h.cluster.faults.refuseConnections(false);
});

describe.each(['kubernetes', 'jwks'])('token lifetime through the %s mount', (mount) => {
  it('refuses an expired token, allowing the 60 s leeway', async () => {
    const jwt = await h.podToken({ expirationSeconds: 600 });
    clock.advanceSeconds(600 + 60);
    expect((await h.login(mount, { role: 'nginx', jwt })).status).toBe(200);
    clock.advanceSeconds(2);
    expect(await h.login(mount, { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['invalid expiration time (exp) claim: token is expired'] },
    });
  });

  it('refuses a token that is not valid yet (issuer clock ahead by more than the leeway)', async () => {
    h.cluster.faults.clockSkewSeconds = 300;
    const jwt = await h.podToken();
    h.cluster.faults.clockSkewSeconds = 0;
    const res = await h.login(mount, { role: 'nginx', jwt });
    expect(res.status).toBe(403);
    expect(res.json.errors?.[0]).toMatch(/^invalid (not before \(nbf\)|issued at \(iat\)) claim/);
  });

  it('accepts a token from an issuer whose clock is ahead within the leeway', async () => {
    h.cluster.faults.clockSkewSeconds = 50;
    const jwt = await h.podToken();
    h.cluster.faults.clockSkewSeconds = 0;
    expect((await h.login(mount, { role: 'nginx', jwt })).status).toBe(200);
  });
});

describe.each(['kubernetes', 'jwks'])('a token that has logged in, through the %s mount', (mount) => {
  // Its claims are remembered; the role's bindings and audience are still checked every time.
  it('is still refused by a role it is not bound to', async () => {
    const jwt = await h.podToken();
    expect((await h.login(mount, { role: 'nginx', jwt })).status).toBe(200);
    expect(await h.login(mount, { role: 'prod', jwt })).toEqual({
      status: 403,
      json: { errors: ['namespace not authorized'] },
    });
    expect((await h.login(mount, { role: 'other', jwt })).status).toBe(403);
    expect((await h.login(mount, { role: 'nginx', jwt })).status).toBe(200);
  });
});

describe('the TokenReview cache', () => {
  it('makes one TokenReview for 100 concurrent logins with one token, and none for a second login within the bound', async () => {
    const jwt = await h.podToken();
    h.cluster.faults.latencyMs = 30;
    const before = h.cluster.stats().tokenReviews;
    const results = await Promise.all(
      Array.from({ length: 100 }, () => h.login('kubernetes', { role: 'nginx', jwt })),
    );
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(h.cluster.stats().tokenReviews - before).toBe(1);
    clock.advanceSeconds(30);
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    expect(h.cluster.stats().tokenReviews - before).toBe(1);
  });

  it('refuses a token whose pod was deleted once the cache entry has lapsed', async () => {
    h.cluster.createPod({ namespace: 'test', name: 'doomed', serviceAccount: 'nginx' });
    const jwt = await h.podToken({ pod: 'doomed' });
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    h.cluster.deletePod('test', 'doomed');
    // Within the cache bound the cached review still answers (as the API server's own cache would).
    clock.advanceSeconds(30);
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    // Past the cache bound and the API server's 60 s deletion grace: refused.
    clock.advanceSeconds(61);
    expect(await h.login('kubernetes', { role: 'nginx', jwt })).toEqual({
      status: 403,
      json: { errors: ['permission denied'] },
    });
  });

  it('never lets a deleted pod in through JWKS verification only until the token expires', async () => {
    // Documented limit of local verification (docs/security.md): JWKS cannot see pod deletion.
    h.cluster.createPod({ namespace: 'test', name: 'gone', serviceAccount: 'nginx' });
    const jwt = await h.podToken({ pod: 'gone', expirationSeconds: 600 });
    h.cluster.deletePod('test', 'gone');
    expect((await h.login('jwks', { role: 'nginx', jwt })).status).toBe(200);
    clock.advanceSeconds(661 + 1);
    expect((await h.login('jwks', { role: 'nginx', jwt })).status).toBe(403);
  });

  it('answers 503 when the API server cannot be reached, caches nothing, and recovers', async () => {
    const jwt = await h.podToken();
    await h.cluster.faults.refuseConnections(true);
    const down = await h.login('kubernetes', { role: 'nginx', jwt });
    expect(down.status).toBe(503);
    expect(down.json.errors?.[0]).toMatch(/kubernetes API server/i);
    await h.cluster.faults.refuseConnections(false);
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
  });

  it('sends a TokenReview again when its connection is dropped, once', async () => {
    const jwt = await h.podToken();
    const reviews = () => h.cluster.stats().byPath['/apis/authentication.k8s.io/v1/tokenreviews'] ?? 0;
    const before = reviews();
    // A kept-alive connection closed while idle (by the API server or a load balancer) resets the
    // next request sent on it: not the client's failure, and a TokenReview is safe to repeat.
    h.cluster.faults.dropNext(1);
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    expect(reviews() - before).toBe(2);
    // Dropped twice in a row: the API server is not answering, 503 as for a refused connection.
    const other = await h.podToken();
    h.cluster.faults.dropNext(2);
    const down = await h.login('kubernetes', { role: 'nginx', jwt: other });
    expect(down.status).toBe(503);
    expect(down.json.errors?.[0]).toMatch(/kubernetes API server/i);
    expect(reviews() - before).toBe(4);
  });

  it('answers 503 when the API server fails with 5xx, then recovers', async () => {
    const jwt = await h.podToken();
    h.cluster.faults.failNext(1, 500);
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(503);
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
  });

  it('picks up a rotated reviewer token file', async () => {
    // The first reviewer token expires; the kubelet (here: rotateReviewer) writes a new one.
    clock.advanceSeconds(3600 + 120);
    await h.rotateReviewer();
    clock.advanceSeconds(61);
    const jwt = await h.podToken();
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
  });
});
