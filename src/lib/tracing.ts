import { INVALID_SPAN_CONTEXT, SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

let enabled = false;
const NOOP_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/**
 * Turns span creation on (telemetry calls it when it registers a tracer provider). Off, the
 * helpers below cost one branch: not even the API's no-op span and context are built.
 */
export const setTracingEnabled = (on: boolean): void => {
  enabled = on;
};

/**
 * Runs `fn` inside a child span of the current one, through `@opentelemetry/api` only: with no
 * tracer provider registered (traces off) `fn` runs with a no-op span and nothing else. The
 * span records an exception and an error status when `fn` rejects; `fn` may add attributes.
 * Telemetry never changes the outcome: `fn`'s result or error passes through untouched.
 */
export const withSpan = <T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> =>
  !enabled
    ? fn(NOOP_SPAN)
    : trace.getTracer('authgate').startActiveSpan(name, { attributes }, async (span) => {
        try {
          return await fn(span);
        } catch (err) {
          span.recordException(err as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
          throw err;
        } finally {
          span.end();
        }
      });

/** Sets an attribute on the current span, if there is one (a no-op with traces off). */
export const annotate = (key: string, value: string | number | boolean): void => {
  if (enabled) trace.getActiveSpan()?.setAttribute(key, value);
};
