import { createRequire } from 'node:module';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startHarness, type Harness } from './helpers/harness.js';

type Family = {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string; count?: string }>;
};
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => Family[];

const exporter = new InMemorySpanExporter();
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ telemetry: { traces: exporter } });
});
afterAll(async () => {
  await h?.close();
});

const metrics = async () => {
  const res = await h.server.app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  return parsePrometheus(res.body);
};
const value = (families: Family[], name: string, labels: Record<string, string>) =>
  Number(
    families
      .find((f) => f.name === name)
      ?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))?.value ?? 0,
  );

describe('telemetry of a login', () => {
  it('counts logins by outcome and reason, and TokenReview calls, cache hits and misses', async () => {
    const jwt = await h.podToken();
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    expect((await h.login('kubernetes', { role: 'nginx', jwt })).status).toBe(200);
    expect(
      (await h.login('kubernetes', { role: 'nginx', jwt: await h.podToken({ audiences: ['other'] }) }))
        .status,
    ).toBe(403);
    expect((await h.login('kubernetes', { role: 'nope', jwt })).status).toBe(400);
    const families = await metrics();
    expect(
      value(families, 'authgate_logins_total', { mount: 'kubernetes', role: 'nginx', outcome: 'ok' }),
    ).toBe(2);
    expect(
      value(families, 'authgate_logins_total', {
        mount: 'kubernetes',
        role: 'nginx',
        outcome: 'denied',
        reason: 'audience_mismatch',
      }),
    ).toBe(1);
    // An unknown role is not a label value: it would let clients mint series.
    expect(
      value(families, 'authgate_logins_total', {
        mount: 'kubernetes',
        role: 'unknown',
        reason: 'role_not_found',
      }),
    ).toBe(1);
    expect(value(families, 'authgate_tokenreview_calls_total', { mount: 'kubernetes' })).toBe(1);
    expect(value(families, 'authgate_verification_cache_misses_total', { mount: 'kubernetes' })).toBe(1);
    expect(value(families, 'authgate_verification_cache_hits_total', { mount: 'kubernetes' })).toBe(1);
    expect(families.find((f) => f.name === 'authgate_login_duration_seconds')?.type).toBe('HISTOGRAM');
    // Two tokens issued, none revoked or expired: the embedded store counts them.
    expect(value(families, 'authgate_live_tokens', {})).toBe(2);
  });

  it('shows no listener certificate expiry when the listener has no TLS', async () => {
    const families = await metrics();
    expect(families.map((f) => f.name)).toContain('authgate_logins_total');
    expect(families.map((f) => f.name)).not.toContain(
      'authgate_listener_certificate_expiry_timestamp_seconds',
    );
  });

  it('counts a login refused before its handler ran: a body that is not JSON, fails the schema, is too large', async () => {
    const post = (payload: string) =>
      h.server.app.inject({ method: 'POST', url: '/v1/auth/kubernetes/login', payload });
    expect((await post('{"role":"nginx","jwt":')).statusCode).toBe(400);
    expect((await post('{"role":"NGINX","jwt":123}')).statusCode).toBe(400);
    expect((await post('{"role":"made-up","jwt":[]}')).statusCode).toBe(400);
    expect((await post(`{"role":"nginx","jwt":"${'x'.repeat(2 * 1024 * 1024)}"}`)).statusCode).toBe(413);
    const families = await metrics();
    const count = (labels: Record<string, string>) =>
      value(families, 'authgate_logins_total', { mount: 'kubernetes', outcome: 'error', ...labels });
    expect(count({ role: 'unknown', reason: 'invalid_json' })).toBe(1);
    expect(count({ role: 'nginx', reason: 'bad_request' })).toBe(1);
    expect(count({ role: 'unknown', reason: 'bad_request' })).toBe(1);
    expect(count({ role: 'unknown', reason: 'body_too_large' })).toBe(1);
  });

  it("reports the process's event-loop delay and garbage-collection pauses", async () => {
    // Young-generation collections, and a loop held for 400 ms: what a stalled request waits on.
    // (Held long enough that the sampling interval and a busy machine cannot blur the reading.)
    const junk: object[] = [];
    for (let i = 0; i < 300_000; i++) junk.push({ i });
    junk.length = 0;
    await new Promise((resolve) => setTimeout(resolve, 100));
    const held = Date.now();
    while (Date.now() - held < 400);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const families = await metrics();
    const family = (name: string) => families.find((f) => f.name === name);
    // Since the last scrape, in seconds; the 10 ms sampling interval may take its share of the hold.
    expect(value(families, 'nodejs_eventloop_delay_max', {})).toBeGreaterThanOrEqual(0.38);
    expect(value(families, 'nodejs_eventloop_utilization', {})).toBeGreaterThan(0);
    expect(family('v8js_gc_duration')?.type).toBe('HISTOGRAM');
    // Read from the text: the parser drops a histogram's labels when _count comes before _bucket.
    const text = (await h.server.app.inject({ method: 'GET', url: '/metrics' })).body;
    const minor = /^v8js_gc_duration_count\{v8js_gc_type="minor"\} (\d+)$/m.exec(text);
    expect(Number(minor?.[1])).toBeGreaterThan(0);
    // The maximum is reset by each scrape: a quiet loop reports a shorter delay again.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(value(await metrics(), 'nodejs_eventloop_delay_max', {})).toBeLessThan(0.38);
  });

  it('counts each denial under its own reason', async () => {
    h.cluster.createPod({ namespace: 'test', name: 'api', serviceAccount: 'api' });
    h.cluster.createPod({ namespace: 'other', name: 'web', serviceAccount: 'nginx' });
    const denials: Array<[string, Promise<string>]> = [
      ['service_account_not_bound', h.podToken({ serviceAccount: 'api', pod: 'api' })],
      ['namespace_not_bound', h.podToken({ namespace: 'other', pod: 'web' })],
      ['audience_mismatch', h.podToken({ audiences: ['someone-else'] })],
      ['malformed_token', Promise.resolve('not.a.jwt')],
    ];
    for (const [, jwt] of denials)
      expect((await h.login('jwks', { role: 'nginx', jwt: await jwt })).status).toBe(403);
    const families = await metrics();
    for (const [reason] of denials) {
      expect(
        value(families, 'authgate_logins_total', { mount: 'jwks', role: 'nginx', outcome: 'denied', reason }),
        reason,
      ).toBe(1);
    }
  });

  it('traces a login: a server span with child spans for verification (hit or miss) and the TokenReview call', async () => {
    exporter.reset();
    const jwt = await h.podToken();
    const res = await h.server.app.inject({
      method: 'POST',
      url: '/v1/auth/kubernetes/login',
      payload: JSON.stringify({ role: 'nginx', jwt }),
      headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' },
    });
    expect(res.statusCode).toBe(200);
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.attributes['http.route'] === '/v1/auth/kubernetes/login');
    expect(server?.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const verify = spans.find((s) => s.name === 'authgate.verify');
    expect(verify?.attributes['authgate.cache']).toBe('miss');
    expect(verify?.parentSpanContext?.spanId).toBe(server?.spanContext().spanId);
    const review = spans.find((s) => s.name === 'k8s.tokenreview');
    expect(review?.parentSpanContext?.spanId).toBe(verify?.spanContext().spanId);
    // The audit entries and the store writes of the login are children of the request too.
    for (const name of ['audit.request', 'audit.response', 'store.batch']) {
      expect(spans.find((s) => s.name === name)?.parentSpanContext?.spanId, name).toBe(
        server?.spanContext().spanId,
      );
    }
  });

  it('walks the store for the live-token count once for scrapes that come together', async () => {
    const store = h.server.store as unknown as { countPrefix: (prefix: string) => Promise<number> };
    const walks = vi.spyOn(store, 'countPrefix');
    try {
      await Promise.all([metrics(), metrics(), metrics()]);
      expect(walks.mock.calls.length).toBeLessThanOrEqual(1);
    } finally {
      walks.mockRestore();
    }
  });

  it('names the span of a request no route serves by its method alone, with no http.route', async () => {
    exporter.reset();
    expect((await h.server.app.inject({ method: 'GET', url: '/not-vault' })).statusCode).toBe(404);
    const spans = exporter.getFinishedSpans().filter((s) => s.attributes['http.request.method'] === 'GET');
    expect(spans.map((s) => s.name)).toEqual(['GET']);
    expect(spans[0]?.attributes).not.toHaveProperty('http.route');
  });
});
