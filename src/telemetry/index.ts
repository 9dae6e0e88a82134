export { REDACTED, REDACT_PATHS, createLogger, loggerOptions } from './logger.js';
export type { Logger } from './logger.js';
export { DEFAULT_MAX_LOG_CHARS, truncate } from './truncate.js';
