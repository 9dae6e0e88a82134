import { createRequire } from 'node:module';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withSpan } from '../lib/tracing.js';
import { createMetrics } from './metrics.js';
import { createTelemetry } from './telemetry.js';

type Family = {
  name: string;
  type: string;
  metrics: Array<{
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    count?: string;
  }>;
};
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => Family[];

describe('telemetry', () => {
  it('exports login metrics and verifier counters as Prometheus text that parses', async () => {
    const telemetry = createTelemetry({ version: 'test', traces: 'none', env: {} });
    let calls = 3;
    const metrics = createMetrics(telemetry.meter, {
      verifiers: [
        {
          mount: 'kubernetes',
          mode: 'tokenreview',
          // A TokenReview mount with the signature prefilter: its key fetches apart from its reviews.
          stats: () => ({
            cacheHits: 7,
            cacheMisses: 2,
            upstreamCalls: calls,
            upstreamErrors: 1,
            keyFetches: 1,
          }),
        },
        {
          mount: 'jwks',
          mode: 'jwks',
          stats: () => ({ cacheHits: 1, cacheMisses: 4, upstreamCalls: 2, upstreamErrors: 0, keyFetches: 2 }),
        },
      ],
      liveTokens: async () => 42,
    });
    metrics.login({ mount: 'kubernetes', role: 'nginx', outcome: 'ok', reason: 'ok' }, 0.004);
    metrics.login(
      { mount: 'kubernetes', role: 'nginx', outcome: 'denied', reason: 'namespace_not_bound' },
      0.0002,
    );
    metrics.storeError();
    calls = 5;
    const families = parsePrometheus(await telemetry.metricsText());
    const family = (name: string) => families.find((f) => f.name === name);
    expect(family('authgate_logins_total')?.metrics).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          labels: { mount: 'kubernetes', role: 'nginx', outcome: 'denied', reason: 'namespace_not_bound' },
          value: '1',
        }),
        expect.objectContaining({
          labels: { mount: 'kubernetes', role: 'nginx', outcome: 'ok', reason: 'ok' },
          value: '1',
        }),
      ]),
    );
    expect(family('authgate_login_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(family('authgate_tokenreview_calls_total')?.metrics).toEqual([
      expect.objectContaining({ labels: { mount: 'kubernetes' }, value: '5' }),
    ]);
    expect(family('authgate_jwks_fetches_total')?.metrics).toEqual([
      expect.objectContaining({ labels: { mount: 'kubernetes' }, value: '1' }),
      expect.objectContaining({ labels: { mount: 'jwks' }, value: '2' }),
    ]);
    expect(family('authgate_verification_cache_hits_total')?.metrics).toHaveLength(2);
    expect(family('authgate_live_tokens')?.metrics[0]?.value).toBe('42');
    expect(family('authgate_store_errors_total')?.metrics[0]?.value).toBe('1');
    await telemetry.shutdown();
  });

  it('exports the failure counters at 0 before any failure, one series per audit device', async () => {
    const telemetry = createTelemetry({ version: 'test', traces: 'none', env: {} });
    const metrics = createMetrics(telemetry.meter, { verifiers: [], auditDevices: ['file', 'stream'] });
    const families = parsePrometheus(await telemetry.metricsText());
    const family = (name: string) => families.find((f) => f.name === name);
    expect(family('authgate_store_errors_total')?.metrics).toEqual([expect.objectContaining({ value: '0' })]);
    expect(family('authgate_audit_failures_total')?.metrics).toEqual([
      expect.objectContaining({ labels: { device: 'file' }, value: '0' }),
      expect.objectContaining({ labels: { device: 'stream' }, value: '0' }),
    ]);
    metrics.auditFailure('stream');
    const after = parsePrometheus(await telemetry.metricsText()).find(
      (f) => f.name === 'authgate_audit_failures_total',
    );
    expect(after?.metrics).toContainEqual(
      expect.objectContaining({ labels: { device: 'stream' }, value: '1' }),
    );
    await telemetry.shutdown();
  });

  it('costs nothing when off: no metrics text, no-op spans', async () => {
    const telemetry = createTelemetry({ version: 'test', prometheus: false, traces: 'none', env: {} });
    createMetrics(telemetry.meter, { verifiers: [] }).login(
      { mount: 'm', role: 'r', outcome: 'ok', reason: 'ok' },
      1,
    );
    expect(await telemetry.metricsText()).toBe('');
    expect(telemetry.tracesEnabled).toBe(false);
    await expect(withSpan('x', {}, async () => 7)).resolves.toBe(7);
  });

  it('picks OTLP from the standard variables', () => {
    const on = createTelemetry({
      version: 't',
      prometheus: false,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' },
    });
    expect(on.tracesEnabled).toBe(true);
    const off = createTelemetry({
      version: 't',
      prometheus: false,
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x', OTEL_SDK_DISABLED: 'true' },
    });
    expect(off.tracesEnabled).toBe(false);
    void on.shutdown();
  });

  it('records child spans through the API, with errors, and never changes the outcome', async () => {
    const exporter = new InMemorySpanExporter();
    const telemetry = createTelemetry({ version: 'test', prometheus: false, traces: exporter, env: {} });
    await telemetry.tracer.startActiveSpan('request', async (parent) => {
      await withSpan('verify', { 'authgate.cache': 'miss' }, async () => 1);
      await expect(withSpan('store', {}, async () => Promise.reject(new Error('down')))).rejects.toThrow(
        'down',
      );
      parent.end();
    });
    const spans = exporter.getFinishedSpans();
    const parent = spans.find((s) => s.name === 'request');
    expect(spans.map((s) => s.name).sort()).toEqual(['request', 'store', 'verify']);
    for (const child of spans.filter((s) => s.name !== 'request')) {
      expect(child.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
    }
    expect(spans.find((s) => s.name === 'store')?.status.code).toBe(2);
    expect(spans.find((s) => s.name === 'verify')?.attributes['authgate.cache']).toBe('miss');
    await telemetry.shutdown();
  });

  describe('the resource its spans carry', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
    });
    const resourceOfASpan = async (env: Record<string, string>) => {
      const exporter = new InMemorySpanExporter();
      const telemetry = createTelemetry({ version: '1.2.3', prometheus: false, traces: exporter, env });
      telemetry.tracer.startSpan('request').end();
      const attributes = exporter.getFinishedSpans()[0]?.resource.attributes;
      await telemetry.shutdown();
      return attributes;
    };

    it('adds OTEL_RESOURCE_ATTRIBUTES, as the Deployment sets them, to its name and version', async () => {
      vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'k8s.namespace.name=auth,k8s.pod.name=authgate-0,note=a%2Cb');
      expect(await resourceOfASpan({})).toMatchObject({
        'service.name': 'authgate',
        'service.version': '1.2.3',
        'k8s.namespace.name': 'auth',
        'k8s.pod.name': 'authgate-0',
        note: 'a,b',
      });
    });

    it('takes its name from OTEL_SERVICE_NAME, and ignores a malformed OTEL_RESOURCE_ATTRIBUTES whole', async () => {
      vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'k8s.pod.name=a=b');
      const attributes = await resourceOfASpan({ OTEL_SERVICE_NAME: 'gateway-eu' });
      expect(attributes?.['service.name']).toBe('gateway-eu');
      expect(attributes?.['k8s.pod.name']).toBeUndefined();
    });
  });
});
