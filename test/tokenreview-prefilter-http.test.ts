import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDevCluster, type DevCluster } from '../src/devcluster/index.js';
import { createFakeClock } from '../src/lib/clock.js';
import { fingerprint } from '../src/lib/hash.js';
import { createLogger } from '../src/telemetry/index.js';
import { adminCall, startHarness, type Harness } from './helpers/harness.js';
import { jsonLogLines } from './helpers/log-lines.js';
import { freePort } from './helpers/redis-server.js';

/*
 * A tokenreview mount with `jwks` set checks a token's signature against the cluster's keys
 * before it asks the API server: a forged token costs no TokenReview, a real one still gets its
 * review, which stays the proof (deletions).
 */

const DENIED = { status: 403, json: { errors: ['permission denied'] } };
const JWKS_PATH = '/openid/v1/jwks';

const [headerOf, payloadOf] = [0, 1].map(
  (i) => (jwt: string) =>
    JSON.parse(Buffer.from(jwt.split('.')[i] ?? '', 'base64url').toString()) as Record<string, unknown>,
) as [(jwt: string) => Record<string, unknown>, (jwt: string) => Record<string, unknown>];

/** The token's header and claims, under a signature of random bytes. */
const forged = (jwt: string): string => {
  const [h, p] = jwt.split('.');
  return `${h}.${p}.${randomBytes(256).toString('base64url')}`;
};

/** The token's claims signed by a key of our own, its header naming `kid`. */
const signedByOtherKey = async (jwt: string, kid: string): Promise<string> => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return new SignJWT(payloadOf(jwt)).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).sign(privateKey);
};

describe('a tokenreview mount with a jwks prefilter', () => {
  const clock = createFakeClock();
  const logs = jsonLogLines();
  let h: Harness;
  let other: DevCluster;
  const reviews = () => h.cluster.stats().tokenReviews;
  const jwksFetches = () => h.cluster.stats().byPath[JWKS_PATH] ?? 0;
  const failed = () => logs.lines.filter((l) => l['event'] === 'tokenreview.failed');

  beforeAll(async () => {
    h = await startHarness({
      clock,
      log: createLogger('info', logs.stream),
      tokenreviewJwks: (cluster) => ({ oidc_discovery_url: cluster.url }),
    });
    // Same issuer, keys of its own: its tokens carry a kid the first cluster never published.
    other = await startDevCluster({ issuers: [h.cluster.issuer], clock });
    other.createPod({ namespace: 'test', name: 'nginx', serviceAccount: 'nginx' });
  });
  afterAll(async () => {
    await h?.close();
    await other?.close();
  });

  it('admits a valid token with one TokenReview, and a second login is a cache hit with no review and no key fetch', async () => {
    const jwt = await h.podToken();
    const before = reviews();
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    expect(reviews() - before).toBe(1);
    const fetches = jwksFetches();
    expect(fetches).toBeGreaterThan(0);
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    expect(reviews() - before).toBe(1);
    expect(jwksFetches()).toBe(fetches);
    // Both kinds of API server call in /metrics, each under its own name.
    const metrics = (await h.server.app.inject({ url: '/metrics' })).body;
    const counted = (name: string) =>
      Number(new RegExp(`^${name}\\{mount="kubernetes"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 'NaN');
    expect(counted('authgate_jwks_fetches_total')).toBeGreaterThan(0);
    expect(counted('authgate_tokenreview_calls_total')).toBeGreaterThan(0);
  });

  it('refuses a token with valid claims and a forged signature without a TokenReview, logging why', async () => {
    const jwt = forged(await h.podToken());
    const before = reviews();
    const lines = failed().length;
    expect(await h.login('kubernetes', { role: 'nginx', jwt })).toEqual(DENIED);
    expect(reviews()).toBe(before);
    expect(failed().slice(lines)).toEqual([
      expect.objectContaining({
        reason: 'tokenreview_prefilter_bad_signature',
        jwtFingerprint: fingerprint(jwt),
      }),
    ]);
    expect(logs.raw.some((l) => l.includes(jwt.split('.')[2] ?? jwt))).toBe(false);
    // Counted where every refused login is, by its reason.
    const metrics = await h.server.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(
      /^authgate_logins_total\{[^}]*outcome="denied"[^}]*reason="tokenreview_prefilter_bad_signature"[^}]*\} [1-9]/m,
    );
  });

  it('refuses a token signed by a key the cluster never published (unknown kid) without a TokenReview', async () => {
    const { token } = await other.mintToken({
      namespace: 'test',
      serviceAccount: 'nginx',
      audiences: ['vault'],
      pod: 'nginx',
    });
    const before = reviews();
    const lines = failed().length;
    expect(await h.login('kubernetes', { role: 'nginx', jwt: token })).toEqual(DENIED);
    expect(reviews()).toBe(before);
    expect(failed().slice(lines)).toEqual([
      expect.objectContaining({ reason: 'tokenreview_prefilter_unknown_key' }),
    ]);
  });

  it("refuses a token signed by another key under the cluster's kid without a TokenReview", async () => {
    const real = await h.podToken();
    const jwt = await signedByOtherKey(real, String(headerOf(real)['kid']));
    const before = reviews();
    expect(await h.login('kubernetes', { role: 'nginx', jwt })).toEqual(DENIED);
    expect(reviews()).toBe(before);
  });

  it('makes no TokenReview for 100 concurrent forged logins, and a valid login right after makes exactly one', async () => {
    const real = await h.podToken();
    const before = reviews();
    const results = await Promise.all(
      Array.from({ length: 100 }, async () => h.login('kubernetes', { role: 'nginx', jwt: forged(real) })),
    );
    expect(results.every((r) => r.status === 403)).toBe(true);
    expect(reviews()).toBe(before);
    expect((await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() })).status).toBe(200);
    expect(reviews() - before).toBe(1);
  });

  it("still refuses a deleted pod's validly signed token: the TokenReview decides", async () => {
    h.cluster.createPod({ namespace: 'test', name: 'doomed', serviceAccount: 'nginx' });
    const jwt = await h.podToken({ pod: 'doomed' });
    h.cluster.deletePod('test', 'doomed');
    // Past the API server's 60 s grace for a deleted pod's tokens.
    clock.advanceSeconds(61);
    const before = reviews();
    expect(await h.login('kubernetes', { role: 'nginx', jwt })).toEqual(DENIED);
    expect(reviews() - before).toBe(1);
  });

  it('admits a token signed by a key the cluster rotated in, after refetching the keys', async () => {
    await h.cluster.rotateKey('ES256');
    // Past the cooldown the earlier unknown kid started.
    clock.advanceSeconds(31);
    const fetches = jwksFetches();
    const jwt = await h.podToken();
    const before = reviews();
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    expect(reviews() - before).toBe(1);
    expect(jwksFetches()).toBe(fetches + 1);
  });

  it('shows its jwks block in auth/<mount>/config', async () => {
    const res = await adminCall<{ data: { authgate: Record<string, unknown> } }>(
      h,
      'GET',
      '/v1/auth/kubernetes/config',
    );
    expect(res.status).toBe(200);
    expect(res.json?.data.authgate).toMatchObject({
      verification: 'tokenreview',
      jwks: { source: 'oidc-discovery', url: h.cluster.url, cooldown: 30, max_age: 600, timeout: 5 },
    });
  });
});

describe('a tokenreview mount whose prefilter keys cannot be had', () => {
  const logs = jsonLogLines();
  let h: Harness;

  beforeAll(async () => {
    const closed = await freePort();
    h = await startHarness({
      log: createLogger('info', logs.stream),
      tokenreviewJwks: () => ({ url: `http://127.0.0.1:${closed}/openid/v1/jwks` }),
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('lets the TokenReview decide every login, and says so once', async () => {
    const before = h.cluster.stats().tokenReviews;
    for (let i = 0; i < 3; i++) {
      expect((await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken() })).status).toBe(200);
    }
    expect(h.cluster.stats().tokenReviews - before).toBe(3);
    const forgedJwt = forged(await h.podToken());
    expect(await h.login('kubernetes', { role: 'nginx', jwt: forgedJwt })).toEqual(DENIED);
    expect(h.cluster.stats().tokenReviews - before).toBe(4);
    expect(logs.lines.filter((l) => l['event'] === 'tokenreview.prefilter_skipped')).toHaveLength(1);
    // The keys that could not be had count where upstream failures are alerted on.
    const metrics = (await h.server.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/^authgate_upstream_errors_total\{mount="kubernetes"\} [1-9]/m);
  });

  it('is ready: readiness does not wait for the prefilter keys', async () => {
    const res = await h.server.app.inject({ url: '/v1/sys/health/ready' });
    expect(res.json()).toMatchObject({ failing: {} });
    expect(res.json<{ failing: Record<string, unknown> }>().failing).not.toHaveProperty('auth/kubernetes');
  });
});

/**
 * For the describe block it is called in: a harness with a fake clock and a kept log, whose
 * tokenreview mount has the prefilter keys `jwks`. `h()` is the harness once started; `events(e)`
 * the log lines of event `e`.
 */
const withPrefilter = (jwks: (cluster: DevCluster) => Record<string, unknown>) => {
  const clock = createFakeClock();
  const logs = jsonLogLines();
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await startHarness({ clock, log: createLogger('info', logs.stream), tokenreviewJwks: jwks });
  });
  afterAll(async () => {
    await harness?.close();
  });
  const h = (): Harness => {
    if (harness === undefined) throw new Error('the harness has not started');
    return harness;
  };
  return { clock, h, events: (event: string) => logs.lines.filter((l) => l['event'] === event) };
};

describe('a tokenreview mount whose prefilter key source fails after keys were loaded', () => {
  const { clock, events, h } = withPrefilter((cluster) => ({ url: `${cluster.url}${JWKS_PATH}` }));

  /** Signed by the key the prefilter loaded first: its kid stays known. */
  let first = '';

  it('steps aside for a rotated key it cannot fetch: the TokenReview admits the token', async () => {
    first = await h().podToken();
    expect((await h().login('kubernetes', { role: 'nginx', jwt: first })).status).toBe(200);
    const { kid } = await h().cluster.rotateKey('RS256');
    const jwt = await h().podToken();
    expect(decodeProtectedHeader(jwt).kid).toBe(kid);
    h().cluster.faults.failNext(1, 500);
    const before = h().cluster.stats().tokenReviews;
    expect((await h().login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    expect(h().cluster.stats().tokenReviews - before).toBe(1);
  });

  it('fetches the keys again once the cooldown has passed, and sheds forged tokens again', async () => {
    // A known kid: no refetch for an unknown one brings the set up to date.
    const real = first;
    let before = h().cluster.stats().tokenReviews;
    // The set held is not current: the prefilter still steps aside.
    expect(await h().login('kubernetes', { role: 'nginx', jwt: forged(real) })).toEqual(DENIED);
    expect(h().cluster.stats().tokenReviews - before).toBe(1);
    const loaded = events('jwks.loaded').length;
    clock.advanceSeconds(31);
    expect(await h().login('kubernetes', { role: 'nginx', jwt: forged(real) })).toEqual(DENIED);
    await vi.waitFor(() => expect(events('jwks.loaded')).toHaveLength(loaded + 1), { timeout: 5000 });
    before = h().cluster.stats().tokenReviews;
    expect(await h().login('kubernetes', { role: 'nginx', jwt: forged(real) })).toEqual(DENIED);
    expect(h().cluster.stats().tokenReviews).toBe(before);
    expect(events('tokenreview.prefilter_resumed')).toHaveLength(1);
  });
});

describe('a tokenreview mount whose prefilter key file appears after start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'authgate-prefilter-'));
  const keyFile = join(dir, 'jwks.json');
  const { clock, events, h } = withPrefilter(() => ({ file: keyFile }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves forged tokens to the TokenReview while it has no keys, and sheds them once it has', async () => {
    const real = await h().podToken();
    let before = h().cluster.stats().tokenReviews;
    expect(await h().login('kubernetes', { role: 'nginx', jwt: forged(real) })).toEqual(DENIED);
    expect(h().cluster.stats().tokenReviews - before).toBe(1);

    writeFileSync(keyFile, JSON.stringify(h().cluster.jwks()));
    clock.advanceSeconds(2);
    // This login does not wait for the keys: it starts their load, and the review admits it.
    expect((await h().login('kubernetes', { role: 'nginx', jwt: real })).status).toBe(200);
    await vi.waitFor(() => expect(events('jwks.loaded')).toHaveLength(1), { timeout: 5000 });

    before = h().cluster.stats().tokenReviews;
    expect(await h().login('kubernetes', { role: 'nginx', jwt: forged(real) })).toEqual(DENIED);
    expect(h().cluster.stats().tokenReviews).toBe(before);
    expect(events('tokenreview.prefilter_skipped')).toHaveLength(1);
    expect(events('tokenreview.prefilter_resumed')).toHaveLength(1);
  });
});
