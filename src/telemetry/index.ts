export { REDACTED, REDACT_PATHS, createLogger, loggerOptions } from './logger.js';
export type { Logger } from './logger.js';
