import {
  context,
  diag,
  metrics as otelMetrics,
  propagation,
  trace,
  type Meter,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { RuntimeNodeInstrumentation } from '@opentelemetry/instrumentation-runtime-node';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { setTracingEnabled } from '../lib/tracing.js';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';

export type TelemetryOptions = {
  serviceName?: string;
  version: string;
  /** Serve Prometheus metrics (`/metrics`). Default true. */
  prometheus?: boolean;
  /**
   * Where spans go: an exporter (tests pass an in-memory one), `'otlp'`, or `'none'`. Default:
   * from the standard variables — OTLP when `OTEL_TRACES_EXPORTER=otlp` or an OTLP endpoint is
   * set (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); none otherwise, and
   * none when `OTEL_SDK_DISABLED=true`.
   */
  traces?: SpanExporter | 'otlp' | 'none';
  env?: Record<string, string | undefined>;
  /** Called with telemetry's own failures (export errors). Telemetry never throws into its host. */
  onError?: (err: unknown) => void;
};

const tracesFromEnv = (env: Record<string, string | undefined>): 'otlp' | 'none' => {
  if (env['OTEL_SDK_DISABLED'] === 'true') return 'none';
  const chosen = env['OTEL_TRACES_EXPORTER'];
  if (chosen !== undefined) return chosen.split(',').includes('otlp') ? 'otlp' : 'none';
  return env['OTEL_EXPORTER_OTLP_ENDPOINT'] || env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ? 'otlp' : 'none';
};

/**
 * OpenTelemetry for one process: a meter (exported in Prometheus text at `/metrics`) and a tracer
 * (W3C trace context, spans exported by OTLP over HTTP when the standard `OTEL_*` variables ask
 * for it). What is off costs nothing: with metrics off the meter is OpenTelemetry's no-op one,
 * with traces off no provider is registered and spans are no-ops.
 *
 * The tracer provider, context manager and propagator are registered globally (once per
 * process), so that any part can open a child span through `@opentelemetry/api` (lib/tracing.ts).
 */
export const createTelemetry = (options: TelemetryOptions) => {
  const env = options.env ?? process.env;
  const onError = options.onError ?? (() => undefined);
  const serviceName = options.serviceName ?? env['OTEL_SERVICE_NAME'];
  const resource = resourceFromAttributes({ 'service.name': 'authgate' })
    // OTEL_RESOURCE_ATTRIBUTES (the Deployment's namespace and pod) and OTEL_SERVICE_NAME, by
    // OpenTelemetry's own parser (of the process's environment; a malformed value is ignored whole).
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(
      resourceFromAttributes({
        ...(serviceName === undefined ? {} : { 'service.name': serviceName }),
        'service.version': options.version,
      }),
    );
  // Telemetry never throws into its host: its own errors go to onError, never up the stack.
  diag.setLogger(
    {
      error: (message: string, ...args: unknown[]) =>
        onError(new Error([message, ...args].map(String).join(' '))),
      warn: () => undefined,
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { suppressOverrideMessage: true },
  );

  let meter: Meter = otelMetrics.getMeterProvider().getMeter('authgate');
  let prometheus: PrometheusExporter | undefined;
  let meterProvider: MeterProvider | undefined;
  let runtime: RuntimeNodeInstrumentation | undefined;
  if (options.prometheus !== false) {
    prometheus = new PrometheusExporter({ preventServerStart: true });
    meterProvider = new MeterProvider({ resource, readers: [prometheus] });
    meter = meterProvider.getMeter('authgate', options.version);
    // The process's own health, as OpenTelemetry names it: event-loop delay (min … max since the
    // last scrape; a request waits as long as the loop is held), event-loop utilization,
    // garbage-collection pauses by kind, V8 heap spaces. Cheap: a 10 ms timer, one callback a
    // collection, the rest read at scrape time.
    runtime = new RuntimeNodeInstrumentation({ monitoringPrecision: 10 });
    runtime.setMeterProvider(meterProvider);
  }
  // No otel_scope_* labels and no target_info: plain, low-cardinality series.
  const serializer = new PrometheusSerializer('', false, undefined, true, true);

  const traces = options.traces ?? tracesFromEnv(env);
  let tracerProvider: BasicTracerProvider | undefined;
  if (traces !== 'none') {
    const exporter = traces === 'otlp' ? new OTLPTraceExporter() : traces;
    tracerProvider = new BasicTracerProvider({
      resource,
      spanProcessors: [
        traces === 'otlp' ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter),
      ],
    });
    // The last telemetry created owns the globals (one per process in production; tests make several).
    trace.disable();
    context.disable();
    propagation.disable();
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(tracerProvider);
  }
  setTracingEnabled(tracerProvider !== undefined);
  const tracer: Tracer =
    tracerProvider?.getTracer('authgate', options.version) ?? trace.getTracer('authgate');

  return {
    meter,
    tracer,
    metricsEnabled: prometheus !== undefined,
    tracesEnabled: tracerProvider !== undefined,
    /** The current metrics in Prometheus text format (empty when metrics are off). */
    metricsText: async (): Promise<string> => {
      if (prometheus === undefined) return '';
      const { resourceMetrics, errors } = await prometheus.collect();
      for (const err of errors) onError(err);
      return serializer.serialize(resourceMetrics);
    },
    /** Flushes pending spans and stops the providers; never rejects. */
    shutdown: async (): Promise<void> => {
      try {
        setTracingEnabled(false);
        await tracerProvider?.forceFlush();
        await tracerProvider?.shutdown();
        runtime?.disable();
        await meterProvider?.shutdown();
      } catch (err) {
        onError(err);
      }
    },
  };
};
export type Telemetry = ReturnType<typeof createTelemetry>;
