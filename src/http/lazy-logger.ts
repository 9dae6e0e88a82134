import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * A logger that becomes `create()` the first time it logs. Fastify makes a child logger per
 * request (bound to its id); with redaction configured, pino's `child()` runs the bindings
 * through the redaction paths, about 4.5 µs a request — paid by every request although almost
 * none logs (requests are logged by event, on failures). Deferring it makes that cost fall only
 * on requests that do log.
 *
 * A class with the methods on its prototype, not a Proxy: Fastify checks each request's child
 * (`validateLogger` reads `info`, `error`, … `child`), and a Proxy made the real logger on that
 * very check, before the handler ran; it also costs a trap per property read.
 */
class LazyLogger {
  #real: FastifyBaseLogger | undefined;
  readonly #create: () => FastifyBaseLogger;

  constructor(create: () => FastifyBaseLogger) {
    this.#create = create;
  }

  #target(): FastifyBaseLogger {
    return (this.#real ??= this.#create());
  }

  get level(): LevelWithSilentOrString {
    return this.#target().level;
  }

  set level(level: LevelWithSilentOrString) {
    this.#target().level = level;
  }

  // The log methods, one per level, on the prototype: each makes the real logger and passes its
  // arguments on unchanged.
  static {
    for (const level of LEVELS) {
      Object.defineProperty(LazyLogger.prototype, level, {
        value(this: LazyLogger, ...args: unknown[]): void {
          const real = this.#target();
          (real[level] as (...a: unknown[]) => void).apply(real, args);
        },
      });
    }
  }

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#target().child(bindings, options);
  }
}

// Its log methods take what pino's take and pass them on unchanged; TypeScript cannot see that a
// rest parameter satisfies pino's overloads, hence the cast.
export const lazyLogger = (create: () => FastifyBaseLogger): FastifyBaseLogger =>
  new LazyLogger(create) as unknown as FastifyBaseLogger;
