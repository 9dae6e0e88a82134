import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isAuthgateError } from '../errors.js';
import type { Metrics } from '../telemetry/index.js';
import { loginOutcomeOf } from './routes/login-routes.js';

export type TelemetryDeps = {
  tracer: Tracer;
  tracesEnabled: boolean;
  metrics: Pick<Metrics, 'login' | 'storeError'>;
  /** The Prometheus text of `/metrics`; undefined = metrics off, no route. */
  metricsText?: () => Promise<string>;
};

const spans = new WeakMap<FastifyRequest, Span>();

/**
 * Request telemetry in one place: a server span per request (W3C trace context taken from the
 * request's `traceparent`), child spans opened by the parts below run inside it; login metrics
 * (outcome, reason, duration) from each login's outcome; store errors; and `GET /metrics`.
 * Telemetry never throws into its host: nothing here can change a response.
 */
export const installTelemetry = (app: FastifyInstance, deps: TelemetryDeps): void => {
  if (deps.tracesEnabled) {
    app.addHook('onRequest', (request, _reply, done) => {
      const parent = propagation.extract(context.active(), request.headers);
      // No route (a path outside /v1/): the span is named by its method alone and has no
      // http.route, as OpenTelemetry's HTTP conventions say.
      const route = request.routeOptions.url;
      const span = deps.tracer.startSpan(
        route === undefined ? request.method : `${request.method} ${route}`,
        {
          kind: SpanKind.SERVER,
          attributes: {
            'http.request.method': request.method,
            ...(route === undefined ? {} : { 'http.route': route }),
          },
        },
        parent,
      );
      spans.set(request, span);
      // Everything after this hook (handler, services, store) runs in the span's context.
      context.with(trace.setSpan(parent, span), done);
    });
    app.addHook('onResponse', (request, reply, done) => {
      const span = spans.get(request);
      if (span !== undefined) {
        span.setAttribute('http.response.status_code', reply.statusCode);
        const outcome = loginOutcomeOf(request);
        if (outcome !== undefined) {
          span.setAttributes({ 'authgate.outcome': outcome.outcome, 'authgate.reason': outcome.reason });
        }
        if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      done();
    });
  }

  app.addHook('onResponse', (request, reply, done) => {
    const outcome = loginOutcomeOf(request);
    if (outcome !== undefined) {
      deps.metrics.login(
        {
          mount: outcome.mount,
          role: outcome.role ?? 'unknown',
          outcome: outcome.outcome,
          reason: outcome.reason,
        },
        reply.elapsedTime / 1000,
      );
    }
    done();
  });

  app.addHook('onError', (_request, _reply, err, done) => {
    if (isAuthgateError(err) && err.code === 'UNAVAILABLE' && err.reason.includes('store'))
      deps.metrics.storeError();
    done();
  });

  const { metricsText } = deps;
  if (metricsText !== undefined) {
    app.get('/metrics', async (_request, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(await metricsText()),
    );
  }
};
