import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Paths pino censors in every log line, as a backstop: code logs a token only as
 * `fingerprint(token)`, never the value, but a header or body logged by mistake must not leak.
 */
export const REDACT_PATHS = [
  'req.headers["x-vault-token"]',
  'req.headers.authorization',
  'req.headers.cookie',
  '*.jwt',
  '*.token',
  '*.client_token',
  '*.clientToken',
  '*.accessor',
  '*.secret',
  '*.password',
];

/** Options shared by the standalone logger and Fastify's. Level names are pino's. */
export const loggerOptions = (level: string): LoggerOptions => ({
  level,
  base: { service: 'authgate' },
  redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  timestamp: pino.stdTimeFunctions.isoTime,
});

/** A JSON logger to stdout (or `destination`). */
export const createLogger = (level: string, destination?: NodeJS.WritableStream): Logger =>
  destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination);
