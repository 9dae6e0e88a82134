import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { KubernetesMountConfig } from '../config/index.js';
import { type DevCluster, startDevCluster } from '../devcluster/index.js';
import { createFakeClock, type FakeClock } from '../lib/clock.js';
import { fingerprint } from '../lib/hash.js';
import { captureLog, mountOf, refusal, request } from './test-fixtures.js';
import { createMemoryResultCache } from './result-cache.js';
import { type CachedReview, createTokenReviewVerifier } from './token-review-verifier.js';
import type { Verifier } from './verifier.js';

/*
 * Against the Kubernetes simulator over real HTTP, with @kubernetes/client-node unchanged. The
 * simulator and the verifier share one fake clock, so token lifetimes, the 60 s deletion grace and
 * cache TTLs are exact; the simulator's latency fault is real time.
 */
describe('createTokenReviewVerifier', () => {
  let clock: FakeClock;
  let cluster: DevCluster;
  let dir: string;
  let reviewerFile: string;
  let pod: { uid: string };
  let sa: { uid: string };
  const verifiers: Verifier[] = [];
  let capture: ReturnType<typeof captureLog>;

  const mintReviewer = async (expirationSeconds = 3600) =>
    (await cluster.mintToken({ namespace: 'authgate', serviceAccount: 'reviewer', expirationSeconds })).token;
  const mintApp = async (over: { audiences?: string[]; pod?: string } = {}) =>
    (
      await cluster.mintToken({
        namespace: 'team-a',
        serviceAccount: 'app',
        audiences: over.audiences ?? ['vault'],
        pod: over.pod ?? 'app-1',
      })
    ).token;
  const makeVerifier = (
    over: Partial<KubernetesMountConfig> = {},
    tr: Partial<KubernetesMountConfig['tokenReview']> = {},
  ) => {
    const base = mountOf({});
    const v = createTokenReviewVerifier(
      mountOf({
        kubernetesHost: cluster.url,
        tokenReviewerJwtFile: reviewerFile,
        issuers: [cluster.issuer],
        ...over,
        tokenReview: { ...base.tokenReview, ...tr },
      }),
      { clock, log: capture.log },
    );
    verifiers.push(v);
    return v;
  };

  beforeEach(async () => {
    clock = createFakeClock();
    capture = captureLog();
    cluster = await startDevCluster({ clock });
    cluster.createNode('worker-1');
    sa = cluster.createServiceAccount('team-a', 'app');
    pod = cluster.createPod({
      namespace: 'team-a',
      name: 'app-1',
      serviceAccount: 'app',
      nodeName: 'worker-1',
    });
    cluster.createServiceAccount('authgate', 'reviewer');
    cluster.grantAuthDelegator('authgate', 'reviewer');
    dir = await mkdtemp(join(tmpdir(), 'authgate-tr-'));
    reviewerFile = join(dir, 'token');
    await writeFile(reviewerFile, await mintReviewer());
  });
  afterEach(async () => {
    await Promise.all(verifiers.splice(0).map((v) => v.close()));
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('proves a pod-bound token and returns pod, node and jti from the review', async () => {
    const jwt = await mintApp();
    const identity = await makeVerifier().verify(request(jwt));
    expect(identity).toMatchObject({
      issuer: cluster.issuer,
      subject: 'system:serviceaccount:team-a:app',
      namespace: 'team-a',
      serviceAccount: { name: 'app', uid: sa.uid },
      pod: { name: 'app-1', uid: pod.uid },
      node: { name: 'worker-1' },
      audiences: ['vault'],
      legacy: false,
    });
    expect(identity.jti).toEqual(expect.any(String));
    expect(cluster.stats().tokenReviews).toBe(1);
  });

  it('refuses a token minted for another audience without calling the API server', async () => {
    const err = await refusal(makeVerifier().verify(request(await mintApp(), 'other')));
    expect(err).toMatchObject({ code: 'LOGIN_DENIED', reason: 'audience_mismatch' });
    expect(cluster.stats().tokenReviews).toBe(0);
  });

  it('asks for the token’s own audiences when the role has none', async () => {
    const jwt = await mintApp({ audiences: ['vault', 'other'] });
    const identity = await makeVerifier().verify(request(jwt, undefined));
    expect(identity.audiences).toEqual(['vault', 'other']);
  });

  it('keys its cache on a hash of the token’s own audiences, whatever their size', async () => {
    const audiences = ['vault', ...Array.from({ length: 200 }, (_, i) => `aud-${i}-${'x'.repeat(40)}`)];
    const jwt = await mintApp({ audiences });
    const keys: string[] = [];
    const inner = createMemoryResultCache<CachedReview>({ clock, maxEntries: 10 });
    const verifier = createTokenReviewVerifier(
      mountOf({ kubernetesHost: cluster.url, tokenReviewerJwtFile: reviewerFile, issuers: [cluster.issuer] }),
      {
        clock,
        log: capture.log,
        cache: {
          ...inner,
          get: (key) => {
            keys.push(key);
            return inner.get(key);
          },
        },
      },
    );
    expect((await verifier.verify(request(jwt, undefined))).audiences).toEqual(audiences);
    expect((await verifier.verify(request(jwt, undefined))).audiences).toEqual(audiences);
    expect(verifier.stats()).toMatchObject({ upstreamCalls: 1, cacheHits: 1 });
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key.length).toBeLessThan(120);
  });

  it('coalesces 100 concurrent verifies of one token into one TokenReview, then serves it from the cache', async () => {
    const jwt = await mintApp();
    const verifier = makeVerifier();
    cluster.faults.latencyMs = 50;
    const all = await Promise.all(Array.from({ length: 100 }, () => verifier.verify(request(jwt))));
    expect(new Set(all.map((i) => i.pod?.uid))).toEqual(new Set([pod.uid]));
    expect(cluster.stats().tokenReviews).toBe(1);
    clock.advanceSeconds(59);
    await verifier.verify(request(jwt));
    expect(cluster.stats().tokenReviews).toBe(1);
    expect(verifier.stats()).toMatchObject({ upstreamCalls: 1, cacheHits: 1 });
  });

  it('refuses a token whose pod was deleted, once the cache entry and the 60 s grace have lapsed', async () => {
    const jwt = await mintApp();
    const verifier = makeVerifier();
    await verifier.verify(request(jwt));
    cluster.deletePod('team-a', 'app-1', { terminating: true });
    clock.advanceSeconds(30);
    await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' }); // cached
    expect(cluster.stats().tokenReviews).toBe(1);
    clock.advanceSeconds(31);
    const err = await refusal(verifier.verify(request(jwt)));
    expect(err).toMatchObject({
      code: 'PERMISSION_DENIED',
      reason: 'tokenreview_pod_not_found',
      message: 'permission denied',
    });
    expect(err.detail).toContain('has been invalidated');
    expect(cluster.stats().tokenReviews).toBe(2);
  });

  it('still accepts a token of a terminating pod within the 60 s grace', async () => {
    const jwt = await mintApp();
    cluster.deletePod('team-a', 'app-1', { terminating: true });
    clock.advanceSeconds(60);
    await expect(makeVerifier().verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
  });

  it('remembers a refusal briefly, then asks again', async () => {
    const jwt = await mintApp();
    cluster.deletePod('team-a', 'app-1');
    const verifier = makeVerifier();
    expect((await refusal(verifier.verify(request(jwt)))).reason).toBe('tokenreview_pod_not_found');
    expect((await refusal(verifier.verify(request(jwt)))).reason).toBe('tokenreview_pod_not_found');
    expect(cluster.stats().tokenReviews).toBe(1);
    clock.advanceSeconds(6);
    await refusal(verifier.verify(request(jwt)));
    expect(cluster.stats().tokenReviews).toBe(2);
  });

  it('logs a refusal as tokenreview.failed with a fingerprint, never the token', async () => {
    const jwt = await mintApp();
    cluster.deletePod('team-a', 'app-1');
    await refusal(makeVerifier().verify(request(jwt)));
    const line = capture.lines.find((l) => l.msg === 'tokenreview.failed');
    expect(line).toMatchObject({
      level: 'warn',
      fields: {
        event: 'tokenreview.failed',
        reason: 'tokenreview_pod_not_found',
        jwtFingerprint: fingerprint(jwt),
      },
    });
    expect(JSON.stringify(capture.lines)).not.toContain(jwt);
  });

  it('accepts a legacy Secret token when the role asks no audience, with the API audiences', async () => {
    const jwt = await cluster.mintLegacyToken('team-a', 'app');
    const verifier = makeVerifier({ issuers: [] });
    const identity = await verifier.verify(request(jwt, undefined));
    expect(identity).toMatchObject({
      legacy: true,
      audiences: [cluster.issuer],
      serviceAccount: { uid: sa.uid },
    });
    expect(identity.expiresAt).toBeUndefined();
  });

  describe('the reviewer bearer', () => {
    it('is refused (401) when the reviewer token is not valid, and that is not cached', async () => {
      await writeFile(reviewerFile, 'not-a-token');
      const jwt = await mintApp();
      const verifier = makeVerifier();
      const err = await refusal(verifier.verify(request(jwt)));
      expect(err).toMatchObject({ code: 'PERMISSION_DENIED', reason: 'tokenreview_unauthorized' });
      // About authgate's own bearer, not (as Vault words it) the login's service account.
      expect(err.detail).toContain('refused the token reviewer JWT');
      // authgate's credential, not the client's: an upstream error for the metrics.
      expect(verifier.stats().upstreamErrors).toBe(1);
      await writeFile(reviewerFile, await mintReviewer());
      await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
    });

    it('is refused (403) when the reviewer lacks system:auth-delegator, until it is granted', async () => {
      cluster.createServiceAccount('authgate', 'weak');
      await writeFile(
        reviewerFile,
        (await cluster.mintToken({ namespace: 'authgate', serviceAccount: 'weak' })).token,
      );
      const jwt = await mintApp();
      const verifier = makeVerifier();
      const err = await refusal(verifier.verify(request(jwt)));
      expect(err).toMatchObject({ code: 'PERMISSION_DENIED', reason: 'tokenreview_forbidden' });
      expect(err.detail).toContain('cannot create resource "tokenreviews"');
      expect(verifier.stats().upstreamErrors).toBe(1);
      cluster.grantAuthDelegator('authgate', 'weak');
      await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
    });

    it('is re-read after the kubelet rotates it', async () => {
      await writeFile(reviewerFile, await mintReviewer(600));
      const verifier = makeVerifier();
      await verifier.verify(request(await mintApp()));
      clock.advanceSeconds(20 * 60); // the first reviewer token has expired
      await writeFile(reviewerFile, await mintReviewer(600));
      await expect(verifier.verify(request(await mintApp()))).resolves.toMatchObject({ namespace: 'team-a' });
    });

    it('after a 401, re-reads the reviewer token once and retries with the new one', async () => {
      const good = await mintReviewer();
      const contents = ['stale-token', good];
      let reads = 0;
      const verifier = createTokenReviewVerifier(
        mountOf({
          kubernetesHost: cluster.url,
          tokenReviewerJwtFile: join(dir, 'virtual'),
          issuers: [cluster.issuer],
        }),
        {
          clock,
          log: capture.log,
          readFile: async () => contents[reads++] ?? good,
        },
      );
      verifiers.push(verifier);
      await expect(verifier.verify(request(await mintApp()))).resolves.toMatchObject({ namespace: 'team-a' });
      expect(verifier.stats().upstreamCalls).toBe(2);
    });

    it('is the login JWT itself when no reviewer file is configured (Vault’s behaviour)', async () => {
      cluster.grantAuthDelegator('team-a', 'app');
      const verifier = makeVerifier({ tokenReviewerJwtFile: undefined });
      // A token for the API audience as well can authenticate as the bearer…
      const both = await mintApp({ audiences: [cluster.issuer, 'vault'] });
      await expect(verifier.verify(request(both))).resolves.toMatchObject({ namespace: 'team-a' });
      // …a vault-only token cannot (VSO #553): the API server answers 401.
      const err = await refusal(verifier.verify(request(await mintApp())));
      expect(err.reason).toBe('tokenreview_unauthorized');
      expect(err.detail).toContain('service account unauthorized');
      // The client's own token was the bearer: its fault, no upstream error.
      expect(verifier.stats().upstreamErrors).toBe(0);
    });
  });

  describe('when the API server is unavailable', () => {
    it('answers 503 for a refused connection, caches nothing, and recovers', async () => {
      const jwt = await mintApp();
      const verifier = makeVerifier();
      await cluster.faults.refuseConnections(true);
      const err = await refusal(verifier.verify(request(jwt)));
      expect(err).toMatchObject({
        code: 'UNAVAILABLE',
        status: 503,
        reason: 'tokenreview_unreachable',
        message: 'kubernetes API server unreachable',
      });
      await expect(verifier.ready()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await cluster.faults.refuseConnections(false);
      await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
      await expect(verifier.ready()).resolves.toBeUndefined();
      expect(verifier.stats()).toMatchObject({ upstreamErrors: 1, cacheHits: 0, cacheMisses: 2 });
    });

    it('writes at most 20 tokenreview.failed lines a second, and counts the rest in one line', async () => {
      const jwts = await Promise.all(Array.from({ length: 200 }, () => mintApp()));
      const verifier = makeVerifier({}, { maxConcurrent: 200 });
      await cluster.faults.refuseConnections(true);
      const errors = await Promise.all(jwts.map((jwt) => refusal(verifier.verify(request(jwt)))));
      expect(errors.every((e) => e.reason === 'tokenreview_unreachable')).toBe(true);
      await verifier.close(); // writes the pending count
      const written = capture.lines.filter((l) => l.msg === 'tokenreview.failed').length;
      const counts = capture.lines
        .filter((l) => l.msg === 'tokenreview.failed_suppressed')
        .map((l) => l.fields as { suppressed: number; reasons: Record<string, number> });
      // 200 failures in a few seconds at most: most of them are counted, none is lost.
      expect(counts.length).toBeGreaterThan(0);
      expect(written).toBeGreaterThanOrEqual(20);
      expect(written + counts.reduce((n, c) => n + c.suppressed, 0)).toBe(200);
      expect(counts.every((c) => Object.keys(c.reasons).every((r) => r === 'tokenreview_unreachable'))).toBe(
        true,
      );
      await cluster.faults.refuseConnections(false);
    });

    it('answers 503 for a 5xx, then recovers', async () => {
      const jwt = await mintApp();
      const verifier = makeVerifier();
      cluster.faults.failNext(1, 500);
      const err = await refusal(verifier.verify(request(jwt)));
      expect(err).toMatchObject({ code: 'UNAVAILABLE', reason: 'tokenreview_upstream_error' });
      expect(err.detail).toContain('HTTP 500');
      await expect(verifier.verify(request(jwt))).resolves.toMatchObject({ namespace: 'team-a' });
    });

    it('answers 503 when the API server does not answer within the timeout', async () => {
      const verifier = makeVerifier({}, { timeoutMs: 100 });
      cluster.faults.latencyMs = 400;
      const err = await refusal(verifier.verify(request(await mintApp())));
      expect(err).toMatchObject({ code: 'UNAVAILABLE', reason: 'tokenreview_unreachable' });
      expect(err.detail).toBe('no answer within 100 ms');
    });
  });

  describe('concurrency bounds', () => {
    it('keeps at most maxConcurrent calls in flight', async () => {
      const verifier = makeVerifier({}, { maxConcurrent: 2 });
      const tokens = await Promise.all(Array.from({ length: 6 }, () => mintApp()));
      cluster.faults.latencyMs = 150;
      const started = Date.now();
      await Promise.all(tokens.map((t) => verifier.verify(request(t))));
      // 6 calls, 2 at a time, 150 ms each: at least three rounds.
      expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 150 - 20);
      expect(cluster.stats().tokenReviews).toBe(6);
    });

    it('answers 503 when the queue is full', async () => {
      const verifier = makeVerifier({}, { maxConcurrent: 1, maxQueue: 1 });
      const tokens = await Promise.all(Array.from({ length: 3 }, () => mintApp()));
      cluster.faults.latencyMs = 100;
      const results = await Promise.allSettled(tokens.map((t) => verifier.verify(request(t))));
      const rejected = results.filter((r) => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect((rejected[0] as PromiseRejectedResult).reason).toMatchObject({
        code: 'UNAVAILABLE',
        reason: 'tokenreview_queue_full',
        message: 'too many pending TokenReview calls',
      });
    });
  });

  it('is ready when the API server answers and the reviewer token is readable', async () => {
    await expect(makeVerifier().ready()).resolves.toBeUndefined();
    await expect(makeVerifier({ tokenReviewerJwtFile: join(dir, 'missing') }).ready()).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      reason: 'tokenreview_reviewer_token_unreadable',
    });
  });
});
