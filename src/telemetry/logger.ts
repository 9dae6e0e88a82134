import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Field names that hold a secret wherever they appear in a log object. */
const SECRET_FIELDS = ['jwt', 'token', 'client_token', 'clientToken', 'accessor', 'secret', 'password'];

/**
 * Paths pino censors in every log line, as a backstop: code logs a token only as
 * `fingerprint(token)` under a field of its own (`jwtFingerprint`, `tokenFingerprint`), never
 * the value, but a header or body logged by mistake must not leak. Each secret field name is
 * censored at the top level of the log object and one and two levels down (`{ body: { jwt } }`,
 * `{ req: { body: { jwt } } }`); deeper nesting is not covered (pino's redaction takes explicit
 * paths, and a deep wildcard would cost every log line).
 */
export const REDACT_PATHS = [
  'req.headers["x-vault-token"]',
  'req.headers.authorization',
  'req.headers.cookie',
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  ...SECRET_FIELDS.map((field) => `*.*.${field}`),
];

/** What a censored value is replaced with. */
export const REDACTED = '[redacted]';

/** Options shared by the standalone logger and Fastify's. Level names are pino's. */
export const loggerOptions = (level: string): LoggerOptions => ({
  level,
  base: { service: 'authgate' },
  redact: { paths: REDACT_PATHS, censor: REDACTED },
  timestamp: pino.stdTimeFunctions.isoTime,
});

/** A JSON logger to stdout (or `destination`). */
export const createLogger = (level: string, destination?: NodeJS.WritableStream): Logger =>
  destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination);
