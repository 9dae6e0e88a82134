import type { FastifyBaseLogger } from 'fastify';

/**
 * A logger that becomes `create()` the first time anything of it is used. Fastify makes a child
 * logger per request (bound to its id); with redaction configured, pino's `child()` runs the
 * bindings through the redaction paths, about 4.5 µs a request — paid by every request although
 * almost none logs (requests are logged by event, on failures). Deferring it makes that cost
 * fall only on requests that do log.
 */
export const lazyLogger = (create: () => FastifyBaseLogger): FastifyBaseLogger => {
  let real: FastifyBaseLogger | undefined;
  const target = (): FastifyBaseLogger => (real ??= create());
  return new Proxy({} as FastifyBaseLogger, {
    get: (_t, prop) => {
      const logger = target();
      const value: unknown = Reflect.get(logger, prop, logger);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(logger) : value;
    },
    set: (_t, prop, value) => Reflect.set(target(), prop, value),
    has: (_t, prop) => Reflect.has(target(), prop),
  });
};
