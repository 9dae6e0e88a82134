import { SpanStatusCode, trace, type Attributes, type Span } from '@opentelemetry/api';

/**
 * Runs `fn` inside a child span of the current one, through `@opentelemetry/api` only: with no
 * tracer provider registered (traces off) the span is a no-op and costs a function call. The
 * span records an exception and an error status when `fn` rejects; `fn` may add attributes.
 * Telemetry never changes the outcome: `fn`'s result or error passes through untouched.
 */
export const withSpan = <T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> =>
  trace.getTracer('authgate').startActiveSpan(name, { attributes }, async (span) => {
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
  trace.getActiveSpan()?.setAttribute(key, value);
};
