import { pino, stdSerializers, type Logger, type LoggerOptions } from 'pino';

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

/**
 * pino's error serializer, less the arguments of a store command: ioredis hangs the failed
 * command on its errors (`command: { name, args }`), and the standard serializer copies every
 * property into the line. The arguments are keys and values: a token record, its accessor. The
 * command's name is kept, for the operator.
 */
const serializeError = (err: Error): ReturnType<typeof stdSerializers.err> => {
  const out = stdSerializers.err(err);
  const command: unknown = (out as { command?: unknown }).command;
  if (typeof command === 'object' && command !== null) {
    const name: unknown = (command as { name?: unknown }).name;
    (out as { command?: unknown }).command = typeof name === 'string' ? { name } : {};
  }
  return out;
};

/** Options shared by the standalone logger and Fastify's. Level names are pino's. */
export const loggerOptions = (level: string): LoggerOptions => ({
  level,
  base: { service: 'authgate' },
  // Fastify keeps a logger's own serializers over its defaults.
  serializers: { err: serializeError },
  redact: { paths: REDACT_PATHS, censor: REDACTED },
  timestamp: pino.stdTimeFunctions.isoTime,
});

/** pino's levels, and `silent`: what `log.level` and AUTHGATE_LOG_LEVEL may say. */
export const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** A JSON logger to stdout (or `destination`). */
export const createLogger = (level: string, destination?: NodeJS.WritableStream): Logger =>
  destination === undefined ? pino(loggerOptions(level)) : pino(loggerOptions(level), destination);
